"""The search engine reads postings and field lengths from Whoosh's storage in bulk (kb.index.query).

These tests hold the bulk readers to Whoosh's public interface, one posting and one document at a time,
so that a Whoosh upgrade that changes its internals fails here rather than ranking quietly wrong.
"""

from __future__ import annotations

import numpy as np

from kb import items as items_store
from kb.index.query import _field_lengths, _read_postings
from kb.knowledge import KnowledgeBase
from tests.factories import make_draft


def _index_with_long_postings(kb: KnowledgeBase) -> None:
    """300 items in one segment, so that common terms span several posting blocks (128 postings each);
    one of them deleted."""
    for n in range(300):
        words = " ".join(["claimant"] * (1 + n % 7))  # term frequencies that differ from block to block
        items_store.store_item(kb.db, make_draft(text=f"Story {n}. {words} flagged by the score."))
    kb.index.rebuild(kb.db)
    items_store.delete_item(kb.db, 5)
    kb.sync_index()


def test_postings_read_in_bulk_match_the_public_matcher(kb: KnowledgeBase):
    _index_with_long_postings(kb)
    with kb.index.searcher(max_age=0) as searcher:
        for leaf, _ in searcher.leaf_searchers():
            reader = leaf.reader()
            terms = [(name, term) for name in ("title", "text", "kind") for term in reader.lexicon(name)]
            assert len(terms) > 100  # every term of every field read, long and short lists alike
            longest = 0
            for field_name, term in terms:
                ids, weights = _read_postings(reader.postings(field_name, term))
                matcher = reader.postings(field_name, term)
                expected_ids, expected_weights = [], []
                while matcher.is_active():
                    expected_ids.append(matcher.id())
                    expected_weights.append(matcher.weight())
                    matcher.next()
                # Bulk reading keeps the deleted item's postings (searches mask them): compare the live ones.
                live = np.isin(ids, expected_ids)
                assert ids[live].tolist() == expected_ids
                assert np.allclose(weights[live], expected_weights)
                assert len(ids) - live.sum() <= 1
                longest = max(longest, len(ids))
            assert longest > 128  # some terms spanned more than one block


def test_field_lengths_read_in_bulk_match_doc_field_length(kb: KnowledgeBase):
    _index_with_long_postings(kb)
    with kb.index.searcher(max_age=0) as searcher:
        for leaf, _ in searcher.leaf_searchers():
            reader = leaf.reader()
            size = reader.doc_count_all()
            for field_name in ("title", "text", "private_text"):  # private_text: no item has it
                expected = [reader.doc_field_length(d, field_name, 0) or 0 for d in range(size)]
                assert _field_lengths(reader, field_name, size).tolist() == expected
            assert any(_field_lengths(reader, "text", size))

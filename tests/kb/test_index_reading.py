"""The search engine reads postings and field lengths from Whoosh's storage in bulk (kb.search.index.codec).

These tests hold the bulk readers to Whoosh's public interface, one posting and one document at a time,
so that a Whoosh upgrade that changes its internals fails here rather than ranking quietly wrong.
"""

from __future__ import annotations

import mmap
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile

from kb import items as items_store
from kb.knowledge import KnowledgeBase
from kb.search.index import codec
from kb.search.index.mapped import MappedStorage
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
                ids, weights = codec.read_postings(reader.postings(field_name, term))
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
                assert codec.field_lengths(reader, field_name, size).tolist() == expected
            assert any(codec.field_lengths(reader, "text", size))


def test_threads_searching_at_once_read_the_shared_searcher_in_turn(kb: KnowledgeBase):
    """Whoosh's readers keep one file position per file: unguarded, threads read each other's blocks."""
    _index_with_long_postings(kb)
    with kb.index.searcher() as searcher:
        terms = [term for _, term in searcher.reader().most_frequent_terms("text", 6)]
        expected = {term: list(searcher.reader().postings("text", term).all_ids()) for term in terms}
    failures: list[str] = []

    def read_postings() -> None:
        for _ in range(40):
            for term in terms:
                try:
                    with kb.index.searcher() as searcher:
                        found = list(searcher.reader().postings("text", term).all_ids())
                except Exception as error:  # noqa: BLE001 - a corrupt block is what this test looks for
                    failures.append(repr(error))
                    continue
                if found != expected[term]:
                    failures.append(f"wrong postings for {term!r}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to make any overlap show
    try:
        threads = [threading.Thread(target=read_postings) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []


def test_mapped_files_read_as_whoosh_reads_its_own_files(tmp_path: Path):
    storage = FileStorage(str(tmp_path))
    with storage.create_file("data") as out:
        out.write_int(7)
        out.write_pickle({"terms": ["risque", "algorithme"] * 100, "n": 2})  # longer than a peek
        out.write_string(b"line one\nline two\n")
        out.write_varint(300)
        out.write(b"tail bytes")
    mapped = MappedStorage(str(tmp_path))

    def read_all(f: BufferFile) -> list[object]:
        found: list[object] = [f.read_int(), f.read_pickle(), f.read_string(), f.read_varint(), f.read()]
        f.seek(0)
        found += [f.get(4, 3), f.tell(), f.read(2), f.readline(), f.readline(3),
                  f.get_array(0, "i", 1).tolist()]
        f.seek(-4, os.SEEK_END)
        found += [f.read(), f.read(5), f.tell()]
        found += [f.seek(-10**6, os.SEEK_END), f.seek(-3, os.SEEK_CUR), f.read(2)]  # clamped at the start
        with pytest.raises(ValueError, match="negative seek"):
            f.seek(-1)
        return found

    # Whoosh's own reading of a mapped file: a BufferFile (whose BytesIO copies the bytes).
    whoosh_file = BufferFile((tmp_path / "data").read_bytes(), name="data")
    with mapped.open_file("data") as view:
        assert read_all(view) == read_all(whoosh_file)
        size = (tmp_path / "data").stat().st_size
        inner, whoosh_inner = view.subset(4, size - 4), whoosh_file.subset(4, size - 4)
        assert inner.read_pickle() == whoosh_inner.read_pickle()
        assert inner.tell() == whoosh_inner.tell()


def test_a_searcher_reads_views_of_one_map_per_segment_file(kb: KnowledgeBase):
    """The point of MappedStorage: opening a searcher copies no index file into the process."""
    _index_with_long_postings(kb)
    storage = MappedStorage(str(kb.index.root / str(kb.index._current_name())))  # noqa: SLF001
    segment_files = [name for name in storage.list() if name.endswith(".seg")]
    assert segment_files
    for name in segment_files:
        whole = storage.open_file(name)
        part = whole.subset(8, 64)
        assert isinstance(whole._buf.obj, mmap.mmap)  # noqa: SLF001
        assert part._buf.obj is whole._buf.obj  # a view of the same map, not a copy  # noqa: SLF001
        assert part.get(0, 64) == whole.get(8, 64)


def test_the_postings_of_deleted_documents_are_read_for_rare_terms_too(kb: KnowledgeBase):
    """The postings of deleted documents are read whether a term is stored in blocks or inline (a term of
    one document), as Whoosh's doc_frequency counts them: the searches mask them with the live bitmap
    (BM25 counts live documents only), the same way for both."""
    rare = items_store.store_item(kb.db, make_draft(text="A yakword in one story only."))
    items_store.store_item(kb.db, make_draft(text="Another story."))
    kb.sync_index()
    items_store.delete_item(kb.db, rare.item_id)
    kb.sync_index()
    with kb.index.searcher(max_age=0) as searcher:
        readers = [leaf.reader() for leaf, _ in searcher.leaf_searchers()]
        holding = [reader for reader in readers if reader.doc_frequency("text", "yakword")]
        assert holding and all(reader.has_deletions() for reader in holding)
        for reader in holding:
            ids, _ = codec.read_postings(reader.postings("text", "yakword"))
            assert len(ids) == reader.doc_frequency("text", "yakword")


def test_postings_are_read_from_the_start_when_a_whole_first_block_is_deleted(kb: KnowledgeBase):
    _index_with_long_postings(kb)
    # More than the first block (128 postings) of every common term; item 5 is deleted already.
    for item_id in (i for i in range(1, 140) if i != 5):
        items_store.delete_item(kb.db, item_id)
    kb.sync_index()
    with kb.index.searcher(max_age=0) as searcher:
        for leaf, _ in searcher.leaf_searchers():
            reader = leaf.reader()
            if reader.doc_frequency("text", "claimant") > 128:
                ids, _ = codec.read_postings(reader.postings("text", "claimant"))
                assert len(ids) == reader.doc_frequency("text", "claimant") == 300

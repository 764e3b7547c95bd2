"""How the index is written at scale: a rebuild on every core, and small segments merged in the background."""

from __future__ import annotations

import time

import pytest

from kb import items as items_store
from kb.knowledge import KnowledgeBase
from kb.search import service as kb_search
from kb.search.index import store
from tests.factories import make_draft


def _documents(kb: KnowledgeBase) -> dict[str, dict]:
    """The live documents by key; fails if a key is held twice."""
    with kb.index.searcher(max_age=0) as searcher:
        stored = list(searcher.reader().all_stored_fields())
    documents = {fields["id"]: fields for fields in stored}
    assert len(documents) == len(stored), "a document is in the index twice"
    return documents


def _segment_sizes(kb: KnowledgeBase) -> list[int]:
    with kb.index.searcher(max_age=0) as searcher:
        return sorted(leaf.reader().doc_count_all() for leaf, _ in searcher.leaf_searchers())


def _add_in_commits(kb: KnowledgeBase, commits: int, per_commit: int) -> None:
    for _ in range(commits):
        for _ in range(per_commit):
            items_store.store_item(kb.db, make_draft())
        kb.sync_index()  # one commit, one new segment


def test_a_rebuild_on_every_core_writes_bounded_segments_with_the_same_documents(
        kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch):
    for _ in range(40):
        items_store.store_item(kb.db, make_draft())
    items_store.delete_item(kb.db, 7)
    kb.sync_index()
    incremental = _documents(kb)
    monkeypatch.setattr(store, "PARALLEL_FROM", 10)  # the size from which a rebuild uses every core
    monkeypatch.setattr(store, "SEGMENT_DOCS", 8)  # items per segment written by a worker process
    reported: list[int] = []
    assert kb.index.rebuild(kb.db, progress=reported.append) == 39
    assert sum(reported) == 39
    assert _documents(kb) == incremental
    assert _segment_sizes(kb) == [7, 8, 8, 8, 8]  # written by worker processes, 8 items at most each
    assert kb.status().index_in_sync
    assert kb_search.search(kb, "fraud risk").total == 39


def test_small_segments_are_merged_and_keep_every_document(kb: KnowledgeBase):
    _add_in_commits(kb, commits=store.MERGE_FACTOR + 2, per_commit=3)
    before = _documents(kb)
    assert len(_segment_sizes(kb)) >= store.MERGE_FACTOR
    assert kb.index.merge_segments() == store.MERGE_FACTOR  # the smallest eight of the ten, into one
    assert _segment_sizes(kb) == [3, 3, 3 * store.MERGE_FACTOR]
    assert _documents(kb) == before
    assert kb_search.search(kb, "fraud risk").total == len(before)
    assert kb.index.merge_segments() == 0  # nothing left to merge
    assert not list(kb.index.root.glob("gen-*/merging-*"))  # the scratch folder is gone


def test_changes_committed_during_a_merge_survive_it(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch):
    _add_in_commits(kb, commits=store.MERGE_FACTOR, per_commit=2)
    real_write_merged = store._write_merged

    def write_while_ingest_goes_on(*args, **kwargs):
        written = real_write_merged(*args, **kwargs)
        # The merge holds no lock while it writes: ingest commits deletions and new items meanwhile.
        items_store.delete_item(kb.db, 1)
        items_store.store_item(kb.db, make_draft(title="Arrived during the merge"))
        item = items_store.load_items(kb.db, [2])[0]
        items_store.store_item(kb.db, make_draft(url=item.url, title=item.title,
                                                 text=item.text + " Updated during the merge."))
        kb.sync_index()
        return written

    monkeypatch.setattr(store, "_write_merged", write_while_ingest_goes_on)
    assert kb.index.merge_segments() == store.MERGE_FACTOR
    documents = _documents(kb)
    assert "1" not in documents  # deleted meanwhile: not brought back by the merged segment
    assert "Updated during the merge" in documents["2"]["excerpt"]
    assert kb.index.status(kb.db).in_sync
    assert kb_search.search(kb, "arrived during the merge").total == 1
    assert kb_search.search(kb, "updated during the merge").total == 1
    assert kb_search.search(kb, "fraud risk").total == 2 * store.MERGE_FACTOR


def test_the_background_merger_merges_while_items_keep_arriving(kb: KnowledgeBase):
    stop = kb.start_index_merging(interval=0.05)
    try:
        _add_in_commits(kb, commits=3 * store.MERGE_FACTOR, per_commit=2)
        deadline = time.monotonic() + 30
        while len(_segment_sizes(kb)) >= store.MERGE_FACTOR and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
    assert len(_segment_sizes(kb)) < store.MERGE_FACTOR
    assert len(_documents(kb)) == 6 * store.MERGE_FACTOR
    assert kb.index.status(kb.db).in_sync


def test_a_merge_interrupted_by_a_killed_process_leaves_nothing_behind(kb: KnowledgeBase):
    _add_in_commits(kb, commits=store.MERGE_FACTOR, per_commit=1)
    generation = next(kb.index.root.glob("gen-*"))
    leftover = generation / "merging-small-1"
    leftover.mkdir()
    (leftover / "items_abc.seg").write_bytes(b"half written")
    assert kb.index.merge_segments() == store.MERGE_FACTOR
    assert not leftover.exists()
    assert len(_documents(kb)) == store.MERGE_FACTOR


class _Sized:
    """Just what the merge plan reads of a segment."""

    def __init__(self, live: int) -> None:
        self.live = live

    def doc_count(self) -> int:
        return self.live


def test_small_and_large_merges_are_planned_in_separate_lanes():
    built = [_Sized(8_000) for _ in range(13)]  # a rebuild's segments
    fresh = [_Sized(100) for _ in range(9)]  # commits since
    plan_small = store._merge_plan(built + fresh, "small")
    plan_large = store._merge_plan(built + fresh, "large")
    assert plan_small == fresh[:store.MERGE_FACTOR]
    assert len(plan_large) == store.MERGE_FACTOR and all(s.live == 8_000 for s in plan_large)
    assert store._merge_plan(built[:7] + fresh[:7], "small") == []  # fewer than eight in each tier
    assert store._merge_plan(built[:7] + fresh[:7], "large") == []


def test_the_sync_folds_small_segments_when_the_merger_falls_behind(
        kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch):
    # No background merger runs here, as when its low-priority processes get no CPU on a busy machine.
    monkeypatch.setattr(store, "FOLD_FROM", 4)
    monkeypatch.setattr(store, "FOLD_DOCS", 7)
    counts, urls = [], {}
    for commit in range(30):
        for _ in range(3):
            draft = make_draft()
            urls[items_store.store_item(kb.db, draft).item_id] = draft.url
        if commit % 5 == 4:  # deletions and updates land in segments about to be folded
            items_store.delete_item(kb.db, commit * 3 - 4)
            retitled = make_draft(url=urls[commit * 3 - 7], title=f"Retitled {commit}",
                                  text="A longer story, so the stored item is updated. " * 10)
            assert items_store.store_item(kb.db, retitled).outcome == "updated"
        kb.sync_index()
        counts.append(len(_segment_sizes(kb)))
    assert max(counts) <= store.FOLD_FROM + 1  # without the fold: one segment per commit, 30
    assert min(counts[store.FOLD_FROM + 1:]) >= 2  # folds happened: nothing was merged in one go
    folded = _documents(kb)
    assert kb_search.search(kb, "retitled").total == 6
    assert kb.index.rebuild(kb.db) == 90 - 6  # the reference: every item written afresh
    assert folded == _documents(kb)
    assert kb_search.search(kb, "retitled").total == 6

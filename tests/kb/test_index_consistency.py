"""The index is derived: rebuilt or written incrementally it holds the same documents, and it repairs
itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from kb import items as items_store
from kb.knowledge import KnowledgeBase
from kb.storage import outbox
from tests.factories import make_draft, make_kb


def _documents(kb: KnowledgeBase) -> dict[str, dict]:
    with kb.index.searcher(max_age=0) as searcher:
        return {fields["id"]: fields for fields in searcher.reader().all_stored_fields()}


def test_rebuilt_and_incremental_index_hold_the_same_documents(kb: KnowledgeBase):
    for _ in range(30):
        items_store.store_item(kb.db, make_draft())
    items_store.delete_item(kb.db, 3)
    kb.sync_index()
    incremental = _documents(kb)
    kb.index.rebuild(kb.db)
    rebuilt = _documents(kb)
    assert len(incremental) == 29
    assert incremental == rebuilt
    assert kb.status().index_in_sync


def test_rebuild_swaps_generations_and_search_stays_open(kb: KnowledgeBase):
    items_store.store_item(kb.db, make_draft())
    kb.sync_index()
    with kb.index.searcher(max_age=0) as before:
        kb.index.rebuild(kb.db)
        assert before.doc_count() == 1  # a searcher opened before the swap keeps working
    generations = list(kb.index.root.glob("gen-*"))
    assert len(generations) == 1
    assert kb.index.document_count() == 1


CRASH_AFTER_DB_COMMIT = """
import os, sys
from tests.factories import make_kb, make_draft
from kb import items
kb = make_kb(sys.argv[1])
for n in range(5):
    items.store_item(kb.db, make_draft(url=f"https://crash.example/{n}", title=f"Crash {n}",
                                       text=f"Body {n}"))
os._exit(9)  # dies like kill -9: the database has committed, the index has not
"""

CRASH_AFTER_INDEX_COMMIT = """
import os, sys
from tests.factories import make_kb, make_draft
from kb import items
from kb.storage import outbox
kb = make_kb(sys.argv[1])
for n in range(5, 8):
    items.store_item(kb.db, make_draft(url=f"https://crash.example/{n}", title=f"Crash {n}",
                                       text=f"Body {n}"))
rows = outbox.pending(kb.db, 100)
kb.index._apply(kb.index._open(), kb.db, [(kind, record_id) for _, kind, record_id in rows])
os._exit(9)  # dies after the index commit, before the outbox rows are acknowledged
"""


def _run_and_crash(script: str, data_dir: Path) -> None:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(data_dir)],
                            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 9, result.stderr


def test_crash_between_database_and_index_commit_is_repaired_on_next_start(tmp_path: Path):
    data_dir = tmp_path / "data"
    make_kb(data_dir).close()
    _run_and_crash(CRASH_AFTER_DB_COMMIT, data_dir)
    reopened = make_kb(data_dir)
    try:
        assert outbox.pending_count(reopened.db) == 0
        assert reopened.index.document_ids() == {str(i) for i in items_store.item_ids(reopened.db)}
        assert reopened.index.document_count() == 5
    finally:
        reopened.close()

    _run_and_crash(CRASH_AFTER_INDEX_COMMIT, data_dir)
    reopened = make_kb(data_dir)
    try:
        status = reopened.status()
        assert status.items == 8
        assert status.index_documents == 8  # re-applied rows did not make a second copy
        assert status.index_in_sync
        assert reopened.index.document_count() == 8
    finally:
        reopened.close()


def test_status_reports_disagreement_until_synced(kb: KnowledgeBase):
    items_store.store_item(kb.db, make_draft())
    assert not kb.status().index_in_sync
    kb.sync_index()
    assert kb.status().index_in_sync

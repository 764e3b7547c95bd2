"""`kb items retag` and `kb items train`, run as subprocesses against a temporary data folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kb import items as items_store
from kb.text.tagging import NOT_RELEVANT
from tests.factories import make_draft, make_kb
from tests.test_cli import run_kb


def _rows(path: Path) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return [*connection.execute("SELECT * FROM items ORDER BY id"),
                *connection.execute("SELECT * FROM tags ORDER BY item_id, topic"),
                *connection.execute("SELECT * FROM audit_log ORDER BY id")]
    finally:
        connection.close()


def test_retag_dry_run_changes_nothing_and_the_real_run_reports_its_changes(tmp_path: Path):
    data_dir = tmp_path / "data"
    base = make_kb(data_dir)
    # Stored with no topics and "not relevant": what an older taxonomy said of a Swedish welfare story.
    item_id = items_store.store_item(base.db, make_draft(
        title="Försäkringskassans algoritm pekar ut föräldrar för kontroll",
        text="En maskininlärningsmodell väljer ut vilka som får tillfällig föräldrapenning granskad.",
        language="sv", topics=(), relevant=False, relevance_verdict=NOT_RELEVANT)).item_id
    db_path = base.settings.db_path
    base.close()
    before = _rows(db_path)

    dry = run_kb(data_dir, "items", "retag", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 items examined" in dry.stdout and "Topics would change on 1 items" in dry.stdout
    assert "Dry run: nothing was written." in dry.stdout
    assert _rows(db_path) == before

    real = run_kb(data_dir, "items", "retag")
    assert real.returncode == 0, real.stderr
    assert "Topics changed on 1 items" in real.stdout and "terms alone (no learned model yet)" in real.stdout
    base = make_kb(data_dir)
    try:
        item = items_store.get_item(base.db, item_id)
        assert item.topics and item.relevance_verdict != NOT_RELEVANT
    finally:
        base.close()

    train = run_kb(data_dir, "items", "train")
    assert train.returncode == 0, train.stderr
    assert "Not trained. No learned model yet" in train.stdout and "20 needed" in train.stdout

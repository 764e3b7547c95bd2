"""The learned relevance model on the ingest path: trained from the monitor's tick once enough decisions
exist, and scoring every item at store time, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.queue import TaskQueue, run_once
from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.learning import records
from kb.text.relevance import COLD_START
from tests.factories import make_draft, make_kb
from tests.ingest.test_pipeline import rss

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "relevance_labelled.jsonl"


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = make_kb(tmp_path / "data", fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                   fetch_read_timeout=2, fetch_retries=1, extract_processes=1, schedule_seconds=3600)
    try:
        yield base
    finally:
        base.close()


def _decisions(kb: KnowledgeBase) -> None:
    """The coordinator's accepts and rejects of 60 labelled items."""
    user = users_store.add_user(kb.db, "coord@lab.example", "a long password 1", "coordinator")
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()][:60]
    for n, row in enumerate(rows):
        stored = items_store.store_item(kb.db, make_draft(url=f"https://labels.example.org/{n}",
                                                          title=row["title"], text=row["text"],
                                                          language=row["lang"]))
        curation.set_status(kb.db, stored.item_id, "accepted" if row["relevant"] else "rejected", user.id)


def test_the_tick_trains_the_model_and_ingest_scores_every_item(kb, http_server):
    feed = rss([("Kommunen automatiserar beslut om bostadsbidrag", "/sv/1",
                 "En algoritm fattar beslut om bostadsbidrag utan handläggare, och socialsekreterare "
                 "kritiserar bristen på insyn i systemet."),
                ("Djurgården vann hemma", "/sv/2",
                 "Hemmalaget vann med två mål mot ett inför fullsatt arena.")])
    http_server.add("/sv.xml", (200, {"Content-Type": "application/rss+xml"}, feed))

    _decisions(kb)
    assert records.latest_model(kb.db) is None
    queue = TaskQueue(kb.settings, in_memory=True)
    queue.start_storing(kb, schedule=False)
    try:
        queue.tick()
        deadline = time.monotonic() + 120
        while records.latest_model(kb.db) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        queue.stop()
    model = records.latest_model(kb.db)
    assert model is not None and model.labels == 60

    source = sources_store.add_source(kb.db, http_server.url("/sv.xml"))  # after the tick: not leased by it
    assert run_once(kb, [source.id]).new == 2
    stored = [item for item in items_store.iter_items(kb.db) if item.status == "new"]
    assert len(stored) == 2
    for item in stored:
        assert item.model_score is not None, item.relevance_reason
        assert "model" in item.relevance_reason and COLD_START not in item.relevance_reason
    by_title = {item.title: item for item in stored}
    assert by_title["Kommunen automatiserar beslut om bostadsbidrag"].model_score \
        > by_title["Djurgården vann hemma"].model_score

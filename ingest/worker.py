"""The long-running worker: fetch each source when it is due, until asked to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from ingest.pipeline import Ingestor, IngestSummary
from kb import sources as sources_store

LOGGER = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 5.0


def run_worker(ingestor: Ingestor, stop: threading.Event, *,
               on_pass: Callable[[IngestSummary], None] | None = None,
               poll: float = IDLE_POLL_SECONDS, tick: Callable[[], None] | None = None) -> None:
    """Loop until `stop` is set; a pass in flight finishes its sources before the loop ends."""
    kb = ingestor.kb
    while not stop.is_set():
        due = sources_store.due_sources(kb.db)
        if due:
            summary = ingestor.run(due, stop=stop)
            LOGGER.info("%s", summary.line())
            if on_pass:
                on_pass(summary)
        else:
            kb.sync_index()  # changes made by the web UI or another process
        if tick:
            tick()
        stop.wait(_seconds_to_next_due(ingestor, poll))


def _seconds_to_next_due(ingestor: Ingestor, poll: float) -> float:
    now = datetime.now(UTC)
    upcoming = [
        datetime.fromisoformat(s.next_due) for s in sources_store.list_sources(ingestor.kb.db)
        if not s.paused and s.next_due
    ]
    if not upcoming:
        return poll
    return max(0.0, min(poll, (min(upcoming) - now).total_seconds()))

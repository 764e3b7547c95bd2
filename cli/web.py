"""The web app as `kb serve` and `kb demo` run it: webui's app with the monitor's queue behind its
sources page."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from ingest.queue import TaskQueue
from ingest.subscribe import export_opml, import_opml, subscribe
from kb import monitor
from kb.errors import KbError
from kb.knowledge import KnowledgeBase
from kb.sources import Source
from webui.app import create_app

LOGGER = logging.getLogger(__name__)
# Recorded on a source whose fetch was leased but could not be handed to the queue.
NOT_QUEUED = ("The task queue was unreachable, so this fetch was not queued; the source is fetched again "
              "when due.")


class QueueIntake:
    """webui.sources.SourceIntake through the task queue: a source is added at once and checked by its
    first fetch, queued right away; the page shows the outcome on the source's row. `fetch_now` and
    `waiting` raise the queue's own error when it is unreachable (e.g. redis's ConnectionError)."""

    def __init__(self, queue: TaskQueue) -> None:
        self.queue = queue

    def subscribe(self, kb: KnowledgeBase, url: str, *, kind: str, name: str, interval_minutes: int | None,
                  full_text: bool, by: int | None = None) -> Source:
        source = subscribe(kb, None, url, kind=kind, name=name, interval_minutes=interval_minutes,
                           full_text=full_text, by=by)
        self._first_fetch(kb, [source])
        return source

    def _first_fetch(self, kb: KnowledgeBase, sources: list[Source]) -> None:
        """Queue the first fetch of new sources; they stay due, so the scheduler fetches them should the
        queue be unreachable now."""
        for source in sources:
            try:
                self.fetch_now(kb, source.id)
            except KbError:
                raise
            except Exception as exc:  # noqa: BLE001 - the source is added; the pages say the queue is down
                LOGGER.warning("first fetch of source %s not queued: %s", source.id, exc)
                return

    def fetch_now(self, kb: KnowledgeBase, source_id: int) -> bool:
        self.queue.waiting()  # raises when the queue is unreachable, before a fetch is leased for nothing
        job = monitor.fetch_now(kb.db, source_id, self.queue.lease)
        if job is None:
            return False
        try:
            self.queue.fetch_source(job)
        except Exception:
            # The queue went away just now: end the run rather than show it queued until its lease ends.
            monitor.fetch_failed(kb.db, source_id, job.run_id, NOT_QUEUED)
            raise
        return True

    def waiting(self) -> int:
        return self.queue.waiting()

    def import_opml(self, kb: KnowledgeBase, data: bytes,
                    by: int | None = None) -> tuple[list[Source], list[str]]:
        added, skipped = import_opml(kb, data, by=by)
        self._first_fetch(kb, added)
        return added, skipped

    def export_opml(self, sources: list[Source]) -> bytes:
        return export_opml(sources)


def web_app(kb: KnowledgeBase, queue: TaskQueue | None = None, **config: Any) -> Flask:
    """The complete web app over an opened knowledge base and its monitor's queue."""
    return create_app(kb.settings, kb=kb, intake=QueueIntake(queue or TaskQueue(kb.settings)), **config)

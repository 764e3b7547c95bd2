"""The web app as `kb serve` and `kb demo` run it: webui's app with the monitor's queue behind its
sources page."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ingest.queue import TaskQueue
from ingest.subscribe import export_opml, import_opml, subscribe
from kb.knowledge import KnowledgeBase
from kb.sources import Source
from webui.app import create_app


class QueueIntake:
    """webui.sources.SourceIntake through the task queue: a source is added at once and checked by its
    first fetch, queued right away; the page shows the outcome on the source's row."""

    def __init__(self, queue: TaskQueue) -> None:
        self.queue = queue

    def subscribe(self, kb: KnowledgeBase, url: str, *, kind: str, name: str, interval_minutes: int | None,
                  full_text: bool) -> Source:
        source = subscribe(kb, None, url, kind=kind, name=name, interval_minutes=interval_minutes,
                           full_text=full_text)
        self.fetch_now(kb, source.id)
        return source

    def fetch_now(self, kb: KnowledgeBase, source_id: int) -> bool:
        return self.queue.fetch_now(kb, source_id)

    def waiting(self) -> int:
        return self.queue.waiting()

    def import_opml(self, kb: KnowledgeBase, data: bytes) -> tuple[list[Source], list[str]]:
        added, skipped = import_opml(kb, data)
        for source in added:
            self.fetch_now(kb, source.id)
        return added, skipped

    def export_opml(self, sources: list[Source]) -> bytes:
        return export_opml(sources)


def web_app(kb: KnowledgeBase, queue: TaskQueue | None = None, **config: Any) -> Flask:
    """The complete web app over an opened knowledge base and its monitor's queue."""
    return create_app(kb.settings, kb=kb, intake=QueueIntake(queue or TaskQueue(kb.settings)), **config)

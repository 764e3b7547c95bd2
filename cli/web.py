"""The web app as `kb serve` and `kb demo` run it: webui's app with ingest behind its sources page."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ingest.fetch import FetchConfig, Fetcher
from ingest.subscribe import export_opml, import_opml, subscribe
from kb.knowledge import KnowledgeBase
from kb.sources import Source
from webui.app import create_app


class IngestIntake:
    """webui.sources.SourceIntake through ingest: a feed's address is fetched and checked when added."""

    def subscribe(self, kb: KnowledgeBase, url: str, *, kind: str, name: str, interval_minutes: int | None,
                  full_text: bool) -> Source:
        with Fetcher(FetchConfig.from_settings(kb.settings)) as fetcher:
            return subscribe(kb, fetcher, url, kind=kind, name=name, interval_minutes=interval_minutes,
                             full_text=full_text)

    def import_opml(self, kb: KnowledgeBase, data: bytes) -> tuple[list[Source], list[str]]:
        return import_opml(kb, data)

    def export_opml(self, sources: list[Source]) -> bytes:
        return export_opml(sources)


def web_app(kb: KnowledgeBase, **config: Any) -> Flask:
    """The complete web app over an opened knowledge base."""
    return create_app(kb.settings, kb=kb, intake=IngestIntake(), **config)

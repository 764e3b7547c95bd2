"""One ingest pass: fetch sources concurrently, prepare entries on all cores, store through one writer.

The refresh of a source reads as: conditional fetch, parse, fetch article pages (full-text sources),
prepare (extract, detect, tag), store, record the source's health. A failing source is recorded and
never stops the others; items are committed one by one, so a killed run loses nothing it committed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.feeds import parse_feed
from ingest.fetch import FetchConfig, Fetcher, FetchResult
from ingest.prepare import RawEntry, StageSeconds, add_seconds, prepare_many, stage_seconds, warm_up
from kb import items as items_store
from kb import sources as sources_store
from kb.errors import FetchError, InvalidInput
from kb.knowledge import KnowledgeBase
from kb.sources import Source
from kb.text.urls import canonical_url, is_http_url

LOGGER = logging.getLogger(__name__)

CHUNK = 25  # entries per message to a worker process
SYNC_EVERY_SECONDS = 1.0


@dataclass
class IngestSummary:
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    # Seconds per stage, summed over threads and processes: fetch, parse, extract, detect, tag, store, index.
    stage_seconds: StageSeconds = field(default_factory=stage_seconds)

    def line(self) -> str:
        return (f"Sources: {self.fetched} fetched, {self.not_modified} not modified, {self.failed} failed. "
                f"Items: {self.new} new, {self.updated} updated, {self.duplicate} duplicate.")


@dataclass
class _Collected:
    """What the fetch stage found for one source."""

    source: Source
    result: FetchResult | None = None
    raws: list[RawEntry] = field(default_factory=list)
    known: list[RawEntry] = field(default_factory=list)  # already items: only the source link is recorded
    error: FetchError | None = None
    timings: StageSeconds = field(default_factory=stage_seconds)


class Ingestor:
    """Runs ingest passes for one knowledge base; close it (or use `with`) to stop its workers."""

    def __init__(self, kb: KnowledgeBase, *, fetcher: Fetcher | None = None,
                 processes: int | None = None) -> None:
        self.kb = kb
        self.fetcher = fetcher or Fetcher(FetchConfig.from_settings(kb.settings))
        wanted = processes if processes is not None else kb.settings.extract_processes
        self.processes = wanted if wanted > 0 else (os.cpu_count() or 1)
        self._threads = ThreadPoolExecutor(max_workers=kb.settings.fetch_concurrency,
                                           thread_name_prefix="fetch")
        self._cpu: Executor
        if self.processes > 1:
            self._cpu = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=warm_up
            )
        else:
            self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._cpu.shutdown(wait=True, cancel_futures=True)
        self.fetcher.close()

    # --- fetch stage (threads) -------------------------------------------------------------------
    def _collect(self, source: Source) -> _Collected:
        collected = _Collected(source)
        started = time.perf_counter()
        try:
            result = self.fetcher.fetch(source.url, etag=source.etag, last_modified=source.last_modified,
                                        is_page=source.kind == "page")
            collected.result = result
            collected.timings["fetch"] += time.perf_counter() - started
            if result.not_modified:
                return collected
            if source.kind == "page":
                collected.raws.append(RawEntry(url=source.url, title="", page_body=result.body,
                                               page_headers=result.headers, site_name=source.name))
                return collected
            parsing = time.perf_counter()
            feed = parse_feed(result.body, result.headers, result.url)
            collected.timings["parse"] += time.perf_counter() - parsing
            for warning in feed.warnings:
                LOGGER.info("source %s: %s", source.id, warning)
            entries = [e for e in feed.entries if is_http_url(e.url)]
            known = items_store.known_urls(self.kb.db, [canonical_url(e.url) for e in entries])
            for entry in entries:
                raw = RawEntry(url=entry.url, title=entry.title, summary=entry.summary, guid=entry.guid,
                               published=entry.published, author=entry.author,
                               site_name=source.name or feed.title,
                               declared_language=entry.language or feed.language)
                if canonical_url(entry.url) in known:
                    collected.known.append(raw)
                    continue
                if source.full_text:
                    fetching = time.perf_counter()
                    raw = self._with_page(raw)
                    collected.timings["fetch"] += time.perf_counter() - fetching
                collected.raws.append(raw)
        except FetchError as exc:
            collected.error = exc
        return collected

    def _with_page(self, raw: RawEntry) -> RawEntry:
        """Attach the article page; on failure the entry keeps its feed summary."""
        try:
            page = self.fetcher.fetch(raw.url, is_page=True)
        except FetchError as exc:
            LOGGER.info("article page %s not fetched (%s); using the feed's summary", raw.url, exc)
            return raw
        return RawEntry(**{**raw.__dict__, "url": page.url if is_http_url(page.url) else raw.url,
                           "page_body": page.body, "page_headers": page.headers})

    # --- store stage (this thread: the one writer) ----------------------------------------------
    def _store(self, collected: _Collected, drafts: Sequence[items_store.ItemDraft],
               summary: IngestSummary) -> None:
        source, db = collected.source, self.kb.db
        if collected.error is not None:
            summary.failed += 1
            summary.errors.append((source.id, str(collected.error)))
            sources_store.record_failure(db, source.id, str(collected.error),
                                         retry_after=getattr(collected.error, "retry_after", None))
            return
        assert collected.result is not None
        started = time.perf_counter()
        if collected.result.not_modified:
            summary.not_modified += 1
        else:
            summary.fetched += 1
        for draft in drafts:
            try:
                outcome = items_store.store_item(db, draft, source.id, watched=source.kind == "page")
            except InvalidInput as exc:
                LOGGER.info("source %s: entry skipped: %s", source.id, exc)
                continue
            setattr(summary, outcome.outcome, getattr(summary, outcome.outcome) + 1)
        for raw in collected.known:  # stored before: only record that this source carried it too
            if items_store.link_known(db, raw.url, source.id, raw.guid) is not None:
                summary.duplicate += 1
        sources_store.record_success(db, source.id, etag=collected.result.etag,
                                     last_modified=collected.result.last_modified)
        summary.stage_seconds["store"] += time.perf_counter() - started

    # --- one pass ---------------------------------------------------------------------------------
    def run(self, sources: Sequence[Source], *, progress: Callable[[Source], None] | None = None,
            stop: threading.Event | None = None) -> IngestSummary:
        """Fetch, prepare and store these sources; returns what happened."""
        summary = IngestSummary()
        fetching: dict[Future, Source] = {}
        preparing: dict[Future, tuple[_Collected, int]] = {}
        ready: dict[int, tuple[_Collected, list[list[items_store.ItemDraft] | None]]] = {}

        def sync_index() -> None:
            started = time.perf_counter()
            self.kb.sync_index()
            summary.stage_seconds["index"] += time.perf_counter() - started
        queue = list(sources)
        last_sync = time.monotonic()

        def submit_fetches() -> None:
            while (queue and len(fetching) < self.kb.settings.fetch_concurrency * 2
                   and not (stop and stop.is_set())):
                source = queue.pop(0)
                fetching[self._threads.submit(self._collect, source)] = source

        def finish(source_id: int) -> None:
            collected, chunks = ready.pop(source_id)
            add_seconds(summary.stage_seconds, collected.timings)
            drafts = [d for chunk in chunks for d in (chunk or [])]
            try:
                self._store(collected, drafts, summary)
            except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the pass
                LOGGER.exception("storing source %s failed", source_id)
                sources_store.record_failure(self.kb.db, source_id, f"Internal error while storing: {exc}")
                summary.failed += 1
            if progress:
                progress(collected.source)

        submit_fetches()
        while fetching or preparing:
            done, _ = wait([*fetching, *preparing], return_when=FIRST_COMPLETED)
            for future in done:
                if future in fetching:
                    source = fetching.pop(future)
                    collected = future.result()
                    chunks = [collected.raws[i : i + CHUNK] for i in range(0, len(collected.raws), CHUNK)]
                    ready[source.id] = (collected, [None] * len(chunks))
                    for index, chunk in enumerate(chunks):
                        preparing[self._cpu.submit(prepare_many, chunk)] = (collected, index)
                    if not chunks:
                        finish(source.id)
                else:
                    collected, index = preparing.pop(future)
                    try:
                        drafts, timings = future.result()
                        ready[collected.source.id][1][index] = drafts
                        add_seconds(collected.timings, timings)
                    except Exception as exc:  # noqa: BLE001 - a crashed worker fails its source, not the pass
                        LOGGER.exception("preparing entries of source %s failed", collected.source.id)
                        collected.error = FetchError(f"Internal error while processing entries: {exc}")
                        ready[collected.source.id][1][index] = []
                    if all(chunk is not None for chunk in ready[collected.source.id][1]):
                        finish(collected.source.id)
            if time.monotonic() - last_sync >= SYNC_EVERY_SECONDS:
                sync_index()
                last_sync = time.monotonic()
            submit_fetches()
        sync_index()
        self.kb.set_meta("last_ingest", datetime.now(UTC).isoformat(timespec="seconds"))
        return summary


def sources_for_pass(kb: KnowledgeBase, *, every: bool = False, source_id: int | None = None) -> list[Source]:
    """The sources one `kb ingest` pass covers: the due ones, all of them, or one."""
    if source_id is not None:
        return [sources_store.get_source(kb.db, source_id)]
    if every:
        return [s for s in sources_store.list_sources(kb.db) if not s.paused]
    return sources_store.due_sources(kb.db)

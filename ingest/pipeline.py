"""The refresh of a source, in the steps the task queue runs (see `ingest.queue`).

On a worker, with no database: `read_source` fetches the source (conditionally), finds a web page's feed,
parses the feed into entries (or prepares a watched page); `prepare_chunk` fetches the article pages of a
full-text source and prepares entries (extract, detect the language, tag).
On the writer, the one process that holds the database: `receive_read` records the source's health,
links the entries it already has and splits the new ones into chunks to prepare; `store_chunk` stores
prepared items. What becomes of each entry is counted by reason on the fetch run and then on the source
(`kb.monitor`), so nothing is dropped without a trace. A failure of one source, whatever its exception,
is recorded on that source and never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta

from ingest.feeds import FeedError, find_feed_links, looks_like_html, parse_feed
from ingest.fetch import Fetcher, FetchResult
from ingest.prepare import RawEntry, StageSeconds, add_seconds, prepare_many, stage_seconds, taxonomy_text
from ingest.subscribe import page_title
from kb import items as items_store
from kb import monitor
from kb import sources as sources_store
from kb.errors import Conflict, FetchError, InvalidInput
from kb.knowledge import KnowledgeBase
from kb.learning import taxonomies, training
from kb.monitor import FetchJob
from kb.text.urls import canonical_url, is_http_url

LOGGER = logging.getLogger(__name__)

CHUNK = 25  # entries per prepare task: fewer, larger messages on the queue
# What can become of an entry besides kb.items.store_item's outcomes ("new", "updated", "duplicate").
DUPLICATE, REFUSED = "duplicate", "refused by a rule"


@dataclass(frozen=True)
class SourceRead:
    """What a worker found at a source, handed to the writer through the queue."""

    job: FetchJob
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    entries: tuple[RawEntry, ...] = ()  # a feed's entries with usable links
    page: tuple[items_store.ItemDraft, ...] = ()  # a watched page, prepared
    feed_url: str | None = None  # the feed a web page linked to (autodiscovery), when it differs
    dropped: dict[str, int] = field(default_factory=dict)  # entries the parser did not keep, by reason
    warning: str | None = None  # a cap that bit, in words
    error: str | None = None  # why the source could not be read, in words for a person
    title: str = ""  # the feed's or page's own title, read for a source nobody named (it becomes its name)
    retry_after: float | None = None
    seconds: StageSeconds = field(default_factory=stage_seconds)


def _feed_response(fetcher: Fetcher, job: FetchJob, seconds: StageSeconds) -> tuple[FetchResult, str | None]:
    """The feed's response, following a web page to the first feed it links to (autodiscovery)."""
    started = time.perf_counter()
    result = fetcher.fetch(job.url, etag=job.etag, last_modified=job.last_modified)
    feed_url = None
    if not result.not_modified and looks_like_html(result.body, result.headers):
        links = [link for link in find_feed_links(result.body, result.headers, result.url) if link != job.url]
        if not links:
            raise FetchError("this address is a web page that links to no feed; to follow the page itself, "
                             "add it as a watched page")
        LOGGER.info("autodiscovery: %s -> %s", job.url, links[0])
        feed_url = links[0]
        result = fetcher.fetch(feed_url)
    seconds["fetch"] += time.perf_counter() - started
    return result, feed_url


def read_source(fetcher: Fetcher, cpu: Executor, job: FetchJob) -> SourceRead:
    """Fetch and read one source (a watched page is prepared on `cpu`). Never raises: any failure comes
    back as the read's `error`."""
    seconds = stage_seconds()
    try:
        if job.kind == "page":
            started = time.perf_counter()
            result = fetcher.fetch(job.url, etag=job.etag, last_modified=job.last_modified, is_page=True)
            seconds["fetch"] += time.perf_counter() - started
            drafts: tuple[items_store.ItemDraft, ...] = ()
            if not result.not_modified:
                raw = RawEntry(url=job.url, title="", page_body=result.body, page_headers=result.headers,
                               site_name=job.name)
                prepared, timings = cpu.submit(prepare_many, [raw], taxonomy_text()).result()
                add_seconds(seconds, timings)
                drafts = tuple(prepared)
            title = "" if job.name or result.not_modified else page_title(result.body, result.headers)
            return SourceRead(job, result.etag, result.last_modified, result.not_modified, page=drafts,
                              seconds=seconds, title=title)
        result, feed_url = _feed_response(fetcher, job, seconds)
        if result.not_modified:
            return SourceRead(job, result.etag, result.last_modified, True, seconds=seconds)
        parsing = time.perf_counter()
        try:
            feed = parse_feed(result.body, result.headers, result.url)
        except FeedError as exc:
            raise FetchError(f"the address does not give a feed: {exc}") from exc
        seconds["parse"] += time.perf_counter() - parsing
        # The parser keeps only entries with an http(s) link and counts the others in `dropped`.
        entries = tuple(
            RawEntry(url=e.url, title=e.title, summary=e.summary, guid=e.guid, published=e.published,
                     author=e.author, site_name=job.name or feed.title,
                     declared_language=e.language or feed.language)
            for e in feed.entries)
        return SourceRead(job, result.etag, result.last_modified, entries=entries, feed_url=feed_url,
                          dropped=dict(feed.dropped), warning=feed.cap_warning, seconds=seconds,
                          title="" if job.name else feed.title)
    except FetchError as exc:
        return SourceRead(job, error=str(exc), retry_after=getattr(exc, "retry_after", None), seconds=seconds)
    except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the monitor
        LOGGER.exception("reading source %s failed", job.source_id)
        return SourceRead(job, error=f"Internal error while reading the source: {exc}", seconds=seconds)


def _with_page(fetcher: Fetcher, raw: RawEntry) -> RawEntry:
    """Attach the article page; on failure the entry keeps its feed summary."""
    try:
        page = fetcher.fetch(raw.url, is_page=True)
    except FetchError as exc:
        LOGGER.info("article page %s not fetched (%s); using the feed's summary", raw.url, exc)
        return raw
    return RawEntry(**{**raw.__dict__, "url": page.url if is_http_url(page.url) else raw.url,
                       "page_body": page.body, "page_headers": page.headers})


def prepare_chunk(fetcher: Fetcher, cpu: Executor, job: FetchJob,
                  raws: Sequence[RawEntry]) -> tuple[list[items_store.ItemDraft], StageSeconds]:
    """Prepare a chunk of entries on the CPU pool, after fetching their pages for a full-text source."""
    seconds = stage_seconds()
    if job.full_text:
        started = time.perf_counter()
        raws = [_with_page(fetcher, raw) for raw in raws]
        seconds["fetch"] += time.perf_counter() - started
    drafts, timings = cpu.submit(prepare_many, list(raws), taxonomy_text()).result()
    add_seconds(seconds, timings)
    return drafts, seconds


# --- the writer ------------------------------------------------------------------------------------------


def receive_read(kb: KnowledgeBase, read: SourceRead,
                 lease: timedelta) -> tuple[list[list[RawEntry]], Counter[str]]:
    """Record what a worker found at a source; returns the chunks of new entries to prepare (none for a
    stale run, whose source is being fetched again) and what became of the other entries, by reason."""
    job, db = read.job, kb.db
    taxonomies.current(db)  # the entries it hands out for preparing are tagged with the lab's taxonomy
    if read.error is not None:
        monitor.fetch_failed(db, job.source_id, job.run_id, read.error, retry_after=read.retry_after)
        return [], Counter()
    if read.feed_url:
        try:
            sources_store.update_source(db, job.source_id, url=read.feed_url)
        except (Conflict, InvalidInput) as exc:  # the feed it links to is followed already
            monitor.fetch_failed(db, job.source_id, job.run_id, f"this page's feed is {read.feed_url}: {exc}")
            return [], Counter()
    if read.title and not job.name:
        sources_store.name_if_unnamed(db, job.source_id, read.title)
    counts: Counter[str] = Counter(read.dropped)
    new: list[RawEntry] = []
    known = items_store.known_urls(db, [canonical_url(raw.url) for raw in read.entries])
    for raw in read.entries:
        if canonical_url(raw.url) not in known:
            new.append(raw)
        elif items_store.link_known(db, raw.url, job.source_id, raw.guid) is not None:
            counts[DUPLICATE] += 1
    chunks = [new[i : i + CHUNK] for i in range(0, len(new), CHUNK)]
    if read.page:
        counts += _store(kb, job, read.page)
    fresh = monitor.fetch_read(db, job.source_id, job.run_id, chunks=len(chunks), etag=read.etag,
                               last_modified=read.last_modified, counts=counts, warning=read.warning,
                               lease=lease)
    return (chunks if fresh else []), counts


def _store(kb: KnowledgeBase, job: FetchJob, drafts: Sequence[items_store.ItemDraft]) -> Counter[str]:
    counts: Counter[str] = Counter()
    # Drafts a worker tagged with another taxonomy than the lab's current one are tagged again; the learned
    # relevance model scores every item at store time, next to the tagger's terms.
    for draft in training.judge_drafts(kb.db, taxonomies.tag_drafts(kb.db, drafts)):
        try:
            outcome = items_store.store_item(kb.db, draft, job.source_id, watched=job.kind == "page")
        except InvalidInput as exc:
            LOGGER.info("source %s: entry refused: %s", job.source_id, exc)
            counts[REFUSED] += 1
            continue
        counts[outcome.outcome] += 1
    return counts


def store_chunk(kb: KnowledgeBase, job: FetchJob, drafts: Sequence[items_store.ItemDraft]) -> Counter[str]:
    """Store a prepared chunk (idempotent: items are deduplicated) and count it on its run."""
    counts = _store(kb, job, drafts)
    monitor.chunk_stored(kb.db, job.source_id, job.run_id, counts)
    return counts

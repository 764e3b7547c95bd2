"""The task queue behind the monitor (huey): two queues, the fetching side and the writing side.

- `kb-fetch` holds work any worker can do with no database: read a source (`fetch_source`) and prepare a
  chunk of its entries (`prepare_entries`). Consumers run in `kb serve` and in every `kb worker`, on
  this machine or others.
- `kb-store` holds what only the writer does: record what a worker read (`receive_read`), store prepared
  items (`store_drafts`), record heartbeats, and the scheduler's `tick`, which leases the due sources
  (`kb.monitor`) and hands them to `kb-fetch`. Its one consumer runs in the process that holds the
  database and the index (`kb serve`, or `kb worker --store`).

Both live in `<data-dir>/queue.sqlite3` (huey's SqliteHuey) unless `KB_QUEUE_URL` names a Redis server,
which worker machines then share. A queue only carries work: a task lost with a killed worker, or with
a Redis list pop that nobody acknowledged, is found again when its run's lease runs out.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from ingest.fetch import FetchConfig, Fetcher
from ingest.pipeline import (
    SourceRead,
    prepare_chunk,
    read_source,
    receive_read,
    store_chunk,
)
from ingest.prepare import RawEntry, StageSeconds, add_seconds, stage_seconds, warm_up
from kb import monitor
from kb.digest.deliveries import due_for_sending, send_digest
from kb.errors import KbError
from kb.items import ItemDraft
from kb.knowledge import KnowledgeBase
from kb.learning import taxonomies, training
from kb.monitor import FetchJob, Heartbeat
from kb.settings import Settings
from kb.sources import FIRST_OUTCOMES

LOGGER = logging.getLogger(__name__)

FETCH_QUEUE, STORE_QUEUE = "kb-fetch", "kb-store"
QUEUE_FILE = "queue.sqlite3"
HEARTBEAT_SECONDS = 30.0
TICK_KEY = "monitor_tick"  # meta: when the scheduler last ran (one chain of ticks survives a restart)


def _huey(name: str, settings: Settings, in_memory: bool) -> Huey:
    if in_memory:
        return MemoryHuey(name, results=False)
    if settings.queue_url:
        # Bounded waits: a Redis host that drops packets must not hang the web pages that ask the queue.
        pool = redis.ConnectionPool.from_url(settings.queue_url, socket_connect_timeout=3, socket_timeout=10)
        return RedisHuey(name, connection_pool=pool, results=False)
    return SqliteHuey(name, filename=str(settings.data_dir / QUEUE_FILE), results=False)


class _QueueDownFilter(logging.Filter):
    """While the queue (Redis) is unreachable, every idle consumer thread and the scheduler log a traceback
    on each poll; keep one line a minute, which is what a person reading the log needs (the UI says so
    too)."""

    EVERY_SECONDS = 60.0
    MESSAGES = frozenset({"Error reading from queue", "Error reading schedule."})

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() not in self.MESSAGES:
            return True
        now = time.monotonic()
        if now - self._last < self.EVERY_SECONDS:
            return False
        self._last = now
        error = record.exc_info[1] if record.exc_info else None
        record.msg, record.args, record.exc_info, record.exc_text = (
            "the task queue is unreachable (%s); retrying", (error,), None, None)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_QUEUE_DOWN = _QueueDownFilter()
for _name in ("huey.consumer.Worker", "huey.consumer.Scheduler"):
    logging.getLogger(_name).addFilter(_QUEUE_DOWN)


class _EmbeddedConsumer(Consumer):
    """A huey consumer inside one of our processes, which handles the signals itself (the web server, or
    `kb worker`'s own clean shutdown) and stops the consumer from there."""

    def _set_signal_handlers(self) -> None:
        pass


@dataclass
class IngestSummary:
    """What the sources of one pass (or the writer since it started) came to."""

    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    entries: Counter[str] = field(default_factory=Counter)  # "new", "duplicate", "over the cap", ...
    errors: list[tuple[int, str]] = field(default_factory=list)
    stage_seconds: StageSeconds = field(default_factory=stage_seconds)

    @property
    def new(self) -> int:
        return self.entries["new"]

    @property
    def updated(self) -> int:
        return self.entries["updated"]

    @property
    def duplicate(self) -> int:
        return self.entries["duplicate"]

    def skipped(self) -> dict[str, int]:
        """Entries not stored, by reason (duplicates aside)."""
        return {reason: count for reason, count in sorted(self.entries.items())
                if reason not in FIRST_OUTCOMES and count}

    def line(self) -> str:
        skipped = "; ".join(f"{count} {reason}" for reason, count in self.skipped().items())
        return (f"Sources: {self.fetched} fetched, {self.not_modified} not modified, {self.failed} failed. "
                f"Items: {self.new} new, {self.updated} updated, {self.duplicate} duplicate."
                + (f" Not stored: {skipped}." if skipped else ""))


@dataclass
class _WorkerSide:
    """What a fetching process holds: one fetcher (thread-safe, polite per host) and a CPU pool."""

    fetcher: Fetcher
    cpu: Executor
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    done: int = 0
    failed: int = 0
    last_failure: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, failure: str | None = None) -> None:
        with self.lock:
            self.done += 1
            if failure is not None:
                self.failed += 1
                self.last_failure = failure

    def close(self) -> None:
        self.cpu.shutdown(wait=True, cancel_futures=True)
        self.fetcher.close()


def _cpu_pool(settings: Settings) -> Executor:
    processes = settings.extract_processes or os.cpu_count() or 1
    if processes > 1:
        # Extraction, language detection and tagging are pure Python: processes use every core.
        return ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=warm_up)
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")


class TaskQueue:
    """The two queues of one knowledge base's monitor and their tasks. Build one per process: the tasks
    are registered under fixed names, so every process that builds it runs the same ones."""

    def __init__(self, settings: Settings, *, in_memory: bool = False) -> None:
        self.settings = settings
        self.lease = timedelta(seconds=settings.fetch_lease_seconds)
        self.fetching = _huey(FETCH_QUEUE, settings, in_memory)
        self.storing = _huey(STORE_QUEUE, settings, in_memory)
        # How long an idle consumer waits at most before looking again (a Redis consumer blocks instead).
        self._poll = 0.02 if in_memory else 0.5
        self.summary = IngestSummary()  # what this process's writer handled
        self._summary_lock = threading.Lock()
        self._worker: _WorkerSide | None = None
        self._kb: KnowledgeBase | None = None
        self._consumers: list[Consumer] = []
        self._stop = threading.Event()
        self._id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._writer_started = ""
        self._define_tasks()

    # --- tasks -------------------------------------------------------------------------------------------
    def _define_tasks(self) -> None:
        fetching, storing = self.fetching, self.storing
        # A task that cannot hand its result on (the queue is unreachable) is retried by huey; anything
        # else it meets is reported to the writer, never raised.
        retry = {"retries": 5, "retry_delay": 5, "retry_backoff": 2}  # 5, 10, 20, 40, 80 s

        @fetching.task(name="fetch_source", **retry)
        def fetch_source(job: FetchJob) -> None:
            worker = self._worker_side()
            read = read_source(worker.fetcher, worker.cpu, job)
            worker.count(read.error)
            self.receive(read)

        @fetching.task(name="prepare_entries", **retry)
        def prepare_entries(job: FetchJob, raws: list[RawEntry]) -> None:
            worker = self._worker_side()
            try:
                drafts, seconds = prepare_chunk(worker.fetcher, worker.cpu, job, raws)
            except Exception as exc:  # noqa: BLE001 - a crashed chunk fails its source, not the worker
                LOGGER.exception("preparing entries of source %s failed", job.source_id)
                worker.count(str(exc))
                self.chunk_failed(job, f"Internal error while processing entries: {exc}")
                return
            worker.count()
            self.store(job, drafts, seconds)

        @storing.task(name="receive_read")
        def receive(read: SourceRead) -> None:
            self._receive(read)

        @storing.task(name="store_drafts")
        def store(job: FetchJob, drafts: list[ItemDraft], seconds: StageSeconds) -> None:
            self._store(job, drafts, seconds)

        @storing.task(name="chunk_failed")
        def chunk_failed(job: FetchJob, error: str) -> None:
            monitor.fetch_failed(self._writer().db, job.source_id, job.run_id, error)

        @storing.task(name="heartbeat")
        def heartbeat(beat: Heartbeat) -> None:
            monitor.record_heartbeat(self._writer().db, beat)

        @storing.task(name="tick")
        def tick() -> None:
            self._tick()

        self.fetch_source, self.prepare_entries = fetch_source, prepare_entries
        self.receive, self.store, self.chunk_failed = receive, store, chunk_failed
        self.heartbeat, self.tick = heartbeat, tick

    def _worker_side(self) -> _WorkerSide:
        if self._worker is None:
            raise RuntimeError("this process does not fetch: start_fetching() first")
        return self._worker

    def _writer(self) -> KnowledgeBase:
        if self._kb is None:
            raise RuntimeError("this process does not write: start_storing() first")
        return self._kb

    # --- the writer's work -------------------------------------------------------------------------------
    def _receive(self, read: SourceRead) -> None:
        kb, job = self._writer(), read.job
        try:
            chunks, counts = receive_read(kb, read, self.lease)
        except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the writer
            LOGGER.exception("recording what source %s gave failed", job.source_id)
            monitor.fetch_failed(kb.db, job.source_id, job.run_id, f"Internal error while storing: {exc}")
            chunks, counts, read = [], Counter(), SourceRead(job, error=str(exc))
        with self._summary_lock:
            summary = self.summary
            if read.error is not None:
                summary.failed += 1
                summary.errors.append((job.source_id, read.error))
            elif read.not_modified:
                summary.not_modified += 1
            else:
                summary.fetched += 1
                summary.entries.update(counts)
            add_seconds(summary.stage_seconds, read.seconds)
        for chunk in chunks:
            self.prepare_entries(job, chunk)

    def _store(self, job: FetchJob, drafts: Sequence[ItemDraft], seconds: StageSeconds) -> None:
        kb = self._writer()
        started = time.perf_counter()
        try:
            counts = store_chunk(kb, job, drafts)
        except Exception as exc:  # noqa: BLE001 - as above
            LOGGER.exception("storing entries of source %s failed", job.source_id)
            monitor.fetch_failed(kb.db, job.source_id, job.run_id, f"Internal error while storing: {exc}")
            return
        with self._summary_lock:
            self.summary.entries.update(counts)
            add_seconds(self.summary.stage_seconds, seconds)
            self.summary.stage_seconds["store"] += time.perf_counter() - started

    def schedule_due(self) -> int:
        """Lease the due sources and hand them to the fetching queue; returns how many."""
        jobs = monitor.lease_due(self._writer().db, self.lease)
        for job in jobs:
            self.fetch_source(job)
        return len(jobs)

    def fetch_now(self, kb: KnowledgeBase, source_id: int) -> bool:
        """Queue a fetch of this source at once; False when one is in flight already."""
        job = monitor.fetch_now(kb.db, source_id, self.lease)
        if job is not None:
            self.fetch_source(job)
        return job is not None

    def _tick(self) -> None:
        kb = self._writer()
        now = datetime.now(UTC)
        last = kb.get_meta(TICK_KEY)
        interval = self.settings.schedule_seconds
        if last and (now - datetime.fromisoformat(last)).total_seconds() < interval / 2:
            return  # another chain of ticks is running (left in a persistent queue by an earlier writer)
        kb.set_meta(TICK_KEY, now.isoformat())
        try:
            monitor.record_heartbeat(kb.db, self._beat("writer", self._writer_started))
            self.schedule_due()
            self._send_digest_if_due(kb, now)
            training.train_in_background(kb.db, kb.settings.db_path)  # once enough new decisions exist
            taxonomies.retag_in_background(kb.db, kb.settings.db_path)  # once the taxonomy was edited
        except Exception:  # noqa: BLE001 - the scheduler keeps ticking; the next tick tries again
            LOGGER.exception("scheduling failed; will retry")
        finally:
            if not self._stop.is_set():
                self.tick.schedule(delay=interval)

    def _send_digest_if_due(self, kb: KnowledgeBase, now: datetime) -> None:
        """Send the weekly digest when KB_DIGEST_WEEKDAY and KB_DIGEST_HOUR say it is time."""
        week = due_for_sending(kb.settings, now, kb.db)
        if week is None:
            return
        try:
            report = send_digest(kb.db, kb.settings, week)
        except KbError as exc:  # the coordinator sees the failure in the archive
            LOGGER.error("digest %s not sent: %s", week, exc)
            return
        LOGGER.warning("digest %s: %s", week, report.line())

    # --- running consumers -------------------------------------------------------------------------------
    def _beat(self, role: str, started_at: str) -> Heartbeat:
        worker = self._worker
        return Heartbeat(id=f"{self._id}-{role}", host=socket.gethostname(), pid=os.getpid(), role=role,
                         started_at=started_at, tasks_done=worker.done if worker and role == "fetch" else 0,
                         tasks_failed=worker.failed if worker and role == "fetch" else 0,
                         last_failure=worker.last_failure if worker and role == "fetch" else None)

    def start_fetching(self, workers: int | None = None) -> None:
        """Consume the fetching queue in this process: `workers` threads (default KB_FETCH_CONCURRENCY)
        sharing one polite fetcher, with extraction on a pool of processes."""
        fetcher = Fetcher(FetchConfig.from_settings(self.settings))
        self._worker = _WorkerSide(fetcher, _cpu_pool(self.settings))
        consumer = _EmbeddedConsumer(self.fetching, workers=workers or self.settings.fetch_concurrency,
                                     worker_type="thread", periodic=False, max_delay=self._poll)
        consumer.start()
        self._consumers.append(consumer)
        threading.Thread(target=self._send_heartbeats, name="heartbeat", daemon=True).start()

    def _send_heartbeats(self) -> None:
        started = self._worker.started_at if self._worker else ""
        while True:
            try:
                self.heartbeat(self._beat("fetch", started))
            except Exception:  # noqa: BLE001 - the queue is unreachable: the UI will show this worker silent
                LOGGER.warning("heartbeat not sent: the task queue is unreachable")
            if self._stop.wait(HEARTBEAT_SECONDS):
                return

    def start_storing(self, kb: KnowledgeBase, *, schedule: bool = True) -> None:
        """Consume the writing queue in this process (the one that holds the database); with `schedule`,
        start the ticks that lease due sources every KB_SCHEDULE_SECONDS."""
        self._kb = kb
        self._writer_started = datetime.now(UTC).isoformat(timespec="seconds")
        consumer = _EmbeddedConsumer(self.storing, workers=1, worker_type="thread", periodic=False,
                                     max_delay=self._poll)
        consumer.start()
        self._consumers.append(consumer)
        if schedule:
            threading.Thread(target=self._keep_ticking, args=(kb,), name="scheduler-watch",
                             daemon=True).start()

    def _keep_ticking(self, kb: KnowledgeBase) -> None:
        """Start the chain of ticks, and start it again when it broke (the queue was unreachable when a
        tick rescheduled itself, or a Redis server lost it)."""
        interval = self.settings.schedule_seconds
        while True:
            last = kb.get_meta(TICK_KEY)
            age = (datetime.now(UTC) - datetime.fromisoformat(last)).total_seconds() if last else None
            stale = age is None or age > 3 * interval
            if stale:
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - the UI says the queue is down; try again next time
                    LOGGER.warning("the task queue is unreachable; scheduling waits for it")
            if self._stop.wait(interval):
                return

    def stop(self) -> None:
        """Stop consuming after the tasks in hand are done."""
        self._stop.set()
        for consumer in self._consumers:
            consumer.stop(graceful=True)
        self._consumers.clear()
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def waiting(self) -> int:
        """Tasks waiting in both queues (raises when the queue is unreachable)."""
        return int(self.fetching.pending_count()) + int(self.storing.pending_count())


def run_once(kb: KnowledgeBase, source_ids: Sequence[int],
             progress: Callable[[int], None] | None = None) -> IngestSummary:
    """One pass over these sources in this process (`kb ingest`): the same tasks on in-memory queues,
    then the index synced and merged as far as its segment bound asks."""
    queue = TaskQueue(kb.settings, in_memory=True)
    queue.start_storing(kb, schedule=False)
    queue.start_fetching()
    try:
        jobs = monitor.lease_due(kb.db, queue.lease, source_ids=list(source_ids),
                                 owner=monitor.process_owner())
        for job in jobs:
            queue.fetch_source(job)
        waiting = {job.run_id: job for job in jobs}
        last_sync = time.monotonic()
        while waiting:
            time.sleep(0.1)
            running = monitor.runs(kb.db)
            for run_id, job in list(waiting.items()):
                run = running.get(job.source_id)
                if run is not None and run.run_id == run_id and not run.expired():
                    continue
                if run is not None and run.run_id == run_id:  # a task was lost: say so on the source
                    monitor.fetch_failed(kb.db, job.source_id, run_id, "the fetch did not finish in time")
                del waiting[run_id]
                if progress:
                    progress(job.source_id)
            if time.monotonic() - last_sync >= 1.0:
                kb.sync_index()
                last_sync = time.monotonic()
    finally:
        queue.stop()
    started = time.perf_counter()
    kb.sync_index()
    kb.merge_index()
    queue.summary.stage_seconds["index"] += time.perf_counter() - started
    kb.set_meta("last_ingest", datetime.now(UTC).isoformat(timespec="seconds"))
    return queue.summary

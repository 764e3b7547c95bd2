"""The monitor's state in the database: which fetches are in flight (each under a lease) and which workers
are alive. The task queue only carries work; what is due, running or done is decided here.

A fetch of a source is a *run*: leased when it is handed to the queue, it collects the feed's new
ETag and the counts of what happened to each entry while its chunks of entries are prepared and stored,
and reaches the source (health, ETag, next due time) only when the last chunk is stored. A run whose
lease runs out (its worker died, a task was lost) is simply leased again: storing is idempotent (items
are deduplicated), so nothing is lost and nothing is stored twice.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from kb import sources as sources_store
from kb.errors import NotFound
from kb.storage.db import transaction

# A worker that has not reported for this long is shown as gone.
WORKER_SILENT_AFTER = timedelta(minutes=2)
# Workers not seen for this long are forgotten.
WORKER_FORGOTTEN_AFTER = timedelta(days=7)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


@dataclass(frozen=True)
class FetchJob:
    """Everything a worker needs to fetch a source, with no database at hand (it travels on the queue)."""

    source_id: int
    run_id: str
    url: str
    kind: str
    name: str
    full_text: bool
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class Run:
    """A fetch in flight, as the sources page shows it."""

    source_id: int
    run_id: str
    state: str  # "queued", then "preparing" once the feed is read
    started_at: str
    leased_until: str
    chunks_waiting: int

    def expired(self, now: datetime | None = None) -> bool:
        """True once the lease ran out: the run is lost and its source will be fetched again."""
        return datetime.fromisoformat(self.leased_until) <= _now(now)


@dataclass(frozen=True)
class Worker:
    id: str
    host: str
    pid: int
    role: str
    started_at: str
    last_seen: str
    tasks_done: int
    tasks_failed: int
    last_failure: str | None

    def alive(self, now: datetime | None = None) -> bool:
        return datetime.fromisoformat(self.last_seen) > _now(now) - WORKER_SILENT_AFTER


@dataclass
class Heartbeat:
    """What a worker reports about itself (sent through the queue by workers with no database)."""

    id: str
    host: str
    pid: int
    role: str
    started_at: str
    tasks_done: int = 0
    tasks_failed: int = 0
    last_failure: str | None = None
    seen_at: str = field(default_factory=lambda: _iso(datetime.now(UTC)))


def _job(row: dict, run_id: str) -> FetchJob:
    return FetchJob(source_id=row["id"], run_id=run_id, url=row["url"], kind=row["kind"], name=row["name"],
                    full_text=bool(row["full_text"]), etag=row["etag"] or None,
                    last_modified=row["last_modified"] or None)


def process_owner() -> str:
    """How a process that fetches in itself (a one-off `kb ingest`) names itself as a run's owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(owner: str) -> bool:
    """True when the run's owning process ran on this machine and has ended (it was killed)."""
    host, _, pid = owner.rpartition(":")
    if not owner or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_due(db: Database, lease: timedelta, *, now: datetime | None = None,
              source_ids: list[int] | None = None, owner: str = "") -> list[FetchJob]:
    """Lease every due source that has no live run (or only these sources, due or not) and return the
    jobs to hand to the queue. A run whose lease ran out, or whose owning process is gone, is taken over."""
    moment = _now(now)
    with transaction(db):
        if source_ids is None:
            rows = list(db.query(
                "SELECT s.*, r.leased_until, r.owner FROM sources s "
                "LEFT JOIN fetch_runs r ON r.source_id = s.id "
                "WHERE s.paused = 0 AND (s.next_due IS NULL OR s.next_due <= ?) ORDER BY s.next_due",
                [_iso(moment)]))
        else:
            marks = ",".join("?" * len(source_ids))
            rows = list(db.query(
                "SELECT s.*, r.leased_until, r.owner FROM sources s "  # noqa: S608 - marks are "?"
                f"LEFT JOIN fetch_runs r ON r.source_id = s.id WHERE s.id IN ({marks})", source_ids))
        jobs = []
        for row in rows:
            if row["leased_until"] and row["leased_until"] > _iso(moment) and not _owner_gone(row["owner"]):
                continue  # in flight
            run_id = uuid.uuid4().hex
            db.execute("INSERT OR REPLACE INTO fetch_runs "
                       "(source_id, run_id, state, started_at, leased_until, "
                       "owner) VALUES (?, ?, 'queued', ?, ?, ?)",
                       [row["id"], run_id, _iso(moment), _iso(moment + lease), owner])
            jobs.append(_job(row, run_id))
        return jobs


def _current(db: Database, job_source: int, run_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM fetch_runs WHERE source_id = ? AND run_id = ?", [job_source, run_id]))
    return rows[0] if rows else None


def fetch_failed(db: Database, source_id: int, run_id: str, error: str, *,
                 retry_after: float | None = None) -> bool:
    """The fetch of a run failed: the source records the error and backs off. False for a stale run."""
    with transaction(db):
        if _current(db, source_id, run_id) is None:
            return False
        db.execute("DELETE FROM fetch_runs WHERE source_id = ?", [source_id])
        sources_store.record_failure(db, source_id, error, retry_after=retry_after)
        return True


def fetch_read(db: Database, source_id: int, run_id: str, *, chunks: int, etag: str | None,
               last_modified: str | None, counts: Mapping[str, int], warning: str | None,
               lease: timedelta, now: datetime | None = None) -> bool:
    """The feed of a run was read and its new entries split into `chunks` to prepare: the run waits for
    them (under a renewed lease) and finishes at once if there are none. False for a stale run."""
    moment = _now(now)
    with transaction(db):
        if _current(db, source_id, run_id) is None:
            return False
        db.execute("UPDATE fetch_runs SET state = 'preparing', chunks_waiting = ?, etag = ?, "
                   "last_modified = ?, "
                   "counts = ?, leased_until = ? WHERE source_id = ?",
                   [chunks, etag, last_modified, json.dumps({**counts, "warning": warning or ""}),
                    _iso(moment + lease), source_id])
        if chunks == 0:
            _finish(db, source_id, moment)
        return True


def chunk_stored(db: Database, source_id: int, run_id: str, counts: Mapping[str, int], *,
                 now: datetime | None = None) -> bool:
    """One chunk of a run's entries is stored; the last one finishes the run. False for a stale run (its
    items are stored all the same: storing is idempotent)."""
    with transaction(db):
        run = _current(db, source_id, run_id)
        if run is None:
            return False
        total = json.loads(run["counts"])
        for reason, count in counts.items():
            total[reason] = total.get(reason, 0) + count
        db.execute("UPDATE fetch_runs SET chunks_waiting = chunks_waiting - 1, counts = ? "
                   "WHERE source_id = ?",
                   [json.dumps(total), source_id])
        if run["chunks_waiting"] <= 1:
            _finish(db, source_id, _now(now))
        return True


def _finish(db: Database, source_id: int, moment: datetime) -> None:
    run = list(db.query("SELECT * FROM fetch_runs WHERE source_id = ?", [source_id]))[0]
    counts = json.loads(run["counts"])
    warning = counts.pop("warning", "") or None
    db.execute("DELETE FROM fetch_runs WHERE source_id = ?", [source_id])
    sources_store.record_success(db, source_id, etag=run["etag"], last_modified=run["last_modified"],
                                 now=moment, counts={k: v for k, v in counts.items() if v}, warning=warning)


def runs(db: Database) -> dict[int, Run]:
    """Fetches in flight by source id."""
    return {row["source_id"]: Run(row["source_id"], row["run_id"], row["state"], row["started_at"],
                                  row["leased_until"], row["chunks_waiting"])
            for row in db.query("SELECT * FROM fetch_runs")}


def fetch_now(db: Database, source_id: int, lease: timedelta) -> FetchJob | None:
    """Lease a source at once, due or not ("fetch now"); None while a fetch of it is in flight."""
    if sources_store.find_source(db, source_id) is None:
        raise NotFound(f"source {source_id} does not exist")
    jobs = lease_due(db, lease, source_ids=[source_id])
    return jobs[0] if jobs else None


# --- workers -------------------------------------------------------------------------------------------


def record_heartbeat(db: Database, beat: Heartbeat) -> None:
    with transaction(db):
        db.execute(
            "INSERT INTO workers (id, host, pid, role, started_at, last_seen, tasks_done, tasks_failed, "
            "last_failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "last_seen = excluded.last_seen, tasks_done = excluded.tasks_done, "
            "tasks_failed = excluded.tasks_failed, last_failure = excluded.last_failure",
            [beat.id, beat.host[:200], beat.pid, beat.role, beat.started_at, beat.seen_at, beat.tasks_done,
             beat.tasks_failed, (beat.last_failure or "")[:1000] or None])
        forget = _iso(datetime.now(UTC) - WORKER_FORGOTTEN_AFTER)
        db.execute("DELETE FROM workers WHERE last_seen < ?", [forget])


def workers(db: Database) -> list[Worker]:
    """Every worker seen lately, the most recently seen first."""
    return [Worker(**row) for row in db.query("SELECT * FROM workers ORDER BY last_seen DESC, id")]

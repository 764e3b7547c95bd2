"""Sources: the feeds and watched pages the coordinator follows, with their schedule and health."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from kb.errors import Conflict, InvalidInput, NotFound
from kb.storage import audit
from kb.storage.db import transaction, utcnow
from kb.text.urls import is_http_url

KINDS = ("feed", "page")
MAX_INTERVAL_MINUTES = 30 * 24 * 60  # a month
MAX_NAME = 300
MAX_BACKOFF = timedelta(hours=24)
MAX_ERROR_CHARS = 1_000
# What became of a feed's entries, as a person says it ("3 without a usable link"); others as recorded.
ENTRY_WORDS = {
    "no http(s) link": "without a usable link",
    "over the entry cap": "over the cap",
    "unreadable entry": "unreadable",
}
FIRST_OUTCOMES = ("new", "updated", "duplicate")


@dataclass(frozen=True)
class Source:
    id: int
    url: str
    kind: str
    name: str
    interval_minutes: int
    full_text: bool
    paused: bool
    etag: str | None
    last_modified: str | None
    last_fetch: str | None
    last_success: str | None
    last_error: str | None
    failures: int
    next_due: str | None
    created_at: str
    items: int = 0
    # What the last fetch did with the feed's entries, by reason ("new", "duplicate", "over the cap", ...).
    last_counts: Mapping[str, int] = field(default_factory=dict)
    warning: str | None = None  # a cap that bit on the last fetch, in words

    def entries_summary(self) -> str:
        """What the last fetch did with the entries: "12 new, 30 duplicate, 3 without a usable link"."""
        counts = self.last_counts
        ordered = [*FIRST_OUTCOMES, *sorted(set(counts) - set(FIRST_OUTCOMES))]
        return ", ".join(f"{counts[reason]:,} {ENTRY_WORDS.get(reason, reason)}"
                         for reason in ordered if counts.get(reason))

    def as_json(self) -> dict[str, object]:
        """The record `kb sources list --json` prints."""
        return {
            "id": self.id, "url": self.url, "kind": self.kind, "name": self.name,
            "interval": self.interval_minutes, "full_text": self.full_text, "paused": self.paused,
            "last_fetch": self.last_fetch, "last_success": self.last_success, "last_error": self.last_error,
            "failures": self.failures, "next_due": self.next_due, "items": self.items,
            "last_counts": dict(self.last_counts), "warning": self.warning,
        }


def _from_row(row: dict) -> Source:
    return Source(
        id=row["id"], url=row["url"], kind=row["kind"], name=row["name"],
        interval_minutes=row["interval_minutes"], full_text=bool(row["full_text"]),
        paused=bool(row["paused"]),
        etag=row["etag"], last_modified=row["last_modified"], last_fetch=row["last_fetch"],
        last_success=row["last_success"], last_error=row["last_error"], failures=row["failures"],
        next_due=row["next_due"], created_at=row["created_at"], items=row.get("items", 0) or 0,
        last_counts=json.loads(row.get("last_counts") or "{}"), warning=row.get("warning"),
    )


_SELECT = ("SELECT s.*, (SELECT count(*) FROM item_sources l WHERE l.source_id = s.id) AS items "
           "FROM sources s")


def _check_interval(minutes: int) -> None:
    if not 1 <= minutes <= MAX_INTERVAL_MINUTES:
        raise InvalidInput(f"the interval must be from 1 to {MAX_INTERVAL_MINUTES:,} minutes (a month)")


def add_source(
    db: Database, url: str, *, kind: str = "feed", name: str = "", interval_minutes: int = 60,
    full_text: bool = False, by: int | None = None,
) -> Source:
    """Start following a feed or page; raises Conflict if it is followed already."""
    url = url.strip()
    if not is_http_url(url):
        raise InvalidInput(f"{url[:200]!r} is not an http(s) address")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    _check_interval(interval_minutes)
    name = name.strip()[:MAX_NAME]
    with transaction(db):
        if db.execute("SELECT 1 FROM sources WHERE url = ?", [url]).fetchone():
            raise Conflict(f"{url} is already a source")
        source_id = db.execute(
            "INSERT INTO sources (url, kind, name, interval_minutes, full_text, created_at, next_due) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [url, kind, name, interval_minutes, int(full_text), utcnow(), utcnow()],
        ).lastrowid
        assert source_id is not None  # set by every INSERT
        audit.record(db, by, "create", "source", source_id,
                     {"url": url, "kind": kind, "name": name, "interval_minutes": interval_minutes,
                      "full_text": full_text})
    return get_source(db, source_id)


def find_source(db: Database, source_id: int) -> Source | None:
    rows = list(db.query(_SELECT + " WHERE s.id = ?", [source_id]))
    return _from_row(rows[0]) if rows else None


def get_source(db: Database, source_id: int) -> Source:
    source = find_source(db, source_id)
    if source is None:
        raise NotFound(f"source {source_id} does not exist")
    return source


def find_source_by_url(db: Database, url: str) -> Source | None:
    rows = list(db.query(_SELECT + " WHERE s.url = ?", [url.strip()]))
    return _from_row(rows[0]) if rows else None


def list_sources(db: Database) -> list[Source]:
    return [_from_row(row) for row in db.query(_SELECT + " ORDER BY s.id")]


def due_sources(db: Database, now: datetime | None = None) -> list[Source]:
    """Sources not paused whose next fetch is due."""
    moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return [
        _from_row(row)
        for row in db.query(_SELECT + " WHERE s.paused = 0 AND (s.next_due IS NULL OR s.next_due <= ?) "
                            "ORDER BY s.next_due", [moment])
    ]


def set_paused(db: Database, source_id: int, paused: bool, *, by: int | None = None) -> None:
    """Pause (no more fetches) or resume a source; audited when it changes."""
    with transaction(db):
        if db.execute("UPDATE sources SET paused = ? WHERE id = ? AND paused != ?",
                      [int(paused), source_id, int(paused)]).rowcount:
            audit.record(db, by, "pause" if paused else "resume", "source", source_id)
        elif db.execute("SELECT 1 FROM sources WHERE id = ?", [source_id]).fetchone() is None:
            raise NotFound(f"source {source_id} does not exist")


def make_due(db: Database, source_id: int) -> None:
    """Fetch this source on the next pass ("fetch now")."""
    with transaction(db):
        if db.execute("UPDATE sources SET next_due = ? WHERE id = ?", [utcnow(), source_id]).rowcount == 0:
            raise NotFound(f"source {source_id} does not exist")


def delete_source(db: Database, source_id: int, *, by: int | None = None) -> None:
    """Stop following a source; the items it brought stay (only their link to it goes)."""
    with transaction(db):
        source = find_source(db, source_id)
        if source is None:
            raise NotFound(f"source {source_id} does not exist")
        db.execute("DELETE FROM sources WHERE id = ?", [source_id])
        audit.record(db, by, "delete", "source", source_id,
                     {"name": source.name, "url": source.url, "items": source.items})


def backoff(failures: int, interval_minutes: int) -> timedelta:
    """Wait after `failures` consecutive failures: doubling from the interval, at most a day, with jitter."""
    base = timedelta(minutes=interval_minutes) * (2 ** min(max(failures - 1, 0), 16))
    return min(base, MAX_BACKOFF) * random.uniform(0.9, 1.1)


def record_success(
    db: Database, source_id: int, *, etag: str | None, last_modified: str | None, now: datetime | None = None,
    counts: Mapping[str, int] | None = None, warning: str | None = None,
) -> None:
    """A fetch worked (or answered 304): clear the error, keep what became of the entries and any warning,
    and schedule the next one."""
    moment = now or datetime.now(UTC)
    source = get_source(db, source_id)
    due = moment + timedelta(minutes=source.interval_minutes)
    with transaction(db):
        db.execute(
            "UPDATE sources SET etag = ?, last_modified = ?, last_fetch = ?, last_success = ?, "
            "last_error = NULL, failures = 0, next_due = ?, last_counts = ?, warning = ? WHERE id = ?",
            [etag, last_modified, moment.isoformat(timespec="seconds"), moment.isoformat(timespec="seconds"),
             due.isoformat(timespec="seconds"), json.dumps(dict(counts or {})), warning, source_id],
        )


def record_failure(
    db: Database, source_id: int, error: str, *, retry_after: float | None = None,
    now: datetime | None = None,
) -> None:
    """A fetch failed: keep the reason in words and back off exponentially (honouring Retry-After)."""
    moment = now or datetime.now(UTC)
    source = get_source(db, source_id)
    failures = source.failures + 1
    wait = backoff(failures, source.interval_minutes)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    with transaction(db):
        db.execute(
            "UPDATE sources SET last_fetch = ?, last_error = ?, failures = ?, next_due = ? WHERE id = ?",
            [moment.isoformat(timespec="seconds"), error.strip()[:MAX_ERROR_CHARS] or "Unknown error",
             failures, (moment + min(wait, MAX_BACKOFF)).isoformat(timespec="seconds"), source_id],
        )


def update_source(db: Database, source_id: int, *, name: str | None = None,
                  interval_minutes: int | None = None, full_text: bool | None = None,
                  url: str | None = None, by: int | None = None) -> Source:
    """Change a source's name, interval, mode or address (Conflict if another source has that address);
    the changed fields are audited with their values before and after."""
    changes: dict[str, object] = {}
    if url is not None:
        url = url.strip()
        if not is_http_url(url):
            raise InvalidInput(f"{url[:200]!r} is not an http(s) address")
        other = find_source_by_url(db, url)
        if other is not None and other.id != source_id:
            raise Conflict(f"{url} is already a source")
        changes["url"] = url
    if name is not None:
        if not name.strip():
            raise InvalidInput("the name is empty")
        changes["name"] = name.strip()[:MAX_NAME]
    if interval_minutes is not None:
        _check_interval(interval_minutes)
        changes["interval_minutes"] = interval_minutes
    if full_text is not None:
        changes["full_text"] = full_text
    with transaction(db):
        before = get_source(db, source_id)
        was = {"url": before.url, "name": before.name, "interval_minutes": before.interval_minutes,
               "full_text": before.full_text}
        diff = {k: [was[k], v] for k, v in changes.items() if was[k] != v}
        if diff:
            assignments = ", ".join(f"{k} = ?" for k in diff)
            db.execute(f"UPDATE sources SET {assignments} WHERE id = ?",  # noqa: S608
                       [*(int(v) if isinstance(v, bool) else v for _, v in diff.values()), source_id])
            audit.record(db, by, "update", "source", source_id, {"changes": diff})
    return get_source(db, source_id)


def name_if_unnamed(db: Database, source_id: int, title: str) -> bool:
    """Name a source after its feed's or page's own title, when nobody named it; True if named."""
    title = " ".join(title.split())[:MAX_NAME]
    if not title:
        return False
    with transaction(db):
        if db.execute("UPDATE sources SET name = ? WHERE id = ? AND name = ''", [title, source_id]).rowcount:
            audit.record(db, None, "update", "source", source_id, {"changes": {"name": ["", title]}})
            return True
    return False

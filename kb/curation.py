"""Curation: a person's decisions on items (status, digest, tags, case links, notes) and their queue.

Every decision is written with who and when: on the item (`status_by`, `status_at`) and in the audit log, in
the same transaction as the change, and searchable changes announce themselves to the index outbox.

A decision (status or digest mark, on one item or in bulk) carries a key in its audit entries, with each
item's state before it; `undo` puts that state back, once, for the person who decided, unless someone changed
the item since. An item that becomes a digest candidate (accepted or marked for the digest) gets `digest_at`,
the time that decides which week's digest it is in (see kb.digest.draft).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from kb import cases as cases_store
from kb import tags as tags_store
from kb import users as users_store
from kb.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kb.items import NEEDS_READER, STATUSES, Item, load_items
from kb.sources import Source, list_sources
from kb.storage import audit, outbox
from kb.storage.db import parse_published, transaction, utcnow
from kb.text.taxonomy import load_taxonomy

LOGGER = logging.getLogger(__name__)

MAX_NOTE = 10_000
MAX_BULK = 500
QUEUE_PAGE_SIZE = 20
DASHBOARD_WEEKS = 26
# Languages beyond this many (the most frequent first) are counted together as "other" on the dashboard.
DASHBOARD_LANGUAGES = 6
NO_SECTOR = "none"
OTHER_LANGUAGE = "other"
# Audit actions that are decisions (what `undo` reverts).
DECISION_ACTIONS = ("set-status", "digest-add", "digest-remove")
UNDO_ACTION = audit.UNDO
_TOPIC_ID = re.compile(r"[a-z]+/[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Note:
    id: int
    item_id: int
    user_id: int | None
    author: str  # the author's name, else e-mail; "" when the user was deleted
    body: str
    created_at: str

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "author": self.author, "body": self.body, "created_at": self.created_at}


@dataclass(frozen=True)
class Decision:
    """An item's current curation state and who set it last."""

    status: str
    in_digest: bool
    by_id: int | None
    by: str  # name, else e-mail; "" when nobody decided yet
    at: str | None

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "in_digest": self.in_digest, "by": self.by or None, "at": self.at}


@dataclass(frozen=True)
class Applied:
    """What `decide` did: how many items, and the key that undoes its status and digest changes (None when
    it changed neither)."""

    count: int
    undo_key: str | None


@dataclass(frozen=True)
class Restored:
    """One item as `undo` left it, and which of its status and digest mark changed back."""

    item_id: int
    title: str
    status: str
    in_digest: bool
    status_changed: bool
    digest_changed: bool


@dataclass(frozen=True)
class Undone:
    """What `undo` put back."""

    key: str
    items: tuple[Restored, ...]


@dataclass(frozen=True)
class LastDecision:
    """A person's last decision, for the offer to undo it."""

    key: str
    at: str
    action: str  # the audit action of its last entry: set-status, digest-add or digest-remove
    status: str | None  # the status it set, if it set one
    item_ids: tuple[int, ...]
    titles: tuple[str, ...]
    undone: bool


@dataclass(frozen=True)
class Change:
    """What one curation action does to each item it is applied to; empty fields change nothing."""

    status: str | None = None
    in_digest: bool | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    case_id: int | None = None
    note: str = ""

    @property
    def is_empty(self) -> bool:
        return (self.status is None and self.in_digest is None and not self.add_tags and not self.remove_tags
                and self.case_id is None and not self.note.strip())

    @property
    def only_note(self) -> bool:
        """True when the change adds a note and nothing else (something any signed-in role may do)."""
        return bool(self.note.strip()) and Change(note=self.note) == self

    def validate(self) -> None:
        """Raise InvalidInput naming what is wrong."""
        if self.is_empty:
            raise InvalidInput("nothing to change: choose a status, the digest, tags, a case or write a note")
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {self.status[:40]!r}")
        taxonomy = load_taxonomy()
        for topic in self.add_tags:
            if topic not in taxonomy:
                raise InvalidInput(f"unknown topic {topic[:80]!r}")
        for topic in self.remove_tags:
            if not _TOPIC_ID.fullmatch(topic):
                raise InvalidInput(f"{topic[:80]!r} is not a topic id such as sector/health")
        if set(self.add_tags) & set(self.remove_tags):
            raise InvalidInput("a topic cannot be added and removed at once")
        if len(self.note) > MAX_NOTE:
            raise InvalidInput(f"a note has at most {MAX_NOTE} characters")


@dataclass(frozen=True)
class QueueFilters:
    """Narrow the curation queue; empty fields filter nothing."""

    status: str = "new"
    language: str = ""
    topic: str = ""
    source: int | None = None
    relevant_only: bool = False
    needs_reader_only: bool = False
    system: int | None = None  # items suggested for or confirmed as about this system (kb.systems)


@dataclass(frozen=True)
class QueuePage:
    items: list[Item]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Series:
    key: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Dashboard:
    weeks: tuple[str, ...]  # ISO weeks, oldest first: "2026-W47"
    week_starts: tuple[date, ...]  # the Monday of each week, in the lab's time zone
    by_sector: tuple[Series, ...]
    by_language: tuple[Series, ...]
    failing_sources: tuple[Source, ...]
    queue_size: int
    queue_relevant: int
    totals: tuple[int, ...] = field(default=())


# --- single decisions -------------------------------------------------------------------------------

def _require_items(db: Database, item_ids: Sequence[int]) -> None:
    ids = list(dict.fromkeys(int(i) for i in item_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = {r[0] for r in db.execute(f"SELECT id FROM items WHERE id IN ({marks})", chunk)}  # noqa: S608
        missing = [i for i in chunk if i not in found]
        if missing:
            raise NotFound(f"item {missing[0]} does not exist")


_STATE_COLUMNS = ("status", "in_digest", "status_by", "status_at", "digest_at")


def _state(db: Database, item_id: int) -> dict[str, object]:
    """The item's decision state as stored, to put back on undo."""
    row = db.execute("SELECT status, in_digest, status_by, status_at, digest_at FROM items WHERE id = ?",
                     [item_id]).fetchone()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    return dict(zip(_STATE_COLUMNS, row, strict=True))


def _is_candidate(status: object, in_digest: object) -> bool:
    """Whether the item goes in a digest: accepted or marked for it, and never when rejected."""
    return status != "rejected" and (status == "accepted" or bool(in_digest))


def _set_status(db: Database, item_id: int, status: str, user_id: int | None, now: str,
                trail: dict[str, object]) -> bool:
    row = db.execute("SELECT status FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    if row[0] == status:
        return False
    db.execute("UPDATE items SET status = ?, status_by = ?, status_at = ?, updated_at = ? WHERE id = ?",
               [status, user_id, now, now, item_id])
    audit.record(db, user_id, "set-status", "item", item_id, {"status": status, "was": row[0], **trail})
    return True


def _set_in_digest(db: Database, item_id: int, in_digest: bool, user_id: int | None, now: str,
                   trail: dict[str, object]) -> bool:
    row = db.execute("SELECT in_digest FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    if bool(row[0]) == in_digest:
        return False
    db.execute("UPDATE items SET in_digest = ?, status_by = ?, status_at = ?, updated_at = ? WHERE id = ?",
               [int(in_digest), user_id, now, now, item_id])
    audit.record(db, user_id, "digest-add" if in_digest else "digest-remove", "item", item_id, trail)
    return True


def _mark_digest_time(db: Database, item_id: int, before: dict[str, object], now: str) -> None:
    """An item that just became a digest candidate joins this week's digest; one that left it, none."""
    after = _state(db, item_id)
    was = _is_candidate(before["status"], before["in_digest"])
    now_candidate = _is_candidate(after["status"], after["in_digest"])
    if now_candidate and not was:
        db.execute("UPDATE items SET digest_at = ? WHERE id = ?", [now, item_id])
    elif was and not now_candidate:
        db.execute("UPDATE items SET digest_at = NULL WHERE id = ?", [item_id])


def _add_note(db: Database, item_id: int, user_id: int | None, body: str, now: str) -> int:
    body = body.strip()
    if not body:
        raise InvalidInput("the note is empty")
    if len(body) > MAX_NOTE:
        raise InvalidInput(f"a note has at most {MAX_NOTE} characters")
    if db.execute("SELECT 1 FROM items WHERE id = ?", [item_id]).fetchone() is None:
        raise NotFound(f"item {item_id} does not exist")
    cursor = db.execute("INSERT INTO notes (item_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
                        [item_id, user_id, body, now])
    note_id = int(cursor.lastrowid or 0)
    audit.record(db, user_id, "add-note", "item", item_id, {"note": note_id})
    return note_id


def _link_case(db: Database, item_id: int, case_id: int, user_id: int | None) -> bool:
    if user_id is None:  # a system action (sample loading, scripts)
        if db.execute("SELECT 1 FROM cases WHERE id = ?", [case_id]).fetchone() is None:
            raise NotFound(f"case {case_id} does not exist")
    else:
        user = users_store.get_user(db, user_id)
        if not cases_store.can_contribute(user, cases_store.get_case(db, user, case_id)):
            raise PermissionDenied(f"you may not file items under case {case_id}")
    # kb.cases writes the link, its outbox row and the case's audit entry; the item's history notes it too.
    linked = cases_store.attach_item(db, case_id, item_id, user_id)
    if linked:
        audit.record(db, user_id, "link-case", "item", item_id, {"case": case_id})
    return linked


def set_status(db: Database, item_id: int, status: str, user_id: int | None, *,
               now: datetime | None = None) -> None:
    """Accept, reject or return an item to the queue, recording who and when."""
    decide(db, [item_id], Change(status=status), user_id, now=now)


def set_in_digest(db: Database, item_id: int, in_digest: bool, user_id: int | None, *,
                  now: datetime | None = None) -> None:
    """Mark an item for the digest, or take it out."""
    decide(db, [item_id], Change(in_digest=in_digest), user_id, now=now)


def add_note(db: Database, item_id: int, user_id: int | None, body: str) -> Note:
    """Add a note to an item; raises InvalidInput for an empty or overlong note."""
    with transaction(db):
        note_id = _add_note(db, item_id, user_id, body, utcnow())
    return next(n for n in list_notes(db, item_id) if n.id == note_id)


def link_case(db: Database, item_id: int, case_id: int, user_id: int | None) -> None:
    """File an item under a case; linking twice is a no-op."""
    apply(db, [item_id], Change(case_id=case_id), user_id)


def apply(db: Database, item_ids: Iterable[int], change: Change, user_id: int | None) -> int:
    """Apply one change to every item in one transaction (all or nothing); returns the number of items."""
    return decide(db, item_ids, change, user_id).count


def decide(db: Database, item_ids: Iterable[int], change: Change, user_id: int | None, *,
           now: datetime | None = None) -> Applied:
    """Apply one change to every item in one transaction (all or nothing), with the key to undo it.

    `now` is when the decision counts as made (default: now); imports and tests set it to place an
    item in a past week's digest."""
    ids = list(dict.fromkeys(int(i) for i in item_ids))
    if not ids:
        raise InvalidInput("choose at least one item")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} items at once")
    change.validate()
    when = utcnow() if now is None else now.astimezone(UTC).isoformat(timespec="seconds")
    key = secrets.token_urlsafe(9)
    decided = False
    with transaction(db):
        _require_items(db, ids)
        searchable: list[int] = []
        for item_id in ids:
            touched = False
            if change.status is not None or change.in_digest is not None:
                before = _state(db, item_id)
                trail: dict[str, object] = {"decision": key, "before": before}
                stepped = False
                if change.status is not None:
                    stepped |= _set_status(db, item_id, change.status, user_id, when, trail)
                if change.in_digest is not None:
                    stepped |= _set_in_digest(db, item_id, change.in_digest, user_id, when, trail)
                if stepped:
                    _mark_digest_time(db, item_id, before, when)
                touched |= stepped
                decided |= stepped
            for topic in change.add_tags:
                tags_store.set_tag(db, item_id, topic, user_id)
                audit.record(db, user_id, "tag-add", "item", item_id, {"topic": topic})
            for topic in change.remove_tags:
                tags_store.remove_tag(db, item_id, topic, user_id)
                audit.record(db, user_id, "tag-remove", "item", item_id, {"topic": topic})
            if change.case_id is not None:
                touched |= _link_case(db, item_id, change.case_id, user_id)
            if change.note.strip():
                _add_note(db, item_id, user_id, change.note, when)
            if touched:
                searchable.append(item_id)
        outbox.enqueue(db, searchable)
    return Applied(len(ids), key if decided else None)


# --- undo -----------------------------------------------------------------------------------------------

_DECISION_MARKS = ",".join("?" * len(DECISION_ACTIONS))


def _last_decision_row(db: Database, user_id: int) -> tuple[int, str, str, dict[str, object]] | None:
    row = db.execute(
        f"SELECT id, at, action, details FROM audit_log WHERE user_id = ? AND entity = 'item' "  # noqa: S608
        f"AND action IN ({_DECISION_MARKS}) ORDER BY id DESC LIMIT 1", [user_id, *DECISION_ACTIONS],
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]), json.loads(row[3]))


def _decision_entries(db: Database, user_id: int, key: str,
                      last_id: int) -> list[tuple[int, int, dict[str, Any]]]:
    """The audit entries (id, item id, details) of one decision, oldest first; a decision has at most two
    entries per item, so the newest 2 * MAX_BULK entries of the person up to its last one hold them all."""
    rows = db.execute(
        f"SELECT id, entity_id, details FROM audit_log WHERE user_id = ? AND entity = 'item' "  # noqa: S608
        f"AND action IN ({_DECISION_MARKS}) AND id <= ? ORDER BY id DESC LIMIT ?",
        [user_id, *DECISION_ACTIONS, last_id, 2 * MAX_BULK],
    ).fetchall()
    found = [(int(r[0]), int(r[1]), json.loads(r[2])) for r in rows]
    return sorted(entry for entry in found if entry[2].get("decision") == key)


def _undone(db: Database, user_id: int, key: str, after_id: int) -> bool:
    return any(json.loads(r[0]).get("undoes") == key for r in db.execute(
        "SELECT details FROM audit_log WHERE user_id = ? AND entity = 'item' AND action = ? AND id > ?",
        [user_id, UNDO_ACTION, after_id]))


def _titles(db: Database, item_ids: Sequence[int]) -> dict[int, str]:
    marks = ",".join("?" * len(item_ids))
    return {int(r[0]): str(r[1]) for r in db.execute(
        f"SELECT id, title FROM items WHERE id IN ({marks})", list(item_ids))}  # noqa: S608


def last_decision(db: Database, user_id: int) -> LastDecision | None:
    """The person's last status or digest decision, and whether it was undone; None if there is none."""
    last = _last_decision_row(db, user_id)
    if last is None or not isinstance(last[3].get("decision"), str):
        return None
    last_id, at, action, details = last
    key = str(details["decision"])
    entries = _decision_entries(db, user_id, key, last_id)
    item_ids = tuple(dict.fromkeys(item_id for _, item_id, _ in entries))
    titles = _titles(db, item_ids[:3])
    status = next((str(d["status"]) for _, _, d in entries if "status" in d), None)
    return LastDecision(key, at, action, status, item_ids, tuple(titles.get(i, "") for i in item_ids[:3]),
                        _undone(db, user_id, key, last_id))


def undo(db: Database, user_id: int, key: str | None = None) -> Undone:
    """Put back the state before the person's last decision (`key`, when given, must name it), once.

    Raises NotFound when there is nothing to undo, Conflict when the decision is not the last one, was
    undone already, or someone changed one of its items since (then nothing is put back).
    """
    now = utcnow()
    with transaction(db):
        last = _last_decision_row(db, user_id)
        if last is None or not isinstance(last[3].get("decision"), str):
            raise NotFound("you have no decision to undo")
        last_id, _, _, details = last
        last_key = str(details["decision"])
        if key is not None and key != last_key:
            raise Conflict("that is no longer your last decision: only the last one can be undone")
        if _undone(db, user_id, last_key, last_id):
            raise Conflict("your last decision is undone already")
        entries = _decision_entries(db, user_id, last_key, last_id)
        # Each item's state before the decision, from its first entry (they all hold the same one).
        first: dict[int, dict[str, Any]] = {}
        for _, item_id, entry in entries:
            first.setdefault(item_id, dict(entry["before"]))
        titles = _titles(db, list(first))
        restored = []
        for item_id, before in first.items():
            changed = db.execute(
                f"SELECT a.user_id, u.name, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id "  # noqa: S608
                f"WHERE a.entity = 'item' AND a.entity_id = ? AND a.id > ? "
                f"AND a.action IN ({_DECISION_MARKS}, ?) LIMIT 1",
                [item_id, last_id, *DECISION_ACTIONS, UNDO_ACTION],
            ).fetchone()
            if changed is not None:
                who = changed[1] or changed[2] or "someone"
                raise Conflict(f"{titles.get(item_id) or f'item {item_id}'!r} was changed since by {who}; "
                               "nothing was undone")
            current = _state(db, item_id)
            db.execute("UPDATE items SET status = ?, in_digest = ?, status_by = ?, status_at = ?, "
                       "digest_at = ?, updated_at = ? WHERE id = ?",
                       [before["status"], before["in_digest"], before["status_by"], before["status_at"],
                        before["digest_at"], now, item_id])
            audit.record(db, user_id, UNDO_ACTION, "item", item_id, {
                "undoes": last_key, "status": before["status"], "was": current["status"],
                "in_digest": bool(before["in_digest"]), "was_in_digest": bool(current["in_digest"])})
            restored.append(Restored(item_id, titles.get(item_id, ""), str(before["status"]),
                                     bool(before["in_digest"]), before["status"] != current["status"],
                                     bool(before["in_digest"]) != bool(current["in_digest"])))
        outbox.enqueue(db, list(first))
    return Undone(last_key, tuple(restored))


def bulk_set_status(db: Database, item_ids: Iterable[int], status: str, user_id: int | None) -> int:
    return apply(db, item_ids, Change(status=status), user_id)


def bulk_set_in_digest(db: Database, item_ids: Iterable[int], in_digest: bool, user_id: int | None) -> int:
    return apply(db, item_ids, Change(in_digest=in_digest), user_id)


def bulk_add_note(db: Database, item_ids: Iterable[int], user_id: int | None, body: str) -> int:
    return apply(db, item_ids, Change(note=body), user_id)


# --- reading decisions --------------------------------------------------------------------------------

def _person(row: dict, prefix: str = "") -> str:
    return row.get(f"{prefix}name") or row.get(f"{prefix}email") or ""


def list_notes(db: Database, item_id: int) -> list[Note]:
    """The item's notes, oldest first, with their authors."""
    rows = db.query("SELECT n.*, u.name, u.email FROM notes n LEFT JOIN users u ON u.id = n.user_id "
                    "WHERE n.item_id = ? ORDER BY n.id", [item_id])
    return [Note(r["id"], r["item_id"], r["user_id"], _person(r), r["body"], r["created_at"]) for r in rows]


def decision(db: Database, item_id: int) -> Decision:
    """The item's status and digest mark, and who set them last."""
    rows = list(db.query("SELECT i.status, i.in_digest, i.status_by, i.status_at, u.name, u.email "
                         "FROM items i "
                         "LEFT JOIN users u ON u.id = i.status_by WHERE i.id = ?", [item_id]))
    if not rows:
        raise NotFound(f"item {item_id} does not exist")
    r = rows[0]
    return Decision(r["status"], bool(r["in_digest"]), r["status_by"], _person(r), r["status_at"])


def history(db: Database, item_id: int, limit: int = 100) -> list[audit.AuditEntry]:
    """Everything recorded about the item, newest first: decisions and their undos, topics, notes, and the
    links case files and systems made to it. Filing it under a case from the item writes the item's
    "link-case" just after the case file's "link-item", in one transaction: only the item's is kept."""
    found = audit.entries_naming(db, "item", item_id, key="item_id", others=("case", "system"), limit=limit)
    filed = {(e.id - 1, e.details.get("case")) for e in found
             if e.entity == "item" and e.action == "link-case"}
    return [e for e in found if not (e.entity == "case" and (e.id, e.entity_id) in filed)]


# --- the queue ----------------------------------------------------------------------------------------

def queue(db: Database, filters: QueueFilters | None = None, page: int = 1,
          page_size: int = QUEUE_PAGE_SIZE) -> QueuePage:
    """Items waiting for a decision: relevant ones first, then those the tagger left to a reader, then
    the rest; newest first within each."""
    filters = filters or QueueFilters()
    if filters.status and filters.status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    page = max(1, int(page))
    page_size = min(max(1, int(page_size)), 200)
    where: list[str] = []
    params: list[object] = []
    if filters.status:
        where.append("i.status = ?")
        params.append(filters.status)
    if filters.language:
        where.append("i.language = ?")
        params.append(filters.language)
    if filters.relevant_only:
        where.append("i.relevant = 1")
    if filters.needs_reader_only:
        where.append("i.relevance_verdict = ?")
        params.append(NEEDS_READER)
    if filters.topic:
        where.append("EXISTS (SELECT 1 FROM tags t WHERE t.item_id = i.id AND t.topic = ? "
                     "AND t.state = 'active')")
        params.append(filters.topic)
    if filters.source is not None:
        where.append("EXISTS (SELECT 1 FROM item_sources l WHERE l.item_id = i.id AND l.source_id = ?)")
        params.append(int(filters.source))
    if filters.system is not None:
        where.append("EXISTS (SELECT 1 FROM system_items s WHERE s.item_id = i.id AND s.system_id = ? "
                     "AND s.state != 'rejected')")
        params.append(int(filters.system))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = int(db.execute(f"SELECT count(*) FROM items i {clause}", params).fetchone()[0])  # noqa: S608
    ids = [r[0] for r in db.execute(
        f"SELECT i.id FROM items i {clause} "  # noqa: S608
        "ORDER BY i.relevant DESC, i.relevance_verdict = ? DESC, COALESCE(i.published, i.created_at) DESC, "
        "i.id DESC LIMIT ? OFFSET ?",
        [*params, NEEDS_READER, page_size, (page - 1) * page_size])]
    return QueuePage(load_items(db, ids), total, page, page_size)


def queue_size(db: Database) -> int:
    """How many items wait for a decision."""
    return int(db.execute("SELECT count(*) FROM items WHERE status = 'new'").fetchone()[0])


def queue_languages(db: Database) -> list[str]:
    """Languages of the items waiting, most frequent first (for the queue's filter)."""
    return [r[0] for r in db.execute(
        "SELECT language FROM items WHERE status = 'new' GROUP BY language ORDER BY count(*) DESC, language")]


# --- the dashboard ------------------------------------------------------------------------------------

def _week_start(moment: datetime, tz: ZoneInfo) -> date:
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def dashboard(db: Database, *, tz: ZoneInfo | str = "UTC", weeks: int = DASHBOARD_WEEKS,
              now: datetime | None = None) -> Dashboard:
    """Items per ISO week (published, else gathered) by sector and language; failing sources; the queue."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    moment = now or datetime.now(UTC)
    this_week = _week_start(moment, zone)
    starts = tuple(this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1))
    labels = tuple(f"{s.isocalendar().year}-W{s.isocalendar().week:02d}" for s in starts)
    position = {start: n for n, start in enumerate(starts)}
    first_moment = datetime.combine(starts[0], datetime.min.time(), zone)
    cutoff = first_moment.astimezone(UTC).isoformat(timespec="seconds")
    sectors: dict[str, list[int]] = {}
    languages: dict[str, list[int]] = {}
    totals = [0] * weeks
    rows = db.execute(
        "SELECT COALESCE(i.published, i.created_at), i.language, "
        "(SELECT group_concat(t.topic, ' ') FROM tags t WHERE t.item_id = i.id AND t.state = 'active' "
        "AND t.topic LIKE 'sector/%') FROM items i WHERE COALESCE(i.published, i.created_at) >= ?",
        [cutoff],
    )
    for when, language, sector_list in rows:
        parsed = parse_published(when)
        if parsed is None:
            continue
        n = position.get(_week_start(parsed, zone))
        if n is None:  # in the future
            continue
        totals[n] += 1
        languages.setdefault(language or "und", [0] * weeks)[n] += 1
        for sector in (sector_list or "").split() or [NO_SECTOR]:
            sectors.setdefault(sector.partition("/")[2] or NO_SECTOR, [0] * weeks)[n] += 1
    ranked = Counter({language: sum(counts) for language, counts in languages.items()}).most_common()
    by_language = [Series(language, tuple(languages[language]))
                   for language, _ in ranked[:DASHBOARD_LANGUAGES]]
    if len(ranked) > DASHBOARD_LANGUAGES:
        rest = [sum(languages[lang][n] for lang, _ in ranked[DASHBOARD_LANGUAGES:]) for n in range(weeks)]
        by_language.append(Series(OTHER_LANGUAGE, tuple(rest)))
    by_sector = sorted((Series(k, tuple(v)) for k, v in sectors.items()),
                       key=lambda s: (s.key == NO_SECTOR, -s.total, s.key))
    failing = tuple(s for s in list_sources(db) if s.failures > 0 and not s.paused)
    relevant = int(db.execute(
        "SELECT count(*) FROM items WHERE status = 'new' AND relevant = 1").fetchone()[0])
    return Dashboard(labels, starts, tuple(by_sector), tuple(by_language), failing, queue_size(db), relevant,
                     tuple(totals))

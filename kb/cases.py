"""Case files: one investigation of a system, with its team, sources, contacts, timeline and deadlines.

Reading: every signed-in (active) user may read every case file, with its items, notes and deadlines; its
contacts are filtered by the rules of kb.contacts (researchers see those that are not restricted).
Changing: coordinators, admins and the case lead may change a case file; its members may add notes and
link or unlink items. Only coordinators and admins create case files or change a team, since membership
opens restricted contacts (to coordinators), and only they link contacts to a case file or unlink them
(kb.contacts.can_change_contacts).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from kb import contacts
from kb.contacts import Contact, spreadsheet_safe
from kb.errors import InvalidInput, NotFound, PermissionDenied
from kb.items import Item, load_items, topic_labels
from kb.storage import audit, outbox
from kb.storage.db import transaction, utcnow
from kb.text.cleaning import clean_text
from kb.users import User

LOGGER = logging.getLogger(__name__)

STATUSES = ("open", "closed")
FIELDS = ("title", "country", "sector", "system_name", "system_agency", "system_vendor", "legal_basis",
          "summary")
MAX_LENGTH = {"title": 300, "country": 100, "sector": 100, "system_name": 300, "system_agency": 300,
              "system_vendor": 300, "legal_basis": 2_000, "summary": 20_000}
MULTILINE_FIELDS = ("legal_basis", "summary")
MAX_NOTE = 20_000
MAX_WHAT = 500
MAX_ROLE = 200
SOURCE_FIELDS = ("id", "title", "url", "author", "site_name", "published", "language", "topics",
                 "topic_labels", "summary")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class CaseFile:
    id: int
    title: str
    country: str
    sector: str
    system_name: str
    system_agency: str
    system_vendor: str
    legal_basis: str
    status: str
    summary: str
    lead_id: int | None
    member_ids: tuple[int, ...]
    created_at: str
    updated_at: str

    def on_team(self, user: User) -> bool:
        """True if the user leads or is a member of this case file."""
        return user.id == self.lead_id or user.id in self.member_ids


@dataclass(frozen=True)
class CaseNote:
    id: int
    case_id: int
    user_id: int | None
    user_email: str | None
    body: str
    created_at: str


@dataclass(frozen=True)
class Deadline:
    id: int
    case_id: int
    due: str  # YYYY-MM-DD
    what: str
    done: bool
    case_title: str = ""


@dataclass(frozen=True)
class CaseContact:
    contact: Contact
    role: str


@dataclass(frozen=True)
class SampleReport:
    contacts_created: int
    cases_created: int
    items_linked: int
    contacts_linked: int
    deadlines_created: int
    missing: tuple[str, ...]  # item slugs and contact names the sample refers to but that were not found


# Access


def can_read_cases(user: User) -> bool:
    """Every signed-in, active user may read case files."""
    return user.active


def can_create_cases(user: User) -> bool:
    """Coordinators and admins create case files and change their teams."""
    return user.can("coordinator")


def can_manage_case(user: User, case: CaseFile) -> bool:
    """Coordinators, admins and the case lead may change everything in a case file but its team."""
    return user.can("coordinator") or (user.active and user.id == case.lead_id)


def can_contribute(user: User, case: CaseFile) -> bool:
    """Those who manage the case file, and its members, may add notes and link items."""
    return can_manage_case(user, case) or (user.active and user.id in case.member_ids)


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(f"you may not {what}")


def _require_reader(user: User) -> None:
    _require(can_read_cases(user), "read case files")


# Reading


def _from_row(row: Mapping[str, Any], member_ids: Iterable[int]) -> CaseFile:
    return CaseFile(
        id=row["id"], title=row["title"], country=row["country"], sector=row["sector"],
        system_name=row["system_name"], system_agency=row["system_agency"],
        system_vendor=row["system_vendor"], legal_basis=row["legal_basis"], status=row["status"],
        summary=row["summary"], lead_id=row["lead_id"],
        member_ids=tuple(member_ids), created_at=row["created_at"], updated_at=row["updated_at"],
    )


def _select(db: Database, where: str = "1", params: Sequence[object] = ()) -> list[CaseFile]:
    rows = [dict(r) for r in db.query(f"SELECT * FROM cases WHERE {where} ORDER BY updated_at DESC, id DESC",  # noqa: S608
                                      list(params))]
    members: dict[int, list[int]] = {}
    for row in db.execute(f"SELECT case_id, user_id FROM case_members WHERE case_id IN "  # noqa: S608
                          f"(SELECT id FROM cases WHERE {where}) ORDER BY user_id", list(params)):
        members.setdefault(row[0], []).append(row[1])
    return [_from_row(r, members.get(r["id"], ())) for r in rows]


def cases_for_index(db: Database, case_ids: Sequence[int] | None = None) -> list[CaseFile]:
    """Case files by id (all when None), with no access check: for the index writer only."""
    if case_ids is None:
        return _select(db)
    ids = [int(i) for i in case_ids]
    found: list[CaseFile] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += _select(db, f"id IN ({','.join('?' * len(chunk))})", chunk)  # noqa: S608
    return found


def list_cases(db: Database, user: User, *, status: str | None = None,
               team_member: int | None = None) -> list[CaseFile]:
    """Case files, most recently changed first; optionally only open or closed ones, or one person's."""
    _require_reader(user)
    where: list[str] = ["1"]
    params: list[object] = []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if team_member is not None:
        where.append("(lead_id = ? OR id IN (SELECT case_id FROM case_members WHERE user_id = ?))")
        params += [team_member, team_member]
    return _select(db, " AND ".join(where), params)


def find_case(db: Database, user: User, case_id: int) -> CaseFile | None:
    """The case file, or None."""
    _require_reader(user)
    found = _select(db, "id = ?", [case_id])
    return found[0] if found else None


def get_case(db: Database, user: User, case_id: int) -> CaseFile:
    """The case file; raises NotFound."""
    case = find_case(db, user, case_id)
    if case is None:
        raise NotFound(f"case file {case_id} does not exist")
    return case


def case_item_ids(db: Database, user: User, case_id: int) -> list[int]:
    """Ids of the items linked to the case file, in the order they were linked."""
    get_case(db, user, case_id)
    rows = db.execute("SELECT item_id FROM case_items WHERE case_id = ? ORDER BY added_at, item_id",
                      [case_id])
    return [r[0] for r in rows]


def case_items(db: Database, user: User, case_id: int) -> list[Item]:
    """The items linked to the case file, with their tags and sources, in the order they were linked."""
    return load_items(db, case_item_ids(db, user, case_id))


def case_contacts(db: Database, user: User, case_id: int) -> list[CaseContact]:
    """The contacts of the case file this user may see (kb.contacts decides), with their role in it."""
    get_case(db, user, case_id)
    if not contacts.can_see_contacts(user):
        return []
    roles = {r[0]: r[1] for r in db.execute("SELECT contact_id, role FROM case_contacts WHERE case_id = ?",
                                            [case_id])}
    found = contacts.list_contacts(db, user, contacts.ContactFilter(case_id=case_id))
    return [CaseContact(c, roles.get(c.id, "")) for c in found]


def case_notes(db: Database, user: User, case_id: int) -> list[CaseNote]:
    """The timeline of the case file, oldest note first."""
    get_case(db, user, case_id)
    return [CaseNote(r["id"], r["case_id"], r["user_id"], r["email"], r["body"], r["created_at"])
            for r in db.query("SELECT n.*, u.email FROM case_notes n LEFT JOIN users u ON u.id = n.user_id "
                              "WHERE n.case_id = ? ORDER BY n.created_at, n.id", [case_id])]


def _deadlines(db: Database, where: str, params: Sequence[object]) -> list[Deadline]:
    return [Deadline(r["id"], r["case_id"], r["due"], r["what"], bool(r["done"]), r["title"])
            for r in db.query(f"SELECT d.*, k.title FROM case_deadlines d JOIN cases k ON k.id = d.case_id "  # noqa: S608
                              f"WHERE {where} ORDER BY d.due, d.id", list(params))]


def case_deadlines(db: Database, user: User, case_id: int) -> list[Deadline]:
    """Every deadline of the case file, soonest first, done ones included."""
    get_case(db, user, case_id)
    return _deadlines(db, "d.case_id = ?", [case_id])


def upcoming_deadlines(db: Database, user: User, days: int = 14, *, today: date | None = None,
                       mine: bool = False) -> list[Deadline]:
    """Deadlines not done in open case files, overdue ones and those due within `days`, soonest first."""
    _require_reader(user)
    today = today or datetime.now(UTC).date()
    where = "d.done = 0 AND k.status = 'open' AND d.due <= ?"
    params: list[object] = [(today + timedelta(days=days)).isoformat()]
    if mine:
        where += " AND (k.lead_id = ? OR k.id IN (SELECT case_id FROM case_members WHERE user_id = ?))"
        params += [user.id, user.id]
    return _deadlines(db, where, params)


def case_history(db: Database, user: User, case_id: int) -> list[audit.AuditEntry]:
    """The audit entries of one case file, newest first; admins only."""
    _require(user.can("admin"), "read the audit log")
    return audit.entries(db, entity="case", entity_id=case_id)


# Changing the case file


def clean_fields(raw: Mapping[str, object], *, partial: bool = False) -> dict[str, str]:
    """Validate and normalise case fields; InvalidInput for over-long text, no title or an unknown field."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown case field(s): {', '.join(unknown)}")
    cleaned = {}
    for name in (n for n in FIELDS if n in raw or not partial):
        text = clean_text(raw.get(name), multiline=name in MULTILINE_FIELDS)
        if len(text) > MAX_LENGTH[name]:
            raise InvalidInput(f"{name} is longer than {MAX_LENGTH[name]} characters")
        cleaned[name] = text
    if "title" in cleaned and not cleaned["title"]:
        raise InvalidInput("a case file needs a title")
    return cleaned


def _check_users(db: Database, user_ids: Iterable[int | None]) -> None:
    for user_id in user_ids:
        if user_id is None:
            continue
        if db.execute("SELECT 1 FROM users WHERE id = ?", [user_id]).fetchone() is None:
            raise InvalidInput(f"user {user_id} does not exist")


def _touch(db: Database, case_id: int) -> None:
    db.execute("UPDATE cases SET updated_at = ? WHERE id = ?", [utcnow(), case_id])


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made."""
    if cursor.lastrowid is None:
        raise RuntimeError("the INSERT made no row")
    return cursor.lastrowid


def _insert(db: Database, cleaned: Mapping[str, str], status: str, lead_id: int | None,
            by: int | None) -> int:
    now = utcnow()
    columns: dict[str, object] = {**cleaned, "status": status, "lead_id": lead_id, "created_at": now,
                                  "updated_at": now}
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    case_id = _row_id(db.execute(f"INSERT INTO cases ({names}) VALUES ({marks})",  # noqa: S608
                                 list(columns.values())))
    audit.record(db, by, "create", "case", case_id,
                 {"fields": dict(cleaned), "status": status, "lead_id": lead_id})
    outbox.enqueue(db, [case_id], "case")
    return case_id


def create_case(db: Database, user: User, fields: Mapping[str, object], *, lead_id: int | None = None,
                member_ids: Iterable[int] = ()) -> CaseFile:
    """Open a new case file; coordinators and admins only."""
    _require(can_create_cases(user), "create case files")
    cleaned = clean_fields(fields)
    members = sorted(set(member_ids))
    with transaction(db):
        _check_users(db, [lead_id, *members])
        case_id = _insert(db, cleaned, "open", lead_id, user.id)
        db.conn.executemany("INSERT INTO case_members (case_id, user_id) VALUES (?, ?)",
                            [(case_id, m) for m in members])
        if members:
            audit.record(db, user.id, "set-team", "case", case_id,
                         {"lead_id": lead_id, "member_ids": members})
        return get_case(db, user, case_id)


def _managed(db: Database, user: User, case_id: int) -> CaseFile:
    case = get_case(db, user, case_id)
    _require(can_manage_case(user, case), "change this case file")
    return case


def _contributed(db: Database, user: User, case_id: int) -> CaseFile:
    case = get_case(db, user, case_id)
    _require(can_contribute(user, case), "add to this case file")
    return case


def update_case(db: Database, user: User, case_id: int, changes: Mapping[str, object]) -> CaseFile:
    """Change some fields of a case file; the log keeps each field's before and after."""
    cleaned = clean_fields(changes, partial=True)
    with transaction(db):
        before = _managed(db, user, case_id)
        diff = {k: [getattr(before, k), v] for k, v in cleaned.items() if getattr(before, k) != v}
        if not diff:
            return before
        assignments = ", ".join(f"{name} = ?" for name in diff)
        db.execute(f"UPDATE cases SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                   [*(after for _, after in diff.values()), utcnow(), case_id])
        audit.record(db, user.id, "update", "case", case_id, {"changes": diff})
        outbox.enqueue(db, [case_id], "case")
        return get_case(db, user, case_id)


def _set_status(db: Database, user: User, case_id: int, status: str) -> CaseFile:
    with transaction(db):
        before = _managed(db, user, case_id)
        if before.status == status:
            return before
        db.execute("UPDATE cases SET status = ?, updated_at = ? WHERE id = ?", [status, utcnow(), case_id])
        audit.record(db, user.id, "close" if status == "closed" else "reopen", "case", case_id)
        return get_case(db, user, case_id)


def close_case(db: Database, user: User, case_id: int) -> CaseFile:
    """Close a case file (it stays readable; its deadlines leave the dashboard)."""
    return _set_status(db, user, case_id, "closed")


def reopen_case(db: Database, user: User, case_id: int) -> CaseFile:
    """Reopen a closed case file."""
    return _set_status(db, user, case_id, "open")


def set_team(db: Database, user: User, case_id: int, lead_id: int | None,
             member_ids: Iterable[int]) -> CaseFile:
    """Replace the lead and members of a case file; coordinators and admins only."""
    _require(can_create_cases(user), "change the team of a case file")
    members = sorted(set(member_ids))
    with transaction(db):
        before = get_case(db, user, case_id)
        _check_users(db, [lead_id, *members])
        if before.lead_id == lead_id and list(before.member_ids) == members:
            return before
        db.execute("UPDATE cases SET lead_id = ?, updated_at = ? WHERE id = ?", [lead_id, utcnow(), case_id])
        db.execute("DELETE FROM case_members WHERE case_id = ?", [case_id])
        db.conn.executemany("INSERT INTO case_members (case_id, user_id) VALUES (?, ?)",
                            [(case_id, m) for m in members])
        audit.record(db, user.id, "set-team", "case", case_id,
                     {"lead_id": [before.lead_id, lead_id], "member_ids": [list(before.member_ids), members]})
        return get_case(db, user, case_id)


# Items, contacts, notes and deadlines of a case file


def link_item(db: Database, user: User, case_id: int, item_id: int) -> bool:
    """Link an item to the case file (re-indexed with its new case); False if it was linked already."""
    with transaction(db):
        _contributed(db, user, case_id)
        if db.execute("SELECT 1 FROM items WHERE id = ?", [item_id]).fetchone() is None:
            raise NotFound(f"item {item_id} does not exist")
        if not attach_item(db, case_id, item_id, user.id):
            return False
        _touch(db, case_id)
        return True


def attach_item(db: Database, case_id: int, item_id: int, by: int | None) -> bool:
    """Write the link, its outbox row and the case's audit entry; the caller has checked the user's rights."""
    inserted = db.execute(
        "INSERT OR IGNORE INTO case_items (case_id, item_id, added_by, added_at) VALUES (?, ?, ?, ?)",
        [case_id, item_id, by, utcnow()],
    ).rowcount
    if not inserted:
        return False
    outbox.enqueue(db, [item_id])
    audit.record(db, by, "link-item", "case", case_id, {"item_id": item_id})
    return True


def unlink_item(db: Database, user: User, case_id: int, item_id: int) -> bool:
    """Unlink an item from the case file (re-indexed); False if it was not linked."""
    with transaction(db):
        _contributed(db, user, case_id)
        deleted = db.execute("DELETE FROM case_items WHERE case_id = ? AND item_id = ?", [case_id, item_id])
        if deleted.rowcount == 0:
            return False
        outbox.enqueue(db, [item_id])
        audit.record(db, user.id, "unlink-item", "case", case_id, {"item_id": item_id})
        _touch(db, case_id)
        return True


def link_contact(db: Database, user: User, case_id: int, contact_id: int, role: str = "") -> None:
    """Link a contact this user may see to the case file, or change its role there."""
    role = clean_text(role, multiline=False)
    if len(role) > MAX_ROLE:
        raise InvalidInput(f"the role is longer than {MAX_ROLE} characters")
    _require(contacts.can_change_contacts(user), "link contacts to case files")
    with transaction(db):
        _managed(db, user, case_id)
        contacts.get_contact(db, user, contact_id)
        db.execute("INSERT INTO case_contacts (case_id, contact_id, role) VALUES (?, ?, ?) "
                   "ON CONFLICT (case_id, contact_id) DO UPDATE SET role = excluded.role",
                   [case_id, contact_id, role])
        audit.record(db, user.id, "link-contact", "case", case_id, {"contact_id": contact_id, "role": role})
        _touch(db, case_id)


def unlink_contact(db: Database, user: User, case_id: int, contact_id: int) -> bool:
    """Unlink a contact this user may see from the case file; False if it was not linked."""
    _require(contacts.can_change_contacts(user), "unlink contacts from case files")
    with transaction(db):
        _managed(db, user, case_id)
        contacts.get_contact(db, user, contact_id)
        if db.execute("DELETE FROM case_contacts WHERE case_id = ? AND contact_id = ?",
                      [case_id, contact_id]).rowcount == 0:
            return False
        audit.record(db, user.id, "unlink-contact", "case", case_id, {"contact_id": contact_id})
        _touch(db, case_id)
        return True


def add_note(db: Database, user: User, case_id: int, body: str) -> CaseNote:
    """Add a dated note to the timeline of the case file (notes are not edited afterwards)."""
    body = clean_text(body, multiline=True)
    if not body:
        raise InvalidInput("the note is empty")
    if len(body) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters")
    with transaction(db):
        _contributed(db, user, case_id)
        note_id = _row_id(db.execute(
            "INSERT INTO case_notes (case_id, user_id, body, created_at) VALUES (?, ?, ?, ?)",
            [case_id, user.id, body, utcnow()],
        ))
        audit.record(db, user.id, "add-note", "case", case_id, {"note_id": note_id})
        _touch(db, case_id)
        return next(n for n in case_notes(db, user, case_id) if n.id == note_id)


def _clean_due(due: str | date) -> str:
    text = due.isoformat() if isinstance(due, date) else str(due).strip()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(f"bad due date {text[:20]!r} (expected YYYY-MM-DD)") from None


def _clean_what(what: str) -> str:
    text = clean_text(what, multiline=False)
    if not text:
        raise InvalidInput("say what is due")
    if len(text) > MAX_WHAT:
        raise InvalidInput(f"the description is longer than {MAX_WHAT} characters")
    return text


def add_deadline(db: Database, user: User, case_id: int, due: str | date, what: str) -> Deadline:
    """Add a deadline (due date, what) to the case file."""
    due_text, what = _clean_due(due), _clean_what(what)
    with transaction(db):
        _managed(db, user, case_id)
        deadline_id = _insert_deadline(db, case_id, due_text, what, user.id)
        _touch(db, case_id)
        return _deadlines(db, "d.id = ?", [deadline_id])[0]


def _insert_deadline(db: Database, case_id: int, due: str, what: str, by: int | None) -> int:
    deadline_id = _row_id(db.execute("INSERT INTO case_deadlines (case_id, due, what) VALUES (?, ?, ?)",
                                     [case_id, due, what]))
    audit.record(db, by, "add-deadline", "case", case_id,
                 {"deadline_id": deadline_id, "due": due, "what": what})
    return deadline_id


def _deadline(db: Database, deadline_id: int) -> Deadline:
    found = _deadlines(db, "d.id = ?", [deadline_id])
    if not found:
        raise NotFound(f"deadline {deadline_id} does not exist")
    return found[0]


def set_deadline_done(db: Database, user: User, deadline_id: int, done: bool = True) -> Deadline:
    """Mark a deadline done (or not done again)."""
    with transaction(db):
        before = _deadline(db, deadline_id)
        _managed(db, user, before.case_id)
        if before.done != done:
            db.execute("UPDATE case_deadlines SET done = ? WHERE id = ?", [int(done), deadline_id])
            audit.record(db, user.id, "deadline-done" if done else "deadline-open", "case", before.case_id,
                         {"deadline_id": deadline_id})
            _touch(db, before.case_id)
        return _deadline(db, deadline_id)


def delete_deadline(db: Database, user: User, deadline_id: int) -> None:
    """Remove a deadline entered by mistake."""
    with transaction(db):
        before = _deadline(db, deadline_id)
        _managed(db, user, before.case_id)
        db.execute("DELETE FROM case_deadlines WHERE id = ?", [deadline_id])
        audit.record(db, user.id, "delete-deadline", "case", before.case_id,
                     {"deadline_id": deadline_id, "due": before.due, "what": before.what})
        _touch(db, before.case_id)


# Exports of a case file's sources


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def ris_record(item: Item) -> str:
    """One RIS record (TY NEWS for a dated article, ELEC otherwise) for reference managers, CRLF line ends."""
    lines = [("TY", "NEWS" if item.published else "ELEC"), ("TI", _one_line(item.title))]
    if item.author.strip():
        lines.append(("AU", _one_line(item.author)))
    if item.published and len(item.published) >= 10:
        lines += [("PY", item.published[:4]), ("DA", item.published[:10].replace("-", "/"))]
    lines.append(("UR", item.url))
    if item.site_name.strip():
        lines.append(("T2", _one_line(item.site_name)))
    if item.language and item.language != "und":
        lines.append(("LA", item.language))
    if item.summary.strip():
        lines.append(("AB", _one_line(item.summary)))
    lines += [("KW", label) for label in topic_labels(item.topics)]  # reference managers show keywords as is
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {value}\r\n" for tag, value in lines)


def sources_ris(db: Database, user: User, case_id: int) -> str:
    """The items of the case file as RIS records separated by blank lines."""
    return "\r\n".join(ris_record(item) for item in case_items(db, user, case_id))


def source_csv_row(item: Item) -> list[str]:
    """The CSV cells of one source, in SOURCE_FIELDS order, topics joined with ';', formulas neutralised."""
    values = {"id": str(item.id), "title": item.title, "url": item.url, "author": item.author,
              "site_name": item.site_name, "published": item.published or "", "language": item.language,
              "topics": ";".join(item.topics), "topic_labels": "; ".join(topic_labels(item.topics)),
              "summary": item.summary}
    return [spreadsheet_safe(values[name]) for name in SOURCE_FIELDS]


def sources_csv(db: Database, user: User, case_id: int) -> str:
    """The items of the case file as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SOURCE_FIELDS)
    for item in case_items(db, user, case_id):
        writer.writerow(source_csv_row(item))
    return out.getvalue()


# The bundled demo


def load_sample(db: Database, contacts_data: list[dict[str, Any]], cases_data: list[dict[str, Any]],
                item_id_by_slug: Callable[[str], int | None]) -> SampleReport:
    """Load the sample contacts and case files, creating only what is missing (running it twice adds nothing).

    Contacts are matched like an import (first e-mail, else name and organisation), case files by title;
    existing ones are left as they are, and missing links and deadlines are added. Logged as the system.
    """
    counts = {"contacts": 0, "cases": 0, "items": 0, "links": 0, "deadlines": 0}
    missing: list[str] = []
    contact_ids: dict[str, int] = {}
    for record in contacts_data:
        contact_id, created = contacts.ensure_contact(db, record)
        contact_ids[str(record["name"]).strip().casefold()] = contact_id
        counts["contacts"] += created
    for record in cases_data:
        with transaction(db):
            case_id = _ensure_case(db, record, counts)
            for slug in record.get("items", []):
                item_id = item_id_by_slug(slug)
                if item_id is None:
                    missing.append(f"item {slug}")
                else:
                    counts["items"] += attach_item(db, case_id, item_id, None)
            for link in record.get("contacts", []):
                found = contact_ids.get(str(link["name"]).strip().casefold())
                if found is None:
                    missing.append(f"contact {link['name']}")
                elif db.execute(
                    "INSERT OR IGNORE INTO case_contacts (case_id, contact_id, role) VALUES (?, ?, ?)",
                    [case_id, found, clean_text(link.get("role", ""), multiline=False)[:MAX_ROLE]],
                ).rowcount:
                    audit.record(db, None, "link-contact", "case", case_id, {"contact_id": found})
                    counts["links"] += 1
            for deadline in record.get("deadlines", []):
                due, what = _clean_due(deadline["due"]), _clean_what(deadline["what"])
                if db.execute("SELECT 1 FROM case_deadlines WHERE case_id = ? AND due = ? AND what = ?",
                              [case_id, due, what]).fetchone() is None:
                    _insert_deadline(db, case_id, due, what, None)
                    counts["deadlines"] += 1
    if missing:
        LOGGER.warning("sample: %d references not found: %s", len(missing), ", ".join(missing))
    return SampleReport(counts["contacts"], counts["cases"], counts["items"], counts["links"],
                        counts["deadlines"], tuple(missing))


def _ensure_case(db: Database, record: Mapping[str, Any], counts: dict[str, int]) -> int:
    cleaned = clean_fields({k: v for k, v in record.items() if k in FIELDS})
    row = db.execute("SELECT id FROM cases WHERE title = ?", [cleaned["title"]]).fetchone()
    if row is not None:
        return int(row[0])
    status = record.get("status", "open")
    if status not in STATUSES:
        raise InvalidInput(f"sample case {cleaned['title']!r}: status must be open or closed")
    counts["cases"] += 1
    return _insert(db, cleaned, status, None, None)

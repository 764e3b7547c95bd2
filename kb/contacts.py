"""Contacts: the people the lab works with, some of them at risk. Who may see which is decided here.

The rule, in one place (`contact_scope`), applied in SQL by every read function, which all take the acting
user, and handed to search (kb.search) and case files (kb.cases):
- researchers see the contacts that are not restricted (sensitivity "normal");
- coordinators see those too, and the restricted contacts linked to a case file they lead or are a member of;
- admins see every contact; inactive users see none;
- a contact a user may not see does not exist for them (NotFound, absent from lists, facets, exports,
  search and matching).
Only coordinators and admins change contacts (`can_change_contacts`: create, edit, delete, import, link to
case files); researchers get PermissionDenied. `visible_contact_ids` gives the rule to other modules as a set
of ids, or None for "all".
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from sqlite_utils import Database

from kb.errors import InvalidInput, NotFound, PermissionDenied
from kb.storage import audit, outbox
from kb.storage.csvimport import MAX_IMPORT_BYTES as MAX_IMPORT_BYTES  # the web form's upload limit
from kb.storage.csvimport import ImportReport, import_csv
from kb.storage.db import transaction, utcnow
from kb.text.cleaning import LIST_SEPARATOR, clean_list, clean_text
from kb.text.taxonomy import load_taxonomy
from kb.users import User

KINDS = ("journalist", "expert", "partner", "lawyer", "affected person")
SENSITIVITIES = ("normal", "restricted")
# The order of the fields is the order of the CSV columns.
FIELDS = ("name", "organisation", "role", "kind", "country", "languages", "emails", "phones", "expertise",
          "networks", "notes", "consent_how", "consent_date", "sensitivity")
LIST_FIELDS = ("languages", "emails", "phones", "expertise", "networks")
MULTILINE_FIELDS = ("notes", "consent_how")
FACETS = ("organisation", "country", "languages", "expertise", "networks", "kind")
MAX_LENGTH = {"name": 200, "organisation": 200, "role": 200, "kind": 20, "country": 100, "notes": 10_000,
              "consent_how": 1_000, "consent_date": 10, "sensitivity": 10}
MAX_ENTRY_LENGTH = {"languages": 35, "emails": 254, "phones": 40, "expertise": 100, "networks": 100}
MAX_ENTRIES = 20
# Header spellings people use in spreadsheets, mapped to the field they mean.
COLUMN_ALIASES = {"email": "emails", "e-mail": "emails", "e-mails": "emails", "phone": "phones",
                  "language": "languages", "network": "networks", "expertise_topics": "expertise",
                  "organization": "organisation"}
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_EMAIL = re.compile(r"^[^@\s;,<>\"]+@[^@\s;,<>\"]+\.[^@\s;,<>\"]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]+(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    organisation: str
    role: str
    kind: str
    country: str
    languages: tuple[str, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    expertise: tuple[str, ...]
    networks: tuple[str, ...]
    notes: str
    consent_how: str
    consent_date: str | None
    sensitivity: str
    created_at: str
    updated_at: str
    case_ids: tuple[int, ...] = ()

    @property
    def restricted(self) -> bool:
        return self.sensitivity == "restricted"

    def fields(self) -> dict[str, object]:
        """The editable fields as a dict (lists as tuples)."""
        return {name: getattr(self, name) for name in FIELDS}


@dataclass(frozen=True)
class ContactFilter:
    """Search and filters for the contact list; empty values do not filter."""

    query: str = ""  # words found in name, organisation, role, e-mails or notes
    organisation: str = ""
    country: str = ""
    language: str = ""
    expertise: str = ""
    network: str = ""
    kind: str = ""
    sensitivity: str = ""
    case_id: int | None = None


# Access


@dataclass(frozen=True)
class ContactScope:
    """Which contacts a user may see: the rule used by the pages, search, the API and the exports."""

    contacts: str  # "none", "normal" (not restricted) or "all"
    through_cases: bool = False  # also the restricted contacts linked to a case file they lead or are on

    @property
    def any(self) -> bool:
        return self.contacts != "none"


def contact_scope(user: User) -> ContactScope:
    """What this user may see of contacts: the one place saying which role sees which contact."""
    if user.can("admin"):
        return ContactScope("all")
    if user.can("coordinator"):
        return ContactScope("normal", through_cases=True)
    if user.can("researcher"):
        return ContactScope("normal")
    return ContactScope("none")


def can_see_contacts(user: User) -> bool:
    """Every active user sees contacts: researchers and coordinators the normal ones, admins all of them."""
    return contact_scope(user).any


def can_change_contacts(user: User) -> bool:
    """Coordinators and admins create, edit, delete, import and link contacts; researchers do not."""
    return user.can("coordinator")


def _require_reader(user: User) -> None:
    if not can_see_contacts(user):
        raise PermissionDenied("you may not see contacts")


def _require_editor(user: User) -> None:
    if not can_change_contacts(user):
        raise PermissionDenied("only coordinators and admins may change contacts")


def _visibility(user: User) -> tuple[str, list[object]]:
    """A WHERE condition on contacts aliased `c` that keeps only the contacts this user may see."""
    scope = contact_scope(user)
    if scope.contacts == "all":
        return "1", []
    if scope.contacts == "none":
        return "0", []
    if not scope.through_cases:
        return "c.sensitivity = 'normal'", []
    return (
        "(c.sensitivity = 'normal' OR c.id IN (SELECT cc.contact_id FROM case_contacts cc "
        "JOIN cases k ON k.id = cc.case_id WHERE k.lead_id = ? OR EXISTS "
        "(SELECT 1 FROM case_members m WHERE m.case_id = cc.case_id AND m.user_id = ?)))",
        [user.id, user.id],
    )


def visible_contact_ids(db: Database, user: User) -> set[int] | None:
    """Ids of the contacts this user may see, or None when they may see all of them (admins)."""
    if contact_scope(user).contacts == "all":
        return None
    condition, params = _visibility(user)
    return {row[0] for row in db.execute(f"SELECT c.id FROM contacts c WHERE {condition}", params)}  # noqa: S608


def can_see_contact(db: Database, user: User, contact_id: int) -> bool:
    """True if the contact exists and this user may see it."""
    condition, params = _visibility(user)
    return db.execute(f"SELECT 1 FROM contacts c WHERE c.id = ? AND {condition}",  # noqa: S608
                      [contact_id, *params]).fetchone() is not None


# Validation


def _clean_list(name: str, value: object) -> tuple[str, ...]:
    entries: list[str] = []
    seen: set[str] = set()
    for entry in clean_list(value, name):
        if entry.casefold() not in seen:
            seen.add(entry.casefold())
            entries.append(entry)
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"{name} has {len(entries)} entries; at most {MAX_ENTRIES} are allowed")
    for entry in entries:
        if len(entry) > MAX_ENTRY_LENGTH[name]:
            raise InvalidInput(f"{name}: {entry[:40]!r}... is longer than {MAX_ENTRY_LENGTH[name]} "
                               "characters")
        _check_entry(name, entry)
    return tuple(entries)


def _check_entry(name: str, entry: str) -> None:
    if name == "emails" and not _EMAIL.match(entry):
        raise InvalidInput(f"bad e-mail address {entry[:100]!r}")
    if name == "phones" and (not _PHONE.match(entry) or sum(ch.isdigit() for ch in entry) < 3):
        raise InvalidInput(f"bad phone number {entry[:40]!r}")
    if name == "expertise" and load_taxonomy().find(entry) is None:
        raise InvalidInput(f"unknown expertise topic id {entry[:100]!r} "
                           "(expected a taxonomy id such as system/risk-scoring)")


def _clean_date(value: str) -> str | None:
    if not value:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"bad consent date {value[:20]!r} (expected YYYY-MM-DD)") from None
    if day > datetime.now(UTC).date() + timedelta(days=1):
        raise InvalidInput(f"consent date {value} is in the future")
    return value


def clean_fields(raw: Mapping[str, object], *, partial: bool = False) -> dict[str, object]:
    """Validate and normalise contact fields (lists may be given as ';'-separated text); raises InvalidInput.

    With `partial`, only the fields given are returned (for edits); otherwise every field is, with defaults.
    """
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown contact field(s): {', '.join(unknown)}")
    names = [n for n in FIELDS if n in raw] if partial else list(FIELDS)
    cleaned: dict[str, object] = {}
    for name in names:
        value = raw.get(name)
        if name in LIST_FIELDS:
            cleaned[name] = _clean_list(name, value)
            continue
        text = clean_text(value, multiline=name in MULTILINE_FIELDS)
        if len(text) > MAX_LENGTH[name]:
            raise InvalidInput(f"{name} is longer than {MAX_LENGTH[name]} characters")
        if name == "name" and not text:
            raise InvalidInput("a contact needs a name")
        if name == "kind":
            text = text.lower()
            if text and text not in KINDS:
                raise InvalidInput(f"kind must be one of {', '.join(KINDS)} (not {text!r})")
        if name == "sensitivity":
            text = text.lower() or "normal"
            if text not in SENSITIVITIES:
                raise InvalidInput(f"sensitivity must be normal or restricted (not {text!r})")
        cleaned[name] = _clean_date(text) if name == "consent_date" else text
    return cleaned


# Reading


def _from_row(row: Mapping[str, Any], case_ids: Sequence[int] = ()) -> Contact:
    def listed(name: str) -> tuple[str, ...]:
        return tuple(json.loads(row[name]))

    return Contact(
        id=row["id"], name=row["name"], organisation=row["organisation"], role=row["role"], kind=row["kind"],
        country=row["country"], languages=listed("languages"), emails=listed("emails"),
        phones=listed("phones"), expertise=listed("expertise"), networks=listed("networks"),
        notes=row["notes"],
        consent_how=row["consent_how"], consent_date=row["consent_date"] or None,
        sensitivity=row["sensitivity"], created_at=row["created_at"], updated_at=row["updated_at"],
        case_ids=tuple(case_ids),
    )


def contacts_for_index(db: Database, contact_ids: Sequence[int] | None = None) -> list[Contact]:
    """Contacts by id (all when None), with no access check: for the index writer only.

    Search applies the access rules to what it finds (kb.search), so the index may hold every contact.
    """
    if contact_ids is None:
        return [_from_row(row) for row in db.query("SELECT * FROM contacts ORDER BY id")]
    ids = [int(i) for i in contact_ids]
    found: list[Contact] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += [_from_row(row) for row in db.query(
            f"SELECT * FROM contacts WHERE id IN ({','.join('?' * len(chunk))})", chunk)]  # noqa: S608
    return found


def _listed_value(column: str) -> str:
    return f"EXISTS (SELECT 1 FROM json_each(c.{column}) j WHERE j.value = ? COLLATE NOCASE)"  # noqa: S608


def _filter_sql(filters: ContactFilter) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    for column, value in (("organisation", filters.organisation), ("country", filters.country),
                          ("kind", filters.kind), ("sensitivity", filters.sensitivity)):
        if value:
            where.append(f"c.{column} = ? COLLATE NOCASE")
            params.append(value.strip())
    for column, value in (("languages", filters.language), ("expertise", filters.expertise),
                          ("networks", filters.network)):
        if value:
            where.append(_listed_value(column))
            params.append(value.strip())
    if filters.case_id is not None:
        where.append("c.id IN (SELECT contact_id FROM case_contacts WHERE case_id = ?)")
        params.append(filters.case_id)
    return where, params


def _matches_query(contact: Contact, query: str) -> bool:
    words = [contact.name, contact.organisation, contact.role, *contact.emails, contact.notes]
    haystack = " ".join(words).casefold()
    return all(word in haystack for word in query.casefold().split())


def _case_ids(db: Database, contact_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for start in range(0, len(contact_ids), 500):
        chunk = list(contact_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT contact_id, case_id FROM case_contacts WHERE contact_id IN ({marks}) "  # noqa: S608
                              "ORDER BY case_id", chunk):
            found.setdefault(row[0], []).append(row[1])
    return found


def _select(db: Database, user: User, where: list[str], params: list[object]) -> list[Contact]:
    condition, visibility_params = _visibility(user)
    clause = " AND ".join([condition, *where])
    rows = [dict(r) for r in db.query(
        f"SELECT c.* FROM contacts c WHERE {clause} ORDER BY c.name COLLATE NOCASE, c.id",  # noqa: S608
        [*visibility_params, *params],
    )]
    cases = _case_ids(db, [r["id"] for r in rows])
    return [_from_row(r, cases.get(r["id"], ())) for r in rows]


def list_contacts(db: Database, user: User, filters: ContactFilter | None = None) -> list[Contact]:
    """The contacts this user may see that match the filters, by name."""
    _require_reader(user)
    filters = filters or ContactFilter()
    where, params = _filter_sql(filters)
    found = _select(db, user, where, params)
    if filters.query.strip():
        found = [c for c in found if _matches_query(c, filters.query)]
    return found


def contact_facets(db: Database, user: User,
                   filters: ContactFilter | None = None) -> dict[str, list[tuple[str, int]]]:
    """Counts per value of each FACETS field over the visible matches, most frequent first."""
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for contact in list_contacts(db, user, filters):
        for name, counter in counters.items():
            value = getattr(contact, name)
            counter.update(value if isinstance(value, tuple) else [value] if value else [])
    return {name: sorted(counter.items(), key=lambda kv: (-kv[1], kv[0].casefold()))
            for name, counter in counters.items()}


def find_contact(db: Database, user: User, contact_id: int) -> Contact | None:
    """The contact if it exists and this user may see it, else None."""
    _require_reader(user)
    found = _select(db, user, ["c.id = ?"], [contact_id])
    return found[0] if found else None


def get_contact(db: Database, user: User, contact_id: int) -> Contact:
    """The contact; NotFound when it does not exist or this user may not see it."""
    contact = find_contact(db, user, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return contact


# Writing


def _stored(value: object) -> object:
    return json.dumps(list(value), ensure_ascii=False) if isinstance(value, tuple) else value


def _audit_fields(sensitive: bool, values: Mapping[str, object]) -> dict[str, object]:
    """Field values for the log, or only their names when the contact is restricted."""
    if sensitive:
        return {"fields": sorted(k for k, v in values.items() if v), "restricted": True}
    return {"fields": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}


def _require_visible_after(db: Database, user: User, contact_id: int) -> None:
    if not can_see_contact(db, user, contact_id):
        raise InvalidInput("as restricted, this contact would be hidden from you: link it to a case file you "
                           "work on, or ask an admin to make the change")


def _link_case(db: Database, user: User, contact_id: int, case_id: int, role: str) -> None:
    if db.execute("SELECT 1 FROM cases WHERE id = ?", [case_id]).fetchone() is None:
        raise NotFound(f"case file {case_id} does not exist")
    role = clean_text(role, multiline=False)[:200]
    db.execute("INSERT INTO case_contacts (case_id, contact_id, role) VALUES (?, ?, ?) "
               "ON CONFLICT (case_id, contact_id) DO UPDATE SET role = excluded.role",
               [case_id, contact_id, role])
    audit.record(db, user.id, "link-contact", "case", case_id, {"contact_id": contact_id, "role": role})


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made."""
    if cursor.lastrowid is None:
        raise RuntimeError("the INSERT made no row")
    return cursor.lastrowid


def _insert(db: Database, cleaned: Mapping[str, object], by: int | None) -> int:
    now = utcnow()
    columns = {name: _stored(cleaned[name]) for name in FIELDS}
    columns.update(created_at=now, updated_at=now)
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    contact_id = _row_id(db.execute(f"INSERT INTO contacts ({names}) VALUES ({marks})",  # noqa: S608
                                    list(columns.values())))
    audit.record(db, by, "create", "contact", contact_id,
                 _audit_fields(cleaned["sensitivity"] == "restricted", cleaned))
    outbox.enqueue(db, [contact_id], "contact")
    return contact_id


def create_contact(db: Database, user: User, fields: Mapping[str, object], *, case_id: int | None = None,
                   case_role: str = "") -> Contact:
    """Create a contact, optionally linked to a case file at once (needed to create a restricted one)."""
    _require_editor(user)
    cleaned = clean_fields(fields)
    with transaction(db):
        contact_id = _insert(db, cleaned, user.id)
        if case_id is not None:
            _link_case(db, user, contact_id, case_id, case_role)
        _require_visible_after(db, user, contact_id)
        return get_contact(db, user, contact_id)


def _changes(before: Contact, cleaned: Mapping[str, object]) -> dict[str, tuple[object, object]]:
    return {name: (getattr(before, name), value) for name, value in cleaned.items()
            if getattr(before, name) != value}


def update_contact(db: Database, user: User, contact_id: int, changes: Mapping[str, object]) -> Contact:
    """Change some fields of a contact this user may see; the log keeps each field's before and after."""
    _require_editor(user)
    cleaned = clean_fields(changes, partial=True)
    with transaction(db):
        before = get_contact(db, user, contact_id)
        diff = _changes(before, cleaned)
        if not diff:
            return before
        assignments = ", ".join(f"{name} = ?" for name in diff)
        db.execute(f"UPDATE contacts SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608
                   [*(_stored(after) for _, after in diff.values()), utcnow(), contact_id])
        sensitive = before.restricted or cleaned.get("sensitivity") == "restricted"
        if sensitive:
            details: dict[str, object] = {"fields": sorted(diff), "restricted": True}
        else:
            details = {"changes": {k: [list(v) if isinstance(v, tuple) else v for v in pair]
                                   for k, pair in diff.items()}}
        audit.record(db, user.id, "update", "contact", contact_id, details)
        outbox.enqueue(db, [contact_id], "contact")
        _require_visible_after(db, user, contact_id)
        return get_contact(db, user, contact_id)


def delete_contact(db: Database, user: User, contact_id: int) -> None:
    """Delete a contact this user may see, with its case links."""
    _require_editor(user)
    with transaction(db):
        before = get_contact(db, user, contact_id)
        db.execute("DELETE FROM contacts WHERE id = ?", [contact_id])
        details: dict[str, object] = ({"restricted": True} if before.restricted else
                                      {"name": before.name, "organisation": before.organisation})
        details["case_ids"] = list(before.case_ids)
        audit.record(db, user.id, "delete", "contact", contact_id, details)
        outbox.enqueue(db, [contact_id], "contact")


def contact_history(db: Database, user: User, contact_id: int) -> list[audit.AuditEntry]:
    """The audit entries of one contact, newest first; admins only."""
    if not user.can("admin"):
        raise PermissionDenied("only admins may read the audit log")
    return audit.entries(db, entity="contact", entity_id=contact_id)


def _matching_ids(db: Database, user: User | None, cleaned: Mapping[str, object]) -> list[int]:
    """The contacts a row is about: by first e-mail, else by name and organisation among those without one.

    With a user, only contacts that user may see are considered: a hidden one is never revealed or changed.
    """
    condition, params = _visibility(user) if user is not None else ("1", [])
    emails = cleaned.get("emails") or ()
    if emails:
        rows = db.execute(
            f"SELECT c.id FROM contacts c WHERE {condition} AND EXISTS "  # noqa: S608
            "(SELECT 1 FROM json_each(c.emails) j WHERE lower(j.value) = lower(?)) ORDER BY c.id",
            [*params, emails[0]],  # type: ignore[index]
        ).fetchall()
        if rows:
            return [r[0] for r in rows]
    rows = db.execute(
        f"SELECT c.id FROM contacts c WHERE {condition} AND c.name = ? COLLATE NOCASE "  # noqa: S608
        "AND c.organisation = ? COLLATE NOCASE AND c.emails = '[]' ORDER BY c.id",
        [*params, cleaned.get("name", ""), cleaned.get("organisation", "")],
    ).fetchall()
    return [r[0] for r in rows]


def ensure_contact(db: Database, fields: Mapping[str, object]) -> tuple[int, bool]:
    """For trusted loaders only (no access check, logged as the system): the matching contact, or a new one.

    Returns (contact id, created). An existing contact is left as it is.
    """
    cleaned = clean_fields(fields)
    with transaction(db):
        found = _matching_ids(db, None, cleaned)
        if found:
            return found[0], False
        return _insert(db, cleaned, None), True


# CSV export and import


def spreadsheet_safe(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a quote (')."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unquote_formula(value: str) -> str:
    """Undo `spreadsheet_safe` on import, so an export read back gives the same values."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def contact_csv_row(contact: Contact) -> list[str]:
    """The CSV cells of a contact, in FIELDS order, lists joined with ';', formulas neutralised."""
    cells = []
    for name in FIELDS:
        value = getattr(contact, name)
        text = LIST_SEPARATOR.join(value) if isinstance(value, tuple) else (value or "")
        cells.append(spreadsheet_safe(str(text)))
    return cells


def export_contacts(db: Database, user: User, out: TextIO, filters: ContactFilter | None = None) -> int:
    """Write the visible contacts matching the filters as CSV; returns how many. The export is logged."""
    found = list_contacts(db, user, filters)
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for contact in found:
        writer.writerow(contact_csv_row(contact))
    with transaction(db):
        audit.record(db, user.id, "export", "contact", None, {"count": len(found)})
    return len(found)


def _header(fieldnames: Sequence[str]) -> list[str]:
    header = []
    for raw in fieldnames:
        name = "_".join((raw or "").strip().lower().split())
        header.append(COLUMN_ALIASES.get(name, name))
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        raise InvalidInput(f"unknown column(s) {', '.join(repr(u) for u in unknown)}; "
                           f"the columns are: {', '.join(FIELDS)}")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise InvalidInput(f"column(s) given twice: {', '.join(duplicated)}")
    if "name" not in header:
        raise InvalidInput("the file has no 'name' column")
    return header


def _import_row(db: Database, user: User, raw: Mapping[str, str]) -> tuple[str, str, int]:
    """Create or update the contact of one row; returns (action, reason, contact id). Raises KbError."""
    given = {k: unquote_formula(v) for k, v in raw.items() if v.strip()}  # an empty cell changes nothing
    cleaned = clean_fields(given, partial=True)
    if not cleaned.get("name"):
        raise InvalidInput("missing name")
    with transaction(db):
        found = _matching_ids(db, user, cleaned)
        if len(found) > 1:
            raise InvalidInput(f"matches several contacts ({', '.join(map(str, found))}); merge them first")
        if not found:
            return "created", "", create_contact(db, user, cleaned).id
        before = get_contact(db, user, found[0])
        diff = sorted(_changes(before, cleaned))
        if not diff:
            return "unchanged", f"same as contact {before.id}", before.id
        update_contact(db, user, before.id, cleaned)
        return "updated", f"contact {before.id}: {', '.join(diff)}", before.id


def import_contacts(db: Database, user: User, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Import contacts from CSV bytes, one transaction per row; the report says what happened to each row.

    Rows match an existing visible contact on their first e-mail, else on name and organisation; an empty
    cell leaves the stored value alone. A refused row writes nothing and does not stop the others. The dry
    run performs the same import inside a transaction that is rolled back, so its report is exact.
    """
    _require_editor(user)
    return import_csv(db, data, read_header=_header, import_row=lambda record: _import_row(db, user, record),
                      row_name=lambda record: clean_text(record.get("name"), multiline=False)[:200],
                      dry_run=dry_run, user_id=user.id, entity="contact")

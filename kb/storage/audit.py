"""The audit log: who changed what, when. Written in the same transaction as the change.

Entries keep ids and keys (`entity`, `entity_id`, `details` as JSON) for machines; `readable` turns them
into what a person reads: names and titles instead of ids, a before/after of each changed field, values
as text (never JSON with escapes). Its words are English, marked with `N_` for extraction (babel.cfg); the
caller passes `translate` (the web UI its gettext) to read them in the reader's language, and how to name
a topic and a language (kb.text's, which this package does not import).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from kb.storage.db import transaction, utcnow


def N_(message: str) -> str:  # noqa: N802 - the conventional name of gettext's no-op marker
    """Mark a message for extraction; kb speaks English, the caller of `readable` translates."""
    return message


# The kinds of record the log names, as a person says them.
KINDS = {
    "item": N_("Article"),
    "case": N_("Case file"),
    "contact": N_("Contact"),
    "source": N_("Source"),
    "system": N_("System"),
    "user": N_("User"),
    "api_token": N_("API token"),
    "sign_in": N_("Sign-in"),
    "digest": N_("Digest"),
    "digest_recipient": N_("Digest recipient"),
    "audit_log": N_("Audit log"),
    "taxonomy": N_("Taxonomy"),
}
# What happened, as a person says it; an action not listed here reads as its key with spaces.
ACTIONS = {
    "create": N_("Created"), "update": N_("Changed"), "delete": N_("Deleted"), "remove": N_("Removed"),
    "set-password": N_("Set the password"), "set-status": N_("Changed the status"),
    "digest-add": N_("Put in the digest"), "digest-remove": N_("Took out of the digest"),
    "add-note": N_("Added a note"), "link-case": N_("Linked to a case file"),
    "unlink-case": N_("Unlinked from a case file"),
    "tag-add": N_("Added a topic"), "tag-remove": N_("Removed a topic"),
    "link-item": N_("Linked an article"), "unlink-item": N_("Unlinked an article"),
    "confirm-item": N_("Confirmed an article"), "reject-item": N_("Rejected an article"),
    "link-contact": N_("Linked a contact"), "unlink-contact": N_("Unlinked a contact"),
    "add-status": N_("Added a status step"), "remove-status": N_("Removed a status step"),
    "close": N_("Closed"), "reopen": N_("Reopened"), "set-team": N_("Changed the team"),
    "add-deadline": N_("Added a deadline"), "deadline-done": N_("Marked a deadline done"),
    "deadline-open": N_("Marked a deadline not done"), "delete-deadline": N_("Deleted a deadline"),
    "export": N_("Exported"), "import": N_("Imported"), "send": N_("Sent"), "send-test": N_("Sent a test"),
    "edit": N_("Edited"), "subscribe": N_("Subscribed"), "unsubscribe": N_("Unsubscribed"),
    "revoke": N_("Revoked"), "pause": N_("Paused"), "resume": N_("Resumed"),
    "undo": N_("Undid a decision"), "add-term": N_("Added a term"), "remove-term": N_("Removed a term"),
    "sign-in": N_("Signed in"), "sign-in-failed": N_("Failed to sign in"), "sign-out": N_("Signed out"),
}
# Detail keys as a person says them; keys not listed read as the key with spaces, capitalised.
FIELDS = {
    "url": N_("Address"), "kind": N_("Kind"), "name": N_("Name"),
    "interval_minutes": N_("Interval (minutes)"),
    "full_text": N_("Full text"), "paused": N_("Paused"), "items": N_("Items"), "email": N_("E-mail"),
    "role": N_("Role"), "active": N_("Active"), "title": N_("Title"), "status": N_("Status"),
    "lead_id": N_("Lead"), "member_ids": N_("Team"), "item_id": N_("Article"), "item_ids": N_("Articles"),
    "contact_id": N_("Contact"), "case": N_("Case file"), "case_id": N_("Case file"),
    "case_ids": N_("Case files"), "note": N_("Note"), "note_id": N_("Note"), "deadline_id": N_("Deadline"),
    "due": N_("Due"), "what": N_("What"), "topic": N_("Topic"), "week": N_("Week"), "count": N_("Count"),
    "sent": N_("Sent"), "failed": N_("Failed"), "owner_id": N_("Owner"), "user_id": N_("User"),
    "reason": N_("Reason"), "address": N_("From address"), "fields": N_("Fields"),
    "restricted": N_("Restricted"), "organisation": N_("Organisation"), "intro": N_("Introduction"),
    "created": N_("Created"), "updated": N_("Updated"), "unchanged": N_("Unchanged"),
    "refused": N_("Refused"),
    "language": N_("Language"), "in_digest": N_("In the digest"), "date": N_("Date"),
    "source_id": N_("Source"), "system_id": N_("System"), "term": N_("Term"),
    "previewed_tagged": N_("Articles it would tag (preview)"),
    "previewed_untagged": N_("Articles it would untag (preview)"), "terms_added": N_("Terms added"),
    "terms_removed": N_("Terms removed"), "topics_added": N_("Topics added"),
    "topics_removed": N_("Topics removed"),
}
# An item's statuses, as the pages name them (the other records' statuses read as they are stored).
STATUS_WORDS = {"new": N_("New"), "accepted": N_("Accepted"), "rejected": N_("Rejected")}
# Detail keys whose values are ids of records, and which records.
REFERENCES = {
    "item_id": "item", "item_ids": "item", "contact_id": "contact", "case": "case", "case_id": "case",
    "case_ids": "case", "lead_id": "user", "member_ids": "user", "owner_id": "user", "user_id": "user",
    "source_id": "source", "system_id": "system",
}
# Each query gives a record's id, its name and, for some kinds, a second column (an owner, an e-mail).
_NAME_QUERIES = {
    "item": "SELECT id, title, NULL FROM items WHERE id IN ({})",
    "case": "SELECT id, title, NULL FROM cases WHERE id IN ({})",
    "contact": "SELECT id, name, NULL FROM contacts WHERE id IN ({})",
    "source": "SELECT id, CASE WHEN name != '' THEN name ELSE url END, NULL FROM sources WHERE id IN ({})",
    "system": "SELECT id, name, NULL FROM systems WHERE id IN ({})",
    "user": "SELECT id, name, email FROM users WHERE id IN ({})",
    "sign_in": "SELECT id, name, email FROM users WHERE id IN ({})",
    "api_token": "SELECT t.id, t.name, u.email FROM api_tokens t JOIN users u ON u.id = t.user_id "
                 "WHERE t.id IN ({})",
    "digest": "SELECT id, week, NULL FROM digests WHERE id IN ({})",
    "digest_recipient": "SELECT id, email, NULL FROM digest_recipients WHERE id IN ({})",
    "taxonomy": "SELECT id, id, NULL FROM taxonomy_versions WHERE id IN ({})",
}
# What a deleted record's own entry may still say it was called.
_NAME_KEYS = ("title", "name", "email", "url", "week")
MAX_PAGE = 500


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    user_id: int | None
    user_email: str | None
    action: str
    entity: str
    entity_id: int | None
    details: dict[str, object]


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: by whom (or about whom), of which kind of record, from and before when."""

    person_id: int | None = None  # who did it, or the user the entry is about (their account, sign-ins)
    entity: str | None = None
    since: datetime | None = None  # inclusive
    before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ReadableEntry:
    """An entry as a person reads it."""

    entry: AuditEntry
    who: str  # "Ana Ruiz (ana@lab.example)", "system", "someone not signed in"
    action: str  # "Changed"
    kind: str  # "Case file"
    record: str  # "“Welfare scoring”", "#12 (deleted)", "" when the entry is about no one record
    changes: tuple[FieldChange, ...]
    facts: tuple[tuple[str, str], ...]  # the other details, labelled

    def details_text(self) -> str:
        """Changes and facts on one line: "Role: researcher → admin; E-mail: ana@lab.example"."""
        parts = [f"{c.field}: {c.before} → {c.after}" for c in self.changes]
        parts += [f"{label}: {value}" for label, value in self.facts]
        return "; ".join(parts)


def record(db: Database, user_id: int | None, action: str, entity: str, entity_id: int | None,
           details: dict[str, object] | None = None) -> None:
    """Append one entry; call inside the transaction that makes the change."""
    db.execute(
        "INSERT INTO audit_log (at, user_id, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)",
        [utcnow(), user_id, action, entity, entity_id,
         json.dumps(details or {}, ensure_ascii=False, default=str)],
    )


def details_json(details: Mapping[str, object]) -> str:
    """An entry's details as JSON for machines, with its text as text (no \\u escapes)."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)


def log_export(db: Database, user_id: int, exported: int, filters: Mapping[str, object]) -> None:
    """Record that someone exported the audit log (how many entries, with which filters)."""
    with transaction(db):
        record(db, user_id, "export", "audit_log", None, {"count": exported, **filters})


def _where(entity: str | None, entity_id: int | None, found: AuditFilter | None) -> tuple[str, list[object]]:
    where: list[str] = []
    params: list[object] = []
    if entity is not None:
        where.append("a.entity = ?")
        params.append(entity)
    if entity_id is not None:
        where.append("a.entity_id = ?")
        params.append(entity_id)
    if found is not None:
        if found.person_id is not None:
            where.append("(a.user_id = ? OR (a.entity IN ('user', 'sign_in') AND a.entity_id = ?))")
            params += [found.person_id, found.person_id]
        if found.entity:
            # "+" keeps SQLite from the (entity, entity_id) index here: reading newest first by id and
            # stopping at a page is much faster than sorting every entry of a common kind.
            where.append("+a.entity = ?")
            params.append(found.entity)
        if found.since is not None:
            where.append("a.at >= ?")
            params.append(found.since.astimezone(UTC).isoformat(timespec="seconds"))
        if found.before is not None:
            where.append("a.at < ?")
            params.append(found.before.astimezone(UTC).isoformat(timespec="seconds"))
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def _entry(row: Mapping[str, Any]) -> AuditEntry:
    try:
        details = json.loads(row["details"])
    except ValueError:  # written by hand or by an old version: shown as it is
        details = row["details"]
    return AuditEntry(row["id"], row["at"], row["user_id"], row["email"], row["action"], row["entity"],
                      row["entity_id"], details if isinstance(details, dict) else {"details": details})


def entries(db: Database, *, entity: str | None = None, entity_id: int | None = None,
            limit: int = 200, offset: int = 0, where: AuditFilter | None = None) -> list[AuditEntry]:
    """The newest entries first, optionally for one entity or matching a filter."""
    clause, params = _where(entity, entity_id, where)
    rows = db.query(
        f"SELECT a.*, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id {clause} "  # noqa: S608
        "ORDER BY a.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [_entry(r) for r in rows]


def entries_naming(db: Database, entity: str, entity_id: int, *, key: str, others: Sequence[str],
                   limit: int = 200) -> list[AuditEntry]:
    """The entries of one record and those of other kinds of record (`others`) whose details name it under
    `key` (an item linked to a case file or a system), newest first."""
    if not key.isidentifier():
        raise ValueError(f"not a detail key: {key!r}")
    marks = ", ".join("?" * len(others))
    rows = db.query(
        "SELECT a.*, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE a.id IN ("  # noqa: S608
        "SELECT id FROM audit_log WHERE entity = ? AND entity_id = ? UNION ALL "
        f"SELECT id FROM audit_log WHERE entity IN ({marks}) "
        f"AND CASE WHEN json_valid(details) THEN json_extract(details, '$.{key}') END = ?) "
        "ORDER BY a.id DESC LIMIT ?",
        [entity, entity_id, *others, entity_id, limit],
    )
    return [_entry(r) for r in rows]


def count(db: Database, where: AuditFilter | None = None) -> int:
    """How many entries match the filter."""
    clause, params = _where(None, None, where)
    return int(db.execute(f"SELECT count(*) FROM audit_log a {clause}", params).fetchone()[0])  # noqa: S608


def people(db: Database) -> list[tuple[int, str]]:
    """Everyone who can be in the log (every user, past or present account), to filter by."""
    return [(int(r[0]), str(r[1])) for r in db.execute(
        "SELECT id, CASE WHEN name != '' THEN name || ' (' || email || ')' ELSE email END FROM users "
        "ORDER BY lower(CASE WHEN name != '' THEN name ELSE email END)").fetchall()]


# --- what a person reads ------------------------------------------------------------------------------


def _names(db: Database, wanted: Mapping[str, set[int]]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """The current name or title of each record (and its second column), by (kind, id); records gone are
    left out."""
    found: dict[tuple[str, int], tuple[str, str | None]] = {}
    for kind, ids in wanted.items():
        query = _NAME_QUERIES.get(kind)
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            if query is None or not chunk:
                continue
            rows = db.execute(query.format(", ".join("?" * len(chunk))), chunk).fetchall()
            for row_id, name, extra in rows:
                found[(kind, int(row_id))] = (str(name or ""), None if extra is None else str(extra))
    return found


def _ids(value: object) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [i for v in value for i in _ids(v)]
    return []


def _is_pair(key: str, value: object) -> bool:
    """A [before, after] pair of a field (lists of ids are pairs only when made of two lists)."""
    if not isinstance(value, list) or len(value) != 2:
        return False
    if key in ("member_ids", "case_ids", "item_ids", "fields"):
        return all(isinstance(v, list) for v in value)
    return key in REFERENCES or key in ("role", "active", "name", "status", "paused", "full_text",
                                        "interval_minutes", "url", "email", "title", "language")


# Records named as they are (people, addresses, weeks), not between quotation marks.
_UNQUOTED = ("user", "sign_in", "digest_recipient", "api_token", "digest", "taxonomy")


class _Reader:
    """Renders values with the names looked up once for a page of entries, in the reader's language."""

    def __init__(self, names: Mapping[tuple[str, int], tuple[str, str | None]],
                 topic_label: Callable[[str], str], language_label: Callable[[str], str],
                 translate: Callable[[str], str], visible_contacts: Collection[int] | None) -> None:
        self.names = names
        self.topic_label = topic_label
        self.language_label = language_label
        self._ = translate
        self.visible_contacts = visible_contacts

    def _named(self, kind: str, name: str, extra: str | None) -> str:
        if kind in ("user", "sign_in"):
            if not name:
                return extra or ""
            return self._(N_("%(name)s (%(email)s)")) % {"name": name, "email": extra}
        if kind == "api_token":
            token = name or self._(N_("unnamed"))
            return self._(N_("%(name)s of %(owner)s")) % {"name": token, "owner": extra}
        if kind == "digest":
            return self._(N_("week %(week)s")) % {"week": name}
        if kind == "taxonomy":
            return self._(N_("version %(number)s")) % {"number": name}
        return name

    def name(self, kind: str, record_id: int) -> str:
        found = self.names.get((kind, record_id))
        if found is None:
            return self._(N_("#%(id)s (deleted)")) % {"id": record_id}
        if kind == "contact" and self.visible_contacts is not None and record_id not in self.visible_contacts:
            return self._(N_("a restricted contact"))  # not its name: the reader may not see it
        named = self._named(kind, *found)
        return named if kind in _UNQUOTED else self._(N_("“%(name)s”")) % {"name": named}

    def label(self, key: str) -> str:
        return self._(FIELDS[key]) if key in FIELDS else key.replace("_", " ").capitalize()

    def value(self, key: str, value: object) -> str:
        if value is None or value == "" or value == []:
            return "—"
        kind = REFERENCES.get(key)
        if kind is not None and _ids(value) and not isinstance(value, str):
            return ", ".join(self.name(kind, i) for i in _ids(value))
        if key == "topic" and isinstance(value, str):
            return self.topic_label(value)
        if key == "language" and isinstance(value, str):
            return self.language_label(value)
        if key == "status" and isinstance(value, str) and value in STATUS_WORDS:
            return self._(STATUS_WORDS[value])
        if isinstance(value, bool) or (key in ("active", "paused", "full_text", "restricted", "in_digest")
                                       and value in (0, 1)):
            return self._(N_("yes")) if value else self._(N_("no"))
        if isinstance(value, list):
            return ", ".join(self.value(key, v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{self.label(str(k))}: {self.value(str(k), v)}" for k, v in value.items())
        return str(value)

    def _was(self, entry: AuditEntry, details: dict[str, object]) -> list[FieldChange]:
        """A decision's (or its undo's) state before and after: "Status: new → accepted"."""
        changes: list[FieldChange] = []
        if entry.action in ("set-status", UNDO) and "was" in details:
            was, status = details.pop("was"), details.pop("status", None)
            changes.append(FieldChange(self.label("status"), self.value("status", was),
                                       self.value("status", status)))
        if entry.action == UNDO and "was_in_digest" in details:
            was, now = details.pop("was_in_digest"), details.pop("in_digest", None)
            if bool(was) != bool(now):
                changes.append(FieldChange(self.label("in_digest"), self.value("in_digest", bool(was)),
                                           self.value("in_digest", bool(now))))
            if len(changes) > 1 and changes[0].before == changes[0].after:
                changes.pop(0)  # only the digest changed back
        return changes

    def read(self, entry: AuditEntry) -> ReadableEntry:
        details = dict(entry.details)
        for key in _MACHINE_ONLY:
            details.pop(key, None)
        changes: list[FieldChange] = []
        facts: list[tuple[str, str]] = []
        raw_changes = details.pop("changes", None)
        if isinstance(raw_changes, dict):
            for key, pair in raw_changes.items():
                if isinstance(pair, list) and len(pair) == 2:
                    changes.append(FieldChange(self.label(key), self.value(key, pair[0]),
                                               self.value(key, pair[1])))
                else:
                    facts.append((self.label(key), self.value(key, pair)))
        changes += self._was(entry, details)
        created = details.pop("fields", None) if entry.action == "create" else None
        if isinstance(created, dict):
            facts += [(self.label(k), self.value(k, v)) for k, v in created.items()
                      if v not in ("", None, [])]
        elif created is not None:
            details["fields"] = created
        for key, value in details.items():
            if _is_pair(key, value):
                assert isinstance(value, list)
                changes.append(FieldChange(self.label(key), self.value(key, value[0]),
                                           self.value(key, value[1])))
            elif key == "fields" and isinstance(value, list):
                facts.append((self.label(key), ", ".join(self.label(str(v)) for v in value)))
            else:
                facts.append((self.label(key), self.value(key, value)))
        if entry.user_id is not None:
            who = self.name("user", entry.user_id)
        else:
            who = self._(N_("someone not signed in")) if entry.entity == "sign_in" else self._(N_("system"))
        action = self._(ACTIONS[entry.action]) if entry.action in ACTIONS else \
            entry.action.replace("-", " ").capitalize()
        kind = self._(KINDS[entry.entity]) if entry.entity in KINDS else \
            entry.entity.replace("_", " ").capitalize()
        return ReadableEntry(entry, who, action, kind, self._record(entry), tuple(changes), tuple(facts))

    def _record(self, entry: AuditEntry) -> str:
        if entry.entity_id is None:
            return ""
        if (entry.entity, entry.entity_id) in self.names:
            return self.name(entry.entity, entry.entity_id)
        # Gone since: the entry itself may say what it was called.
        for key in _NAME_KEYS:
            value = entry.details.get(key)
            if isinstance(value, str) and value:
                return self._(N_("#%(id)s (%(name)s, deleted)")) % {"id": entry.entity_id, "name": value}
        return self._(N_("#%(id)s (deleted)")) % {"id": entry.entity_id}


UNDO = "undo"  # kb.curation's undo of a decision (its UNDO_ACTION)
# A curation decision's undo key and the item's state before it serve kb.curation.undo (and `undoes` names
# the decision an undo took back); people read the change itself ("Status: new → accepted"), and the CSV
# export keeps these in details_json.
_MACHINE_ONLY = ("decision", "before", "undoes")


def readable(db: Database, found: Sequence[AuditEntry], *, topic_label: Callable[[str], str] = str,
             language_label: Callable[[str], str] = str, translate: Callable[[str], str] = str,
             visible_contacts: Collection[int] | None = None) -> list[ReadableEntry]:
    """The entries as a person reads them (names looked up in one query per kind of record).

    `topic_label` and `language_label` name a topic id and a language code ("sv": "Swedish");
    `translate` turns the English words (marked with N_) into the reader's language; `visible_contacts`
    are the contacts the reader may see (None: all), any other reads as "a restricted contact"."""
    wanted: dict[str, set[int]] = {}

    def want(kind: str, ids: Iterable[int]) -> None:
        wanted.setdefault(kind, set()).update(ids)

    for entry in found:
        if entry.user_id is not None:
            want("user", [entry.user_id])
        if entry.entity_id is not None:
            want(entry.entity, [entry.entity_id])
        details = dict(entry.details)
        nested = details.pop("changes", None)
        for key, value in [*details.items(), *(nested.items() if isinstance(nested, dict) else [])]:
            if key in REFERENCES:
                want(REFERENCES[key], _ids(value))
    reader = _Reader(_names(db, wanted), topic_label, language_label, translate, visible_contacts)
    return [reader.read(entry) for entry in found]

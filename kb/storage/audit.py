"""The audit log: who changed what, when. Written in the same transaction as the change.

Entries keep ids and keys (`entity`, `entity_id`, `details` as JSON) for machines; `readable` turns them
into what a person reads: names and titles instead of ids, a before/after of each changed field, values
as text (never JSON with escapes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from kb.storage.db import transaction, utcnow

# The kinds of record the log names, as a person says them.
KINDS = {
    "item": "Article",
    "case": "Case file",
    "contact": "Contact",
    "source": "Source",
    "user": "User",
    "api_token": "API token",
    "sign_in": "Sign-in",
    "digest": "Digest",
    "digest_recipient": "Digest recipient",
    "audit_log": "Audit log",
    "taxonomy": "Taxonomy",
}
# What happened, as a person says it; an action not listed here reads as its key with spaces.
ACTIONS = {
    "create": "Created", "update": "Changed", "delete": "Deleted", "remove": "Removed",
    "set-password": "Set the password", "set-status": "Changed the status",
    "digest-add": "Put in the digest", "digest-remove": "Took out of the digest",
    "add-note": "Added a note", "link-case": "Filed under a case file",
    "tag-add": "Added a topic", "tag-remove": "Removed a topic",
    "link-item": "Linked an article", "unlink-item": "Unlinked an article",
    "link-contact": "Linked a contact", "unlink-contact": "Unlinked a contact",
    "close": "Closed", "reopen": "Reopened", "set-team": "Changed the team",
    "add-deadline": "Added a deadline", "deadline-done": "Marked a deadline done",
    "deadline-open": "Marked a deadline not done", "delete-deadline": "Deleted a deadline",
    "export": "Exported", "import": "Imported", "send": "Sent", "edit": "Edited",
    "subscribe": "Subscribed", "unsubscribe": "Unsubscribed", "revoke": "Revoked",
    "pause": "Paused", "resume": "Resumed", "add-term": "Added a term", "remove-term": "Removed a term",
    "sign-in": "Signed in", "sign-in-failed": "Failed to sign in", "sign-out": "Signed out",
}
# Detail keys as a person says them; keys not listed read as the key with spaces, capitalised.
FIELDS = {
    "url": "Address", "kind": "Kind", "name": "Name", "interval_minutes": "Interval (minutes)",
    "full_text": "Full text", "paused": "Paused", "items": "Items", "email": "E-mail", "role": "Role",
    "active": "Active", "title": "Title", "status": "Status", "lead_id": "Lead", "member_ids": "Team",
    "item_id": "Article", "contact_id": "Contact", "case": "Case file", "case_id": "Case file",
    "case_ids": "Case files", "note": "Note", "note_id": "Note", "deadline_id": "Deadline",
    "due": "Due", "what": "What", "topic": "Topic", "week": "Week", "count": "Count", "sent": "Sent",
    "failed": "Failed", "owner_id": "Owner", "user_id": "User", "reason": "Reason", "address": "From address",
    "fields": "Fields", "restricted": "Restricted", "organisation": "Organisation", "intro": "Introduction",
    "created": "Created", "updated": "Updated", "unchanged": "Unchanged", "refused": "Refused",
    "term": "Term", "language": "Language", "previewed_tagged": "Articles it would tag (preview)",
    "previewed_untagged": "Articles it would untag (preview)", "terms_added": "Terms added",
    "terms_removed": "Terms removed", "topics_added": "Topics added", "topics_removed": "Topics removed",
}
# Detail keys whose values are ids of records, and which records.
REFERENCES = {
    "item_id": "item", "contact_id": "contact", "case": "case", "case_id": "case", "case_ids": "case",
    "lead_id": "user", "member_ids": "user", "owner_id": "user", "user_id": "user", "source_id": "source",
}
_NAME_QUERIES = {
    "item": "SELECT id, title FROM items WHERE id IN ({})",
    "case": "SELECT id, title FROM cases WHERE id IN ({})",
    "contact": "SELECT id, name FROM contacts WHERE id IN ({})",
    "source": "SELECT id, CASE WHEN name != '' THEN name ELSE url END FROM sources WHERE id IN ({})",
    "user": "SELECT id, CASE WHEN name != '' THEN name || ' (' || email || ')' ELSE email END "
            "FROM users WHERE id IN ({})",
    "sign_in": "SELECT id, CASE WHEN name != '' THEN name || ' (' || email || ')' ELSE email END "
               "FROM users WHERE id IN ({})",
    "api_token": "SELECT t.id, CASE WHEN t.name != '' THEN t.name ELSE 'unnamed' END || ' of ' || u.email "
                 "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id IN ({})",
    "digest": "SELECT id, 'week ' || week FROM digests WHERE id IN ({})",
    "digest_recipient": "SELECT id, email FROM digest_recipients WHERE id IN ({})",
    "taxonomy": "SELECT id, 'version ' || id FROM taxonomy_versions WHERE id IN ({})",
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


def _names(db: Database, wanted: Mapping[str, set[int]]) -> dict[tuple[str, int], str]:
    """The current name or title of each record, by (kind, id); records gone are left out."""
    found: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        query = _NAME_QUERIES.get(kind)
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            if query is None or not chunk:
                continue
            for row_id, name in db.execute(query.format(", ".join("?" * len(chunk))), chunk).fetchall():
                found[(kind, int(row_id))] = str(name)
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
    if key in ("member_ids", "case_ids", "fields"):
        return all(isinstance(v, list) for v in value)
    return key in REFERENCES or key in ("role", "active", "name", "status", "paused", "full_text",
                                        "interval_minutes", "url", "email", "title")


def _label(key: str) -> str:
    return FIELDS.get(key) or key.replace("_", " ").capitalize()


class _Reader:
    """Renders values with the names looked up once for a page of entries."""

    def __init__(self, names: Mapping[tuple[str, int], str], topic_label: Callable[[str], str]) -> None:
        self.names = names
        self.topic_label = topic_label

    def name(self, kind: str, record_id: int) -> str:
        found = self.names.get((kind, record_id))
        if found is None:
            return f"#{record_id} (deleted)"
        quoted = kind not in ("user", "sign_in", "digest_recipient", "api_token", "digest", "taxonomy")
        return f"“{found}”" if quoted else found

    def value(self, key: str, value: object) -> str:
        if value is None or value == "" or value == []:
            return "—"
        kind = REFERENCES.get(key)
        if kind is not None and _ids(value) and not isinstance(value, str):
            return ", ".join(self.name(kind, i) for i in _ids(value))
        if key == "topic" and isinstance(value, str):
            return self.topic_label(value)
        if isinstance(value, bool) or (key in ("active", "paused", "full_text", "restricted")
                                       and value in (0, 1)):
            return "yes" if value else "no"
        if isinstance(value, list):
            return ", ".join(self.value(key, v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{_label(str(k))}: {self.value(str(k), v)}" for k, v in value.items())
        return str(value)

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
                    changes.append(FieldChange(_label(key), self.value(key, pair[0]),
                                               self.value(key, pair[1])))
                else:
                    facts.append((_label(key), self.value(key, pair)))
        if entry.action == "set-status" and "was" in details:
            changes.append(FieldChange("Status", self.value("status", details.pop("was")),
                                       self.value("status", details.pop("status", None))))
        created = details.pop("fields", None) if entry.action == "create" else None
        if isinstance(created, dict):
            facts += [(_label(k), self.value(k, v)) for k, v in created.items() if v not in ("", None, [])]
        elif created is not None:
            details["fields"] = created
        for key, value in details.items():
            if _is_pair(key, value):
                assert isinstance(value, list)
                changes.append(FieldChange(_label(key), self.value(key, value[0]), self.value(key, value[1])))
            elif key == "fields" and isinstance(value, list):
                facts.append((_label(key), ", ".join(_label(str(v)) for v in value)))
            else:
                facts.append((_label(key), self.value(key, value)))
        if entry.user_id is not None:
            who = self.name("user", entry.user_id)
        else:
            who = "someone not signed in" if entry.entity == "sign_in" else "system"
        action = ACTIONS.get(entry.action) or entry.action.replace("-", " ").capitalize()
        return ReadableEntry(entry, who, action,
                             KINDS.get(entry.entity, entry.entity.replace("_", " ").capitalize()),
                             self._record(entry), tuple(changes), tuple(facts))

    def _record(self, entry: AuditEntry) -> str:
        if entry.entity_id is None:
            return ""
        if (entry.entity, entry.entity_id) in self.names:
            return self.name(entry.entity, entry.entity_id)
        # Gone since: the entry itself may say what it was called.
        for key in _NAME_KEYS:
            value = entry.details.get(key)
            if isinstance(value, str) and value:
                return f"#{entry.entity_id} ({value}, deleted)"
        return f"#{entry.entity_id} (deleted)"


# A curation decision's undo key and the item's state before it serve kb.curation.undo; people read
# the change itself ("Status: new → accepted"), and the CSV export keeps these in details_json.
_MACHINE_ONLY = ("decision", "before")


def readable(db: Database, found: Sequence[AuditEntry], *,
             topic_label: Callable[[str], str] = str) -> list[ReadableEntry]:
    """The entries as a person reads them (names looked up in one query per kind of record)."""
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
    reader = _Reader(_names(db, wanted), topic_label)
    return [reader.read(entry) for entry in found]

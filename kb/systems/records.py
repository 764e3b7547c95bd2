"""The register's records: systems, their status timelines and their links to items, case files and
contacts, with the access rules and the validation (see the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlite_utils import Database

from kb import contacts
from kb.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kb.storage import audit, meta, outbox
from kb.storage.db import transaction, utcnow
from kb.text.alias_matcher import alias_key, alias_problem
from kb.text.cleaning import clean_list, clean_text
from kb.text.taxonomy import load_taxonomy
from kb.text.urls import is_http_url
from kb.users import User

LEVELS = ("national", "regional", "city")
STATUSES = ("announced", "piloted", "in use", "suspended", "ended", "ruled unlawful")
IMPACT_ASSESSMENT = ("unknown", "published", "not published")
SOURCE_DISCLOSED = ("unknown", "yes", "partly", "no")
LINK_STATES = ("suggested", "confirmed", "rejected")
TEXT_FIELDS = ("name", "country", "level", "organisation", "external_supplier", "sector", "kind",
               "description", "decision", "legal_basis", "register_url", "impact_assessment",
               "source_disclosed", "notes")
LIST_FIELDS = ("aliases", "rights")
FIELDS = (*TEXT_FIELDS[:1], "aliases", *TEXT_FIELDS[1:], "rights", "draft")
MAX_LENGTH = {"name": 200, "organisation": 300, "external_supplier": 300, "description": 5_000,
              "decision": 2_000, "legal_basis": 2_000, "register_url": 2_000, "notes": 20_000}
MULTILINE_FIELDS = ("description", "decision", "legal_basis", "notes")
MAX_ALIASES = 50
MAX_NOTE = 2_000
# Bumped in every transaction that changes an alias: the cached matcher is rebuilt when it moves.
MATCHER_VERSION_KEY = "systems_matcher_version"
_DATE_FORMATS = {4: "%Y", 7: "%Y-%m", 10: "%Y-%m-%d"}


@dataclass(frozen=True)
class System:
    id: int
    name: str
    aliases: tuple[str, ...]  # besides the name
    country: str  # "country/nl" or ""
    level: str  # one of LEVELS or ""
    organisation: str
    external_supplier: str
    sector: str  # "sector/welfare" or ""
    kind: str  # "system/risk-scoring" or ""
    description: str
    decision: str
    legal_basis: str
    rights: tuple[str, ...]  # "right/privacy", ...
    register_url: str
    impact_assessment: str
    source_disclosed: str
    notes: str
    draft: bool  # made from a "maybe a new system" item, not yet reviewed
    status: str  # the latest step of the timeline, "" when it has none
    status_date: str
    created_at: str
    updated_at: str

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias: what the matcher looks for."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class StatusStep:
    id: int
    system_id: int
    status: str
    date: str  # YYYY, YYYY-MM or YYYY-MM-DD
    note: str
    item_ids: tuple[int, ...]  # the sources that back this step
    created_by: int | None
    created_at: str


@dataclass(frozen=True)
class SystemLink:
    system_id: int
    system_name: str
    item_id: int
    state: str  # "suggested", "confirmed" or "rejected"
    origin: str  # "matcher" or "person"
    evidence: tuple[str, ...]  # the aliases found in the item
    decided_by: int | None
    decided_at: str | None
    created_at: str


@dataclass(frozen=True)
class SystemCase:
    case_id: int
    title: str
    status: str


@dataclass(frozen=True)
class SystemContact:
    contact: contacts.Contact
    role: str


# Access


def can_read_systems(user: User) -> bool:
    """Every signed-in, active user reads the register."""
    return user.active


def can_edit_systems(user: User) -> bool:
    """Coordinators and admins change records, timelines and links."""
    return user.can("coordinator")


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(f"you may not {what}")


def _reader(user: User) -> None:
    _require(can_read_systems(user), "read the register of systems")


def _editor(user: User) -> None:
    _require(can_edit_systems(user), "change the register of systems")


# Validation


def _topic_id(value: str, facet: str, what: str) -> str:
    """A taxonomy topic id of `facet` ("NL", "nl" or "country/nl" -> "country/nl"); "" stays ""."""
    if not value:
        return ""
    text = value.strip().lower()
    topic_id = text if text.startswith(f"{facet}/") else f"{facet}/{text}"
    taxonomy = load_taxonomy()
    if topic_id in taxonomy and taxonomy.facet_of(topic_id) == facet:
        return topic_id
    known = ", ".join(t.id.partition("/")[2] for t in taxonomy.by_facet(facet))
    raise InvalidInput(f"unknown {what} {value[:40]!r}: use one of the taxonomy's {what} topics ({known}), "
                       "or add it to taxonomy.toml first")


def _choice(value: str, allowed: Sequence[str], what: str, default: str = "") -> str:
    text = " ".join(value.lower().replace("_", " ").split()) or default
    if text and text not in allowed:
        raise InvalidInput(f"{what} must be one of: {', '.join(allowed)} (got {value[:40]!r})")
    return text


def clean_fields(raw: Mapping[str, object], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise a system's fields; InvalidInput, in words, for the first problem found.

    Lists (aliases, rights) may be given as lists or as text separated by ";". With `partial`, only the
    fields given are checked and returned (an update)."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s) of a system: {', '.join(unknown)}; the fields are: "
                           f"{', '.join(FIELDS)}")
    cleaned: dict[str, Any] = {}
    for name in (n for n in TEXT_FIELDS if n in raw or not partial):
        text = clean_text(raw.get(name), multiline=name in MULTILINE_FIELDS)
        limit = MAX_LENGTH.get(name, 100)
        if len(text) > limit:
            raise InvalidInput(f"{name.replace('_', ' ')} is longer than {limit} characters")
        cleaned[name] = text
    if "name" in cleaned:
        if not cleaned["name"]:
            raise InvalidInput("a system needs a name")
        problem = alias_problem(cleaned["name"])
        if problem:
            raise InvalidInput(problem.replace("the alias", "the name", 1))
    for name, facet, what in (("country", "country", "country"), ("sector", "sector", "sector"),
                              ("kind", "system", "kind of system")):
        if name in cleaned:
            cleaned[name] = _topic_id(cleaned[name], facet, what)
    if "level" in cleaned:
        cleaned["level"] = _choice(cleaned["level"], LEVELS, "the level")
    if "impact_assessment" in cleaned:
        cleaned["impact_assessment"] = _choice(cleaned["impact_assessment"], IMPACT_ASSESSMENT,
                                               "impact assessment", "unknown")
    if "source_disclosed" in cleaned:
        cleaned["source_disclosed"] = _choice(cleaned["source_disclosed"], SOURCE_DISCLOSED,
                                              "source disclosed", "unknown")
    if cleaned.get("register_url") and not is_http_url(cleaned["register_url"]):
        raise InvalidInput(f"the register entry {cleaned['register_url'][:80]!r} is not an http(s) address")
    if "aliases" in raw or not partial:
        aliases = clean_list(raw.get("aliases"), "aliases")
        cleaned["aliases"] = _clean_aliases(aliases, cleaned.get("name", ""))
    if "rights" in raw or not partial:
        rights = (_topic_id(r, "right", "right") for r in clean_list(raw.get("rights"), "rights"))
        cleaned["rights"] = tuple(dict.fromkeys(rights))
    if "draft" in raw or not partial:
        cleaned["draft"] = bool(raw.get("draft", False))
    return cleaned


def _clean_aliases(aliases: Sequence[str], name: str) -> tuple[str, ...]:
    """The aliases, each checked (alias_problem), without repeats or a repeat of the name."""
    if len(aliases) > MAX_ALIASES:
        raise InvalidInput(f"a system has at most {MAX_ALIASES} aliases")
    kept: dict[str, str] = {alias_key(name): name} if name else {}
    for alias in aliases:
        if len(alias) > MAX_LENGTH["name"]:
            raise InvalidInput(f"the alias {alias[:40]!r}... is longer than {MAX_LENGTH['name']} characters")
        problem = alias_problem(alias)
        if problem:
            raise InvalidInput(problem)
        kept.setdefault(alias_key(alias), alias)
    return tuple(alias for key, alias in kept.items() if not name or key != alias_key(name))


def parse_status_date(value: str | date, *, today: date | None = None) -> str:
    """A status step's date: YYYY, YYYY-MM or YYYY-MM-DD, not in the future; InvalidInput otherwise."""
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    pattern = _DATE_FORMATS.get(len(text))
    try:
        if pattern is None:
            raise ValueError(text)
        start = datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise InvalidInput(f"bad date {text[:20]!r}: write YYYY-MM-DD, or YYYY-MM or YYYY when only the "
                           "month or the year is known") from None
    today = today or datetime.now(UTC).date()
    if start > today:
        raise InvalidInput(f"the date {text} is in the future: a status step records what has happened "
                           "(note a planned date in the step's note or the system's notes)")
    return text


# Reading


def _from_row(row: Mapping[str, Any], aliases: Sequence[str], latest: tuple[str, str] | None) -> System:
    return System(
        id=row["id"], name=row["name"], aliases=tuple(aliases), country=row["country"], level=row["level"],
        organisation=row["organisation"], external_supplier=row["external_supplier"], sector=row["sector"],
        kind=row["kind"], description=row["description"], decision=row["decision"],
        legal_basis=row["legal_basis"], rights=tuple(json.loads(row["rights"])),
        register_url=row["register_url"], impact_assessment=row["impact_assessment"],
        source_disclosed=row["source_disclosed"], notes=row["notes"], draft=bool(row["draft"]),
        status=latest[0] if latest else "", status_date=latest[1] if latest else "",
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def _select(db: Database, where: str = "1", params: Sequence[object] = ()) -> list[System]:
    rows = [dict(r) for r in db.query(f"SELECT * FROM systems WHERE {where} ORDER BY name COLLATE NOCASE, id",  # noqa: S608
                                      list(params))]
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    aliases: dict[int, list[str]] = {}
    latest: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.execute(f"SELECT system_id, alias FROM system_aliases WHERE system_id IN ({marks}) "  # noqa: S608
                            "AND is_name = 0 ORDER BY rowid", chunk):
            aliases.setdefault(r[0], []).append(r[1])
        # Steps in date order (a year sorts before its months): the last one read is the current status.
        for r in db.execute(f"SELECT system_id, status, date FROM system_status WHERE system_id IN ({marks}) "  # noqa: S608
                            "ORDER BY date, id", chunk):
            latest[r[0]] = (r[1], r[2])
    return [_from_row(r, aliases.get(r["id"], ()), latest.get(r["id"])) for r in rows]


def systems_for_index(db: Database, system_ids: Sequence[int] | None = None) -> list[System]:
    """Systems by id (all when None), with no access check: for the index writer and the matcher only."""
    if system_ids is None:
        return _select(db)
    found: list[System] = []
    ids = [int(i) for i in system_ids]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found += _select(db, f"id IN ({','.join('?' * len(chunk))})", chunk)
    return found


def list_systems(db: Database, user: User, *, country: str | None = None, sector: str | None = None,
                 status: str | None = None, kind: str | None = None, q: str | None = None) -> list[System]:
    """Systems by name, optionally of one country, sector or kind, whose current status is `status`
    ("" for none yet), or whose name or an alias holds the words of `q` (folded)."""
    _reader(user)
    where, params = ["1"], []
    for column, value, facet, what in (("country", country, "country", "country"),
                                       ("sector", sector, "sector", "sector"),
                                       ("kind", kind, "system", "kind of system")):
        if value:
            where.append(f"{column} = ?")
            params.append(_topic_id(value, facet, what))
    if q and q.strip():
        key = alias_key(q)
        where.append("id IN (SELECT system_id FROM system_aliases WHERE folded LIKE ? ESCAPE '\\')")
        params.append("%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    found = _select(db, " AND ".join(where), params)
    if status is not None:
        if status and status not in STATUSES:
            raise InvalidInput(f"status must be one of: {', '.join(STATUSES)}")
        found = [s for s in found if s.status == status]
    return found


def find_system(db: Database, system_id: int) -> System | None:
    """The system, or None; no access check (for the matcher and loaders)."""
    found = _select(db, "id = ?", [system_id])
    return found[0] if found else None


def get_system(db: Database, user: User, system_id: int) -> System:
    """The system; NotFound when there is none with this id."""
    _reader(user)
    system = find_system(db, system_id)
    if system is None:
        raise NotFound(f"system {system_id} does not exist")
    return system


def find_system_by_name(db: Database, name: str) -> System | None:
    """The system whose name or alias is `name` once folded ("syri" finds SyRI), or None."""
    row = db.execute("SELECT system_id FROM system_aliases WHERE folded = ?", [alias_key(name)]).fetchone()
    return find_system(db, row[0]) if row else None


def _steps(db: Database, where: str, params: Sequence[object]) -> list[StatusStep]:
    rows = [dict(r) for r in db.query(f"SELECT * FROM system_status WHERE {where} ORDER BY date, id",  # noqa: S608
                                      list(params))]
    evidence: dict[int, list[int]] = {}
    for r in db.execute(f"SELECT step_id, item_id FROM system_status_items WHERE step_id IN "  # noqa: S608
                        f"(SELECT id FROM system_status WHERE {where}) ORDER BY item_id", list(params)):
        evidence.setdefault(r[0], []).append(r[1])
    return [StatusStep(r["id"], r["system_id"], r["status"], r["date"], r["note"],
                       tuple(evidence.get(r["id"], ())), r["created_by"], r["created_at"]) for r in rows]


def timeline(db: Database, user: User, system_id: int) -> list[StatusStep]:
    """The status steps of a system in date order (oldest first), each with the items that back it."""
    get_system(db, user, system_id)
    return _steps(db, "system_id = ?", [system_id])


def _links(db: Database, where: str, params: Sequence[object]) -> list[SystemLink]:
    return [SystemLink(r["system_id"], r["name"], r["item_id"], r["state"], r["origin"],
                       tuple(json.loads(r["evidence"])), r["decided_by"], r["decided_at"], r["created_at"])
            for r in db.query(f"SELECT l.*, s.name FROM system_items l JOIN systems s ON s.id = l.system_id "  # noqa: S608
                              f"WHERE {where} ORDER BY l.item_id DESC, s.name COLLATE NOCASE", list(params))]


def system_links(db: Database, user: User, system_id: int, state: str | None = None) -> list[SystemLink]:
    """The items linked to a system (newest item first), all or those in one state."""
    get_system(db, user, system_id)
    if state is None:
        return _links(db, "l.system_id = ?", [system_id])
    if state not in LINK_STATES:
        raise InvalidInput(f"state must be one of: {', '.join(LINK_STATES)}")
    return _links(db, "l.system_id = ? AND l.state = ?", [system_id, state])


def links_for_items(db: Database, item_ids: Sequence[int]) -> dict[int, list[SystemLink]]:
    """The system links of several items (every state), keyed by item id: items are readable by all."""
    result: dict[int, list[SystemLink]] = {}
    ids = [int(i) for i in item_ids]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for link in _links(db, f"l.item_id IN ({','.join('?' * len(chunk))})", chunk):
            result.setdefault(link.item_id, []).append(link)
    return result


def confirmed_system_ids(db: Database, item_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
    """The systems each item is confirmed to be about (never suggestions), keyed by item id: for the
    search index (all items when `item_ids` is None)."""
    result: dict[int, list[int]] = {}
    query = "SELECT item_id, system_id FROM system_items WHERE state = 'confirmed'"
    if item_ids is None:
        chunks: list[list[int]] = [[]]
    else:
        ids = [int(i) for i in item_ids]
        chunks = [ids[start : start + 500] for start in range(0, len(ids), 500)]
    for chunk in chunks:
        where = f" AND item_id IN ({','.join('?' * len(chunk))})" if item_ids is not None else ""
        for item_id, system_id in db.execute(query + where + " ORDER BY item_id, system_id", chunk):
            result.setdefault(item_id, []).append(system_id)
    return result


def item_ids_for_system(db: Database, system_id: int,
                        states: Sequence[str] = ("suggested", "confirmed")) -> list[int]:
    """Ids of the items linked to a system in these states, ascending (for a queue or digest filter)."""
    unknown = sorted(set(states) - set(LINK_STATES))
    if unknown:
        raise InvalidInput(f"state must be one of: {', '.join(LINK_STATES)}")
    marks = ",".join("?" * len(states))
    return [r[0] for r in db.execute(
        f"SELECT item_id FROM system_items WHERE system_id = ? AND state IN ({marks}) ORDER BY item_id",  # noqa: S608
        [system_id, *states])]


def mentions_by_month(db: Database, system_id: int) -> list[tuple[str, str, int]]:
    """(YYYY-MM, language, items) of the system's confirmed and suggested items, by publication month (or
    the month they were stored), oldest first: the data of the system page's chart."""
    rows = db.execute(
        "SELECT substr(coalesce(i.published, i.created_at), 1, 7) AS month, i.language, count(*) "
        "FROM system_items l JOIN items i ON i.id = l.item_id "
        "WHERE l.system_id = ? AND l.state != 'rejected' "
        "GROUP BY month, i.language ORDER BY month, i.language", [system_id])
    return [(r[0], r[1], r[2]) for r in rows]


def system_cases(db: Database, user: User, system_id: int) -> list[SystemCase]:
    """The case files linked to a system (every reader reads case files)."""
    get_system(db, user, system_id)
    return [SystemCase(r[0], r[1], r[2]) for r in db.execute(
        "SELECT c.id, c.title, c.status FROM system_cases l JOIN cases c ON c.id = l.case_id "
        "WHERE l.system_id = ? ORDER BY c.status DESC, c.title", [system_id])]


def systems_for_case(db: Database, case_id: int) -> list[System]:
    """The systems a case file is linked to."""
    return _select(db, "id IN (SELECT system_id FROM system_cases WHERE case_id = ?)", [case_id])


def system_contacts(db: Database, user: User, system_id: int) -> list[SystemContact]:
    """The contacts of a system this user may see (kb.contacts decides), with their role."""
    get_system(db, user, system_id)
    if not contacts.can_see_contacts(user):
        return []
    found = []
    for contact_id, role in db.execute("SELECT contact_id, role FROM system_contacts WHERE system_id = ? "
                                       "ORDER BY contact_id", [system_id]).fetchall():
        contact = contacts.find_contact(db, user, contact_id)
        if contact is not None:
            found.append(SystemContact(contact, role))
    return found


def system_history(db: Database, user: User, system_id: int) -> list[audit.AuditEntry]:
    """The audit entries of one system, newest first; admins only."""
    _require(user.can("admin"), "read the audit log")
    return audit.entries(db, entity="system", entity_id=system_id)


# Changing records


def _bump_matcher(db: Database) -> None:
    version = int(meta.get_meta(db, MATCHER_VERSION_KEY) or 0)
    meta.set_meta(db, MATCHER_VERSION_KEY, str(version + 1))


def _write_aliases(db: Database, system_id: int, name: str, aliases: Sequence[str]) -> None:
    """Replace the names a system is matched on; Conflict, naming the other system, for one in use."""
    db.execute("DELETE FROM system_aliases WHERE system_id = ?", [system_id])
    for alias, is_name in [(name, 1), *((a, 0) for a in aliases)]:
        key = alias_key(alias)
        other = db.execute("SELECT s.name FROM system_aliases a JOIN systems s ON s.id = a.system_id "
                           "WHERE a.folded = ?", [key]).fetchone()
        if other is not None:
            what = "name" if is_name else "alias"
            raise Conflict(f"the {what} {alias!r} is already a name or alias of the system {other[0]!r}")
        db.execute("INSERT INTO system_aliases (system_id, alias, folded, is_name) VALUES (?, ?, ?, ?)",
                   [system_id, alias, key, is_name])
    _bump_matcher(db)


def _columns(cleaned: Mapping[str, Any]) -> dict[str, object]:
    return {k: (json.dumps(list(v), ensure_ascii=False) if k == "rights" else int(v) if k == "draft" else v)
            for k, v in cleaned.items() if k != "aliases"}


def _audit_values(cleaned: Mapping[str, Any]) -> dict[str, object]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in cleaned.items()}


def _insert(db: Database, cleaned: Mapping[str, Any], by: int | None) -> int:
    now = utcnow()
    columns = {**_columns(cleaned), "created_at": now, "updated_at": now}
    marks = ", ".join("?" * len(columns))
    cursor = db.execute(f"INSERT INTO systems ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                        list(columns.values()))
    if cursor.lastrowid is None:
        raise RuntimeError("the INSERT made no row")
    system_id = int(cursor.lastrowid)
    _write_aliases(db, system_id, cleaned["name"], cleaned["aliases"])
    outbox.enqueue(db, [system_id], "system")  # searchable: a kind of its own in kb.search
    audit.record(db, by, "create", "system", system_id, {"fields": _audit_values(cleaned)})
    return system_id


def create_system(db: Database, user: User, fields: Mapping[str, object]) -> System:
    """Add a system to the register; coordinators and admins only. Conflict for a name or alias that
    another system has (names and aliases are compared folded)."""
    _editor(user)
    cleaned = clean_fields(fields)
    with transaction(db):
        system_id = _insert(db, cleaned, user.id)
        return get_system(db, user, system_id)


def update_system(db: Database, user: User, system_id: int, changes: Mapping[str, object]) -> System:
    """Change some fields (aliases replaced as a whole); the log keeps each field's before and after."""
    _editor(user)
    cleaned = clean_fields(changes, partial=True)
    with transaction(db):
        before = get_system(db, user, system_id)
        if "aliases" in cleaned and "name" not in cleaned:
            cleaned["aliases"] = _clean_aliases(cleaned["aliases"], before.name)
        elif "name" in cleaned and "aliases" not in cleaned:
            cleaned["aliases"] = _clean_aliases(before.aliases, cleaned["name"])
        diff = {k: [_audit_values({k: getattr(before, k)})[k], _audit_values({k: v})[k]]
                for k, v in cleaned.items() if getattr(before, k) != v}
        if not diff:
            return before
        columns = {k: v for k, v in _columns(cleaned).items() if k in diff}
        assignments = "".join(f"{name} = ?, " for name in columns)
        db.execute(f"UPDATE systems SET {assignments}updated_at = ? WHERE id = ?",  # noqa: S608
                   [*columns.values(), utcnow(), system_id])
        if "name" in diff or "aliases" in diff:
            _write_aliases(db, system_id, cleaned.get("name", before.name),
                           cleaned.get("aliases", before.aliases))
        outbox.enqueue(db, [system_id], "system")
        audit.record(db, user.id, "update", "system", system_id, {"changes": diff})
        return get_system(db, user, system_id)


def delete_system(db: Database, user: User, system_id: int) -> None:
    """Remove a system with its timeline and links (the items, case files and contacts stay)."""
    _editor(user)
    with transaction(db):
        before = get_system(db, user, system_id)
        # Its confirmed items lose it from their `system` facet in the index.
        outbox.enqueue(db, item_ids_for_system(db, system_id, ("confirmed",)))
        outbox.enqueue(db, [system_id], "system")
        db.execute("DELETE FROM systems WHERE id = ?", [system_id])
        _bump_matcher(db)
        audit.record(db, user.id, "delete", "system", system_id, {"name": before.name})


def _touch(db: Database, system_id: int) -> None:
    db.execute("UPDATE systems SET updated_at = ? WHERE id = ?", [utcnow(), system_id])


def _check_items(db: Database, item_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in item_ids})
    for item_id in ids:
        if db.execute("SELECT 1 FROM items WHERE id = ?", [item_id]).fetchone() is None:
            raise NotFound(f"item {item_id} does not exist")
    return ids


def _insert_step(db: Database, system_id: int, status: str, when: str, note: str, item_ids: Sequence[int],
                 by: int | None) -> int:
    cursor = db.execute("INSERT INTO system_status (system_id, status, date, note, created_by, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [system_id, status, when, note, by, utcnow()])
    step_id = int(cursor.lastrowid or 0)
    db.conn.executemany("INSERT INTO system_status_items (step_id, item_id) VALUES (?, ?)",
                        [(step_id, i) for i in item_ids])
    audit.record(db, by, "add-status", "system", system_id,
                 {"step_id": step_id, "status": status, "date": when, "note": note,
                  "item_ids": list(item_ids)})
    return step_id


def add_status(db: Database, user: User, system_id: int, status: str, when: str | date, *, note: str = "",
               item_ids: Iterable[int] = ()) -> StatusStep:
    """Add a dated step (announced, piloted, in use, suspended, ended, ruled unlawful) to the timeline,
    backed by these items. The timeline is kept in date order whatever the order steps are entered in."""
    _editor(user)
    status = _choice(status, STATUSES, "the status")
    if not status:
        raise InvalidInput(f"say which status: one of {', '.join(STATUSES)}")
    when_text = parse_status_date(when)
    note = clean_text(note, multiline=True)
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters")
    with transaction(db):
        get_system(db, user, system_id)
        step_id = _insert_step(db, system_id, status, when_text, note, _check_items(db, item_ids), user.id)
        _touch(db, system_id)
        return _steps(db, "id = ?", [step_id])[0]


def remove_status(db: Database, user: User, step_id: int) -> None:
    """Remove a status step entered by mistake."""
    _editor(user)
    with transaction(db):
        found = _steps(db, "id = ?", [step_id])
        if not found:
            raise NotFound(f"status step {step_id} does not exist")
        step = found[0]
        db.execute("DELETE FROM system_status WHERE id = ?", [step_id])
        audit.record(db, user.id, "remove-status", "system", step.system_id,
                     {"step_id": step_id, "status": step.status, "date": step.date})
        _touch(db, step.system_id)


# Links to items, case files and contacts


def _decide_link(db: Database, user: User, system_id: int, item_id: int, state: str) -> SystemLink:
    _editor(user)
    with transaction(db):
        get_system(db, user, system_id)
        _check_items(db, [item_id])
        row = db.execute("SELECT state FROM system_items WHERE system_id = ? AND item_id = ?",
                         [system_id, item_id]).fetchone()
        before = row[0] if row else None
        if before != state:
            now = utcnow()
            db.execute(
                "INSERT INTO system_items (system_id, item_id, state, origin, evidence, decided_by, "
                "decided_at, created_at) VALUES (?, ?, ?, 'person', '[]', ?, ?, ?) "
                "ON CONFLICT (system_id, item_id) DO UPDATE SET state = excluded.state, "
                "decided_by = excluded.decided_by, decided_at = excluded.decided_at",
                [system_id, item_id, state, user.id, now, now])
            if "confirmed" in (before, state):  # the item's `system` facet in the index changes
                outbox.enqueue(db, [item_id])
            action = {"confirmed": "confirm-item", "rejected": "reject-item"}[state]
            audit.record(db, user.id, action, "system", system_id, {"item_id": item_id, "before": before})
            _touch(db, system_id)
        return _links(db, "l.system_id = ? AND l.item_id = ?", [system_id, item_id])[0]


def confirm_link(db: Database, user: User, system_id: int, item_id: int) -> SystemLink:
    """Confirm that an item is about a system (a suggestion, or a link a person adds); it survives
    re-tagging and re-matching."""
    return _decide_link(db, user, system_id, item_id, "confirmed")


link_item = confirm_link


def reject_link(db: Database, user: User, system_id: int, item_id: int) -> SystemLink:
    """Reject a suggestion; kept as "rejected" so that matching never suggests it again."""
    return _decide_link(db, user, system_id, item_id, "rejected")


def unlink_item(db: Database, user: User, system_id: int, item_id: int) -> bool:
    """Forget a link whatever its state (the matcher may suggest it again); False if there was none."""
    _editor(user)
    with transaction(db):
        get_system(db, user, system_id)
        if db.execute("DELETE FROM system_items WHERE system_id = ? AND item_id = ?",
                      [system_id, item_id]).rowcount == 0:
            return False
        outbox.enqueue(db, [item_id])
        audit.record(db, user.id, "unlink-item", "system", system_id, {"item_id": item_id})
        _touch(db, system_id)
        return True


def _attach_case(db: Database, system_id: int, case_id: int, by: int | None) -> bool:
    if not db.execute("INSERT OR IGNORE INTO system_cases (system_id, case_id, added_by, added_at) "
                      "VALUES (?, ?, ?, ?)", [system_id, case_id, by, utcnow()]).rowcount:
        return False
    audit.record(db, by, "link-case", "system", system_id, {"case_id": case_id})
    return True


def link_case(db: Database, user: User, system_id: int, case_id: int) -> bool:
    """Link a case file to the system; False if it was linked already."""
    _editor(user)
    with transaction(db):
        get_system(db, user, system_id)
        if db.execute("SELECT 1 FROM cases WHERE id = ?", [case_id]).fetchone() is None:
            raise NotFound(f"case file {case_id} does not exist")
        return _attach_case(db, system_id, case_id, user.id)


def unlink_case(db: Database, user: User, system_id: int, case_id: int) -> bool:
    """Unlink a case file from the system; False if it was not linked."""
    _editor(user)
    with transaction(db):
        get_system(db, user, system_id)
        if db.execute("DELETE FROM system_cases WHERE system_id = ? AND case_id = ?",
                      [system_id, case_id]).rowcount == 0:
            return False
        audit.record(db, user.id, "unlink-case", "system", system_id, {"case_id": case_id})
        return True


def link_contact(db: Database, user: User, system_id: int, contact_id: int, role: str = "") -> None:
    """Link a contact this user may see to the system (or change its role there)."""
    _editor(user)
    _require(contacts.can_change_contacts(user), "link contacts to systems")
    role = clean_text(role, multiline=False)[:200]
    with transaction(db):
        get_system(db, user, system_id)
        contacts.get_contact(db, user, contact_id)
        db.execute("INSERT INTO system_contacts (system_id, contact_id, role) VALUES (?, ?, ?) "
                   "ON CONFLICT (system_id, contact_id) DO UPDATE SET role = excluded.role",
                   [system_id, contact_id, role])
        audit.record(db, user.id, "link-contact", "system", system_id,
                     {"contact_id": contact_id, "role": role})


def unlink_contact(db: Database, user: User, system_id: int, contact_id: int) -> bool:
    """Unlink a contact this user may see from the system; False if it was not linked."""
    _editor(user)
    with transaction(db):
        get_system(db, user, system_id)
        contacts.get_contact(db, user, contact_id)
        if db.execute("DELETE FROM system_contacts WHERE system_id = ? AND contact_id = ?",
                      [system_id, contact_id]).rowcount == 0:
            return False
        audit.record(db, user.id, "unlink-contact", "system", system_id, {"contact_id": contact_id})
        return True

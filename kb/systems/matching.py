"""Matching items against the register: suggestions, "maybe a new system", case files named in free text.

The matcher (kb.text.alias_matcher) of every name and alias is built once per database and rebuilt when the
register's aliases change (a version number in the meta table, bumped in the same transaction).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from kb.errors import NotFound
from kb.storage import audit, meta
from kb.storage.db import database_file, transaction, utcnow
from kb.systems.records import (
    MATCHER_VERSION_KEY,
    MAX_LENGTH,
    System,
    _attach_case,
    _editor,
    _insert,
    clean_fields,
    get_system,
)
from kb.text.alias_matcher import AliasMatcher
from kb.users import User


@dataclass(frozen=True)
class NewSystemCandidate:
    """An item that speaks of a kind of system in a country but names no registered system."""

    item_id: int
    title: str
    kinds: tuple[str, ...]
    countries: tuple[str, ...]
    sectors: tuple[str, ...]
    published: str | None


_matchers: dict[str, tuple[str, AliasMatcher]] = {}
_matchers_lock = threading.Lock()


def matcher(db: Database) -> AliasMatcher:
    """The automaton of every name and alias of the register, built once and rebuilt when one changes."""
    version = meta.get_meta(db, MATCHER_VERSION_KEY) or "0"
    where = database_file(db) or f"memory:{id(db)}"
    with _matchers_lock:
        cached = _matchers.get(where)
        if cached is not None and cached[0] == version:
            return cached[1]
    built = AliasMatcher((r[0], r[1]) for r in db.execute("SELECT system_id, alias FROM system_aliases"))
    with _matchers_lock:
        _matchers[where] = (version, built)
    return built


def _apply_matches(db: Database, item_id: int, found: Mapping[int, Sequence[str]]) -> int:
    """Replace the matcher's suggestions for an item; confirmed and rejected links stay as they are."""
    decided = {r[0] for r in db.execute("SELECT system_id FROM system_items WHERE item_id = ? "
                                        "AND (state != 'suggested' OR origin = 'person')", [item_id])}
    db.execute("DELETE FROM system_items WHERE item_id = ? AND state = 'suggested' AND origin = 'matcher'",
               [item_id])
    rows = [(system_id, item_id, json.dumps(list(evidence), ensure_ascii=False), utcnow())
            for system_id, evidence in found.items() if system_id not in decided]
    db.conn.executemany("INSERT INTO system_items (system_id, item_id, state, origin, evidence, created_at) "
                        "VALUES (?, ?, 'suggested', 'matcher', ?, ?)", rows)
    return len(rows)


def suggest_for_item(db: Database, item_id: int, title: str, summary: str, text: str) -> int:
    """Suggest the systems this item names (call inside the transaction that stores it); returns how many
    suggestions it has now. Never changes a confirmed or rejected link."""
    return _apply_matches(db, item_id, matcher(db).match(title, summary, text))


def rematch(db: Database, item_ids: Iterable[int] | None = None, batch: int = 200) -> int:
    """Match stored items (all when None) against the register again, a batch per transaction; returns
    the number of suggestions written. After a system is added, this finds it in the items stored before."""
    ids = ([r[0] for r in db.execute("SELECT id FROM items ORDER BY id")] if item_ids is None
           else [int(i) for i in item_ids])
    written = 0
    automaton = matcher(db)
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with transaction(db):
            for r in db.execute(f"SELECT id, title, summary, text FROM items WHERE id IN "  # noqa: S608
                                f"({','.join('?' * len(chunk))})", chunk).fetchall():
                written += _apply_matches(db, r[0], automaton.match(r[1], r[2], r[3]))
    return written


def possible_new_systems(db: Database, limit: int = 100) -> list[NewSystemCandidate]:
    """Items, newest first, tagged with a kind of system and a country but linked to no system (no
    suggestion, no confirmed link): "maybe a new system". Items rejected in the curation queue are left
    out."""
    rows = db.execute(
        "SELECT i.id, i.title, i.published, group_concat(t.topic, ' ') FROM items i "
        "JOIN tags t ON t.item_id = i.id AND t.state = 'active' "
        "WHERE i.status != 'rejected' AND NOT EXISTS (SELECT 1 FROM system_items l WHERE l.item_id = i.id "
        "AND l.state != 'rejected') GROUP BY i.id "
        "HAVING sum(t.topic LIKE 'system/%') > 0 AND sum(t.topic LIKE 'country/%') > 0 "
        "ORDER BY coalesce(i.published, i.created_at) DESC, i.id DESC LIMIT ?", [limit]).fetchall()
    found = []
    for item_id, title, published, topics in rows:
        topic_list = sorted(topics.split())
        found.append(NewSystemCandidate(
            item_id, title, tuple(t for t in topic_list if t.startswith("system/")),
            tuple(t for t in topic_list if t.startswith("country/")),
            tuple(t for t in topic_list if t.startswith("sector/")), published))
    return found


def draft_from_item(db: Database, user: User, item_id: int, name: str | None = None) -> System:
    """A draft system made from an item that names none: its country, kind, sector and rights from the
    item's tags, the item linked as confirmed, a note saying where it came from. `name` defaults to the
    item's title."""
    _editor(user)
    row = db.execute("SELECT title, url FROM items WHERE id = ?", [item_id]).fetchone()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    topics = sorted(r[0] for r in db.execute("SELECT topic FROM tags WHERE item_id = ? AND state = 'active'",
                                             [item_id]))

    def first(facet: str) -> str:
        return next((t for t in topics if t.startswith(f"{facet}/")), "")

    fields = {"name": (name or row[0])[:MAX_LENGTH["name"]], "country": first("country"),
              "sector": first("sector"), "kind": first("system"),
              "rights": [t for t in topics if t.startswith("right/")], "draft": True,
              "notes": f"Draft made from item {item_id} ({row[1]}); check every field."}
    cleaned = clean_fields(fields)
    with transaction(db):
        system_id = _insert(db, cleaned, user.id)
        db.execute("INSERT INTO system_items (system_id, item_id, state, origin, evidence, decided_by, "
                   "decided_at, created_at) VALUES (?, ?, 'confirmed', 'person', '[]', ?, ?, ?)",
                   [system_id, item_id, user.id, utcnow(), utcnow()])
        audit.record(db, user.id, "confirm-item", "system", system_id, {"item_id": item_id, "before": None})
        return get_system(db, user, system_id)


def link_cases_by_name(db: Database) -> int:
    """Link each case file to the registered systems its free-text system name, title or summary names
    (matched as items are); returns how many links were made. Logged as the system."""
    automaton = matcher(db)
    linked = 0
    with transaction(db):
        for case_id, title, system_name, summary in db.execute(
                "SELECT id, title, system_name, summary FROM cases").fetchall():
            for system_id in automaton.match(system_name, title, summary):
                linked += _attach_case(db, system_id, case_id, None)
    return linked

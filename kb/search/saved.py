"""Saved searches: a user's named query and filters, run again at will, with concept expansion on or off
as saved ("Words only", `words_only`). Each user sees only their own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kb.errors import Conflict, InvalidInput, NotFound
from kb.knowledge import KnowledgeBase
from kb.search.service import SearchFilters, SearchResults, search
from kb.storage.db import transaction, utcnow
from kb.users import User

MAX_NAME = 200
MAX_QUERY = 1_000  # what a search reads at most
MAX_PER_USER = 500


@dataclass(frozen=True)
class SavedSearch:
    id: int
    user_id: int
    name: str
    query: str
    filters: SearchFilters
    created_at: str
    updated_at: str
    words_only: bool = False  # concept expansion off (the search page's "Words only")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "query": self.query, "filters": self.filters.as_json(),
                "words_only": self.words_only, "created_at": self.created_at, "updated_at": self.updated_at}


def _from_row(row: dict[str, Any]) -> SavedSearch:
    return SavedSearch(id=row["id"], user_id=row["user_id"], name=row["name"], query=row["query"],
                       filters=SearchFilters.from_json(json.loads(row["filters"])),
                       created_at=row["created_at"], updated_at=row["updated_at"],
                       words_only=bool(row["words_only"]))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("a saved search needs a name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"the name of a saved search has at most {MAX_NAME} characters")
    return name


def _clean_query(query: str) -> str:
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"a saved query has at most {MAX_QUERY} characters")
    return query


def _name_taken(db: Database, user_id: int, name: str, other_than: int | None = None) -> bool:
    row = db.execute("SELECT id FROM saved_searches WHERE user_id = ? AND name = ?",
                     [user_id, name]).fetchone()
    return row is not None and row[0] != other_than


def create_saved_search(db: Database, user_id: int, name: str, query: str,
                        filters: SearchFilters | None = None, *, words_only: bool = False) -> SavedSearch:
    """Save a search under a name; raises Conflict if the user has one of that name already."""
    name, query = _clean_name(name), _clean_query(query)
    encoded = json.dumps((filters or SearchFilters()).as_json(), ensure_ascii=False)
    now = utcnow()
    with transaction(db):
        if db.execute("SELECT 1 FROM users WHERE id = ?", [user_id]).fetchone() is None:
            raise NotFound(f"user {user_id} does not exist")
        if _name_taken(db, user_id, name):
            raise Conflict(f"you have a saved search called {name!r} already")
        owned = db.execute("SELECT count(*) FROM saved_searches WHERE user_id = ?", [user_id]).fetchone()[0]
        if owned >= MAX_PER_USER:
            raise InvalidInput(f"a user may keep at most {MAX_PER_USER} saved searches; delete some first")
        search_id = db.execute(
            "INSERT INTO saved_searches (user_id, name, query, filters, words_only, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", [user_id, name, query, encoded, int(words_only), now, now],
        ).lastrowid
    return get_saved_search(db, user_id, int(search_id or 0))


def find_saved_search(db: Database, user_id: int, search_id: int) -> SavedSearch | None:
    """The user's saved search, or None (another user's counts as missing)."""
    rows = list(db.query("SELECT * FROM saved_searches WHERE id = ? AND user_id = ?", [search_id, user_id]))
    return _from_row(rows[0]) if rows else None


def get_saved_search(db: Database, user_id: int, search_id: int) -> SavedSearch:
    """The user's saved search; raises NotFound."""
    found = find_saved_search(db, user_id, search_id)
    if found is None:
        raise NotFound(f"saved search {search_id} does not exist")
    return found


def find_saved_search_by_name(db: Database, user_id: int, name: str) -> SavedSearch | None:
    rows = list(db.query("SELECT * FROM saved_searches WHERE user_id = ? AND name = ?",
                         [user_id, " ".join((name or "").split())]))
    return _from_row(rows[0]) if rows else None


def list_saved_searches(db: Database, user_id: int) -> list[SavedSearch]:
    """The user's saved searches by name."""
    return [_from_row(r) for r in db.query(
        "SELECT * FROM saved_searches WHERE user_id = ? ORDER BY name COLLATE NOCASE, id", [user_id])]


def update_saved_search(db: Database, user_id: int, search_id: int, *, name: str | None = None,
                        query: str | None = None, filters: SearchFilters | None = None,
                        words_only: bool | None = None) -> SavedSearch:
    """Change the name, query, filters or "Words only" of the user's saved search (what is None stays)."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if query is not None:
        changes["query"] = _clean_query(query)
    if filters is not None:
        changes["filters"] = json.dumps(filters.as_json(), ensure_ascii=False)
    if words_only is not None:
        changes["words_only"] = int(words_only)
    with transaction(db):
        get_saved_search(db, user_id, search_id)
        if "name" in changes and _name_taken(db, user_id, changes["name"], other_than=search_id):
            raise Conflict(f"you have a saved search called {changes['name']!r} already")
        if changes:
            changes["updated_at"] = utcnow()
            assignments = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE saved_searches SET {assignments} WHERE id = ? AND user_id = ?",  # noqa: S608
                       [*changes.values(), search_id, user_id])
    return get_saved_search(db, user_id, search_id)


def delete_saved_search(db: Database, user_id: int, search_id: int) -> None:
    """Delete the user's saved search; raises NotFound."""
    with transaction(db):
        if db.execute("DELETE FROM saved_searches WHERE id = ? AND user_id = ?",
                      [search_id, user_id]).rowcount == 0:
            raise NotFound(f"saved search {search_id} does not exist")


def run_saved_search(kb: KnowledgeBase, user: User, search_id: int, *, sort: str = "relevance", page: int = 1,
                     page_size: int = 20) -> SearchResults:
    """Run the user's saved search again, with the user's access and its "Words only" as saved."""
    saved = get_saved_search(kb.db, user.id, search_id)
    return search(kb, saved.query, saved.filters, user=user, sort=sort, page=page, page_size=page_size,
                  expand=not saved.words_only)

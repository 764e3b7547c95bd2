"""The index outbox: searchable changes waiting for the one index writer.

A row is written in the same transaction as the change it announces and deleted only after the index
has committed it, so a crash at any point leaves either a row to apply again or nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from kb.storage.db import utcnow

KINDS = ("item", "contact", "case", "system")
# The table holding each kind of searchable record (fixed names, safe to place in SQL text).
_TABLES = {"item": "items", "contact": "contacts", "case": "cases", "system": "systems"}


def enqueue(db: Database, record_ids: Iterable[int], kind: str = "item") -> None:
    """Announce that these records (items by default) changed or were deleted and must be re-indexed."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of record {kind!r}")
    now = utcnow()
    db.conn.executemany(
        "INSERT INTO index_outbox (kind, item_id, queued_at) VALUES (?, ?, ?)",
        [(kind, int(i), now) for i in set(record_ids)],
    )


def enqueue_all(db: Database) -> None:
    """Announce every item (after a change that touches all of them, such as a taxonomy label)."""
    db.execute("INSERT INTO index_outbox (item_id, queued_at) SELECT id, ? FROM items", [utcnow()])


def pending(db: Database, limit: int) -> list[tuple[int, str, int]]:
    """The oldest waiting rows as (row id, kind, record id)."""
    rows = db.execute("SELECT id, kind, item_id FROM index_outbox ORDER BY id LIMIT ?", [limit]).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def acknowledge(db: Database, row_ids: Iterable[int]) -> None:
    """Forget rows whose changes the index has committed."""
    db.conn.executemany("DELETE FROM index_outbox WHERE id = ?", [(i,) for i in row_ids])


def last_row_id(db: Database) -> int:
    """The id of the newest waiting row, 0 when none waits; rows written later have higher ids."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM index_outbox").fetchone()[0])


def acknowledge_through(db: Database, row_id: int) -> None:
    """Forget every row up to `row_id` (an index rebuilt from the database holds their changes)."""
    db.execute("DELETE FROM index_outbox WHERE id <= ?", [row_id])  # one statement: atomic


def pending_count(db: Database) -> int:
    """How many changes wait for the index writer."""
    return int(db.execute("SELECT count(*) FROM index_outbox").fetchone()[0])


def searchable_ids(db: Database) -> dict[str, list[int]]:
    """The ids of every stored record of each kind, ascending: what the index should hold."""
    found: dict[str, list[int]] = {}
    for kind, table in _TABLES.items():
        found[kind] = [row[0] for row in db.execute(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608
    return found

"""The `meta` table: small named values the product keeps beside its records (the web session key, the
demo marker, the last ingest, each digest week's send run). Callers own the meaning of their keys."""

from __future__ import annotations

from sqlite_utils import Database


def get_meta(db: Database, key: str) -> str | None:
    """The value stored under `key`, or None."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    """Store `value` under `key`, replacing what was there (inside the caller's transaction, if any)."""
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])

"""Failures counted per key in a sliding window, shared by every process on the database (sign-in
throttling in the web UI, whose processes each see every other's count).

Callers hand in keys that hold nothing a person typed (webui.ratelimit stores keyed hashes) and the
clock's time in seconds; rows older than the window go as new failures arrive.
"""

from __future__ import annotations

from sqlite_utils import Database

from kb.storage.db import transaction


def recent_failures(db: Database, scope: str, key: str, since: float) -> list[float]:
    """When `key` failed after `since`, oldest first."""
    rows = db.execute("SELECT failed_at FROM sign_in_failures WHERE scope = ? AND key = ? AND failed_at > ? "
                      "ORDER BY failed_at", [scope, key, since]).fetchall()
    return [float(row[0]) for row in rows]


def record_failure(db: Database, scope: str, key: str, at: float, forget_before: float) -> None:
    """Count a failure of `key` at `at`, and forget every failure of the scope at or before
    `forget_before`."""
    with transaction(db):
        db.execute("DELETE FROM sign_in_failures WHERE scope = ? AND failed_at <= ?", [scope, forget_before])
        db.execute("INSERT INTO sign_in_failures (scope, key, failed_at) VALUES (?, ?, ?)", [scope, key, at])


def clear_failures(db: Database, scope: str, key: str) -> None:
    """Forget the failures of `key`."""
    with transaction(db):
        db.execute("DELETE FROM sign_in_failures WHERE scope = ? AND key = ?", [scope, key])

"""The storage of the lab's taxonomy: versions of its text (`taxonomy_versions`), who made each and when,
and when the stored items were re-tagged with it. No version: the bundled file is in use.

Text only: reading and validating it is `kb.text.taxonomy`, the current version per process
`kb.learning.taxonomies`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from kb.storage.db import utcnow


@dataclass(frozen=True)
class TaxonomyVersion:
    """One stored version (its text is read apart: `version_text`)."""

    id: int
    digest: str
    created_at: str
    created_by: int | None
    change: str  # what changed, in words
    retag_started_at: str | None
    retagged_at: str | None
    retag_report: dict[str, object] | None


_COLUMNS = "id, digest, created_at, created_by, change, retag_started_at, retagged_at, retag_report"


def _version(row: tuple[object, ...]) -> TaxonomyVersion:
    report = json.loads(str(row[7])) if row[7] else None
    return TaxonomyVersion(int(str(row[0])), str(row[1]), str(row[2]),
                           int(str(row[3])) if row[3] is not None else None, str(row[4]),
                           str(row[5]) if row[5] else None, str(row[6]) if row[6] else None, report)


def latest_digest(db: Database) -> tuple[int, str] | None:
    """The newest version's id and digest (one read of the last row), or None when none is stored."""
    row = db.execute("SELECT id, digest FROM taxonomy_versions ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def latest(db: Database) -> TaxonomyVersion | None:
    """The newest version, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM taxonomy_versions ORDER BY id DESC LIMIT 1").fetchone()  # noqa: S608
    return _version(row) if row else None


def versions(db: Database, limit: int = 20) -> list[TaxonomyVersion]:
    """The newest versions first."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM taxonomy_versions ORDER BY id DESC LIMIT ?",  # noqa: S608
                      [int(limit)]).fetchall()
    return [_version(row) for row in rows]


def version_text(db: Database, version_id: int) -> str | None:
    row = db.execute("SELECT text FROM taxonomy_versions WHERE id = ?", [version_id]).fetchone()
    return str(row[0]) if row else None


def save_version(db: Database, text: str, digest: str, user_id: int | None, change: str) -> int:
    """Store a new version (inside the caller's transaction); returns its id."""
    cursor = db.execute(
        "INSERT INTO taxonomy_versions (digest, text, created_at, created_by, change) VALUES (?, ?, ?, ?, ?)",
        [digest, text, utcnow(), user_id, change])
    return int(cursor.lastrowid or 0)


def retag_started(db: Database, version_id: int) -> None:
    db.execute("UPDATE taxonomy_versions SET retag_started_at = ? WHERE id = ?", [utcnow(), version_id])


def retag_finished(db: Database, version_id: int, report: Mapping[str, object]) -> None:
    db.execute("UPDATE taxonomy_versions SET retagged_at = ?, retag_report = ? WHERE id = ?",
               [utcnow(), json.dumps(report, ensure_ascii=False), version_id])

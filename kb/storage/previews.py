"""The storage of taxonomy previews run as background jobs (`taxonomy_previews`): what is previewed (a term
change as JSON, or an imported file's text), the taxonomy digest it was computed against, its progress
(items examined of the total), and its result (JSON) or error. Running the job is
`kb.learning.taxonomies`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from kb.storage.db import utcnow

KINDS = ("term", "import")
RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass(frozen=True)
class PreviewJob:
    """One preview job as stored."""

    id: int
    kind: str  # "term" or "import"
    subject: str  # the term change (JSON) or the imported file's text
    digest: str  # the taxonomy it was computed against
    created_by: int | None
    created_at: str
    updated_at: str
    finished_at: str | None
    examined: int
    total: int
    status: str  # running, done, failed (a running job may have stopped: see kb.learning.taxonomies)
    result: dict[str, object] | None
    error: str


_COLUMNS = ("id, kind, subject, digest, created_by, created_at, updated_at, finished_at, examined, total, "
            "status, result, error")


def _job(row: tuple[object, ...]) -> PreviewJob:
    return PreviewJob(int(str(row[0])), str(row[1]), str(row[2]), str(row[3]),
                      int(str(row[4])) if row[4] is not None else None, str(row[5]), str(row[6]),
                      str(row[7]) if row[7] else None, int(str(row[8])), int(str(row[9])), str(row[10]),
                      json.loads(str(row[11])) if row[11] else None, str(row[12] or ""))


def item_count(db: Database) -> int:
    """The stored items a preview examines (all of them)."""
    return int(db.execute("SELECT COUNT(*) FROM items").fetchone()[0])


def create(db: Database, kind: str, subject: str, digest: str, user_id: int | None, total: int) -> int:
    """A new running job (inside the caller's transaction); returns its id."""
    if kind not in KINDS:
        raise ValueError(f"unknown preview kind {kind!r}")
    now = utcnow()
    cursor = db.execute(
        "INSERT INTO taxonomy_previews (kind, subject, digest, created_by, created_at, updated_at, total) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", [kind, subject, digest, user_id, now, now, int(total)])
    return int(cursor.lastrowid or 0)


def get(db: Database, job_id: int) -> PreviewJob | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM taxonomy_previews WHERE id = ?",  # noqa: S608
                     [int(job_id)]).fetchone()
    return _job(row) if row else None


def running_like(db: Database, kind: str, subject: str, digest: str) -> PreviewJob | None:
    """The newest running job previewing the same thing against the same taxonomy, if any."""
    row = db.execute(f"SELECT {_COLUMNS} FROM taxonomy_previews WHERE kind = ? AND subject = ? "  # noqa: S608
                     "AND digest = ? AND status = ? ORDER BY id DESC LIMIT 1",
                     [kind, subject, digest, RUNNING]).fetchone()
    return _job(row) if row else None


def progress(db: Database, job_id: int, examined: int) -> None:
    """Items examined so far; also the job's heartbeat."""
    db.execute("UPDATE taxonomy_previews SET examined = ?, updated_at = ? WHERE id = ? AND status = ?",
               [int(examined), utcnow(), int(job_id), RUNNING])


def finish(db: Database, job_id: int, examined: int, result: Mapping[str, object]) -> None:
    now = utcnow()
    db.execute("UPDATE taxonomy_previews SET status = ?, examined = ?, result = ?, updated_at = ?, "
               "finished_at = ? WHERE id = ?",
               [DONE, int(examined), json.dumps(result, ensure_ascii=False), now, now, int(job_id)])


def fail(db: Database, job_id: int, error: str) -> None:
    now = utcnow()
    db.execute("UPDATE taxonomy_previews SET status = ?, error = ?, updated_at = ?, finished_at = ? "
               "WHERE id = ?", [FAILED, error[:2000], now, now, int(job_id)])


def prune(db: Database, keep: int, stale_before: str) -> int:
    """Delete all but the newest `keep` jobs, leaving those still running (updated since `stale_before`);
    returns how many were deleted."""
    cursor = db.execute(
        "DELETE FROM taxonomy_previews WHERE id NOT IN "
        "(SELECT id FROM taxonomy_previews ORDER BY id DESC LIMIT ?) "
        "AND (status != ? OR updated_at < ?)", [int(keep), RUNNING, stale_before])
    return int(cursor.rowcount or 0)

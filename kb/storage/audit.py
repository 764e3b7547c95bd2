"""The audit log: who changed what, when. Written in the same transaction as the change."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from kb.storage.db import utcnow


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


def record(db: Database, user_id: int | None, action: str, entity: str, entity_id: int | None,
           details: dict[str, object] | None = None) -> None:
    """Append one entry; call inside the transaction that makes the change."""
    db.execute(
        "INSERT INTO audit_log (at, user_id, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)",
        [utcnow(), user_id, action, entity, entity_id,
         json.dumps(details or {}, ensure_ascii=False, default=str)],
    )


def entries(db: Database, *, entity: str | None = None, entity_id: int | None = None,
            limit: int = 200) -> list[AuditEntry]:
    """The newest entries first, optionally for one entity."""
    where: list[str] = []
    params: list[object] = []
    if entity is not None:
        where.append("a.entity = ?")
        params.append(entity)
    if entity_id is not None:
        where.append("a.entity_id = ?")
        params.append(entity_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(
        f"SELECT a.*, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.user_id {clause} "  # noqa: S608
        "ORDER BY a.id DESC LIMIT ?",
        [*params, limit],
    )
    return [AuditEntry(r["id"], r["at"], r["user_id"], r["email"], r["action"], r["entity"], r["entity_id"],
                       json.loads(r["details"])) for r in rows]

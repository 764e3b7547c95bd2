"""The storage of the relevance model: labels read from the items a person decided, the trained models,
and the judgement columns of items (`model_score`, `model_features`, `relevance_judge`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from kb.items import JUDGEMENT_COLUMNS
from kb.storage.db import transaction, utcnow

KEEP_MODELS = 3  # older models are deleted when a new one is saved
# A label is an item a person accepted or rejected: `status_by` names who. Items accepted or rejected by
# a system action (the sample loader, scripts) have none and teach nothing.
_LABELLED = "status IN ('accepted', 'rejected') AND status_by IS NOT NULL"


@dataclass(frozen=True)
class Label:
    item_id: int
    title: str
    text: str
    relevant: bool  # accepted
    decided_at: str


@dataclass(frozen=True)
class LabelCounts:
    total: int
    relevant: int
    new: int  # accepts and rejects by a person since the newest model (all labels when there is none)


@dataclass(frozen=True)
class ModelRecord:
    """A trained model as stored (its bytes are read apart: `model_bytes`)."""

    id: int
    model_key: str
    trained_at: str
    labels: int
    relevant: int
    last_label_at: str
    decisions_mark: int  # the audit log's last entry when its labels were read
    cv_precision: float | None
    cv_recall: float | None
    cv_folds: int


def labels(db: Database, limit: int) -> list[Label]:
    """The newest `limit` labels, newest first."""
    rows = db.execute(
        f"SELECT id, title, CASE WHEN text != '' THEN text ELSE summary END, status, status_at "  # noqa: S608
        f"FROM items WHERE {_LABELLED} ORDER BY status_at DESC, id DESC LIMIT ?", [int(limit)])
    return [Label(r[0], r[1] or "", r[2] or "", r[3] == "accepted", r[4] or "") for r in rows]


def decisions_mark(db: Database) -> int:
    """Where the audit log stands: decisions recorded later have greater ids."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])


def label_counts(db: Database, since_mark: int | None) -> LabelCounts:
    """How many labels there are, how many say relevant, and how many accepts and rejects a person made
    after the audit log's entry `since_mark` (None: no model yet, every label is new). The audit log counts
    them exactly where timestamps, to the second, could not."""
    total, relevant = db.execute(
        f"SELECT count(*), coalesce(sum(status = 'accepted'), 0) FROM items WHERE {_LABELLED}"  # noqa: S608
    ).fetchone()
    if since_mark is None:
        return LabelCounts(int(total), int(relevant), int(total))
    new = db.execute(
        "SELECT count(*) FROM audit_log WHERE id > ? AND action = 'set-status' AND entity = 'item' "
        "AND user_id IS NOT NULL AND json_extract(details, '$.status') IN ('accepted', 'rejected')",
        [since_mark]).fetchone()[0]
    return LabelCounts(int(total), int(relevant), int(new))


_MODEL_COLUMNS = ("id, model_key, trained_at, labels, relevant, last_label_at, decisions_mark, cv_precision, "
                  "cv_recall, cv_folds")


def latest_model(db: Database) -> ModelRecord | None:
    """The newest trained model, or None."""
    row = db.execute(f"SELECT {_MODEL_COLUMNS} FROM relevance_models ORDER BY id DESC LIMIT 1").fetchone()  # noqa: S608
    return None if row is None else ModelRecord(*row)


def latest_model_key(db: Database) -> str | None:
    row = db.execute("SELECT model_key FROM relevance_models ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def model_bytes(db: Database, model_key: str) -> bytes | None:
    row = db.execute("SELECT model FROM relevance_models WHERE model_key = ?", [model_key]).fetchone()
    return None if row is None else bytes(row[0])


def save_model(db: Database, data: bytes, *, labels: int, relevant: int, last_label_at: str, mark: int,
               cv_precision: float | None, cv_recall: float | None, cv_folds: int) -> ModelRecord:
    """Store a newly trained model as the newest, keeping the last `KEEP_MODELS`."""
    key = uuid.uuid4().hex
    with transaction(db):
        db.execute(
            "INSERT INTO relevance_models (model_key, trained_at, labels, relevant, last_label_at, "
            "decisions_mark, cv_precision, cv_recall, cv_folds, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [key, utcnow(), labels, relevant, last_label_at, mark, cv_precision, cv_recall, cv_folds, data])
        db.execute("DELETE FROM relevance_models WHERE id NOT IN "
                   "(SELECT id FROM relevance_models ORDER BY id DESC LIMIT ?)", [KEEP_MODELS])
    record = latest_model(db)
    assert record is not None and record.model_key == key
    return record


# --- judgements of stored items ------------------------------------------------------------------------

JUDGEMENT_FIELDS = JUDGEMENT_COLUMNS


@dataclass(frozen=True)
class StoredItem:
    """What re-tagging reads of an item: its text, whether a person decided it, and its judgement."""

    id: int
    title: str
    text: str
    language: str
    decided: bool  # status is not "new": a person's decision, which re-tagging never changes
    judgement: Mapping[str, object]  # JUDGEMENT_FIELDS -> stored value (model_features as a tuple)


def items_after(db: Database, after: int, limit: int) -> list[StoredItem]:
    """Items with id > after, in id order, at most `limit`."""
    rows = db.execute(
        "SELECT id, title, CASE WHEN text != '' THEN text ELSE summary END, language, status, "  # noqa: S608
        f"{', '.join(JUDGEMENT_FIELDS)} FROM items WHERE id > ? ORDER BY id LIMIT ?",
        [int(after), int(limit)])
    found = []
    for row in rows:
        judgement = dict(zip(JUDGEMENT_FIELDS, row[5:], strict=True))
        judgement["relevant"] = bool(judgement["relevant"])
        judgement["model_features"] = tuple(json.loads(str(judgement["model_features"] or "[]")))
        found.append(StoredItem(row[0], row[1] or "", row[2] or "", row[3] or "und", row[4] != "new",
                                judgement))
    return found


def save_judgement(db: Database, item_id: int, judgement: Mapping[str, object]) -> None:
    """Write an item's judgement columns (call inside a transaction; only on an item nobody decided)."""
    values = dict(judgement)
    values["relevant"] = int(bool(values["relevant"]))
    features = values["model_features"]
    values["model_features"] = json.dumps(list(features) if isinstance(features, Sequence) else [],
                                          ensure_ascii=False)
    assignments = ", ".join(f"{name} = ?" for name in JUDGEMENT_FIELDS)
    db.execute(f"UPDATE items SET {assignments}, updated_at = ? WHERE id = ? AND status = 'new'",  # noqa: S608
               [*(values[name] for name in JUDGEMENT_FIELDS), utcnow(), item_id])


@dataclass(frozen=True)
class JudgeCount:
    language: str
    judge: str  # "terms", "model", "reader"
    decided: bool  # a person accepted or rejected it since
    count: int


def judge_counts(db: Database) -> list[JudgeCount]:
    """Items by language, by who judged their relevance, and whether a person decided them."""
    rows = db.execute(
        "SELECT language, relevance_judge, status != 'new', count(*) FROM items GROUP BY 1, 2, 3")
    return [JudgeCount(r[0] or "und", r[1] or "terms", bool(r[2]), int(r[3])) for r in rows]

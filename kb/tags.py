"""Topic tags on items, with their evidence; a person's decision always wins over the tagger."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from kb.storage import outbox
from kb.storage.db import transaction, utcnow
from kb.text.tagging import TopicEvidence


@dataclass(frozen=True)
class Tag:
    topic: str
    origin: str  # "tagger" or "person"
    state: str  # "active" or "removed"
    evidence: tuple[str, ...]
    confirmed: bool
    decided_by: int | None
    decided_at: str | None

    @property
    def decided_by_person(self) -> bool:
        return self.origin == "person" or self.confirmed


def apply_tagger_tags(db: Database, item_id: int, matches: Iterable[TopicEvidence]) -> None:
    """Replace the tagger's proposals for an item, leaving every tag a person set, confirmed or removed
    alone."""
    proposed = {m.topic: list(m.evidence) for m in matches}
    decided = {
        row[0]
        for row in db.execute(
            "SELECT topic FROM tags WHERE item_id = ? "
            "AND (origin = 'person' OR confirmed = 1 OR state = 'removed')",
            [item_id],
        )
    }
    db.execute(
        "DELETE FROM tags WHERE item_id = ? AND origin = 'tagger' AND confirmed = 0 AND state = 'active'",
        [item_id],
    )
    db.conn.executemany(
        "INSERT INTO tags (item_id, topic, origin, state, evidence) VALUES (?, ?, 'tagger', 'active', ?)",
        [(item_id, topic, json.dumps(evidence, ensure_ascii=False)) for topic, evidence in proposed.items()
         if topic not in decided],
    )


def _decide(db: Database, item_id: int, topic: str, state: str, user_id: int | None) -> None:
    with transaction(db):
        db.execute(
            """INSERT INTO tags (item_id, topic, origin, state, evidence, confirmed, decided_by, decided_at)
               VALUES (?, ?, 'person', ?, '[]', 1, ?, ?)
               ON CONFLICT (item_id, topic) DO UPDATE SET state = excluded.state, confirmed = 1,
                   decided_by = excluded.decided_by, decided_at = excluded.decided_at""",
            [item_id, topic, state, user_id, utcnow()],
        )
        outbox.enqueue(db, [item_id])


def set_tag(db: Database, item_id: int, topic: str, user_id: int | None) -> None:
    """A person adds or confirms a topic; it survives re-tagging."""
    _decide(db, item_id, topic, "active", user_id)


def remove_tag(db: Database, item_id: int, topic: str, user_id: int | None) -> None:
    """A person removes a topic; the removal is kept so the tagger cannot bring it back."""
    _decide(db, item_id, topic, "removed", user_id)


def tags_for(db: Database, item_ids: Sequence[int]) -> dict[int, list[Tag]]:
    """Tags of several items, keyed by item id, in topic order."""
    result: dict[int, list[Tag]] = {}
    if not item_ids:
        return result
    marks = ",".join("?" * len(item_ids))
    for row in db.query(
        f"SELECT * FROM tags WHERE item_id IN ({marks}) ORDER BY topic",  # noqa: S608
        list(item_ids),
    ):
        result.setdefault(row["item_id"], []).append(
            Tag(row["topic"], row["origin"], row["state"], tuple(json.loads(row["evidence"])),
                bool(row["confirmed"]), row["decided_by"], row["decided_at"])
        )
    return result

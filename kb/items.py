"""Items: the articles and watched pages the lab has gathered, deduplicated across sources."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlite_utils import Database

from kb import systems, tags
from kb.errors import InvalidInput, NotFound
from kb.storage import outbox
from kb.storage.db import transaction, utcnow
from kb.text.fingerprints import content_fingerprint
from kb.text.language import language_name
from kb.text.tagging import TopicEvidence
from kb.text.taxonomy import load_taxonomy
from kb.text.urls import canonical_url

LOGGER = logging.getLogger(__name__)

STATUSES = ("new", "accepted", "rejected")
# Bounds that keep one absurd entry (a 5 MB title) from reaching the database or the index.
MAX_TITLE = 1_000
MAX_SUMMARY = 10_000
MAX_TEXT = 300_000
MAX_SHORT = 300
NEEDS_READER = "needs a reader"  # the tagger could not judge: a person reads it (kb.text.tagging)

@dataclass(frozen=True)
class ItemDraft:
    """What ingest hands to the knowledge base: one article, extracted, language-detected and tagged."""

    url: str
    title: str
    text: str = ""
    summary: str = ""
    author: str = ""
    site_name: str = ""
    published: datetime | None = None
    language: str = "und"
    language_prob: float = 0.0
    topics: Sequence[TopicEvidence] = ()
    relevant: bool = False
    relevance_score: float = 0.0
    relevance_verdict: str = ""  # "relevant", "not relevant" or "needs a reader" (kb.text.tagging)
    relevance_reason: str = ""  # why, in words ("no terms for Tamil", "3 welfare terms, 1 system term")
    guid: str = ""
    # The learned model's say (kb.learning): P(relevant) or None when no model scored it, the words behind
    # it, and who judged relevance ("terms", "model", "reader"; empty: the terms, or a reader as the verdict
    # says).
    model_score: float | None = None
    model_features: tuple[str, ...] = ()
    relevance_judge: str = ""
    # The digest of the taxonomy that tagged it ("": the bundled file); the writer tags it again when the
    # lab's taxonomy is another (kb.learning.taxonomies.tag_drafts).
    taxonomy: str = ""


@dataclass(frozen=True)
class ItemSource:
    source_id: int
    name: str
    url: str
    entry_url: str
    first_seen: str


@dataclass(frozen=True)
class Item:
    id: int
    url: str
    canonical_url: str
    fingerprint: str
    title: str
    summary: str
    text: str
    author: str
    site_name: str
    language: str
    language_prob: float
    published: str | None
    relevant: bool
    relevance_score: float
    status: str
    in_digest: bool
    created_at: str
    updated_at: str
    tags: tuple[tags.Tag, ...] = ()
    sources: tuple[ItemSource, ...] = ()
    case_ids: tuple[int, ...] = field(default=())
    relevance_verdict: str = ""
    relevance_reason: str = ""
    model_score: float | None = None  # the learned model's P(relevant); None: no model scored it
    model_features: tuple[str, ...] = ()  # the words behind the model's score, strongest first
    relevance_judge: str = ""  # "terms", "model" or "reader" (kb.text.relevance)

    @property
    def needs_reader(self) -> bool:
        return self.relevance_verdict == NEEDS_READER

    @property
    def topics(self) -> list[str]:
        """Active topic ids, whoever set them."""
        return [t.topic for t in self.tags if t.state == "active"]


@dataclass(frozen=True)
class StoreResult:
    item_id: int
    outcome: str  # "new", "updated" or "duplicate"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _clip(text: str | None, limit: int) -> str:
    return (text or "").strip()[:limit]


def _content_columns(draft: ItemDraft, fingerprint: str, now: str) -> dict[str, object]:
    return {
        "title": _clip(draft.title, MAX_TITLE),
        "summary": _clip(draft.summary, MAX_SUMMARY),
        "text": _clip(draft.text, MAX_TEXT),
        "author": _clip(draft.author, MAX_SHORT),
        "site_name": _clip(draft.site_name, MAX_SHORT),
        "published": _iso(draft.published),
        "language": _clip(draft.language, 12) or "und",
        "language_prob": float(draft.language_prob),
        "relevant": int(bool(draft.relevant)),
        "relevance_score": float(draft.relevance_score),
        "relevance_verdict": draft.relevance_verdict or ("relevant" if draft.relevant else "not relevant"),
        "relevance_reason": _clip(draft.relevance_reason, MAX_SHORT),
        "model_score": None if draft.model_score is None else float(draft.model_score),
        "model_features": json.dumps([_clip(f, 40) for f in draft.model_features[:10]], ensure_ascii=False),
        "relevance_judge": draft.relevance_judge or ("reader" if draft.relevance_verdict == NEEDS_READER
                                                     else "terms"),
        "fingerprint": fingerprint,
        "updated_at": now,
    }


# How an item's relevance was judged: what re-tagging re-judges, and what a person's decision freezes.
JUDGEMENT_COLUMNS = ("relevant", "relevance_score", "relevance_verdict", "relevance_reason", "model_score",
                     "model_features", "relevance_judge")


def _link_source(db: Database, item_id: int, source_id: int | None, draft: ItemDraft, now: str) -> bool:
    """Record that a source carried the item; True when the link is new."""
    if source_id is None:
        return False
    cursor = db.execute(
        "INSERT OR IGNORE INTO item_sources (item_id, source_id, entry_url, guid, first_seen) "
        "VALUES (?, ?, ?, ?, ?)",
        [item_id, source_id, draft.url[:4096], _clip(draft.guid, 1000), now],
    )
    return cursor.rowcount > 0


def store_item(db: Database, draft: ItemDraft, source_id: int | None = None, *,
               watched: bool = False) -> StoreResult:
    """Insert or update one item, deduplicated by canonical URL then by content fingerprint.

    The item, its source link, its tagger tags and its index outbox row are written in one transaction.
    A watched page is matched by its URL only, and each change of its text is kept as a new version.
    An article already stored is only updated when the new text is longer (the full article arriving
    after a feed's summary); a shorter copy from another feed just records that feed as a source.
    """
    try:
        canonical = canonical_url(draft.url)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    title = _clip(draft.title, MAX_TITLE)
    text = _clip(draft.text, MAX_TEXT) or _clip(draft.summary, MAX_SUMMARY)
    if not title and not text:
        raise InvalidInput(f"item {canonical} has neither a title nor a text")
    fingerprint = content_fingerprint(title, text)
    now = utcnow()
    with transaction(db):
        row = db.execute("SELECT id, fingerprint, length(text), status FROM items WHERE canonical_url = ?",
                         [canonical]).fetchone()
        if row is None and not watched:
            row = db.execute("SELECT id, fingerprint, length(text), status FROM items WHERE fingerprint = ? "
                             "LIMIT 1", [fingerprint]).fetchone()
        if row is None:
            columns = _content_columns(draft, fingerprint, now)
            columns.update(url=canonical, canonical_url=canonical, created_at=now, status="new", in_digest=0)
            names = ", ".join(columns)
            marks = ", ".join("?" for _ in columns)
            inserted = db.execute(f"INSERT INTO items ({names}) VALUES ({marks})",  # noqa: S608
                                  list(columns.values())).lastrowid
            assert inserted is not None  # a plain INSERT makes its row or raises
            item_id = int(inserted)
            outcome = "new"
        else:
            item_id, old_fingerprint, old_length = int(row[0]), row[1], row[2]
            if old_fingerprint == fingerprint or (not watched and len(text) <= old_length):
                linked = _link_source(db, item_id, source_id, draft, now)
                if linked:
                    outbox.enqueue(db, [item_id])  # the new source is searchable
                return StoreResult(item_id, "duplicate")
            columns = _content_columns(draft, fingerprint, now)
            if row[3] != "new":
                # A person decided this item: a longer text does not re-judge its relevance.
                for name in JUDGEMENT_COLUMNS:
                    del columns[name]
            assignments = ", ".join(f"{name} = ?" for name in columns)
            db.execute(f"UPDATE items SET {assignments} WHERE id = ?", [*columns.values(), item_id])  # noqa: S608
            outcome = "updated"
        _link_source(db, item_id, source_id, draft, now)
        tags.apply_tagger_tags(db, item_id, draft.topics)
        # The register's systems this version names become suggested links (never undoing a person's).
        systems.suggest_for_item(db, item_id, title, _clip(draft.summary, MAX_SUMMARY),
                                 _clip(draft.text, MAX_TEXT))
        if watched:
            db.execute(
                "INSERT INTO page_versions (item_id, fetched_at, fingerprint, title, text) "
                "VALUES (?, ?, ?, ?, ?)",
                [item_id, now, fingerprint, title, text],
            )
        outbox.enqueue(db, [item_id])
    return StoreResult(item_id, outcome)


def link_known(db: Database, url: str, source_id: int, guid: str = "") -> StoreResult | None:
    """Record that a source carried an article already stored (by canonical URL); None if it is not known."""
    canonical = canonical_url(url)
    with transaction(db):
        row = db.execute("SELECT id FROM items WHERE canonical_url = ?", [canonical]).fetchone()
        if row is None:
            return None
        if _link_source(db, int(row[0]), source_id, ItemDraft(url=url, title="", guid=guid), utcnow()):
            outbox.enqueue(db, [int(row[0])])
    return StoreResult(int(row[0]), "duplicate")


@dataclass(frozen=True)
class PageVersion:
    id: int
    fetched_at: str
    fingerprint: str
    title: str
    text: str


def page_versions(db: Database, item_id: int) -> list[PageVersion]:
    """What a watched page said over time, oldest first."""
    return [
        PageVersion(r["id"], r["fetched_at"], r["fingerprint"], r["title"], r["text"])
        for r in db.query("SELECT * FROM page_versions WHERE item_id = ? ORDER BY id", [item_id])
    ]


def known_urls(db: Database, urls: Sequence[str]) -> set[str]:
    """Those of these canonical URLs that are items already (to skip re-fetching known articles)."""
    found: set[str] = set()
    for start in range(0, len(urls), 500):
        chunk = list(urls[start : start + 500])
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(
            f"SELECT canonical_url FROM items WHERE canonical_url IN ({marks})", chunk))  # noqa: S608
    return found


def _item_from_row(row: dict, item_tags: Iterable[tags.Tag] = (), sources: Iterable[ItemSource] = (),
                   case_ids: Iterable[int] = ()) -> Item:
    return Item(
        id=row["id"], url=row["url"], canonical_url=row["canonical_url"], fingerprint=row["fingerprint"],
        title=row["title"], summary=row["summary"], text=row["text"], author=row["author"],
        site_name=row["site_name"], language=row["language"], language_prob=row["language_prob"],
        published=row["published"], relevant=bool(row["relevant"]), relevance_score=row["relevance_score"],
        status=row["status"], in_digest=bool(row["in_digest"]), created_at=row["created_at"],
        updated_at=row["updated_at"], tags=tuple(item_tags), sources=tuple(sources), case_ids=tuple(case_ids),
        relevance_verdict=row.get("relevance_verdict", ""), relevance_reason=row.get("relevance_reason", ""),
        model_score=row.get("model_score"),
        model_features=tuple(json.loads(row.get("model_features") or "[]")),
        relevance_judge=row.get("relevance_judge", ""),
    )


def load_items(db: Database, item_ids: Sequence[int]) -> list[Item]:
    """The items with these ids (missing ones left out), with tags, sources and cases, in the order asked."""
    ids = [int(i) for i in item_ids]
    if not ids:
        return []
    found: dict[int, Item] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = [dict(r) for r in db.query(f"SELECT * FROM items WHERE id IN ({marks})", chunk)]  # noqa: S608
        tag_map = tags.tags_for(db, chunk)
        source_map: dict[int, list[ItemSource]] = {}
        for r in db.query(
            f"SELECT l.item_id, l.source_id, s.name, s.url, l.entry_url, l.first_seen FROM item_sources l "  # noqa: S608
            f"JOIN sources s ON s.id = l.source_id WHERE l.item_id IN ({marks}) ORDER BY l.first_seen",
            chunk,
        ):
            source_map.setdefault(r["item_id"], []).append(
                ItemSource(r["source_id"], r["name"], r["url"], r["entry_url"], r["first_seen"])
            )
        case_map: dict[int, list[int]] = {}
        for r in db.query(
            f"SELECT item_id, case_id FROM case_items WHERE item_id IN ({marks}) ORDER BY case_id", chunk  # noqa: S608
        ):
            case_map.setdefault(r["item_id"], []).append(r["case_id"])
        for row in rows:
            found[row["id"]] = _item_from_row(
                row, tag_map.get(row["id"], ()), source_map.get(row["id"], ()), case_map.get(row["id"], ())
            )
    return [found[i] for i in ids if i in found]


def find_item(db: Database, item_id: int) -> Item | None:
    """The item, or None."""
    loaded = load_items(db, [item_id])
    return loaded[0] if loaded else None


def get_item(db: Database, item_id: int) -> Item:
    """The item; raises NotFound."""
    item = find_item(db, item_id)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return item


def item_ids(db: Database) -> list[int]:
    """Every item id, ascending."""
    return [row[0] for row in db.execute("SELECT id FROM items ORDER BY id")]


def iter_items(db: Database, batch_size: int = 500, *, after: int = 0,
               up_to: int | None = None) -> Iterator[Item]:
    """Every item in id order (or those with after < id <= up_to), loaded in batches."""
    last = after
    below = "" if up_to is None else f" AND id <= {int(up_to)}"
    while True:
        ids = [r[0] for r in db.execute(f"SELECT id FROM items WHERE id > ?{below} ORDER BY id LIMIT ?",  # noqa: S608
                                        [last, batch_size])]
        if not ids:
            return
        yield from load_items(db, ids)
        last = ids[-1]


def count_items(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM items").fetchone()[0])


def delete_item(db: Database, item_id: int) -> None:
    """Remove an item and everything attached to it; the index forgets it through the outbox."""
    with transaction(db):
        if db.execute("DELETE FROM items WHERE id = ?", [item_id]).rowcount == 0:
            raise NotFound(f"item {item_id} does not exist")
        outbox.enqueue(db, [item_id])


def topic_labels(topic_ids: Iterable[str]) -> list[str]:
    """The topics as a person reads them (English labels; an id the taxonomy no longer has stays as is).
    Exports carry these beside the keys, which stay in their own column for programs."""
    taxonomy = load_taxonomy()
    return [taxonomy.label(topic) if topic in taxonomy else topic for topic in topic_ids]


def export_record(item: Item) -> dict[str, object]:
    """The flat record `kb items export` writes: one per item, lists for topics, sectors and countries."""
    active = item.topics

    def facet(name: str) -> list[str]:
        return [t for t in active if t.partition("/")[0] == name]

    return {
        "id": item.id,
        "url": item.url,
        "canonical_url": item.canonical_url,
        "title": item.title,
        "text": item.text,
        "summary": item.summary,
        "author": item.author,
        "language": item.language,
        "topics": active,
        "topic_labels": topic_labels(active),
        "language_name": language_name(item.language or "und"),
        "sectors": facet("sector"),
        "countries": facet("country"),
        "relevant": item.relevant,
        "status": item.status,
        "in_digest": item.in_digest,
        "published": item.published,
        "created_at": item.created_at,
        "sources": [s.url for s in item.sources],
        "cases": list(item.case_ids),
    }


def dumps(record: dict[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False)

"""Turning an item into the fields of its search document: a pure function, tested without Whoosh."""

from __future__ import annotations

from datetime import UTC, datetime

from kb.items import Item

EXCERPT_CHARS = 1_200


def parse_published(value: str | None) -> datetime | None:
    """The stored ISO timestamp as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def facet_of(topic: str) -> str:
    """A topic id names its facet: `sector/health` is in the sector facet."""
    return topic.partition("/")[0]


def item_document(item: Item) -> dict[str, object]:
    """The search fields of one item."""
    active = item.topics
    by_facet: dict[str, list[str]] = {"sector": [], "system": [], "right": [], "country": []}
    for topic in active:
        if facet_of(topic) in by_facet:
            by_facet[facet_of(topic)].append(topic)
    published = parse_published(item.published) or parse_published(item.created_at)
    body = item.text or item.summary
    return {
        "id": str(item.id),
        "kind": "item",
        "title": item.title,
        "text": body,
        "excerpt": body[:EXCERPT_CHARS],
        "language": item.language,
        "topic": active,
        "sector": by_facet["sector"],
        "system": by_facet["system"],
        "right": by_facet["right"],
        "country": by_facet["country"],
        "source": [str(s.source_id) for s in item.sources],
        "source_name": " ".join(s.name for s in item.sources),
        "status": item.status,
        "relevant": "yes" if item.relevant else "no",
        "digest": "yes" if item.in_digest else "no",
        "case": [str(c) for c in item.case_ids],
        "published": published,
        "month": published.strftime("%Y-%m") if published else "",
    }

"""Items, contacts, case files and systems as the fields of their search documents: pure, no Whoosh.

All text analysis happens here, once, through kb.textnorm: the index receives the words of `title` and
`text` folded and stemmed with the item's own language, joined by spaces; its analyzer only splits on
spaces. `words` holds each folded word of title and text once, unstemmed, so that the words typed exactly
rank above their inflections. `phrases` keeps those stems in order, for checking phrases (which therefore
match on stems: "automated decision" finds "automated decisions"). The query side (kb.index.query) folds
and stems query words with the same functions, so both sides always agree. `vocab` holds the unstemmed
words of the title and the lead, for "did you mean".

Contacts, case files and systems keep their words in fields of their own (`private_title`, `private_text`),
so that the item vocabulary, which feeds "did you mean" and "similar items", never holds a contact's name.
A system's name and aliases (any script) are its title; organisation, supplier and description its text.
Items carry the ids of the systems they are confirmed to be about (`system`), never mere suggestions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from kb.items import Item
from kb.storage.db import parse_published
from kb.text.normalize import stem_all, tokenize
from kb.text.taxonomy import topic_facet

EXCERPT_CHARS = 1_200
# Words indexed per item body: a 300,000-character page is searchable, but only its first 50,000 words.
MAX_BODY_WORDS = 50_000
# Words of the body, after the title's, that feed the "did you mean" vocabulary.
VOCAB_LEAD_WORDS = 20
ITEM, CONTACT, CASE, SYSTEM = "item", "contact", "case", "system"
KINDS = (ITEM, CONTACT, CASE, SYSTEM)


def date_number(moment: datetime | None) -> int:
    """How the index sorts and filters dates: whole seconds since 1970 (UTC), 0 for none."""
    return int(moment.timestamp()) if moment else 0


def words(text: str, limit: int | None = None) -> list[str]:
    """The folded words of a text, in order (the unit of the `title`, `text` and private fields)."""
    tokens = tokenize(text)
    return tokens if limit is None else tokens[:limit]


def _stems(tokens: list[str], language: str) -> list[str]:
    """stem_all, asked once per distinct word (a text repeats half of its words)."""
    distinct = list(dict.fromkeys(tokens))
    stem_of = dict(zip(distinct, stem_all(distinct, language), strict=True))
    return [stem_of[token] for token in tokens]


def document_key(kind: str, record_id: int) -> str:
    """The unique `id` of a document: the bare number for items, `contact:5` or `case:7` for the others."""
    return str(record_id) if kind == ITEM else f"{kind}:{record_id}"


def parse_key(key: str) -> tuple[str, int]:
    """(kind, id) of a document key made by document_key."""
    kind, _, number = key.rpartition(":")
    return (kind or ITEM), int(number)


def item_document(item: Item, system_ids: Sequence[int] = ()) -> dict[str, object]:
    """The search fields of one item; `system_ids`: the systems it is confirmed to be about."""
    active = item.topics
    by_facet: dict[str, list[str]] = {"sector": [], "country": []}
    for topic in active:
        if topic_facet(topic) in by_facet:
            by_facet[topic_facet(topic)].append(topic)
    published = parse_published(item.published) or parse_published(item.created_at)
    body = item.text or item.summary
    title_words = words(item.title)
    body_words = words(body, MAX_BODY_WORDS)
    title_stems = " ".join(_stems(title_words, item.language))
    text_stems = " ".join(_stems(body_words, item.language))
    return {
        "id": document_key(ITEM, item.id),
        "kind": ITEM,
        "title": title_stems,
        "text": text_stems,
        # Title and text stems in order, each word between spaces, for checking phrases ("\n" between).
        "phrases": f" {title_stems} \n {text_stems} ".encode(),
        "vocab": " ".join(dict.fromkeys(title_words + body_words[:VOCAB_LEAD_WORDS])),
        "words": " ".join(dict.fromkeys(title_words + body_words)),
        "heading": item.title,
        "excerpt": body[:EXCERPT_CHARS],
        "language": item.language,
        "topic": active,
        "sector": by_facet["sector"],
        "country": by_facet["country"],
        "source": [str(s.source_id) for s in item.sources],
        "source_name": " ".join(words(" ".join(s.name for s in item.sources))),
        "status": item.status,
        "case": [str(c) for c in item.case_ids],
        "system": [str(s) for s in sorted(set(system_ids))],
        "published": published,
        "date": date_number(published),
        "month": published.strftime("%Y-%m") if published else "",
    }


class ContactLike(Protocol):
    """What contact_document reads from a contact (kb.contacts' record, or any object with these)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def organisation(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def expertise(self) -> Sequence[str]: ...
    @property
    def notes(self) -> str: ...
    @property
    def sensitivity(self) -> str: ...  # "normal" or "restricted"


class CaseLike(Protocol):
    """What case_document reads from a case file."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def sector(self) -> str: ...
    @property
    def system_name(self) -> str: ...
    @property
    def system_agency(self) -> str: ...
    @property
    def status(self) -> str: ...


class SystemLike(Protocol):
    """What system_document reads from a system of the register (kb.systems.System)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def organisation(self) -> str: ...
    @property
    def external_supplier(self) -> str: ...
    @property
    def description(self) -> str: ...


def contact_document(contact: ContactLike) -> dict[str, object]:
    """The search fields of one contact: names, organisation, role, expertise and notes, in private fields."""
    parts = (contact.organisation, contact.role, ", ".join(contact.expertise))
    described = " · ".join(part for part in parts if part)
    body = "\n".join(part for part in (described, contact.notes) if part)
    return {
        "id": document_key(CONTACT, contact.id),
        "kind": CONTACT,
        "private_title": " ".join(words(contact.name)),
        "private_text": " ".join(words(body, MAX_BODY_WORDS)),
        "heading": contact.name,
        "excerpt": body[:EXCERPT_CHARS],
        "sensitivity": contact.sensitivity or "normal",
    }


def case_document(case: CaseLike) -> dict[str, object]:
    """The search fields of one case file: title, summary and the system it is about."""
    system = " · ".join(part for part in (case.system_name, case.system_agency) if part)
    body = "\n".join(part for part in (system, case.summary) if part)
    return {
        "id": document_key(CASE, case.id),
        "kind": CASE,
        "private_title": " ".join(words(case.title)),
        "private_text": " ".join(words(body, MAX_BODY_WORDS)),
        "heading": case.title,
        "excerpt": body[:EXCERPT_CHARS],
    }


def system_document(system: SystemLike) -> dict[str, object]:
    """The search fields of one system: name and aliases as its title; organisation, supplier and
    description as its text."""
    names = [system.name, *system.aliases]
    who = " · ".join(part for part in (system.organisation, system.external_supplier) if part)
    body = "\n".join(part for part in (", ".join(system.aliases), who, system.description) if part)
    return {
        "id": document_key(SYSTEM, system.id),
        "kind": SYSTEM,
        "private_title": " ".join(words(" ".join(names))),
        "private_text": " ".join(words("\n".join(p for p in (who, system.description) if p), MAX_BODY_WORDS)),
        "heading": system.name,
        "excerpt": body[:EXCERPT_CHARS],
    }

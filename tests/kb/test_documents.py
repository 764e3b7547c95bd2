"""kb.documents: items, contacts and case files as search fields. Pure: no database, no Whoosh."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from kb.items import Item, ItemSource
from kb.search.documents import (
    CASE,
    CONTACT,
    EXCERPT_CHARS,
    ITEM,
    MAX_BODY_WORDS,
    case_document,
    contact_document,
    document_key,
    item_document,
    parse_key,
)
from kb.storage.db import parse_published
from kb.tags import Tag
from kb.text.normalize import stem
from kb.text.taxonomy import topic_facet


def tag(topic: str, state: str = "active") -> Tag:
    return Tag(topic, "tagger", state, (), False, None, None)


def make_item(**overrides: object) -> Item:
    values: dict[str, object] = dict(
        id=7, url="https://example.org/a", canonical_url="https://example.org/a", fingerprint="f",
        title="Les algorithmes de la CAF", summary="", text="La Caisse utilise des algorithmes de notation.",
        author="", site_name="", language="fr", language_prob=0.99, published="2025-03-04T10:00:00+00:00",
        relevant=True, relevance_score=1.0, status="accepted", in_digest=False,
        created_at="2025-03-05T00:00:00+00:00", updated_at="2025-03-05T00:00:00+00:00",
        tags=(tag("sector/welfare"), tag("country/fr"), tag("right/privacy"),
              tag("sector/health", "removed")),
        sources=(ItemSource(3, "Le Monde", "https://lemonde.fr/rss", "https://lemonde.fr/a", "2025-03-05"),),
        case_ids=(2, 5),
    )
    values.update(overrides)
    return Item(**values)  # type: ignore[arg-type]


def test_item_text_is_folded_and_stemmed_in_the_items_language() -> None:
    document = item_document(make_item(title="Les Algorithmes", text="Décisions automatisées"))
    assert document["title"] == f"{stem('les', 'fr')} {stem('algorithmes', 'fr')}"
    assert document["text"] == " ".join(stem(w, "fr") for w in ("decisions", "automatisees"))
    assert stem("algorithmes", "fr") == stem("algorithme", "fr")


def test_phrases_keep_the_stems_in_order_title_first() -> None:
    document = item_document(make_item(title="Les Algorithmes", text="Décisions automatisées"))
    assert document["phrases"] == f" {document['title']} \n {document['text']} ".encode()


def test_vocab_holds_unstemmed_distinct_words_of_title_and_lead() -> None:
    document = item_document(make_item(title="Algorithmes algorithmes", text="Höchstgericht urteilt"))
    assert document["vocab"] == "algorithmes hochstgericht urteilt"


def test_language_without_stemmer_keeps_folded_words() -> None:
    document = item_document(make_item(language="und", title="Protección", text="Protección social"))
    assert document["title"] == "proteccion"
    assert document["text"] == "proteccion social"


def test_arabic_is_normalised() -> None:
    document = item_document(make_item(language="und", title="", text="المُؤسَّسة إدارة"))
    assert document["text"] == "الموسسه اداره"


def test_facets_come_from_active_topics_only() -> None:
    document = item_document(make_item())
    assert document["topic"] == ["sector/welfare", "country/fr", "right/privacy"]
    assert document["sector"] == ["sector/welfare"]
    assert document["country"] == ["country/fr"]
    assert document["source"] == ["3"]
    assert document["source_name"] == "le monde"
    assert document["case"] == ["2", "5"]
    assert document["status"] == "accepted"


def test_published_falls_back_to_created_and_gives_the_month() -> None:
    document = item_document(make_item(published=None))
    assert document["published"] == datetime(2025, 3, 5, tzinfo=UTC)
    assert document["month"] == "2025-03"
    assert document["date"] == int(datetime(2025, 3, 5, tzinfo=UTC).timestamp())
    assert item_document(make_item(published="2024-12-31T23:30:00-02:00"))["month"] == "2025-01"


def test_summary_stands_in_for_a_missing_text_and_the_excerpt_is_bounded() -> None:
    document = item_document(make_item(text="", summary="Résumé court"))
    assert document["text"] == " ".join(stem(w, "fr") for w in ("resume", "court"))
    long = item_document(make_item(text="mot " * 2_000))
    assert len(str(long["excerpt"])) == EXCERPT_CHARS
    huge = item_document(make_item(text="mot " * (MAX_BODY_WORDS + 10)))
    assert len(str(huge["text"]).split()) == MAX_BODY_WORDS


def test_display_fields_keep_the_original_text() -> None:
    document = item_document(make_item(title="Les <b>Algorithmes</b>"))
    assert document["heading"] == "Les <b>Algorithmes</b>"
    assert document["kind"] == ITEM
    assert document["id"] == "7"


@dataclass(frozen=True)
class Contact:
    id: int = 5
    name: str = "Amina Haddad"
    organisation: str = "Digital Rights Lab"
    role: str = "researcher"
    country: str = "ma"
    expertise: tuple[str, ...] = ("welfare algorithms", "audits")
    notes: str = "Met at RightsCon"
    sensitivity: str = "restricted"


@dataclass(frozen=True)
class Case:
    id: int = 9
    title: str = "SyRI risk scoring"
    summary: str = "Welfare fraud scoring in Rotterdam"
    country: str = "nl"
    sector: str = "welfare"
    system_name: str = "SyRI"
    system_agency: str = "Ministry of Social Affairs"
    status: str = "open"


def test_contacts_keep_their_words_out_of_item_fields() -> None:
    document = contact_document(Contact())
    assert document["id"] == "contact:5"
    assert document["kind"] == CONTACT
    assert document["private_title"] == "amina haddad"
    assert "digital rights lab" in str(document["private_text"])
    assert "audits" in str(document["private_text"])
    assert document["sensitivity"] == "restricted"
    # Nothing that feeds "did you mean", similar items or facets.
    for name in ("title", "text", "vocab", "language", "topic", "source", "case"):
        assert name not in document
    assert contact_document(replace(Contact(), sensitivity=""))["sensitivity"] == "normal"


def test_case_files_are_searchable_by_title_summary_and_system() -> None:
    document = case_document(Case())
    assert document["id"] == "case:9"
    assert document["kind"] == CASE
    assert document["private_title"] == "syri risk scoring"
    assert "rotterdam" in str(document["private_text"])
    assert "ministry" in str(document["private_text"])
    assert "title" not in document and "vocab" not in document


@pytest.mark.parametrize(("kind", "number", "key"),
                         [(ITEM, 12, "12"), (CONTACT, 3, "contact:3"), (CASE, 4, "case:4")])
def test_document_keys_round_trip(kind: str, number: int, key: str) -> None:
    assert document_key(kind, number) == key
    assert parse_key(key) == (kind, number)


def test_small_helpers() -> None:
    assert topic_facet("sector/health") == "sector"
    assert topic_facet("relevance:system") == "relevance:system"
    assert parse_published("not a date") is None
    assert parse_published(None) is None
    assert parse_published("2025-01-01T00:00:00") == datetime(2025, 1, 1, tzinfo=UTC)

"""The shipped taxonomy loads and is complete; broken taxonomy files are refused with a useful message."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import InvalidInput, NotFound
from kb.text.normalize import tokenize
from kb.text.taxonomy import FACETS, Taxonomy, Topic, is_abbreviation, load_taxonomy, parse_taxonomy

REQUIRED_LANGUAGES = ("en", "fr", "es", "de", "nl", "pt", "ar")
REQUIRED_TOPICS = {
    "sector/welfare", "sector/education", "sector/health",
    "system/risk-scoring", "system/eligibility", "system/biometrics", "system/predictive",
    "system/exam-grading", "system/triage", "system/chatbots",
    "right/discrimination", "right/privacy", "right/transparency", "right/due-process", "right/exclusion",
}
REQUIRED_COUNTRIES = (
    "nl fr es de gb us au at it pt br in dk se pl rs jo eg ma tn ke za ca be".split()
)

VALID_TOPIC = """
[[topic]]
id = "sector/welfare"
facet = "sector"
label = "Welfare"
labels = { fr = "Protection sociale" }

[topic.terms]
en = ["welfare", "social security"]
fr = ["protection sociale"]
"""


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def test_shipped_taxonomy_has_the_required_topics(taxonomy: Taxonomy):
    ids = {topic.id for topic in taxonomy}
    assert REQUIRED_TOPICS <= ids
    assert {f"country/{code}" for code in REQUIRED_COUNTRIES} <= ids
    assert len(ids) == len(taxonomy.topics)


@pytest.mark.parametrize("language", REQUIRED_LANGUAGES)
def test_every_topic_has_terms_and_a_label_in_each_language(taxonomy: Taxonomy, language: str):
    for topic in taxonomy:
        assert topic.terms.get(language), f"{topic.id} has no {language} terms"
        assert topic.labels.get(language), f"{topic.id} has no {language} label"


def test_every_topic_is_well_formed(taxonomy: Taxonomy):
    for topic in taxonomy:
        assert topic.facet in FACETS
        assert topic.id.startswith(topic.facet + "/")
        assert topic.label == topic.labels["en"]
        for terms in topic.terms.values():
            assert all(is_abbreviation(term) or tokenize(term) for term in terms)


def test_relevance_lists_cover_each_language(taxonomy: Taxonomy):
    for language in REQUIRED_LANGUAGES:
        assert taxonomy.system_terms.get(language), language
        assert taxonomy.public_terms.get(language), language
    assert "algorithm" in taxonomy.system_terms["en"]
    assert "government" in taxonomy.public_terms["en"]
    # AI named in passing is everywhere in the news: a cue (two cues, or one in the headline, make a
    # system), searched in every language since it is written the same in most.
    assert "AI" in taxonomy.automation_terms["all"]
    assert not any("AI" in terms for terms in taxonomy.system_terms.values())


def test_examples_from_the_brief_are_terms(taxonomy: Taxonomy):
    netherlands = taxonomy.get("country/nl").all_terms()
    for term in ("Netherlands", "Dutch", "Pays-Bas", "néerlandais", "Países Bajos", "Niederlande",
                 "niederländisch", "Nederland", "Nederlandse", "Holanda", "Paesi Bassi", "هولندا"):
        assert term in netherlands
    risk = taxonomy.get("system/risk-scoring").all_terms()
    for term in ("risk score", "score de risque", "détection de la fraude", "Betrugserkennung",
                 "fraudeopsporing", "risicoprofiel"):
        assert term in risk
    assert "خوارزمية" in taxonomy.system_terms["ar"]


def test_lookups(taxonomy: Taxonomy):
    topic = taxonomy.get("system/risk-scoring")
    assert isinstance(topic, Topic)
    assert topic.facet == "system"
    assert topic.label == "Risk scoring and fraud detection"
    assert taxonomy.find("system/risk-scoring") is topic
    assert taxonomy.find("system/nothing") is None
    with pytest.raises(NotFound):
        taxonomy.get("system/nothing")
    assert taxonomy.facet_of("country/nl") == "country"
    with pytest.raises(NotFound):
        taxonomy.facet_of("country/zz")
    assert "sector/health" in taxonomy
    assert "sector/nothing" not in taxonomy


def test_by_facet_keeps_file_order(taxonomy: Taxonomy):
    assert [topic.id for topic in taxonomy.by_facet("sector")] == [
        "sector/welfare", "sector/education", "sector/health",
    ]
    assert len(taxonomy.by_facet("right")) == 5
    assert all(topic.facet == "country" for topic in taxonomy.by_facet("country"))
    with pytest.raises(InvalidInput):
        taxonomy.by_facet("colour")


def test_labels_fall_back_to_english(taxonomy: Taxonomy):
    assert taxonomy.label("country/nl") == "Netherlands"
    assert taxonomy.label("country/nl", "fr") == "Pays-Bas"
    assert taxonomy.label("country/nl", "pt-BR") == "Países Baixos"
    assert taxonomy.label("country/nl", "ar") == "هولندا"
    assert taxonomy.label("country/nl", "sv") == "Netherlands"


def test_default_load_is_cached(taxonomy: Taxonomy):
    assert load_taxonomy() is taxonomy


def test_loading_an_explicit_path(tmp_path: Path):
    path = tmp_path / "taxonomy.toml"
    path.write_text(VALID_TOPIC, encoding="utf-8")
    loaded = load_taxonomy(path)
    assert [topic.id for topic in loaded] == ["sector/welfare"]
    assert loaded.get("sector/welfare").terms["en"] == ("welfare", "social security")
    assert loaded.label("sector/welfare", "fr") == "Protection sociale"
    assert dict(loaded.system_terms) == {}


def test_abbreviation_rule():
    for term in ("AI", "KI", "UWV", "SyRI", "U.S.", "EE.UU.", "LLM"):
        assert is_abbreviation(term), term
    for term in ("Dutch", "VioGén", "DigiD", "generative AI", "L'Aia", "AMS-Algorithmus", "Parcoursup"):
        assert not is_abbreviation(term), term


def _topic(body: str, topic_id: str = "sector/welfare", facet: str = "sector") -> str:
    return f'[[topic]]\nid = "{topic_id}"\nfacet = "{facet}"\nlabel = "A label"\n{body}\n'


BROKEN = {
    "unknown facet": (
        VALID_TOPIC + _topic('[topic.terms]\nen = ["colour"]', "colour/red", "colour"),
        ["topic #2", "colour/red", "line 11", "unknown facet 'colour'"],
    ),
    "id not matching facet": (
        VALID_TOPIC + _topic('[topic.terms]\nen = ["school"]', "system/schools", "sector"),
        ["topic #2", "system/schools", "does not match facet 'sector'"],
    ),
    "empty terms": (
        VALID_TOPIC + _topic('[topic.terms]\nen = ["school"]\nfr = []', "sector/education"),
        ["topic #2", "sector/education", "terms.fr is empty"],
    ),
    "no terms": (
        _topic("", "sector/education"),
        ["topic #1", "sector/education", "line 1", "at least one term"],
    ),
    "duplicate id": (
        VALID_TOPIC + VALID_TOPIC,
        ["topic #2", "sector/welfare", "duplicate id", "topic #1"],
    ),
    "blank term": (
        _topic('[topic.terms]\nen = ["school", "  "]', "sector/education"),
        ["sector/education", "empty or non-text term"],
    ),
    "term without words": (
        _topic('[topic.terms]\nen = ["school", "--"]', "sector/education"),
        ["sector/education", "'--' has no word to match"],
    ),
    "bad language": (
        _topic('[topic.terms]\nEnglish = ["school"]', "sector/education"),
        ["sector/education", "'English' is not a language code"],
    ),
    "unknown key": (
        _topic('term = ["school"]\n[topic.terms]\nen = ["school"]', "sector/education"),
        ["sector/education", "unknown key(s) term"],
    ),
    "bad country id": (
        _topic('[topic.terms]\nen = ["Mexico"]', "country/mexico", "country"),
        ["country/mexico", "two-letter ISO code"],
    ),
    "bad id": (
        _topic('[topic.terms]\nen = ["school"]', "sector/Schools!"),
        ["sector/Schools!", "must look like 'facet/name'"],
    ),
    "missing label": (
        '[[topic]]\nid = "sector/health"\nfacet = "sector"\n[topic.terms]\nen = ["hospital"]\n',
        ["sector/health", "label"],
    ),
    "no topics": ("# nothing here\n", ["no topics"]),
    "unknown section": (VALID_TOPIC + "\n[topics]\nx = 1\n", ["unknown section(s) topics"]),
    "bad relevance list": (
        VALID_TOPIC + '\n[relevance.system_terms]\nen = []\n',
        ["[relevance]", "relevance.system_terms.en is empty"],
    ),
    "bad TOML": (
        VALID_TOPIC + '\n[[topic]]\nid = "sector/health\n',
        ["not valid TOML", "line 13"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_taxonomy_files_are_refused_naming_the_entry(tmp_path: Path, case: str):
    text, fragments = BROKEN[case]
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        load_taxonomy(path)
    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_unreadable_file_is_invalid_input(tmp_path: Path):
    with pytest.raises(InvalidInput, match="cannot read"):
        load_taxonomy(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InvalidInput):
        load_taxonomy(binary)


def test_parse_taxonomy_names_its_source():
    with pytest.raises(InvalidInput, match=r"^coordinator\.toml: "):
        parse_taxonomy("[[topic]]\nid = 3\n", source="coordinator.toml")

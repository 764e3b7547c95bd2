"""kb.search across languages: concept expansion and its note, the toggle, the AND->OR fallback, the
query-length note, stems kept in the item's language, exact words first, titles highlighted.

Expected sets are worked out here from the items as stored (their topics and their folded words), not from
the search engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kb import items as items_store
from kb.items import ItemDraft
from kb.knowledge import KnowledgeBase
from kb.search.concepts import concept_label, concepts_of
from kb.search.index.parser import MAX_QUERY_CHARS
from kb.search.service import SearchResults, search
from kb.text.normalize import tokenize
from kb.text.tagging import TopicEvidence
from kb.text.taxonomy import load_taxonomy
from tests.factories import make_kb

START = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Story:
    name: str
    language: str
    title: str
    text: str
    topics: tuple[str, ...] = ()


# Items whose words do not name the concepts they are tagged with (the tagger found them through other
# terms), in several languages, and a few holding the words themselves.
STORIES = [
    Story("caf", "fr", "La CAF note les allocataires", "Un algorithme de notation des allocataires.",
          ("sector/welfare", "country/fr")),
    Story("france-word", "en", "France audits its scoring", "In France, the audit of the scoring model.",
          ("country/fr",)),
    Story("parcoursup", "fr", "Parcoursup et les lycéens", "La plateforme classe les candidats.",
          ("sector/education", "country/fr")),
    Story("cnil", "fr", "La Cnil sanctionne", "Une sanction pour le traitement des données.",
          ("country/fr",)),
    Story("paris-police", "fr", "Vidéosurveillance à Paris", "Des caméras augmentées pour les JO.",
          ("system/biometrics", "country/fr")),
    Story("pole", "fr", "Pôle emploi contrôle", "Le contrôle des chômeurs par un score.",
          ("sector/welfare", "country/fr")),
    Story("defenseur", "fr", "Le Défenseur des droits alerte", "Un rapport sur la dématérialisation.",
          ("country/fr",)),
    Story("cnaf", "fr", "La Cnaf publie son code", "Le code source du score de risque.",
          ("sector/welfare", "country/fr")),
    Story("uwv", "nl", "UWV stopt met risicoprofielen", "Het UWV gebruikte een algoritme.",
          ("sector/welfare", "country/nl")),
    Story("syri", "nl", "SyRI verboden door de rechter", "De rechter oordeelde over SyRI.",
          ("sector/welfare", "country/nl")),
    Story("kela", "fi", "Kela ja algoritmit", "Kela käyttää automaattista päätöksentekoa.",
          ("sector/welfare",)),
    Story("fk", "sv", "Försäkringskassan granskas", "Myndighetens riskmodell granskas.",
          ("sector/welfare", "country/se")),
    Story("trelleborg", "sv", "Trelleborg automatiserar", "Kommunen använder robotar för beslut.",
          ("sector/welfare", "country/se")),
    Story("gladsaxe", "da", "Gladsaxe-modellen", "Kommunen ville finde udsatte børn med data.",
          ("sector/welfare", "country/dk")),
    Story("face-es", "es", "Cámaras en el metro", "El metro identifica a los viajeros con cámaras.",
          ("system/biometrics", "country/es")),
    Story("face-pt", "pt", "Câmeras nas escolas", "As escolas identificam alunos por câmeras.",
          ("system/biometrics", "country/br")),
    Story("face-word", "en", "Facial recognition at the border", "Facial recognition checks travellers.",
          ("system/biometrics",)),
    Story("welfare-word", "en", "Welfare algorithm in France", "The welfare office scores claimants.",
          ("sector/welfare", "country/fr")),
    Story("hospital", "en", "Hospital triage model", "A triage model ranks patients.", ("sector/health",)),
]

# (query, its language, the topics it names): concept expansion in more than eight languages.
EXPANDING = [
    ("welfare", "en", {"sector/welfare"}),
    ("aide sociale", "fr", {"sector/welfare"}),
    ("Sozialleistungen", "de", {"sector/welfare"}),
    ("uitkeringen", "nl", {"sector/welfare"}),
    ("protección social", "es", {"sector/welfare"}),
    ("protezione sociale", "it", {"sector/welfare"}),
    ("velfærd", "da", {"sector/welfare"}),
    ("toimeentulotuki", "fi", {"sector/welfare"}),
    ("facial recognition", "en", {"system/biometrics"}),
    ("reconhecimento facial", "pt", {"system/biometrics"}),
    ("reconocimiento facial", "es", {"system/biometrics"}),
    ("France", "en", {"country/fr"}),
    ("Netherlands", "en", {"country/nl"}),
    ("Sverige", "sv", {"country/se"}),
    ("Frankreich", "de", {"country/fr"}),
]


@dataclass
class Corpus:
    kb: KnowledgeBase
    ids: dict[str, int]

    def names(self, results: SearchResults) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[hit.id] for hit in results.hits]

    def find(self, query: str, **options: object) -> list[str]:
        return self.names(search(self.kb, query, page_size=100, **options))  # type: ignore[arg-type]

    def tagged(self, topics: set[str]) -> set[str]:
        """The items tagged with any of the topics, read from the database."""
        found = set()
        for item in items_store.iter_items(self.kb.db):
            if topics & set(item.topics):
                found.add(next(name for name, i in self.ids.items() if i == item.id))
        return found

    def holding(self, query: str) -> set[str]:
        """The items holding every word of the query as typed (folded), read from the database."""
        words = set(tokenize(query))
        found = set()
        for item in items_store.iter_items(self.kb.db):
            if words <= set(tokenize(f"{item.title} {item.text}")):
                found.add(next(name for name, i in self.ids.items() if i == item.id))
        return found


def store(kb: KnowledgeBase, stories: list[Story]) -> dict[str, int]:
    ids = {}
    for n, story in enumerate(stories):
        draft = ItemDraft(url=f"https://example.org/{story.name}", title=story.title, text=story.text,
                          language=story.language, published=START + timedelta(days=n),
                          topics=tuple(TopicEvidence(t) for t in story.topics))
        ids[story.name] = items_store.store_item(kb.db, draft).item_id
    kb.sync_index()
    return ids


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    kb = make_kb(tmp_path_factory.mktemp("concepts") / "data")
    try:
        yield Corpus(kb, store(kb, STORIES))
    finally:
        kb.close()


# --- concept expansion -------------------------------------------------------------------------------


def test_the_queries_name_their_concepts_in_the_taxonomy() -> None:
    """The table above is the taxonomy's: each query is a term of its topics (checked on the file)."""
    taxonomy = load_taxonomy()
    for query, language, topics in EXPANDING:
        for topic in topics:
            terms = {tuple(tokenize(t)) for lang, ts in taxonomy.get(topic).terms.items() for t in ts
                     if lang in (language, "en", "all")}
            assert tuple(tokenize(query)) in terms, (query, topic)
        assert concepts_of(tokenize(query), query) == topics
    assert len({language for _, language, _ in EXPANDING}) >= 8


@pytest.mark.parametrize(("query", "language", "topics"), EXPANDING, ids=[q for q, _, _ in EXPANDING])
def test_a_concept_in_any_language_finds_the_items_tagged_with_it(
        corpus: Corpus, query: str, language: str, topics: set[str]) -> None:
    results = search(corpus.kb, query, page_size=100)
    found = corpus.names(results)
    expected = corpus.tagged(topics) | corpus.holding(query)
    assert set(found) == expected and len(found) == len(expected)
    # The items holding the words come first, then those found through their tags.
    holding = corpus.holding(query)
    assert set(found[:len(holding)]) == holding
    labels = ", ".join(concept_label(t) for t in sorted(topics))
    assert f"Also matched: {labels}" in " ".join(results.notes)
    assert "/" not in " ".join(results.notes)  # readable labels, never a raw key such as country/fr
    # Each hit says which of its topics found it, when it does not hold the words.
    for hit in results.hits:
        if hit.id in {corpus.ids[n] for n in corpus.tagged(topics) - holding}:
            assert hit.concepts == [concept_label(t) for t in hit.topics if t in topics]
        elif hit.id in {corpus.ids[n] for n in holding}:
            assert hit.concepts == []


def test_france_finds_every_item_tagged_france_the_one_naming_it_first(corpus: Corpus) -> None:
    found = corpus.find("France")
    tagged = corpus.tagged({"country/fr"})
    assert len(tagged) == 9 and set(found) == tagged  # before: the 2 holding the word
    assert set(found[:2]) == {"france-word", "welfare-word"}  # the two holding the word


def test_welfare_france_finds_items_tagged_with_both_or_holding_the_words(corpus: Corpus) -> None:
    results = search(corpus.kb, "welfare France", page_size=100)
    found = corpus.names(results)
    words = {"welfare": "sector/welfare", "france": "country/fr"}
    expected = {name for name in corpus.ids
                if all(name in corpus.tagged({topic}) | corpus.holding(word)
                       for word, topic in words.items())}
    assert expected >= {"caf", "pole", "cnaf", "welfare-word"}
    assert set(found) == expected
    assert found[0] == "welfare-word"  # holds both words
    assert "Also matched: Welfare and social protection, France" in " ".join(results.notes)


def test_expansion_can_be_turned_off(corpus: Corpus) -> None:
    assert set(corpus.find("France", expand=False)) == corpus.holding("France") == {"france-word",
                                                                                      "welfare-word"}
    assert set(corpus.find("=France")) == corpus.holding("France")  # the syntax: a leading =
    assert set(corpus.find("= France welfare")) == {"welfare-word"}
    assert set(corpus.find('"France"')) == corpus.holding("France")  # quoted words are never expanded
    off = search(corpus.kb, "=France")
    assert not any("Also matched" in note for note in off.notes)
    # A concept with no tagged item among the results is not named.
    assert concepts_of(["germany"]) == {"country/de"}
    assert not any("Also matched" in note for note in search(corpus.kb, "Germany").notes)


def test_words_under_not_and_fields_are_not_expanded(corpus: Corpus) -> None:
    # "-France" leaves out the items holding the word, not those tagged France (caf is, without the word).
    assert concepts_of(["notation"]) == set()
    assert corpus.find("notation -France") == corpus.find("notation -France", expand=False) == ["caf"]
    assert set(corpus.find("title:France")) == {"france-word", "welfare-word"}


# --- AND -> OR, query bounds ---------------------------------------------------------------------------


def test_an_and_query_finding_nothing_shows_the_or_results_with_a_note(corpus: Corpus) -> None:
    results = search(corpus.kb, "triage zeppelin", page_size=100)
    assert corpus.names(results) == ["hospital"]
    assert any("No result holds all the words" in note for note in results.notes)
    # Not when the AND finds something, nor for a lone word.
    assert not any("No result holds" in n for n in search(corpus.kb, "triage model").notes)
    lone = search(corpus.kb, "zeppelin")
    assert lone.total == 0 and not any("No result holds" in n for n in lone.notes)
    # The NOT part stays: no result holding "patients" comes back.
    assert corpus.find("triage zeppelin -patients") == []


def test_a_query_cut_to_its_length_says_so(corpus: Corpus) -> None:
    long_query = "triage " + "x" * (MAX_QUERY_CHARS + 50)
    results = search(corpus.kb, long_query)
    assert any(f"longer than {MAX_QUERY_CHARS} characters" in note for note in results.notes)
    assert corpus.names(results) == ["hospital"]


# --- stems in the item's language, exact words first, highlights ----------------------------------------

STEM_STORIES = [
    # The same stem in English: many "decision" against one "decisions".
    Story("decision-many", "en", "Decision decision decision", "decision decision decision decision"),
    Story("decisions-one", "en", "A long report", "The report lists " + "pages of tables and " * 30
          + "decisions of the council."),
    # Spanish: "punto" as typed, and "punta" (the same Spanish stem) many times in a short text.
    Story("punta", "es", "Punta punta", "punta punta punta"),
    Story("punto", "es", "Informe largo", "El informe " + "habla de muchas cosas y " * 30 + "un punto."),
    # Portuguese "incorporados" against an English "incorporated" (the same stem, were it taken in pt).
    Story("incorporated", "en", "Models incorporated", "The models incorporated the data."),
    Story("incorporado", "pt", "Dados incorporados", "Os dados incorporados ao sistema."),
    Story("title-only", "en", "Grading algorithm withdrawn", "The ministry said nothing more today."),
]


@pytest.fixture(scope="module")
def stems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    kb = make_kb(tmp_path_factory.mktemp("stems") / "data")
    try:
        yield Corpus(kb, store(kb, STEM_STORIES))
    finally:
        kb.close()


def test_exact_words_rank_above_words_of_the_same_stem(stems: Corpus) -> None:
    assert stems.find("decisions") == ["decisions-one", "decision-many"]
    assert stems.find("decision") == ["decision-many", "decisions-one"]
    assert stems.find("punto") == ["punto", "punta"]


def test_a_stem_is_taken_in_the_items_own_language_only(stems: Corpus) -> None:
    assert stems.find("incorporados") == ["incorporado"]  # not the English "incorporated"
    assert stems.find("incorporated") == ["incorporated"]


def test_the_title_is_highlighted_when_the_body_does_not_match(stems: Corpus) -> None:
    hit = search(stems.kb, "grading").hits[0]
    assert hit.id == stems.ids["title-only"]
    assert "<mark>" not in hit.snippet
    assert hit.title_html == "<mark>Grading</mark> algorithm withdrawn"
    # A hit matched through a stem in its language highlights that form; the body shows it: the title is
    # left as it is.
    hit = search(stems.kb, "incorporado").hits[0]
    assert re.search(r"<mark>incorporados</mark>", hit.snippet) and hit.title_html == ""


def test_parallel_concept_searches_give_the_serial_results(corpus: Corpus) -> None:
    """8 threads over the queries above (expanded, not expanded, falling back to OR) and their pages."""
    asks = [(query, page) for query, _, _ in EXPANDING for page in (1, 2)]
    asks += [("=France", 1), ("welfare France", 1), ("triage zeppelin", 1), ("decisions France", 1)]

    def run(ask: tuple[str, int]) -> tuple[int, list[tuple[int, float]], list[str]]:
        results = search(corpus.kb, ask[0], page=ask[1], page_size=3)
        return results.total, [(hit.id, hit.score) for hit in results.hits], results.notes

    serial = {ask: run(ask) for ask in asks}
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda ask: (ask, run(ask)), asks * 4))
    assert all(found == serial[ask] for ask, found in parallel)

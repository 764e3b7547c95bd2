"""kb.search on a real knowledge base: analysis, query syntax, bounds, facets, snippets, access."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from kb import sources as sources_store
from kb import users as users_store
from kb.items import ItemDraft, store_item
from kb.knowledge import KnowledgeBase, open_kb
from kb.search.documents import case_document, contact_document
from kb.search.index.store import _fields
from kb.search.service import SearchFilters, SearchResults, access_for, search, similar_items, snippet
from kb.settings import load_settings
from kb.storage import outbox
from kb.text.tagging import TopicEvidence
from kb.users import User


def make_item(**overrides: object) -> ItemDraft:
    """An item draft; `topics` may be given as plain topic ids."""
    values: dict[str, object] = dict(
        url="https://example.org/item", title="Untitled", text="", language="en",
        published=datetime(2025, 1, 1, 12, tzinfo=UTC), topics=(),
    )
    values.update(overrides)
    values["topics"] = tuple(TopicEvidence(t) for t in values["topics"])  # type: ignore[union-attr]
    return ItemDraft(**values)  # type: ignore[arg-type]


CORPUS = {
    "caf": make_item(
        title="Les algorithmes de la CAF notent les allocataires", language="fr",
        text="La Caisse utilise un algorithme de notation. Des associations dénoncent une discrimination.",
        published=datetime(2025, 1, 10, tzinfo=UTC), topics=("sector/welfare", "country/fr")),
    "proteccion": make_item(
        title="Protección social y algoritmos", language="es",
        text="La protección de datos frente al sistema de puntuación de riesgo.",
        published=datetime(2025, 2, 15, tzinfo=UTC), topics=("sector/welfare", "country/es")),
    "gericht": make_item(
        title="Höchstgericht stoppt Algorithmus", language="de",
        text="Das Höchstgericht entschied über die Diskriminierung durch den Algorithmus der Schulbehörde.",
        published=datetime(2025, 3, 1, tzinfo=UTC), topics=("sector/education", "country/at")),
    "mothers": make_item(
        title="Welfare algorithm discriminated against single mothers", language="en",
        text="The automated decision system discriminated against single mothers, using risk scoring.",
        published=datetime(2025, 4, 20, tzinfo=UTC), topics=("sector/welfare", "country/nl")),
    "triage": make_item(
        title="Hospital triage model audited", language="en",
        text="An audit of the health triage model found discrimination in automated decisions on patients.",
        published=datetime(2025, 5, 5, tzinfo=UTC), topics=("sector/health", "country/gb")),
    "toeslagen": make_item(
        title="Toeslagenaffaire: algoritme en discriminatie", language="nl",
        text="De Belastingdienst gebruikte een algoritme dat ouders discrimineerde.",
        published=datetime(2025, 6, 1, tzinfo=UTC), topics=("sector/welfare", "country/nl")),
    "educacao": make_item(
        title="Decisões automatizadas na educação", language="pt",
        text="O ministério usa decisões automatizadas para as matrículas escolares.",
        published=datetime(2025, 7, 1, tzinfo=UTC), topics=("sector/education", "country/br")),
    "scuole": make_item(
        title="Algoritmi nelle scuole", language="it",
        text="Gli algoritmi decidono le assegnazioni degli insegnanti nelle scuole.",
        published=datetime(2025, 8, 1, tzinfo=UTC), topics=("sector/education", "country/it")),
    "arabic": make_item(
        title="الخوارزميات في الإعانات الاجتماعية", language="ar",
        text="تستخدم المُؤسَّسة خوارزمية لتقييم طلبات الإعانة.",
        published=datetime(2025, 9, 1, tzinfo=UTC), topics=("sector/welfare", "country/jo")),
    "script": make_item(
        title="Markup in a feed", language="en",
        text="Before the payload <script>alert(1)</script> the welfare fraud office & friends said so.",
        published=datetime(2025, 10, 1, tzinfo=UTC), topics=("sector/welfare",)),
    "exam": make_item(
        title="Exam grading algorithm", language="en",
        text="In 2020 the decision was automated: an algorithm graded the exams of pupils.",
        published=datetime(2024, 8, 20, tzinfo=UTC), topics=("sector/education", "country/gb")),
    "hindi": make_item(
        title="राशन कार्ड: फ़र्ज़ी लाभार्थियों की पहचान", language="hi",
        text="ज़िला प्रशासन ने आंकड़ों का मिलान किया।",
        published=datetime(2025, 11, 1, tzinfo=UTC)),
    "many": make_item(
        title="Index of codes", language="und",
        text=" ".join(f"zq{i:04d}" for i in range(3_000)), published=datetime(2024, 1, 1, tzinfo=UTC)),
}


# Which items a source carried.
ITEM_SOURCES = {"caf": "monde", "proteccion": "pais", "mothers": "monde"}


class Corpus:
    def __init__(self, kb: KnowledgeBase, ids: dict[str, int], sources: dict[str, int], case_id: int) -> None:
        self.kb = kb
        self.ids = ids
        self.sources = sources
        self.case_id = case_id

    def names(self, results: SearchResults) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[h.id] for h in results.hits if h.kind == "item"}

    def find(self, query: str, filters: SearchFilters | None = None, **options: object) -> set[str]:
        """The items found for the words (concept expansion off: tests/kb/test_search_concepts.py)."""
        options.setdefault("expand", False)
        return self.names(search(self.kb, query, filters, page_size=100, **options))  # type: ignore[arg-type]


def _store_corpus(kb: KnowledgeBase) -> Corpus:
    sources = {
        "monde": sources_store.add_source(kb.db, "https://lemonde.example/rss", name="Le Monde").id,
        "pais": sources_store.add_source(kb.db, "https://elpais.example/rss", name="El País").id,
    }
    ids = {}
    for name, draft in CORPUS.items():
        source_id = sources.get(ITEM_SOURCES.get(name, ""))
        ids[name] = store_item(kb.db, replace(draft, url=f"https://example.org/{name}"), source_id).item_id
    kb.db.execute("INSERT INTO cases (title, created_at, updated_at) VALUES ('CAF scoring', '2025', '2025')")
    case_id = int(kb.db.execute("SELECT max(id) FROM cases").fetchone()[0])
    kb.db.execute("INSERT INTO case_items (case_id, item_id, added_at) VALUES (?, ?, '2025')",
                  [case_id, ids["caf"]])
    kb.db.execute("UPDATE items SET status = 'accepted' WHERE id = ?", [ids["mothers"]])
    outbox.enqueue(kb.db, [ids["caf"], ids["mothers"]])
    kb.sync_index()
    return Corpus(kb, ids, sources, case_id)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    folder = tmp_path_factory.mktemp("kb")
    kb = open_kb(load_settings(folder))
    try:
        yield _store_corpus(kb)
    finally:
        kb.close()


# --- analysis ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("proteccion", "proteccion"),
    ("PROTECCIÓN", "proteccion"),
    ("hochstgericht", "gericht"),
    ("Höchstgericht", "gericht"),
    ("HOECHSTGERICHT", "gericht"),  # the German stemmer reads oe as ö
    ("hechstgericht", None),
])
def test_case_and_accent_folding(corpus: Corpus, query: str, expected: str | None) -> None:
    found = corpus.find(query)
    assert (expected in found) if expected else not found


@pytest.mark.parametrize(("query", "expected"), [
    ("algorithme", {"caf"}),  # the title says "algorithmes"
    ("algorithmes", {"caf"}),
    ("discriminated", {"mothers", "triage"}),  # "discrimination" in the triage item
    ("decisions", {"triage", "exam", "mothers"}),
    ("decisão", {"educacao"}),  # Portuguese plural "decisões"
    ("scuola", {"scuole"}),
    ("algoritmes", {"toeslagen"}),
])
def test_stemming_in_the_items_language(corpus: Corpus, query: str, expected: set[str]) -> None:
    assert expected <= corpus.find(query)


def test_hindi_with_or_without_nukta(corpus: Corpus) -> None:
    assert corpus.find("फर्जी") == {"hindi"}  # the title writes फ़र्ज़ी
    assert corpus.find("जिला") == {"hindi"}
    assert corpus.find("\u095b\u093f\u0932\u093e") == {"hindi"}  # precomposed za


def test_arabic_normalisation(corpus: Corpus) -> None:
    assert corpus.find("المؤسسة") == {"arabic"}  # no diacritics in the query, ta marbuta in the text
    assert corpus.find("الاعانات") == {"arabic"}  # bare alef for the hamza form
    assert corpus.find("خوارزميه") == {"arabic"}


def test_title_is_boosted_over_text(corpus: Corpus) -> None:
    results = search(corpus.kb, "hospital OR audit")
    assert results.hits[0].id == corpus.ids["triage"]
    results = search(corpus.kb, "pupils OR mothers")
    assert results.hits[0].id == corpus.ids["mothers"]  # "mothers" in the title beats "pupils" in the text


# --- query syntax --------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("algorithm mothers", {"mothers"}),  # every word must match
    ("hospital OR mothers", {"triage", "mothers"}),
    ("(hospital OR exam) algorithm", {"exam"}),
    ('"automated decision"', {"mothers", "triage"}),
    ('"decision automated"', set()),  # order matters in a phrase
    ('"automated decisions"', {"mothers", "triage"}),  # phrases match on stems
    ('title:"single mothers"', {"mothers"}),
    ('title:"automated decision"', set()),
    ('text:"health triage"', {"triage"}),
    ('text:"triage model" -title:audited', set()),
    ("title:hospital", {"triage"}),
    ("text:hospital", set()),
    ("title:(exam OR hospital)", {"exam", "triage"}),
    ("language:fr", {"caf"}),
    ("topic:sector/health", {"triage"}),
    ("topic:health", {"triage"}),
    ("country:nl", {"mothers", "toeslagen"}),
    ('source:"le monde"', {"caf", "mothers"}),
    ("algo* language:en", {"mothers", "exam"}),
    ("discriminat* language:en", {"mothers", "triage"}),  # a prefix longer than the stem
    ("sud-africain", set()),
])
def test_query_syntax(corpus: Corpus, query: str, expected: set[str]) -> None:
    assert corpus.find(query) == expected


@pytest.mark.parametrize("query", ["discrimination NOT hospital", "discrimination -hospital",
                                   "discrimination NOT (hospital OR exam)"])
def test_negation(corpus: Corpus, query: str) -> None:
    found = corpus.find(query)
    assert "triage" not in found
    assert {"caf", "mothers"} <= found
    assert corpus.find("NOT discrimination") == set(CORPUS) - corpus.find("discrimination")


def test_field_source_by_id(corpus: Corpus) -> None:
    assert corpus.find(f"source:{corpus.sources['pais']}") == {"proteccion"}


@pytest.mark.parametrize("query", [
    '"unclosed phrase', "(algorithm OR", "algorithm)", "OR", "AND algorithm", "algorithm OR", "NOT", "-",
    "title:", "nosuchfield:algorithm", "((((((((((((((((((((algorithm", "))))", "a*", "*", "al*go", '""',
    "title:(", 'title:"', "NOT NOT NOT", "\x00\x01 algorithm", "🙂", "algorithm AND AND OR mothers",
])
def test_malformed_queries_never_raise(corpus: Corpus, query: str) -> None:
    results = search(corpus.kb, query)
    assert results.total >= 0
    assert isinstance(results.notes, list)


@pytest.mark.parametrize(("query", "note"), [
    ('"unclosed phrase', "quote"),
    ("(algorithm OR", "parenthesis"),
    ("algorithm)", "parenthesis"),
    ("algorithm OR", "OR"),
    ("NOT", "NOT"),
    ("title:", "title"),
    ("nosuchfield:algorithm", "nosuchfield"),
    ("a*", "prefix"),
])
def test_malformed_queries_explain_what_was_ignored(corpus: Corpus, query: str, note: str) -> None:
    results = search(corpus.kb, query)
    assert any(note.lower() in n.lower() for n in results.notes), results.notes


def test_best_reading_of_a_malformed_query(corpus: Corpus) -> None:
    assert corpus.find("(hospital OR exam") == {"triage", "exam"}
    assert corpus.find('"automated decision') == {"mothers", "triage"}
    assert corpus.find("nosuchfield:hospital") == set()  # read as the words "nosuchfield hospital"


# --- expensive queries are bounded before they run -----------------------------------------------


def test_a_huge_query_is_cut_and_answered_quickly(corpus: Corpus) -> None:
    started = time.monotonic()
    results = search(corpus.kb, "algorithm " * 1_100)  # 11 KB
    assert time.monotonic() - started < 5
    assert any("longer than" in n for n in results.notes)


def test_hundreds_of_clauses_are_bounded(corpus: Corpus) -> None:
    query = " OR ".join(f"word{i}" for i in range(400))
    started = time.monotonic()
    results = search(corpus.kb, query)
    assert time.monotonic() - started < 5
    assert any("terms" in n for n in results.notes)


def test_a_prefix_matching_thousands_of_words_is_bounded(corpus: Corpus) -> None:
    started = time.monotonic()
    results = search(corpus.kb, "zq*")
    assert time.monotonic() - started < 5
    assert corpus.names(results) == {"many"}
    assert any("most frequent" in n for n in results.notes)


def test_deep_parentheses_are_bounded(corpus: Corpus) -> None:
    results = search(corpus.kb, "(" * 500 + "algorithm" + ")" * 500)
    assert any("nested" in n for n in results.notes)


# --- results: facets, filters, pages, sorting ----------------------------------------------------


def test_facets_count_the_whole_result_set(corpus: Corpus) -> None:
    results = search(corpus.kb, "", page_size=2)
    assert results.total == len(CORPUS)
    assert len(results.hits) == 2
    assert sum(results.facets["language"].values()) == len(CORPUS)
    assert results.facets["sector"]["sector/welfare"] == 6
    assert results.facets["country"]["country/nl"] == 2
    assert results.facets["status"] == {"new": len(CORPUS) - 1, "accepted": 1}
    assert results.facets["case"] == {str(corpus.case_id): 1}
    assert results.facets["source"] == {str(corpus.sources["monde"]): 2, str(corpus.sources["pais"]): 1}
    assert results.facets["month"]["2025-01"] == 1
    assert set(results.facets) == {"language", "sector", "topic", "country", "source", "status", "case",
                                   "system", "month"}


def test_facets_follow_the_query(corpus: Corpus) -> None:
    results = search(corpus.kb, "discrimination")
    assert sum(results.facets["language"].values()) == results.total
    assert "pt" not in results.facets["language"]


@pytest.mark.parametrize(("filters", "expected"), [
    (SearchFilters(language=("fr", "es")), {"caf", "proteccion"}),
    (SearchFilters(sector=("health",)), {"triage"}),
    (SearchFilters(sector=("sector/education",), country=("gb",)), {"exam"}),
    (SearchFilters(topic=("country/nl",)), {"mothers", "toeslagen"}),
    (SearchFilters(source=("El País",)), {"proteccion"}),
    (SearchFilters(status=("accepted",)), {"mothers"}),
    (SearchFilters(date_from=date(2025, 5, 5), date_to=date(2025, 6, 1)), {"triage", "toeslagen"}),
    (SearchFilters(date_to=date(2024, 12, 31)), {"exam", "many"}),
    (SearchFilters(source=("no such source",)), set()),
])
def test_filters_narrow(corpus: Corpus, filters: SearchFilters, expected: set[str]) -> None:
    assert corpus.find("", filters) == expected


def test_case_filter(corpus: Corpus) -> None:
    assert corpus.find("", SearchFilters(case=(str(corpus.case_id),))) == {"caf"}


def test_swapped_dates_are_noted(corpus: Corpus) -> None:
    results = search(corpus.kb, "", SearchFilters(date_from=date(2025, 6, 1), date_to=date(2025, 5, 5)))
    assert corpus.names(results) == {"triage", "toeslagen"}
    assert any("swapped" in n for n in results.notes)


def test_pages(corpus: Corpus) -> None:
    first = search(corpus.kb, "", page=1, page_size=5, sort="newest")
    second = search(corpus.kb, "", page=2, page_size=5, sort="newest")
    third = search(corpus.kb, "", page=3, page_size=5, sort="newest")
    ids = [h.id for r in (first, second, third) for h in r.hits]
    assert len(ids) == len(set(ids)) == len(CORPUS)
    assert first.pages == 3
    assert search(corpus.kb, "", page=9).hits == []


def test_page_size_is_at_most_100(corpus: Corpus) -> None:
    results = search(corpus.kb, "", page_size=1_000)
    assert results.page_size == 100
    assert results.notes


def test_newest_first(corpus: Corpus) -> None:
    results = search(corpus.kb, "algorithm OR algorithme OR algoritmo", sort="newest", page_size=100)
    dates = [h.published for h in results.hits]
    assert dates == sorted(dates, reverse=True)
    assert results.total >= 5


def test_json_shape(corpus: Corpus) -> None:
    data = search(corpus.kb, "mothers").as_json()
    assert set(data) == {"total", "results", "facets", "notes", "suggestion"}
    assert set(data["results"][0]) >= {"id", "title", "url", "language", "sectors", "topics", "published",
                                       "snippet"}
    assert data["results"][0]["sectors"] == ["sector/welfare"]


# --- snippets ------------------------------------------------------------------------------------


def test_snippets_escape_the_source_text(corpus: Corpus) -> None:
    results = search(corpus.kb, "welfare fraud")
    hit = next(h for h in results.hits if h.id == corpus.ids["script"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit.snippet
    assert "&amp; friends" in hit.snippet
    assert "<mark>welfare</mark> <mark>fraud</mark>" in hit.snippet
    assert re.findall(r"<(/?)(\w+)", hit.snippet) == [("", "mark"), ("/", "mark")] * 2


def test_snippet_highlights_inflections_in_the_items_language(corpus: Corpus) -> None:
    results = search(corpus.kb, "algorithme", SearchFilters(language=("fr",)))
    assert "<mark>algorithme</mark>" in results.hits[0].snippet


def test_snippet_is_centred_on_the_first_match() -> None:
    text = "intro " * 200 + "the <b>welfare</b> algorithm " + "outro " * 200
    html = snippet(text, frozenset({"algorithm"}), "en")
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>algorithm</mark>" in html
    assert "&lt;b&gt;welfare&lt;/b&gt;" in html
    assert len(html) < 400


def test_snippet_without_a_match_is_the_start_of_the_text() -> None:
    assert snippet("<i>Plain</i> text", frozenset({"other"}), "en") == "&lt;i&gt;Plain&lt;/i&gt; text"
    assert snippet("Une décision", frozenset({"decis"}), "fr") == "Une <mark>décision</mark>"


def test_snippet_of_arabic_text() -> None:
    html = snippet("تستخدم المُؤسَّسة خوارزمية", frozenset({"موسس", "الموسسه"}), "ar")
    assert "<mark>المُؤسَّسة</mark>" in html


# --- did you mean and similar items --------------------------------------------------------------


def test_did_you_mean(corpus: Corpus) -> None:
    results = search(corpus.kb, "discrimnation")
    assert results.total == 0
    assert results.suggestion == "discrimination"


def test_no_suggestion_when_the_query_finds_enough(corpus: Corpus) -> None:
    assert search(corpus.kb, "algorithm OR algorithme OR algoritmo").suggestion is None


def test_similar_items(corpus: Corpus) -> None:
    hits = similar_items(corpus.kb, corpus.ids["mothers"], limit=3)
    ids = [h.id for h in hits]
    assert corpus.ids["mothers"] not in ids
    assert ids and ids[0] in (corpus.ids["triage"], corpus.ids["exam"])


# --- freshness -----------------------------------------------------------------------------------


def test_new_items_are_found_right_after_sync(kb: KnowledgeBase) -> None:
    assert search(kb, "newcomer").total == 0
    store_item(kb.db, make_item(url="https://example.org/new", title="A newcomer", text="Fresh news"))
    kb.sync_index()
    assert search(kb, "newcomer").total == 1


def test_changed_and_deleted_items(kb: KnowledgeBase) -> None:
    from kb.items import delete_item

    first = store_item(kb.db, make_item(url="https://example.org/x", title="Original heading")).item_id
    kb.sync_index()
    store_item(kb.db, make_item(url="https://example.org/x", title="Rewritten heading", text="A longer text"))
    kb.sync_index()
    assert search(kb, "original").total == 0
    assert search(kb, "rewritten").total == 1
    delete_item(kb.db, first)
    kb.sync_index()
    results = search(kb, "heading")
    assert results.total == 0 and results.facets["language"] == {}


# --- contacts and case files: access -------------------------------------------------------------


def _contact(contact_id: int, name: str, sensitivity: str = "normal") -> object:
    from types import SimpleNamespace

    return SimpleNamespace(id=contact_id, name=name, organisation="Digital Rights Lab", role="lawyer",
                           country="ma", expertise=["welfare algorithms"], notes="Knows the scoring case",
                           sensitivity=sensitivity)


def _index_directly(kb: KnowledgeBase, documents: list[dict[str, object]]) -> None:
    """Put documents in the index directly: contacts and cases with no database rows, to test access alone."""
    with kb.index.writer_lock() as locked:
        assert locked
        writer = kb.index._open().writer()
        for document in documents:
            writer.update_document(**_fields(document))
        writer.commit()
    kb.index.refresh()


def _user(role: str, user_id: int = 1) -> User:
    return User(user_id, f"{role}@example.org", role, role, True, 1, "2025")


@pytest.fixture
def private(kb: KnowledgeBase) -> KnowledgeBase:
    from types import SimpleNamespace

    store_item(kb.db, make_item(url="https://example.org/w", title="Welfare scoring", text="Haddadi reports"))
    kb.sync_index()
    case = SimpleNamespace(id=4, title="Scoring of welfare claimants", summary="The welfare scoring case",
                           country="ma", sector="welfare", system_name="Tazkia", system_agency="Ministry",
                           status="open")
    _index_directly(kb, [
        contact_document(_contact(1, "Amina Haddad")),  # type: ignore[arg-type]
        contact_document(_contact(2, "Youssef Secret", "restricted")),  # type: ignore[arg-type]
        case_document(case),  # type: ignore[arg-type]
    ])
    return kb


def _kinds(results: SearchResults) -> list[tuple[str, int]]:
    return sorted((h.kind, h.id) for h in results.hits)


def test_without_a_user_only_items_are_searched(private: KnowledgeBase) -> None:
    results = search(private, "welfare")
    assert [k for k, _ in _kinds(results)] == ["item"]
    assert results.total == 1


def test_researchers_never_see_restricted_contacts(private: KnowledgeBase) -> None:
    """Issue 16: researchers find the contacts that are not restricted, never a restricted one, whatever
    `allowed_contacts` says (being let in through a case file is for coordinators)."""
    researcher = _user("researcher")
    for query in ("welfare", "amina", "haddad", "lawyer", "", "NOT nothing", "digital*", '"amina haddad"',
                  "youssef", "secret"):
        results = search(private, query, user=researcher, allowed_contacts=[1, 2])
        assert ("contact", 2) not in _kinds(results), query
        assert "youssef" not in str(results.as_json()).lower(), query
        assert results.total == len(results.hits), query
    assert _kinds(search(private, "amina", user=researcher)) == [("contact", 1)]
    assert _kinds(search(private, "youssef", user=researcher, allowed_contacts=[2])) == []
    everything = search(private, "", SearchFilters(kind=("contact",)), user=researcher, allowed_contacts=[2])
    assert _kinds(everything) == [("contact", 1)] and everything.total == 1
    results = search(private, "welfare", user=researcher)
    assert _kinds(results) == [("case", 4), ("contact", 1), ("item", 1)]  # issue 16: the normal contact too
    assert sum(results.facets["language"].values()) == 1


def test_contact_names_are_never_suggested(private: KnowledgeBase) -> None:
    for role in ("researcher", "admin"):
        results = search(private, "hadad", user=_user(role))
        assert "haddad" not in (results.suggestion or "").lower()
        assert "haddad" not in str(results.as_json()["facets"]).lower()


def test_coordinators_see_contacts_but_not_restricted_ones(private: KnowledgeBase) -> None:
    coordinator = _user("coordinator")
    assert _kinds(search(private, "digital", user=coordinator)) == [("contact", 1)]
    assert _kinds(search(private, "youssef", user=coordinator)) == []
    assert _kinds(search(private, "youssef", user=coordinator, allowed_contacts=[2])) == [("contact", 2)]
    hit = search(private, "amina", user=coordinator).hits[0]
    assert hit.title == "Amina Haddad"
    assert "<mark>" not in hit.title and hit.url == ""


def test_admins_see_every_contact(private: KnowledgeBase) -> None:
    results = search(private, "digital", user=_user("admin"))
    assert _kinds(results) == [("contact", 1), ("contact", 2)]
    assert results.total == 2
    contacts_only = search(private, "", SearchFilters(kind=("contact",)), user=_user("admin"))
    assert contacts_only.total == 2


def test_inactive_users_see_items_only(private: KnowledgeBase) -> None:
    inactive = replace(_user("admin"), active=False)
    assert access_for(inactive).contacts == "none"
    assert [k for k, _ in _kinds(search(private, "welfare", user=inactive))] == ["item"]


def test_access_for_roles(kb: KnowledgeBase) -> None:
    admin = users_store.add_user(kb.db, "admin@example.org", "a long password", "admin")
    assert access_for(admin).contacts == "all"
    assert access_for(_user("coordinator"), [3]).allowed_contacts == frozenset({3})
    # Issue 16: researchers find the contacts that are not restricted, and no restricted one even if allowed.
    assert access_for(_user("researcher"), [3]).contacts == "normal"
    assert access_for(_user("researcher"), [3]).allowed_contacts == frozenset()


def test_team_members_find_the_restricted_contacts_of_their_case(kb: KnowledgeBase) -> None:
    """With kb.contacts and kb.cases feeding the index: no allowed ids passed, the rule is looked up."""
    from kb import cases, contacts

    admin = users_store.add_user(kb.db, "admin@example.org", "a long password", "admin")
    member = users_store.add_user(kb.db, "member@example.org", "a long password", "coordinator")
    outsider = users_store.add_user(kb.db, "outsider@example.org", "a long password", "coordinator")
    case = cases.create_case(kb.db, admin, {"title": "Welfare scoring", "summary": "Scoring of claimants"},
                             member_ids=[member.id])
    hidden = contacts.create_contact(kb.db, admin, {"name": "Samira Hidden", "sensitivity": "restricted"},
                                     case_id=case.id)
    public = contacts.create_contact(kb.db, admin, {"name": "Samira Public"})
    kb.sync_index()
    found = {role: _kinds(search(kb, "samira", user=user))
             for role, user in (("member", member), ("outsider", outsider), ("admin", admin))}
    assert found["member"] == [("contact", hidden.id), ("contact", public.id)]
    assert found["outsider"] == [("contact", public.id)]
    assert found["admin"] == [("contact", hidden.id), ("contact", public.id)]
    assert _kinds(search(kb, "claimants", user=outsider)) == [("case", case.id)]

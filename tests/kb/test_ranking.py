"""Ranking: BM25 over the live documents of the whole index, and exact pages, whatever the segmentation.

The expected scores are computed here from the items stored in SQLite, with straightforward Python: the
words folded and stemmed by kb.text.normalize as the index's documents are, term frequencies counted per
field, field lengths rounded as Whoosh stores them (one byte per document), the title weighted twice, and
N, df and the average field lengths counted over the live items only. A query word reaches an item
through its stem in the item's own language only; items are ordered by how many of the query's words they
hold exactly as typed (folded, unstemmed), then by BM25, then by id. The index under test holds many
segments, deleted and updated documents, and merged segments.
"""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from whoosh.util.numeric import byte_to_length, length_to_byte

from kb import items as items_store
from kb.items import ItemDraft
from kb.knowledge import KnowledgeBase
from kb.search.service import search
from kb.storage.db import parse_published
from kb.text.normalize import STEM_LANGUAGES, stem, stem_all, tokenize
from tests.factories import make_kb

# The ranking's definition, written out again here rather than imported.
K1, B = 1.2, 0.75
BOOST = {"title": 2.0, "text": 1.0}
FIELDS = ("title", "text")

# --- a corpus --------------------------------------------------------------------------------------

DOMAIN = {
    "en": "algorithm algorithms welfare benefits benefit fraud risk scoring score decisions decision "
          "automated hospital patients discrimination discriminated children families court ruling data "
          "audit transparency school exam",
    "fr": "algorithme algorithmes allocations fraude risque notation décision décisions automatisée hôpital "
          "patients discrimination enfants familles tribunal données audit transparence école examen",
    "de": "Algorithmus Algorithmen Sozialleistungen Betrug Risiko Bewertung Entscheidung Entscheidungen "
          "Krankenhaus Patienten Diskriminierung Kinder Familien Gericht Daten Prüfung Transparenz Schule",
    "es": "algoritmo algoritmos prestaciones fraude riesgo puntuación decisión decisiones automatizada "
          "hospital pacientes discriminación niños familias tribunal datos auditoría transparencia escuela",
}
FILLER = {
    "en": "the of and to in is that for on with as by was it be are this from at has people year city",
    "fr": "le la les de des du et en un une est que pour dans sur par au aux avec ce qui pas plus",
    "de": "der die das und in den von zu mit ist des sich auf für im dem nicht ein eine als auch",
    "es": "el la los las de del y en un una es que por para con se su al como más pero sus fue",
}
START = datetime(2025, 1, 1, tzinfo=UTC)


def _words(rng: random.Random, language: str, count: int) -> list[str]:
    domain, filler = DOMAIN[language].split(), FILLER[language].split()
    vocabulary = domain + filler
    weights = [1.0 / (rank + 1) for rank in range(len(domain))] + [0.2] * len(filler)  # some words rare
    return rng.choices(vocabulary, weights=weights, k=count)


def make_drafts(count: int, seed: int = 7, site: str = "example.org") -> list[ItemDraft]:
    """Items in four languages, short and long (lengths past Whoosh's exact byte range), many sharing a
    date; every tenth is followed later by a copy with its words shuffled: the same BM25 statistics, another
    item."""
    rng = random.Random(seed)
    drafts: list[ItemDraft] = []
    copies: list[ItemDraft] = []
    for n in range(count):
        language = rng.choice(("en", "en", "fr", "de", "es"))
        title = _words(rng, language, rng.randint(3, 9))
        length = rng.choice((rng.randint(1, 9), rng.randint(10, 40), rng.randint(60, 420)))
        text = _words(rng, language, length)
        if language == "en" and rng.random() < 0.3:
            text[rng.randrange(len(text)):0] = ["risk", "scoring"]
        published = START + timedelta(days=rng.randrange(40))  # many items share a date
        draft = ItemDraft(url=f"https://{site}/{n}", title=" ".join(title).capitalize(),
                          text=" ".join(text), language=language, published=published)
        drafts.append(draft)
        if n % 10 == 3:
            shuffled_title, shuffled_text = title[:], text[:]
            while shuffled_title == title:
                rng.shuffle(shuffled_title)
            rng.shuffle(shuffled_text)
            copies.append(replace(draft, url=f"https://{site}/{n}-copy", title=" ".join(shuffled_title),
                                  text=" ".join(shuffled_text)))
    return drafts + copies


def store(kb: KnowledgeBase, drafts: list[ItemDraft]) -> list[int]:
    ids = []
    for draft in drafts:
        result = items_store.store_item(kb.db, draft)
        assert result.outcome == "new", draft.url
        ids.append(result.item_id)
    return ids


def change(kb: KnowledgeBase, stored: list[tuple[int, ItemDraft]]) -> None:
    """Delete every seventh item, lengthen every eleventh (an update: a new document, the old one deleted)."""
    for item_id, draft in stored:
        if item_id % 7 == 0:
            items_store.delete_item(kb.db, item_id)
        elif item_id % 11 == 0:
            longer = replace(draft, title=f"{draft.title} welfare", text=f"{draft.text} {draft.text}")
            assert items_store.store_item(kb.db, longer).outcome == "updated"


# --- the reference ---------------------------------------------------------------------------------


@dataclass
class Doc:
    id: int
    date: int
    terms: dict[str, Counter[str]]  # field -> stem -> frequency
    stems: dict[str, list[str]]  # field -> stems in order (for phrases)
    lengths: dict[str, int]  # field -> length as stored (one byte)
    language: str = ""
    words: frozenset[str] = frozenset()  # the folded, unstemmed words of title and text


class Reference:
    """BM25 computed from the items in SQLite, for simple queries: words joined by AND or OR, a phrase."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.docs: dict[int, Doc] = {}
        for item in items_store.iter_items(kb.db):
            stems = {"title": stem_all(tokenize(item.title), item.language),
                     "text": stem_all(tokenize(item.text or item.summary), item.language)}
            published = parse_published(item.published) or parse_published(item.created_at)
            self.docs[item.id] = Doc(
                id=item.id, date=int(published.timestamp()) if published else 0,
                terms={f: Counter(stems[f]) for f in FIELDS}, stems=stems,
                lengths={f: byte_to_length(length_to_byte(len(stems[f]))) for f in FIELDS},
                language=item.language,
                words=frozenset(tokenize(item.title) + tokenize(item.text or item.summary)),
            )
        self.n = len(self.docs)
        self.average = {f: sum(d.lengths[f] for d in self.docs.values()) / self.n for f in FIELDS}
        self.df: Counter[tuple[str, str]] = Counter()
        for doc in self.docs.values():
            for f in FIELDS:
                self.df.update((f, term) for term in doc.terms[f])
        self.languages_of: dict[str, set[int]] = {}
        for item in items_store.iter_items(kb.db):
            self.languages_of.setdefault(item.language, set()).add(item.id)
        self.languages = sorted(set(self.languages_of) & STEM_LANGUAGES)

    def holds(self, doc: Doc, word: str, fields: tuple[str, ...]) -> bool:
        """Whether a document holds the word's stem in the document's own language."""
        return any(doc.terms[f][stem(word, doc.language)] for f in fields)

    def exact(self, doc: Doc, words: list[str]) -> int:
        """How many of the distinct words the document holds as they are (folded, unstemmed)."""
        return sum(1 for word in dict.fromkeys(words) if word in doc.words)

    def has_phrase(self, doc: Doc, words: list[str]) -> bool:
        seq = tuple(stem(w, doc.language) for w in words)
        for f in FIELDS:
            found = doc.stems[f]
            if any(tuple(found[i:i + len(seq)]) == seq for i in range(len(found) - len(seq) + 1)):
                return True
        return False

    def score(self, doc: Doc, words: list[str], fields: tuple[str, ...] = FIELDS) -> float:
        total = 0.0
        seen = set()
        for word in words:
            for s in (stem(word, doc.language),):
                for f in fields:
                    if (f, s) in seen or not self.df[(f, s)]:
                        continue
                    seen.add((f, s))
                    tf = doc.terms[f][s]
                    if tf:
                        df = self.df[(f, s)]
                        idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
                        w = tf * BOOST[f]
                        norm = K1 * (1 - B + B * doc.lengths[f] / self.average[f])
                        total += idf * (w * (K1 + 1) / (w + norm))
        return total

    def rank(self, query: RefQuery) -> list[tuple[int, float]]:
        """Every match, most exact words first, then best score, then by id; then the unscored matches
        newest first."""
        words = [tokenize(w)[0] for w in query.words]
        found = []
        for doc in self.docs.values():
            if query.mode == "phrase":
                matches = self.has_phrase(doc, words)
            else:
                held = [self.holds(doc, w, query.fields) for w in words]
                matches = all(held) if query.mode == "and" else any(held)
            matches = matches or doc.id in self.languages_of.get(query.language or "", set())
            if matches and not any(self.holds(doc, tokenize(w)[0], FIELDS) for w in query.without):
                found.append((doc.id, self.score(doc, words, query.fields)))
        exact = {i: self.exact(self.docs[i], words) for i, _ in found}
        scored = sorted(((i, s) for i, s in found if s > 0),
                        key=lambda pair: (-exact[pair[0]], -pair[1], pair[0]))
        unscored = sorted((i for i, s in found if s == 0), key=lambda i: (-self.docs[i].date, i))
        return scored + [(i, 0.0) for i in unscored]


@dataclass(frozen=True)
class RefQuery:
    text: str
    words: tuple[str, ...]
    mode: str = "and"  # "and", "or", "phrase"
    fields: tuple[str, ...] = FIELDS
    without: tuple[str, ...] = ()
    language: str | None = None  # OR-ed as a metadata value: its matches without a scored word are unscored


QUERIES = [
    RefQuery("algorithm", ("algorithm",)),
    RefQuery("welfare fraud", ("welfare", "fraud")),
    RefQuery("welfare OR hospital OR tribunal", ("welfare", "hospital", "tribunal"), mode="or"),
    RefQuery("algorithme OR algoritmo OR Algorithmus", ("algorithme", "algoritmo", "Algorithmus"), mode="or"),
    RefQuery("decisions", ("decisions",)),  # en "decis", fr and es "decision", ...
    RefQuery("Entscheidungen", ("Entscheidungen",)),
    RefQuery("discriminación niños", ("discriminación", "niños")),
    RefQuery('"risk scoring"', ("risk", "scoring"), mode="phrase"),
    RefQuery("title:welfare", ("welfare",), fields=("title",)),
    RefQuery("welfare -hospital", ("welfare",), without=("hospital",)),
    RefQuery("data OR datos OR données OR Daten", ("data", "datos", "données", "Daten"), mode="or"),
    RefQuery("transparency audit", ("transparency", "audit")),
    RefQuery("patients OR language:de", ("patients",), mode="or", language="de"),
]


def engine_ranking(kb: KnowledgeBase, query: str, page_size: int = 100
                   ) -> tuple[int, list[tuple[int, float]]]:
    """(total, every hit as (id, score)) walking all the pages."""
    hits: list[tuple[int, float]] = []
    page = 1
    while True:
        results = search(kb, query, page=page, page_size=page_size)
        hits += [(hit.id, hit.score) for hit in results.hits]
        if page >= results.pages:
            return results.total, hits
        page += 1


def assert_same_ranking(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [i for i, _ in found] == [i for i, _ in expected]
    for (_, score), (_, wanted) in zip(found, expected, strict=True):
        assert score == pytest.approx(wanted, rel=1e-9, abs=1e-12)


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """About 300 items in many segments: stored and synced in six rounds of 25-item commits, searched in
    between (so the caches hold the statistics of earlier states), with deletions, updates and a merge."""
    kb = make_kb(tmp_path_factory.mktemp("ranking") / "data", index_batch_size=25)
    drafts = make_drafts(270)
    unchanged: list[tuple[int, ItemDraft]] = []
    for round_number, start in enumerate(range(0, len(drafts), 50)):
        chunk = drafts[start:start + 50]
        unchanged += zip(store(kb, chunk), chunk, strict=True)
        kb.sync_index()
        for query in QUERIES:
            search(kb, query.text)
        if round_number == 3:  # eight segments of 25 by now
            assert kb.merge_index() >= 1
        if round_number in (3, 5):
            change(kb, unchanged)
            unchanged = []
            kb.sync_index()
    with kb.index.searcher(max_age=0) as searcher:
        segments = len(searcher.leaf_searchers())
        assert segments >= 5 and searcher.reader().has_deletions()
    try:
        yield kb
    finally:
        kb.close()


def reference_of(kb: KnowledgeBase) -> Reference:
    return Reference(kb)


# --- (a) the engine against the reference ----------------------------------------------------------


@pytest.mark.parametrize("query", QUERIES, ids=[q.text for q in QUERIES])
def test_scores_and_order_match_the_reference(corpus: KnowledgeBase, query: RefQuery) -> None:
    expected = reference_of(corpus).rank(query)
    assert expected, "every query of the mix finds something"
    total, found = engine_ranking(corpus, query.text)
    assert total == len(expected)
    assert_same_ranking(found, expected)


def test_shuffled_copies_in_other_segments_score_the_same(corpus: KnowledgeBase) -> None:
    """The issue's case: identical documents committed in different batches scored 3.68 and 0.77."""
    by_url = {item.url: item.id for item in items_store.iter_items(corpus.db)}
    _, found = engine_ranking(corpus, "welfare OR algorithme OR Algorithmus OR algoritmo")
    scores = dict(found)
    pairs = [(by_url[url], by_url[f"{url}-copy"]) for url in by_url if f"{url}-copy" in by_url]
    changed = {i for pair in pairs for i in pair if i % 11 == 0}  # lengthened by change()
    compared = [(scores[a], scores[b]) for a, b in pairs if a in scores and not changed & {a, b}]
    assert len(compared) >= 5
    assert all(a == b for a, b in compared)  # exactly: the same numbers added in the same order


def test_scores_follow_new_segments_and_deletions(corpus: KnowledgeBase, tmp_path: Path) -> None:
    """Statistics cached for one state of the index are not used for the next."""
    query = QUERIES[2]
    before = engine_ranking(corpus, query.text)[1]
    added = store(corpus, make_drafts(30, seed=99, site="later.example.org"))
    corpus.sync_index()
    items_store.delete_item(corpus.db, added[0])
    corpus.sync_index()
    try:
        after = engine_ranking(corpus, query.text)[1]
        assert after != before
        assert_same_ranking(after, reference_of(corpus).rank(query))
    finally:
        for item_id in added[1:]:
            items_store.delete_item(corpus.db, item_id)
        corpus.sync_index()


# --- (b) the same items, segmented differently ------------------------------------------------------

SEGMENTATION_QUERIES = ["algorithm", "welfare OR hospital OR tribunal", "decisions", '"risk scoring"',
                        "fraude OR fraud OR Betrug", "patients OR language:de", "title:welfare", "datos",
                        "algorithme OR algoritmo OR Algorithmus OR algorithm"]


def _pages(kb: KnowledgeBase, sort: str = "relevance") -> dict[tuple[str, int], list[tuple[int, float]]]:
    found = {}
    for query in SEGMENTATION_QUERIES:
        for page in (1, 2, 3):
            results = search(kb, query, page=page, page_size=20, sort=sort)
            found[(query, page)] = [(hit.id, hit.score) for hit in results.hits]
    return found


def _build(folder: Path, drafts: list[ItemDraft], rounds: int, batch_size: int) -> KnowledgeBase:
    kb = make_kb(folder, index_batch_size=batch_size)
    ids: list[int] = []
    size = -(-len(drafts) // rounds)
    for start in range(0, len(drafts), size):
        ids += store(kb, drafts[start:start + size])
        kb.sync_index()
    change(kb, list(zip(ids, drafts, strict=True)))
    kb.sync_index()
    return kb


def _segments(kb: KnowledgeBase) -> int:
    with kb.index.searcher(max_age=0) as searcher:
        return len(searcher.leaf_searchers())


def test_one_pass_and_ten_passes_give_the_same_pages(tmp_path: Path) -> None:
    drafts = make_drafts(200, seed=11)
    one = _build(tmp_path / "one", drafts, rounds=1, batch_size=1_000)
    ten = _build(tmp_path / "ten", drafts, rounds=10, batch_size=9)
    try:
        assert _segments(one) <= 2 < 8 <= _segments(ten)  # folded by the sync past 24 small ones
        expected, newest = _pages(one), _pages(one, sort="newest")
        assert sum(len(hits) for hits in expected.values()) > 300
        assert _pages(ten) == expected  # ids, order and scores, exactly
        assert _pages(ten, sort="newest") == newest
        assert ten.merge_index() >= 1
        assert _pages(ten) == expected
        ten.index.optimize()
        assert _segments(ten) == 1
        assert _pages(ten) == expected
        one.index.rebuild(one.db)  # no deleted documents left anywhere
        assert _pages(one) == expected
        assert _pages(ten, sort="newest") == newest
    finally:
        one.close()
        ten.close()


# --- (c) paging --------------------------------------------------------------------------------------


def test_walking_the_pages_shows_every_hit_once_best_first(corpus: KnowledgeBase) -> None:
    query = RefQuery("welfare OR fraud OR algorithme OR Daten OR riesgo",
                     ("welfare", "fraud", "algorithme", "Daten", "riesgo"), mode="or")
    expected = reference_of(corpus).rank(query)
    assert len(expected) > 150
    total, found = engine_ranking(corpus, query.text, page_size=20)
    assert total == len(expected)
    ids = [i for i, _ in found]
    assert len(ids) == len(set(ids)) == total
    reference = reference_of(corpus)
    folded = [tokenize(w)[0] for w in query.words]
    order = [(reference.exact(reference.docs[i], folded), s) for i, s in found]
    assert all(a >= b for a, b in zip(order, order[1:], strict=False))  # most exact words, then best score
    assert_same_ranking(found, expected)
    # Any page alone is the same slice of the whole ranking, whatever the page size.
    for page_size, page in ((7, 5), (20, 4), (33, 2)):
        results = search(corpus, query.text, page=page, page_size=page_size)
        assert [hit.id for hit in results.hits] == ids[(page - 1) * page_size : page * page_size]


def test_newest_first_pages_are_exact_with_equal_dates_ordered_by_id(corpus: KnowledgeBase) -> None:
    reference = reference_of(corpus)
    expected = sorted(reference.docs, key=lambda i: (-reference.docs[i].date, i))
    found = []
    for page in range(1, 6):
        found += [hit.id for hit in search(corpus, "", page=page, page_size=20, sort="newest").hits]
    assert found == expected[:100]
    welfare = [hit.id for hit in search(corpus, "welfare", page_size=100, sort="newest").hits]
    assert welfare == [i for i in expected if reference.holds(reference.docs[i], "welfare", FIELDS)][:100]


# --- (d) threads ---------------------------------------------------------------------------------


def test_parallel_searches_give_the_serial_results(corpus: KnowledgeBase,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """8 threads, over four searchers of the same index whose per-segment caches start cold and are shared
    (a searcher is read by one search at a time: the threads of different searchers build them at once)."""
    from kb.search.index import segments

    asks = [(q.text, page, sort) for q in QUERIES for page in (1, 2) for sort in ("relevance", "newest")]

    def run(kb: KnowledgeBase, ask: tuple[str, int, str]) -> tuple[int, list[tuple[int, float]]]:
        text, page, sort = ask
        results = search(kb, text, page=page, page_size=20, sort=sort)
        return results.total, [(hit.id, hit.score) for hit in results.hits]

    serial = {ask: run(corpus, ask) for ask in asks}
    for _ in range(3):  # the threads race where the caches are built: three times from cold
        monkeypatch.setattr(segments, "_TERMS", segments._LRU(128 << 20))  # noqa: SLF001
        monkeypatch.setattr(segments, "_SEGMENTS", segments._LRU(512 << 20))  # noqa: SLF001
        others = [make_kb(corpus.settings.data_dir, index_batch_size=25) for _ in range(4)]
        try:
            work = [(kb, ask) for ask in asks for kb in others] * 2
            random.Random(5).shuffle(work)
            interval = sys.getswitchinterval()
            sys.setswitchinterval(1e-6)  # switch threads as often as possible, to make any overlap show
            try:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    results = list(pool.map(lambda job: (job[1], run(*job)), work))
            finally:
                sys.setswitchinterval(interval)
            assert len(results) == len(work)
            for ask, found in results:
                assert found == serial[ask], ask
        finally:
            for kb in others:
                kb.close()

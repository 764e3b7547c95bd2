"""Running a search on the Whoosh index: parse the query, bound it, match, count facets, rank, suggest.

How a search runs (see kb.search.service for the Whoosh-free front):
1. `parse_query` (kb.search.index.parser) reads the user's syntax into a small tree and never raises: what
   it cannot read is left out and said in a note. Queries are bounded before anything runs (length,
   clauses, prefix terms).
2. Each word becomes, for the items of each language, its stem in that language (the index holds each
   item's words stemmed in the item's own language): a word finds its inflections in the items of every
   language, each through the stemmer of the item's language and no other, so the Portuguese
   "incorporados" no longer reaches an English item's "incorporated" through the Portuguese stemmer.
3. Matching runs on bitmaps, one Python int per segment, built from postings read in bulk
   (kb.search.index.codec) and cached per segment (kb.search.index.segments): the facet values, the
   dates, and the query terms. Counting a facet value over the whole result set is then one `&` and one
   `bit_count()`.
4. Ranking is BM25 with index-wide statistics over the live documents (the formula is in
   kb.search.index.segments.Bm25), after a count of the query's words the document holds exactly as typed:

       order:  exact(d) descending, then bm25(d) descending, then the document's key
       exact(d) = the distinct words w of the positive word and phrase leaves of the query that d holds
                  unstemmed (folded) in its title or text (the `words` field; contacts and case files
                  hold only unstemmed words, so each word they hold counts)
       bm25(d)  = the sum, over the distinct (field, term) pairs of T(d), of the BM25 part of Bm25
       T(d)     = (f, stem(w, language of d)) for each such word w and each field f it searches, and
                  (f, t) for the most frequent expansions t of each prefix (not restricted to a language)

   So an item holding "decisions" ranks above one holding only "decision" for the query "decisions",
   however long either is; among items holding the same number of exact words BM25 decides. The two are
   sorted as one number, exact(d) * S + bm25(d), with S a power of two above the highest possible bm25
   (the sum of idf * (K1 + 1) over the query's pairs), and the hit's score is bm25(d).
   Every matching document is scored, with numpy over the postings read for matching, and the page is
   then taken exactly: in that order, equal values in the order of the documents' keys, so every page is
   the same however the index is segmented or merged, and paging shows
   each hit once. Matches that no scored word reaches (a query of metadata values) follow, newest first.
   Whoosh's own collectors score every match in Python, which took 150-500 ms per query at 100,000
   items; this takes a few.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from kb.search.documents import CASE, CONTACT, ITEM, SYSTEM, date_number
from kb.search.index.parser import Leaf, Node, query_words
from kb.search.index.segments import (
    K1,
    SCORED_FIELDS,
    Bm25,
    SegmentLeaf,
    bm25,
    decode_term,
    mask_of,
    segment_leaves,
)
from kb.text.normalize import stem, tokenize

LOGGER = logging.getLogger(__name__)

MAX_PREFIX_TERMS = 200  # terms one prefix may expand to (the most frequent are kept)
MAX_PREFIX_SCAN = 5_000  # lexicon terms read per prefix before it is cut short
MAX_EXPANDED_TERMS = 400  # over the whole query
MAX_WINDOW = 10_000  # hits a page may reach into (page * page_size)
SUGGEST_BELOW = 3  # "did you mean" when a query finds fewer results than this
FACET_LIMIT = 200  # values reported per facet
FACETS = ("language", "sector", "topic", "country", "source", "status", "case", "system", "month")
FILTER_FIELDS = ("language", "topic", "sector", "country", "source", "status", "case", "system")
QUERY, PHRASE = "<query>", "<phrase>"  # kinds of leaf alternatives besides (field, term)
MAX_SCORED_PREFIX_TERMS = 20  # a prefix's most frequent expansions take part in the score
NO_LANGUAGE = ""  # the documents without a language (contacts, case files, items of unknown language)
Languages = frozenset[str] | None  # the languages of the documents a term is searched in; None: all

# --- what a search asks and gets -----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Which documents beside items the searcher may see."""

    contacts: str = "none"  # "none", "normal" (not restricted) or "all"
    allowed_contacts: frozenset[int] = frozenset()  # restricted contacts visible anyway
    cases: bool = False
    systems: bool = False  # the register of systems (kb.systems: every active user)

    @property
    def private(self) -> bool:
        return self.contacts != "none" or self.cases or self.systems


@dataclass(frozen=True)
class Request:
    tree: Leaf | Node | None
    filters: dict[str, tuple[str, ...]]  # FILTER_FIELDS -> values (OR within a field, AND across)
    date_from: datetime | None = None
    date_to: datetime | None = None  # exclusive
    access: Access = Access()
    sort: str = "relevance"  # or "newest"
    offset: int = 0
    limit: int = 20
    kinds: tuple[str, ...] = ()  # only these kinds of document (empty: every visible kind)


@dataclass(frozen=True)
class Match:
    key: str
    score: float
    heading: str
    excerpt: str
    published: datetime | None


@dataclass
class Answer:
    total: int
    matches: list[Match]
    facets: dict[str, dict[str, int]]
    marks: frozenset[str]  # folded words and prefix expansions to highlight
    words: tuple[str, ...]  # the query's positive words, highlighted with their stems in each hit's language
    notes: list[str]


# --- compiling the tree --------------------------------------------------------------------------


class _Compiler:
    """Turns leaves into the index terms they stand for, bounded, with notes."""

    def __init__(self, searcher: Searcher, access: Access, languages: Iterable[str],
                 notes: list[str]) -> None:
        self.searcher = searcher
        self.access = access
        self.notes = notes
        self.languages = sorted(set(languages) - {NO_LANGUAGE})  # as the items' `language` field holds them
        self.expanded = 0
        self.cache: dict[Leaf, list[tuple[str, Any, Languages]]] = {}
        self.masks: dict[tuple[Any, frozenset[str]], int] = {}

    def forms(self, words: tuple[str, ...]) -> dict[tuple[str, ...], frozenset[str]]:
        """The stems of words in each language of the index, with the languages giving each: an item of
        language L is searched for stem(w, L) only; documents without a language for the words as typed."""
        found: dict[tuple[str, ...], set[str]] = {words: {NO_LANGUAGE}}
        for code in self.languages:
            found.setdefault(tuple(stem(w, code) for w in words), set()).add(code)
        return {form: frozenset(codes) for form, codes in sorted(found.items())}

    def stems(self, word: str) -> list[str]:
        """Every form a word is searched as, in some language."""
        return sorted(form[0] for form in self.forms((word,)))

    def language_mask(self, leaf: SegmentLeaf, languages: frozenset[str]) -> int:
        """Bitmap of the documents of a segment in these languages (NO_LANGUAGE: those without one)."""
        key = (leaf.segment.key, languages)
        found = self.masks.get(key)
        if found is None:
            found = any_language = 0
            for code, bits in leaf.facet("language"):
                any_language |= bits
                if code in languages:
                    found |= bits
            if NO_LANGUAGE in languages:
                found |= leaf.live() & ~any_language
            self.masks[key] = found
        return found

    def fields_for(self, leaf: Leaf) -> tuple[list[str], list[str]]:
        """(item fields, private fields) a leaf searches."""
        item = {"title": ["title"], "text": ["text"]}.get(leaf.field or "", ["title", "text"])
        private = {"title": ["private_title"], "text": ["private_text"]}.get(
            leaf.field or "", ["private_title", "private_text"])
        return item, private if self.access.private else []

    def alternatives(self, leaf: Leaf) -> list[tuple[str, Any, Languages]]:
        """What a leaf matches: a union of (field, term), (QUERY, Whoosh query), (PHRASE, (part, words)),
        each in the documents of the languages given (None: in every document)."""
        found = self.cache.get(leaf)
        if found is not None:
            return found
        pairs: list[tuple[str, Any, Languages]] = []
        item_fields, private_fields = self.fields_for(leaf)
        if leaf.kind == "value":
            pairs = [(name, term, None) for name, term in self.value_terms(leaf)]
        elif leaf.kind == "word":
            word = leaf.words[0]
            for (stemmed,), languages in self.forms((word,)).items():
                pairs += [(name, stemmed, languages) for name in item_fields]
            pairs += [(name, word, None) for name in private_fields]
        elif leaf.kind == "phrase":
            part = leaf.field if leaf.field in ("title", "text") else None
            pairs = [(PHRASE, (part, seq), languages) for seq, languages in self.forms(leaf.words).items()]
            pairs += [(QUERY, wq.Phrase(name, list(leaf.words)), None) for name in private_fields]
        elif leaf.kind == "prefix":
            terms = self.expand(leaf.words[0], item_fields[-1], leaf.raw)
            pairs = [(name, term, None) for term in terms for name in item_fields]
            if private_fields:
                private_terms = self.expand(leaf.words[0], private_fields[-1], leaf.raw)
                pairs += [(name, term, None) for term in private_terms for name in private_fields]
        self.cache[leaf] = pairs
        return pairs

    def marks(self, tree: Leaf | Node | None) -> tuple[frozenset[str], tuple[str, ...]]:
        """(folded words and prefix expansions, the positive words) of the query, for highlighting: a hit
        highlights these and the words' stems in its own language."""
        found: set[str] = set()
        words: dict[str, None] = {}
        for leaf in query_words(tree):
            if leaf.kind == "prefix":
                found.update(term for name, term, _ in self.alternatives(leaf) if name in SCORED_FIELDS)
            else:
                words.update(dict.fromkeys(leaf.words))
        return frozenset(found | set(words)), tuple(words)

    def exact_words(self, tree: Leaf | Node | None) -> list[str]:
        """The distinct words of the positive word and phrase leaves: exact(d) counts those d holds."""
        words = (w for leaf in query_words(tree) if leaf.kind != "prefix" for w in leaf.words)
        return list(dict.fromkeys(words))

    def scoring(self, tree: Leaf | Node | None, stats: Bm25) -> list[tuple[str, str, float, Languages]]:
        """(field, term, idf, languages) of the positive words of the query: the pairs a document's score
        adds up when its language is among `languages` (None: any).

        Each pair counts once per document, in a fixed order (however often the query repeats a word, or
        however many of its words share a stem); the pairs of a prefix are its MAX_SCORED_PREFIX_TERMS
        expansions held by the most live documents, in every language.
        """
        pairs: dict[tuple[str, str], Languages] = {}

        def add(name: str, term: str, languages: Languages) -> None:
            if (name, term) in pairs:
                known = pairs[(name, term)]
                languages = None if known is None or languages is None else known | languages
            pairs[(name, term)] = languages

        for leaf in query_words(tree):
            item_fields, private_fields = self.fields_for(leaf)
            if leaf.kind == "prefix":
                for fields in (item_fields, private_fields):
                    if not fields:
                        continue
                    held = {t: stats.frequency(fields[-1], t)
                            for name, t, _ in self.alternatives(leaf) if name == fields[-1]}
                    terms = sorted(held, key=lambda t: (-held[t], t))[:MAX_SCORED_PREFIX_TERMS]
                    for t in terms:
                        for name in fields:
                            add(name, t, None)
                continue
            for word in leaf.words:
                for (stemmed,), codes in self.forms((word,)).items():
                    for name in item_fields:
                        add(name, stemmed, codes)
                for name in private_fields:
                    add(name, word, None)
        scored: list[tuple[str, str, float, Languages]] = []
        for (name, term), where in pairs.items():
            idf = stats.idf(name, term)
            if idf:
                scored.append((name, term, idf, where))
        return scored

    def value_terms(self, leaf: Leaf) -> list[tuple[str, Any]]:
        value = leaf.words[0]
        if leaf.field == "language":
            return [("language", value)]
        if leaf.field == "country":
            return [("country", value if "/" in value else f"country/{value}")]
        if leaf.field == "topic":
            if "/" in value:
                return [("topic", value)]
            return [("topic", t) for t in self.lexicon("topic") if t.partition("/")[2] == value]
        # source: an id, or the words of the source's name
        if value.isdigit():
            return [("source", value)]
        words = tokenize(value)
        if not words:
            return []
        if len(words) == 1:
            return [("source_name", words[0])]
        return [(QUERY, wq.And([wq.Term("source_name", w) for w in words]))]

    def lexicon(self, field_name: str) -> list[str]:
        return [decode_term(t) for t in self.searcher.reader().lexicon(field_name)]

    def expand(self, prefix: str, field_name: str, raw: str) -> list[str]:
        """Terms of a field for a prefix, the most frequent first, bounded.

        The item fields hold stems, and a prefix may be longer than the stem ("discriminat*" against
        "discrimin"): the words of the item vocabulary that start with the prefix are stemmed too.
        """
        reader = self.searcher.reader()
        budget = min(MAX_PREFIX_TERMS, MAX_EXPANDED_TERMS - self.expanded)
        if budget <= 0:
            self.notes.append(f"{raw[:40]!r} was ignored: the query expands to {MAX_EXPANDED_TERMS} terms "
                              "already.")
            return []
        terms = islice(reader.expand_prefix(field_name, prefix), MAX_PREFIX_SCAN)
        found = dict.fromkeys(decode_term(t) for t in terms)
        cut = len(found) >= MAX_PREFIX_SCAN
        if field_name in ("title", "text"):
            for word in islice(reader.expand_prefix("vocab", prefix), MAX_PREFIX_SCAN):
                for stemmed in self.stems(decode_term(word)):
                    if stemmed not in found and reader.doc_frequency(field_name, stemmed):
                        found[stemmed] = None
        candidates = list(found)
        if len(candidates) > budget:
            cut = True
            candidates.sort(key=lambda t: -reader.doc_frequency(field_name, t))
            candidates = candidates[:budget]
        if cut:
            self.notes.append(f"{raw[:40]!r} matches too many words: only the {len(candidates)} most "
                              "frequent were searched. Type a longer prefix to narrow it.")
        self.expanded += len(candidates)
        return candidates


def _evaluate(tree: Leaf | Node, leaf: SegmentLeaf, compiler: _Compiler) -> int:
    """Bitmap of the documents of one segment that match the tree."""
    if isinstance(tree, Leaf):
        bitmap = 0
        for name, term, languages in compiler.alternatives(tree):
            if name == QUERY:
                bits = leaf.docs(term)
            elif name == PHRASE:
                bits = leaf.phrase(*term)
            else:
                bits = leaf.term(name, term)
            if bits and languages is not None:
                bits &= compiler.language_mask(leaf, languages)
            bitmap |= bits
        return bitmap
    if tree.op == "not":
        return leaf.live() & ~_evaluate(tree.children[0], leaf, compiler)
    if tree.op == "or":
        bitmap = 0
        for child in tree.children:
            bitmap |= _evaluate(child, leaf, compiler)
        return bitmap
    result: int | None = None
    negatives = []
    for child in tree.children:
        if isinstance(child, Node) and child.op == "not":
            negatives.append(child.children[0])
            continue
        bits = _evaluate(child, leaf, compiler)
        result = bits if result is None else result & bits
        if not result:
            return 0
    if result is None:
        result = leaf.live()
    for child in negatives:
        result &= ~_evaluate(child, leaf, compiler)
    return result


# --- running a search ----------------------------------------------------------------------------
def _index_languages(searcher: Searcher) -> list[str]:
    """The languages of the indexed documents, from the segments' cached facet tables."""
    return sorted({language for leaf in segment_leaves(searcher) for language, _ in leaf.facet("language")})


def _languages_in(compiler: _Compiler, leaf: SegmentLeaf, languages: Languages) -> np.ndarray | None:
    """The documents of a segment in these languages, as booleans (None: no restriction)."""
    if languages is None:
        return None
    return mask_of(compiler.language_mask(leaf, languages), leaf.size)


def _constraints(leaf: SegmentLeaf, request: Request) -> int:
    """Bitmap of what the filters, the kinds asked for and the access rules allow in one segment."""
    allowed = leaf.live()
    for name, values in request.filters.items():
        if values:
            wanted = set(values)
            union = 0
            for term, bits in leaf.facet(name):
                if term in wanted:
                    union |= bits
            allowed &= union
            if not allowed:
                return 0
    if request.date_from is not None or request.date_to is not None:
        start = date_number(request.date_from) if request.date_from else None
        end = date_number(request.date_to) if request.date_to else None
        allowed &= leaf.date_range(start, end)
    kinds = dict(leaf.facet("kind"))
    if request.kinds:
        union = 0
        for kind in request.kinds:
            union |= kinds.get(kind, 0)
        allowed &= union
    return allowed & ~_forbidden(leaf, request.access, kinds)


def _forbidden(leaf: SegmentLeaf, access: Access, kinds: dict[str, int]) -> int:
    """Bitmap of the documents this searcher may not see."""
    hidden = 0
    if not access.cases:
        hidden |= kinds.get(CASE, 0)
    if not access.systems:
        hidden |= kinds.get(SYSTEM, 0)
    contacts = kinds.get(CONTACT, 0)
    if access.contacts == "none":
        hidden |= contacts
    elif access.contacts == "normal" and contacts:
        restricted = contacts & leaf.term("sensitivity", "restricted")
        for contact_id in access.allowed_contacts:
            restricted &= ~leaf.term("id", f"{CONTACT}:{contact_id}")
        hidden |= restricted
    return hidden


def _matches(searcher: Searcher, request: Request,
             compiler: _Compiler) -> tuple[list[SegmentLeaf], list[int]]:
    """The segments, and for each the bitmap of the documents the request matches."""
    leaves = segment_leaves(searcher)
    matched: list[int] = []
    for leaf in leaves:
        bits = _constraints(leaf, request)
        if bits and request.tree is not None:
            bits &= _evaluate(request.tree, leaf, compiler)
        matched.append(bits)
    return leaves, matched


def run(searcher: Searcher, request: Request, notes: list[str] | None = None) -> Answer:
    """Match, count, facet and rank one search on an open searcher."""
    notes = notes if notes is not None else []
    compiler = _Compiler(searcher, request.access, _index_languages(searcher), notes)
    leaves, matched = _matches(searcher, request, compiler)
    total = sum(bits.bit_count() for bits in matched)
    facets = _count_facets(leaves, matched)
    # A facet with values chosen is counted without its own filter, so that its other values can be added
    # (values of one facet are alternatives): its counts say what choosing each value too would add.
    for name, values in request.filters.items():
        if values and name in FACETS:
            others = replace(request, filters={k: v for k, v in request.filters.items() if k != name})
            facets[name] = _count_facets(leaves, _matches(searcher, others, compiler)[1], (name,))[name]
    window = min(request.offset + request.limit, MAX_WINDOW)
    if total == 0 or request.offset >= window:
        page: list[tuple[int, float]] = []
    elif request.sort == "newest" or request.tree is None or _only_negative(request.tree):
        page = _newest(leaves, matched, request.offset, window)
    else:
        stats = bm25(searcher)
        exact = compiler.exact_words(request.tree)
        page = _rank(leaves, matched, compiler.scoring(request.tree, stats), stats, request.offset, window,
                     compiler=compiler, exact=exact)
    marks, words = compiler.marks(request.tree)
    return Answer(
        total=total, matches=[_match(searcher, docnum, score) for docnum, score in page], facets=facets,
        marks=marks, words=words, notes=notes,
    )


def count(searcher: Searcher, request: Request) -> int:
    """How many documents a request matches (no facets, no ranking)."""
    compiler = _Compiler(searcher, request.access, _index_languages(searcher), [])
    _, matched = _matches(searcher, request, compiler)
    return sum(bits.bit_count() for bits in matched)


def _only_negative(tree: Leaf | Node) -> bool:
    if isinstance(tree, Leaf):
        return tree.kind == "value"
    if tree.op == "not":
        return True
    return all(_only_negative(c) for c in tree.children)


def _count_facets(leaves: list[SegmentLeaf], matched: list[int],
                  names: tuple[str, ...] = FACETS) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    for name in names:
        counts: dict[str, int] = {}
        for leaf, bits in zip(leaves, matched, strict=True):
            if not bits:
                continue
            for value, value_bits in leaf.facet(name):
                n = (bits & value_bits).bit_count()
                if n:
                    counts[value] = counts.get(value, 0) + n
        if name == "month":
            ordered = sorted(counts.items(), reverse=True)
        else:
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        facets[name] = dict(ordered[:FACET_LIMIT])
    return facets


# A ranking's candidates: per segment, its documents (ascending numbers) and the value they are ordered by.
_Candidates = list[tuple[SegmentLeaf, np.ndarray, np.ndarray]]


def _page(candidates: _Candidates, start: int, stop: int) -> list[tuple[int, float]]:
    """Places start..stop-1 (from 0) of the candidates ordered by value, highest first, and equal values
    by the documents' keys: (index-wide document number, value) for each.

    Exact, and the same however the documents are spread over segments: the values at or above the
    stop-th highest are sorted, and the keys of the documents sharing a value are read only where such a
    run of equal values reaches into the page.
    """
    candidates = [group for group in candidates if len(group[1])]
    if stop <= start or not candidates:
        return []
    values = np.concatenate([found for _, _, found in candidates])
    owners = np.concatenate([np.full(len(docs), n) for n, (_, docs, _) in enumerate(candidates)])
    docnums = np.concatenate([docs for _, docs, _ in candidates])
    if len(values) > stop:
        cut = np.partition(values, len(values) - stop)[len(values) - stop]  # the stop-th highest value
        keep = np.flatnonzero(values >= cut)  # all of the run of equal values at the cut
        values, owners, docnums = values[keep], owners[keep], docnums[keep]
    order = np.argsort(-values, kind="stable")
    ordered = values[order]
    bounds = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, [len(ordered)]))
    run = int(np.searchsorted(bounds, start, side="right")) - 1
    while run < len(bounds) - 1 and bounds[run] < stop:
        low, high = int(bounds[run]), int(bounds[run + 1])
        if high - low > 1:
            members = order[low:high]
            pairs = zip(owners[members].tolist(), docnums[members].tolist(), strict=True)
            keys = [candidates[owner][0].sort_keys((docnum,))[0] for owner, docnum in pairs]
            order[low:high] = members[sorted(range(high - low), key=keys.__getitem__)]
        run += 1
    return [(candidates[owner][0].offset + docnum, value) for owner, docnum, value in zip(
        owners[order[start:stop]].tolist(), docnums[order[start:stop]].tolist(),
        values[order[start:stop]].tolist(), strict=True)]


def _newest(leaves: list[SegmentLeaf], matched: list[int], start: int, stop: int) -> list[tuple[int, float]]:
    """Places start..stop-1 of the matches, newest first (those without a date last), equal dates by key."""
    candidates = []
    for leaf, bits in zip(leaves, matched, strict=True):
        if bits:
            docs = np.flatnonzero(mask_of(bits, leaf.size))
            candidates.append((leaf, docs, leaf.published()[docs]))
    return [(docnum, 0.0) for docnum, _ in _page(candidates, start, stop)]


def _exact_weight(terms: list[tuple[str, str, float, Languages]]) -> float:
    """S: a power of two above the highest bm25(d) the query's pairs can add up to (each part is below
    idf * (K1 + 1)), so that exact(d) * S + bm25(d) orders by exact(d) first."""
    bound = sum(idf for _, _, idf, _ in terms) * (K1 + 1) + 1.0
    return float(2 ** math.ceil(math.log2(bound)))


def _rank(leaves: list[SegmentLeaf], matched: list[int], terms: list[tuple[str, str, float, Languages]],
          stats: Bm25, start: int, stop: int, *, compiler: _Compiler | None = None,
          exact: Sequence[str] = ()) -> list[tuple[int, float]]:
    """Places start..stop-1 of the matches by exact(d), then BM25 (see the module's docstring and Bm25),
    best first, equal scores by key; the score given is bm25(d).

    Every match is scored: for each (field, term, idf, languages) in turn, over the postings of the term in
    each segment (or, when the matches are fewer than the postings, the matches looked up in them), only
    the documents in those languages, so a document's score adds the same numbers in the same order in any
    segment. Matches with no scored word (a query of metadata values, an item found through a concept it
    is tagged with) follow, newest first, with a score of 0.
    """
    scale = _exact_weight(terms)
    scored: _Candidates = []
    unscored: _Candidates = []
    for leaf, bits in zip(leaves, matched, strict=True):
        if not bits:
            continue
        in_result = mask_of(bits, leaf.size)
        docs = np.flatnonzero(in_result).astype(np.uint32)  # as the postings' ids: no conversions below
        scores = np.zeros(len(docs))
        for name, term, idf, languages in terms:
            postings = leaf.postings(name, term)
            ids, weights = postings.ids, postings.weights
            if not len(ids) or weights is None:
                continue
            in_languages = _languages_in(compiler, leaf, languages) if compiler is not None else None
            allowed = in_result if in_languages is None else in_result & in_languages
            if len(ids) <= len(docs):  # the term's documents, those among the matches
                held = allowed[ids]
                holding = ids[held]
                at = np.searchsorted(docs, holding)
                weights = weights[held]
            else:  # the matches, those among the term's documents
                where = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
                hit = ids[where] == docs
                if in_languages is not None:
                    hit &= in_languages[docs]
                at = np.flatnonzero(hit)
                holding = docs[hit]
                weights = weights[where[hit]]
            if len(at):
                scores[at] += stats.parts(leaf, name, weights, holding, idf)
        positive = scores > 0
        if exact:
            counts = np.zeros(len(docs))
            for word in exact:
                held_bits = leaf.term("words", word) | leaf.term("private_title", word) | leaf.term(
                    "private_text", word)
                if held_bits & bits:
                    counts += mask_of(held_bits, leaf.size)[docs]
            scores = counts * scale + scores
        scored.append((leaf, docs[positive], scores[positive]))
        rest = docs[~positive]
        unscored.append((leaf, rest, leaf.published()[rest]))
    count = sum(len(docs) for _, docs, _ in scored)
    page = [(docnum, math.fmod(value, scale)) for docnum, value in _page(scored, start, min(stop, count))]
    if stop > count:
        page += [(docnum, 0.0) for docnum, _ in _page(unscored, max(start - count, 0), stop - count)]
    return page


def _match(searcher: Searcher, docnum: int, score: float) -> Match:
    stored = searcher.reader().stored_fields(docnum)
    return Match(key=stored["id"], score=score, heading=stored.get("heading", ""),
                 excerpt=stored.get("excerpt", ""), published=stored.get("published"))


# --- did you mean --------------------------------------------------------------------------------


def corrections(searcher: Searcher, words: Iterable[str]) -> dict[str, str]:
    """Better-known spellings of unknown or rare words, from the item vocabulary (never contacts)."""
    reader = searcher.reader()
    corrector = reader.corrector("vocab")
    found: dict[str, str] = {}
    for word in dict.fromkeys(words):
        if len(word) < 4 or word.isdigit():
            continue
        known = reader.doc_frequency("vocab", word)
        if known >= SUGGEST_BELOW:
            continue  # a word of the vocabulary: the query finds little for another reason
        # Sharing the first two letters keeps the lookup to a small part of the lexicon (1 ms, not 100).
        candidates = corrector.suggest(word, limit=8, maxdist=1 if len(word) < 7 else 2, prefix=2)
        best = max(candidates, key=lambda c: reader.doc_frequency("vocab", c), default=None)
        if best and best != word and reader.doc_frequency("vocab", best) > known * 5:
            found[word] = best
    return found


# --- similar items -------------------------------------------------------------------------------


def similar(searcher: Searcher, key: str, title: str, text: str, limit: int = 5,
            words_used: int = 20) -> list[Match]:
    """Items sharing the most distinctive stems of one item's title and text (tf-idf), itself left out."""
    counts: dict[str, float] = {}
    for weight, stems in ((2.0, title.split()), (1.0, text.split())):
        for word in stems:
            if len(word) > 2 and not word.isdigit():
                counts[word] = counts.get(word, 0.0) + weight
    total = max(searcher.doc_count(), 1)
    scored = []
    for word, tf in counts.items():
        df = searcher.reader().doc_frequency("text", word)
        if 1 < df < total * 0.5:
            scored.append((tf * (1.0 + math.log(total / df)), word))
    scored.sort(reverse=True)
    chosen = scored[:words_used]
    if not chosen:
        return []
    terms: list[tuple[str, str, float, Languages]] = [
        (name, word, weight, None) for weight, word in chosen for name in ("title", "text")]
    leaves = segment_leaves(searcher)
    matched = []
    for leaf in leaves:
        bits = 0
        for name, word, _, _ in terms:
            bits |= leaf.term(name, word)
        kinds = dict(leaf.facet("kind"))
        matched.append(bits & leaf.live() & kinds.get(ITEM, 0) & ~leaf.term("id", key))
    page = _rank(leaves, matched, terms, bm25(searcher), 0, limit)
    return [_match(searcher, docnum, score) for docnum, score in page]


__all__ = ["Access", "Answer", "FACETS", "FILTER_FIELDS", "ITEM", "Match", "Request", "corrections", "count",
           "run", "similar"]

"""Running a search on the Whoosh index: parse the query, bound it, match, count facets, rank, suggest.

How a search runs (see kb.search for the Whoosh-free front):
1. `parse_query` (kb.index.parser) reads the user's syntax into a small tree and never raises: what it
   cannot read is left out and said in a note. Queries are bounded before anything runs (length,
   clauses, prefix terms).
2. Each word becomes the stems it has in every language of the index (the index holds each item's words
   stemmed in the item's own language, so a word of any language finds its inflections).
3. Matching runs on bitmaps, one Python int per segment, built from postings and cached per segment:
   the facet values, the dates, and the query terms. Counting a facet value over the whole result set is
   then one `&` and one `bit_count()`.
4. Ranking is BM25 (the title's postings carry its boost): each term's postings are read once per
   segment with their BM25 parts and kept ordered; the best matching documents of each term form a pool
   that is scored exactly over every term of the query. Whoosh's own collectors score every match in
   Python, which took 150-500 ms per query at 100,000 items; this takes a few.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import threading
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice, repeat
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from kb.search.documents import CASE, CONTACT, ITEM, date_number
from kb.search.index.parser import Leaf, Node, query_words
from kb.text.normalize import STEM_LANGUAGES, stem, tokenize

LOGGER = logging.getLogger(__name__)

MAX_PREFIX_TERMS = 200  # terms one prefix may expand to (the most frequent are kept)
MAX_PREFIX_SCAN = 5_000  # lexicon terms read per prefix before it is cut short
MAX_EXPANDED_TERMS = 400  # over the whole query
MAX_WINDOW = 10_000  # hits a page may reach into (page * page_size)
SUGGEST_BELOW = 3  # "did you mean" when a query finds fewer results than this
FACET_LIMIT = 200  # values reported per facet
FACETS = ("language", "sector", "topic", "country", "source", "status", "case", "month")
FILTER_FIELDS = ("language", "topic", "sector", "country", "source", "status", "case")
SCORED_FIELDS = ("title", "text", "private_title", "private_text")
QUERY, PHRASE = "<query>", "<phrase>"  # kinds of leaf alternatives besides (field, term)
K1, B = 1.2, 0.75  # BM25, as Whoosh's default BM25F
MAX_SCORED_PREFIX_TERMS = 20  # a prefix's most frequent expansions take part in the score
RANK_POOL = 50  # best documents taken from each term's list, at least, before exact scoring
NEWEST_BY_SORTING = 5_000  # fewer matches than this in a segment are sorted by date, not looked up

# --- what a search asks and gets -----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Which documents beside items the searcher may see."""

    contacts: str = "none"  # "none", "normal" (not restricted) or "all"
    allowed_contacts: frozenset[int] = frozenset()  # restricted contacts visible anyway
    cases: bool = False

    @property
    def private(self) -> bool:
        return self.contacts != "none" or self.cases


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
    marks: frozenset[str]  # folded words and stems to highlight
    notes: list[str]


# --- per-segment bitmaps -------------------------------------------------------------------------

FEW = 16  # below this many documents, bitmaps are made and read bit by bit; above, with numpy


def _bitmap(ids: Iterable[int] | np.ndarray, size: int) -> int:
    """A Python int with bit d set for each document number d."""
    if not isinstance(ids, np.ndarray):
        ids = np.fromiter(ids, dtype=np.int64)
    if len(ids) <= FEW:
        bitmap = 0
        for d in ids.tolist():
            bitmap |= 1 << d
        return bitmap
    bits = np.zeros(size, dtype=np.bool_)
    bits[ids] = True
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def _mask(bitmap: int, size: int) -> np.ndarray:
    """A bitmap as an array of booleans, one per document of the segment."""
    data = np.frombuffer(bitmap.to_bytes((size >> 3) + 1, "little"), dtype=np.uint8)
    return np.unpackbits(data, bitorder="little")[:size].view(np.bool_)


def _read_postings(matcher: Any) -> tuple[np.ndarray, np.ndarray]:
    """The document numbers (uint32) and weights (float32) of a term's postings.

    Whoosh's on-disk matcher is read a block (up to 128 postings) at a time, from the block data its
    own `_read_data` unpickles: the document numbers there are differences from the block's previous one,
    added up here with numpy for all the blocks at once. That is about twenty times faster than the
    calls per posting of the public interface, which the other matchers (the inline postings of a rare
    term, say) still use. The postings of deleted documents are read too: every search masks them with
    the segment's live bitmap.
    """
    if type(matcher) is FilterMatcher:  # SegmentReader.postings hides deleted documents with a filter,
        matcher = matcher.child  # which has already moved its child past the deleted ones at the start:
        matcher.reset()  # back to the first posting
    weights = array("f")
    if type(matcher) is W3LeafMatcher and not matcher._byteids:  # noqa: SLF001
        deltas: list[int] = []
        sizes: list[int] = []
        while matcher.is_active():
            if matcher._data is None:  # noqa: SLF001
                matcher._read_data()  # noqa: SLF001
            block_ids, block_weights, _ = matcher._data  # noqa: SLF001
            deltas.extend(block_ids)
            sizes.append(len(block_ids))
            if isinstance(block_weights, tuple):
                weights.extend(block_weights)
            else:  # all the block's weights are 1.0 (None) or the same number
                weights.extend(repeat(1.0 if block_weights is None else block_weights, len(block_ids)))
            matcher._next_block()  # noqa: SLF001
        steps = np.array(deltas, dtype=np.int64)
        sums = np.cumsum(steps)
        counts = np.array(sizes, dtype=np.int64)
        firsts = np.cumsum(counts) - counts  # where each block starts
        ids = sums - np.repeat(sums[firsts] - steps[firsts], counts)  # each block counts from 0
        return ids.astype(np.uint32), np.frombuffer(weights, dtype=np.float32)
    found = array("I")
    while matcher.is_active():
        found.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.frombuffer(found, dtype=np.uint32), np.frombuffer(weights, dtype=np.float32)


_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


def _field_lengths(reader: Any, field_name: str, size: int) -> np.ndarray:
    """Each document's length of a field, as Whoosh keeps it (one byte per document, log-scaled).

    The lengths column is read in one piece through the segment's per-document reader, a hundred times
    faster than asking `doc_field_length` document by document (100 ms for a segment of 8,000).
    """
    lengths = np.zeros(size, dtype=np.uint8)
    column = reader._perdoc._cached_reader(f"_{field_name}_len", LENGTHS_COLUMN)  # noqa: SLF001
    if column is not None:  # None: no document of the segment has the field
        stored = column._count  # noqa: SLF001 # the column stops at the last document with a length
        raw = column._dbfile.get(column._basepos, stored)  # noqa: SLF001
        lengths[:stored] = np.frombuffer(raw, dtype=np.uint8)
    return _BYTE_TO_LENGTH[lengths]  # type: ignore[no-any-return]


class _LRU:
    """A small thread-safe least-recently-used map, bounded by a cost (bytes)."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost
        self.cost = 0
        self.data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            found = self.data.get(key)
            if found is None:
                return None
            self.data.move_to_end(key)
            return found[0]

    def put(self, key: Any, value: Any, cost: int) -> None:
        with self.lock:
            if key in self.data:
                return
            self.data[key] = (value, cost)
            self.cost += cost
            while self.cost > self.max_cost and len(self.data) > 1:
                _, (_, old_cost) = self.data.popitem(last=False)
                self.cost -= old_cost


# Term postings of all segments (bitmaps, ids, BM25 parts: 128 MB at most); a segment's facet tables,
# field lengths, dates and live documents.
_TERMS = _LRU(128 << 20)
_SEGMENTS = _LRU(512 << 20)


class _Postings:
    """The documents of one term in one segment: a bitmap, the ids, and for text fields the BM25 parts."""

    __slots__ = ("bitmap", "ids", "parts", "_order")

    def __init__(self, bitmap: int, ids: np.ndarray, parts: np.ndarray | None) -> None:
        self.bitmap = bitmap
        self.ids = ids  # ascending document numbers
        self.parts = parts  # float32, by position in ids
        self._order: np.ndarray | None = None

    def order(self) -> np.ndarray:
        """Positions in `ids`, the best BM25 part first (in document order among equals)."""
        if self._order is None:
            assert self.parts is not None
            self._order = np.argsort(-self.parts, kind="stable")
        return self._order

    def parts_of(self, docnums: np.ndarray) -> np.ndarray:
        """The BM25 parts (as float64) of documents in ascending order, 0 for those without the term."""
        if not len(self.ids) or self.parts is None:
            return np.zeros(len(docnums))
        at = np.minimum(np.searchsorted(self.ids, docnums), len(self.ids) - 1)
        return np.where(self.ids[at] == docnums, self.parts[at].astype(np.float64), 0.0)

    def cost(self, size: int) -> int:
        """Bytes held: the bitmap, and per posting its id, BM25 part and place in order (4 + 4 + 8)."""
        return 64 + ((size >> 3) if self.bitmap else 0) + 16 * len(self.ids)


_NO_POSTINGS = _Postings(0, np.zeros(0, dtype=np.uint32), None)


class _Segment:
    """What is cached about one segment: its size, facet values, dates in order, live documents."""

    def __init__(self, key: str, size: int) -> None:
        self.key = key
        self.size = size
        self.facets: dict[str, list[tuple[str, int]]] = {}
        self.length_norms: dict[str, Any] = {}
        self.dates: list[tuple[int, int]] | None = None  # (published, docnum) ascending
        self.published: list[int] | None = None  # by docnum
        self.live: tuple[int, int] = (-1, 0)  # (deleted count, bitmap)
        self.lock = threading.Lock()


def _segment_of(reader: Any) -> _Segment:
    segment = reader.segment()
    key = f"{segment.segment_id()}:{reader.doc_count_all()}"
    cached = _SEGMENTS.get(key)
    if cached is None:
        cached = _Segment(key, reader.doc_count_all())
        _SEGMENTS.put(key, cached, 4096 + 256 * cached.size)  # facet tables, dates, lengths
    return cached  # type: ignore[no-any-return]


def _decode(term: bytes | str) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


class _Leaf:
    """One segment of the index, as the matcher sees it (kept as long as its searcher)."""

    def __init__(self, searcher: Searcher, offset: int) -> None:
        # Weakly: a one-segment index's leaf is the searcher itself, and _LEAVES must not keep it alive.
        self._searcher = weakref.ref(searcher)
        self.reader = searcher.reader()
        self.offset = offset
        self.segment_object: Any = self.reader.segment()
        self.segment = _segment_of(self.reader)
        self.size = self.segment.size
        self._phrases: Any = None  # the column reader, made once: it reads the whole offset table

    def term(self, field_name: str, text: str) -> int:
        """Bitmap of the documents of this segment holding a term."""
        return self.postings(field_name, text).bitmap

    def postings(self, field_name: str, text: str) -> _Postings:
        """A term's documents, and for the text fields their BM25 term-frequency parts (cached)."""
        key = (self.segment.key, field_name, text)
        cached = _TERMS.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        try:
            matcher = self.reader.postings(field_name, text)  # one lookup in the term table
        except TermNotFound:
            found = _NO_POSTINGS
        else:
            ids, weights = _read_postings(matcher)
            parts = None
            if field_name in SCORED_FIELDS:
                tf = weights.astype(np.float64)
                parts = (tf * (K1 + 1) / (tf + self.length_norms(field_name)[ids])).astype(np.float32)
            found = _Postings(_bitmap(ids, self.size), ids, parts)
        _TERMS.put(key, found, found.cost(self.size))
        return found

    def frequency(self, field_name: str, text: str) -> int:
        """How many documents of the segment hold a term (deleted ones too, as Whoosh counts)."""
        cached = _TERMS.get((self.segment.key, field_name, text))
        if cached is not None:
            return len(cached.ids)  # type: ignore[no-any-return]
        return self.reader.doc_frequency(field_name, text)  # type: ignore[no-any-return]

    def length_norms(self, field_name: str) -> Any:
        """BM25's length normalisation of every document for a field (a numpy array), once per segment."""
        norms = self.segment.length_norms.get(field_name)
        if norms is None:
            lengths = _field_lengths(self.reader, field_name, self.size)
            average = max(self.reader.field_length(field_name) / max(self.size, 1), 1.0)
            norms = K1 * (1 - B + B * lengths / average)
            self.segment.length_norms[field_name] = norms
        return norms

    def docs(self, q: wq.Query) -> int:
        """Bitmap of a Whoosh query on this segment."""
        searcher = self._searcher()
        assert searcher is not None, "a leaf is only used while its searcher is open"
        return _bitmap(q.docs(searcher), self.size)

    def phrase(self, part: str | None, words: tuple[str, ...]) -> int:
        """Bitmap of the items holding these stems in this order (in the title, the text, or either).

        The documents holding every word are checked against the `phrases` column, the stems of the
        title and the text as they follow each other (a few microseconds a document; positions in the
        postings cost ten times more to read, and to write).
        """
        key = (self.segment.key, PHRASE, part, words)
        cached = _TERMS.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        fields = (part,) if part else ("title", "text")
        candidates = -1
        for word in words:
            holding = 0
            for name in fields:
                holding |= self.term(name, word)
            candidates &= holding
            if not candidates:
                break
        found = 0
        if candidates:
            needle = f" {' '.join(words)} ".encode()
            if self._phrases is None:
                self._phrases = self.reader.column_reader("phrases", translate=False)  # the bytes as stored
            column = self._phrases
            hits = []
            for d in _ids_of(candidates):
                text = column[d]
                if part:
                    title_end = text.find(b"\n")
                    text = text[:title_end] if part == "title" else text[title_end:]
                if needle in text:
                    hits.append(d)
            found = _bitmap(hits, self.size)
        _TERMS.put(key, found, 64 + (self.size >> 3 if found else 0))
        return found

    def live(self) -> int:
        deleted = self.size - self.reader.doc_count()
        seen, bitmap = self.segment.live
        if seen != deleted:
            bitmap = (1 << self.size) - 1
            if deleted:
                bitmap &= ~_bitmap(self.segment_object.deleted_docs(), self.size)
            self.segment.live = (deleted, bitmap)
        return bitmap

    def facet(self, field_name: str) -> list[tuple[str, int]]:
        table = self.segment.facets.get(field_name)
        if table is None:
            with self.segment.lock:
                table = self.segment.facets.get(field_name)
                if table is None:
                    table = []
                    for term in self.reader.lexicon(field_name):
                        ids, _ = _read_postings(self.reader.postings(field_name, term))
                        table.append((_decode(term), _bitmap(ids, self.size)))
                    self.segment.facets[field_name] = table
        return table

    def dates(self) -> list[tuple[int, int]]:
        dates = self.segment.dates
        if dates is None:
            with self.segment.lock:
                dates = self.segment.dates
                if dates is None:
                    column = self.reader.column_reader("date")
                    dates = sorted((column[d] or 0, d) for d in range(self.size))
                    self.segment.dates = dates
        return dates

    def published(self) -> list[int]:
        """Each document's date (as the column holds it, 0 for none), by document number."""
        by_doc = self.segment.published
        if by_doc is None:
            by_doc = [0] * self.size
            for date, d in self.dates():
                by_doc[d] = date
            self.segment.published = by_doc
        return by_doc

    def date_range(self, start: int | None, end: int | None) -> int:
        dates = self.dates()
        # Documents without a date (0) are left out of any date range.
        low = bisect.bisect_left(dates, (max(start or 1, 1), -1))
        high = bisect.bisect_left(dates, (end, -1)) if end is not None else len(dates)
        return _bitmap((d for _, d in dates[low:high]), self.size)


# --- compiling the tree --------------------------------------------------------------------------


class _Compiler:
    """Turns leaves into the index terms they stand for, bounded, with notes."""

    def __init__(self, searcher: Searcher, access: Access, languages: Iterable[str],
                 notes: list[str]) -> None:
        self.searcher = searcher
        self.access = access
        self.notes = notes
        self.languages = sorted({code for code in languages if code in STEM_LANGUAGES})
        self.expanded = 0
        self.cache: dict[Leaf, list[tuple[str, Any]]] = {}

    def stems(self, word: str) -> list[str]:
        found = {word}
        found.update(stem(word, code) for code in self.languages)
        return sorted(found)

    def fields_for(self, leaf: Leaf) -> tuple[list[str], list[str]]:
        """(item fields, private fields) a leaf searches."""
        item = {"title": ["title"], "text": ["text"]}.get(leaf.field or "", ["title", "text"])
        private = {"title": ["private_title"], "text": ["private_text"]}.get(
            leaf.field or "", ["private_title", "private_text"])
        return item, private if self.access.private else []

    def alternatives(self, leaf: Leaf) -> list[tuple[str, Any]]:
        """What a leaf matches: a union of (field, term), (QUERY, Whoosh query), (PHRASE, (part, words))."""
        found = self.cache.get(leaf)
        if found is not None:
            return found
        pairs: list[tuple[str, Any]] = []
        item_fields, private_fields = self.fields_for(leaf)
        if leaf.kind == "value":
            pairs = self.value_terms(leaf)
        elif leaf.kind == "word":
            word = leaf.words[0]
            for stemmed in self.stems(word):
                pairs += [(name, stemmed) for name in item_fields]
            pairs += [(name, word) for name in private_fields]
        elif leaf.kind == "phrase":
            sequences = sorted({tuple(leaf.words)} | {tuple(stem(w, code) for w in leaf.words)
                                                      for code in self.languages})
            part = leaf.field if leaf.field in ("title", "text") else None
            pairs = [(PHRASE, (part, seq)) for seq in sequences]
            pairs += [(QUERY, wq.Phrase(name, list(leaf.words))) for name in private_fields]
        elif leaf.kind == "prefix":
            terms = self.expand(leaf.words[0], item_fields[-1], leaf.raw)
            pairs = [(name, term) for term in terms for name in item_fields]
            if private_fields:
                private_terms = self.expand(leaf.words[0], private_fields[-1], leaf.raw)
                pairs += [(name, term) for term in private_terms for name in private_fields]
        self.cache[leaf] = pairs
        return pairs

    def marks(self, tree: Leaf | Node | None) -> frozenset[str]:
        """Folded words and stems that the positive parts of the query match, for highlighting."""
        found: set[str] = set()
        for leaf in query_words(tree):
            if leaf.kind == "prefix":
                found.update(term for name, term in self.alternatives(leaf) if name in SCORED_FIELDS)
            else:
                for word in leaf.words:
                    found.update(self.stems(word))
        return frozenset(found)

    def scoring(self, tree: Leaf | Node | None, leaves: list[_Leaf]) -> list[tuple[str, str, float]]:
        """(field, term, idf) of the positive words of the query: what a document's score sums."""
        reader = self.searcher.reader()
        total = max(reader.doc_count_all(), 1)
        pairs: dict[tuple[str, str], None] = {}
        for leaf in query_words(tree):
            item_fields, private_fields = self.fields_for(leaf)
            if leaf.kind == "prefix":
                terms = [t for name, t in self.alternatives(leaf) if name == item_fields[-1]]
                terms.sort(key=lambda t: -reader.doc_frequency(item_fields[-1], t))
                best = terms[:MAX_SCORED_PREFIX_TERMS]
                pairs.update(((name, t), None) for t in best for name in item_fields)
                continue
            for word in leaf.words:
                pairs.update(((name, s), None) for s in self.stems(word) for name in item_fields)
                pairs.update(((name, word), None) for name in private_fields)
        scored = []
        for name, term in pairs:
            df = sum(leaf.frequency(name, term) for leaf in leaves)  # mostly from the postings just read
            if df:
                scored.append((name, term, math.log(1 + (total - df + 0.5) / (df + 0.5))))
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
        return [_decode(t) for t in self.searcher.reader().lexicon(field_name)]

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
        found = dict.fromkeys(_decode(t) for t in terms)
        cut = len(found) >= MAX_PREFIX_SCAN
        if field_name in ("title", "text"):
            for word in islice(reader.expand_prefix("vocab", prefix), MAX_PREFIX_SCAN):
                for stemmed in self.stems(_decode(word)):
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

def _evaluate(tree: Leaf | Node, leaf: _Leaf, compiler: _Compiler) -> int:
    """Bitmap of the documents of one segment that match the tree."""
    if isinstance(tree, Leaf):
        bitmap = 0
        for name, term in compiler.alternatives(tree):
            if name == QUERY:
                bitmap |= leaf.docs(term)
            elif name == PHRASE:
                bitmap |= leaf.phrase(*term)
            else:
                bitmap |= leaf.term(name, term)
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


_LEAVES: weakref.WeakKeyDictionary[Searcher, list[_Leaf]] = weakref.WeakKeyDictionary()
_LEAVES_LOCK = threading.Lock()


def _leaves(searcher: Searcher) -> list[_Leaf]:
    """The segments of the index that hold documents (an empty index has a segment-less reader).

    Made once per searcher, which is shared by the searches until the next commit.
    """
    with _LEAVES_LOCK:
        leaves = _LEAVES.get(searcher)
        if leaves is None:
            leaves = [_Leaf(s, offset) for s, offset in searcher.leaf_searchers()
                      if s.reader().segment() is not None and s.reader().doc_count_all()]
            _LEAVES[searcher] = leaves
    return leaves


def _index_languages(searcher: Searcher) -> list[str]:
    """The languages of the indexed documents, from the segments' cached facet tables."""
    return sorted({language for leaf in _leaves(searcher) for language, _ in leaf.facet("language")})


def _constraints(leaf: _Leaf, request: Request) -> int:
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


def _forbidden(leaf: _Leaf, access: Access, kinds: dict[str, int]) -> int:
    """Bitmap of the documents this searcher may not see."""
    hidden = 0
    if not access.cases:
        hidden |= kinds.get(CASE, 0)
    contacts = kinds.get(CONTACT, 0)
    if access.contacts == "none":
        hidden |= contacts
    elif access.contacts == "normal" and contacts:
        restricted = contacts & leaf.term("sensitivity", "restricted")
        for contact_id in access.allowed_contacts:
            restricted &= ~leaf.term("id", f"{CONTACT}:{contact_id}")
        hidden |= restricted
    return hidden


def _matches(searcher: Searcher, request: Request, compiler: _Compiler) -> tuple[list[_Leaf], list[int]]:
    """The segments, and for each the bitmap of the documents the request matches."""
    leaves = _leaves(searcher)
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
    window = min(request.offset + request.limit, MAX_WINDOW)
    if total == 0 or request.offset >= window:
        ranked: list[tuple[int, float]] = []
    elif request.sort == "newest" or request.tree is None or _only_negative(request.tree):
        ranked = _newest(leaves, matched, window)
    else:
        ranked = _rank(leaves, matched, compiler.scoring(request.tree, leaves), window)
    page = ranked[request.offset : window]
    return Answer(
        total=total, matches=[_match(searcher, docnum, score) for docnum, score in page], facets=facets,
        marks=compiler.marks(request.tree), notes=notes,
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


def _count_facets(leaves: list[_Leaf], matched: list[int]) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    for name in FACETS:
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


def _newest(leaves: list[_Leaf], matched: list[int], window: int) -> list[tuple[int, float]]:
    """The first `window` matches, newest first (documents without a date last)."""
    found: list[tuple[int, int]] = []
    for leaf, bits in zip(leaves, matched, strict=True):
        if not bits:
            continue
        if bits.bit_count() <= NEWEST_BY_SORTING:
            published = leaf.published()
            found += [(published[d], leaf.offset + d) for d in _ids_of(bits)]
            continue
        in_result = _mask(bits, leaf.size).tolist()
        taken = 0
        for date, docnum in reversed(leaf.dates()):
            if in_result[docnum]:
                found.append((date, leaf.offset + docnum))
                taken += 1
                if taken >= window:
                    break
    found.sort(key=lambda pair: (-pair[0], pair[1]))
    return [(docnum, 0.0) for _, docnum in found[:window]]


def _rank(leaves: list[_Leaf], matched: list[int], terms: list[tuple[str, str, float]],
          window: int) -> list[tuple[int, float]]:
    """The best `window` matches by BM25 (title boosted by its index-time weights), best first.

    Each term's documents are kept ordered by their BM25 part; the best matching ones of every term make a
    pool, and the pool is scored exactly over all the terms. Matches with no scored word (a query of
    metadata values) follow, newest first.
    """
    pool_size = max(RANK_POOL, window)
    scored: list[tuple[float, int]] = []
    unscored = 0
    for leaf, bits in zip(leaves, matched, strict=True):
        if not bits:
            continue
        in_result = _mask(bits, leaf.size)
        chosen = []
        postings = []
        for name, term, idf in terms:
            found = leaf.postings(name, term)
            held = in_result[found.ids]  # which of the term's documents match
            if not held.any():
                continue
            postings.append((found, idf))
            order = found.order()
            chosen.append(found.ids[order[held[order]][:pool_size]])
        pool = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.uint32)
        scores = np.zeros(len(pool))
        for found, idf in postings:  # in the order of the terms, as a sum in Python would add them
            scores += found.parts_of(pool) * idf
        scored += zip(scores.tolist(), (pool.astype(np.int64) + leaf.offset).tolist(), strict=True)
        unscored += bits.bit_count() - len(pool)
    best = heapq.nlargest(window, scored)
    ranked = [(docnum, score) for score, docnum in best]
    if len(ranked) < window and unscored:
        seen = {docnum for docnum, _ in ranked}
        newest = _newest(leaves, matched, window)
        ranked += [pair for pair in newest if pair[0] not in seen][: window - len(ranked)]
    return ranked


def _ids_of(bitmap: int) -> list[int]:
    """The document numbers set in a bitmap."""
    if bitmap.bit_count() <= FEW:
        found = []
        while bitmap:
            lowest = bitmap & -bitmap
            found.append(lowest.bit_length() - 1)
            bitmap ^= lowest
        return found
    data = np.frombuffer(bitmap.to_bytes((bitmap.bit_length() >> 3) + 1, "little"), dtype=np.uint8)
    return np.flatnonzero(np.unpackbits(data, bitorder="little")).tolist()  # type: ignore[no-any-return]


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
    terms = [(name, word, weight) for weight, word in chosen for name in ("title", "text")]
    leaves = _leaves(searcher)
    matched = []
    for leaf in leaves:
        bits = 0
        for name, word, _ in terms:
            bits |= leaf.term(name, word)
        kinds = dict(leaf.facet("kind"))
        matched.append(bits & leaf.live() & kinds.get(ITEM, 0) & ~leaf.term("id", key))
    return [_match(searcher, docnum, score) for docnum, score in _rank(leaves, matched, terms, limit)]


__all__ = ["Access", "Answer", "FACETS", "FILTER_FIELDS", "ITEM", "Match", "Request", "corrections", "count",
           "run", "similar"]

"""What a search reads of each segment of the index, cached: bitmaps of documents, a term's postings, and
BM25's index-wide statistics.

A segment's documents are numbered from 0; a set of them is a bitmap, one Python int, so that filters,
facets and query terms combine with `&` and `|` and count with `bit_count()`. `SegmentLeaf` is one segment
as the matcher sees it: the bitmap of a term, a phrase, a facet value, a date range or the live documents,
a term's postings with their raw weights, each document's field lengths, dates and keys. They are built
from postings read in bulk (kb.search.index.codec) and cached per segment, across searchers, within a
memory bound. Only what belongs to one segment is cached across searchers: `Bm25`, made once per searcher,
holds what depends on the whole index (document counts, average field lengths over the live documents),
so a new segment, a merge or a deletion never leaves a stale score behind.
"""

from __future__ import annotations

import bisect
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from kb.search.documents import CASE, CONTACT, ITEM, SYSTEM, parse_key
from kb.search.index.codec import field_lengths, read_postings

SCORED_FIELDS = ("title", "text", "private_title", "private_text")
# The kinds of document holding each scored field: BM25's statistics of a field count these documents.
FIELD_KINDS = {"title": (ITEM,), "text": (ITEM,), "private_title": (CONTACT, CASE, SYSTEM),
               "private_text": (CONTACT, CASE, SYSTEM)}
K1, B = 1.2, 0.75  # BM25, as Whoosh's default BM25F and Lucene
_PHRASE = "<phrase>"  # the kind of a phrase's entry in the term cache, beside field names


# --- bitmaps -------------------------------------------------------------------------------------

FEW = 16  # below this many documents, bitmaps are made and read bit by bit; above, with numpy


def bitmap_of(ids: Iterable[int] | np.ndarray, size: int) -> int:
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


def mask_of(bitmap: int, size: int) -> np.ndarray:
    """A bitmap as an array of booleans, one per document of the segment."""
    data = np.frombuffer(bitmap.to_bytes((size >> 3) + 1, "little"), dtype=np.uint8)
    return np.unpackbits(data, bitorder="little")[:size].view(np.bool_)


def ids_of(bitmap: int) -> list[int]:
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


def decode_term(term: bytes | str) -> str:
    """A term of the lexicon as text (Whoosh gives bytes)."""
    return term.decode("utf-8") if isinstance(term, bytes) else term


# --- segments ------------------------------------------------------------------------------------


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


# Term postings of all segments (bitmaps, ids, weights: 128 MB at most); a segment's facet tables,
# field lengths, dates, keys and live documents.
_TERMS = _LRU(128 << 20)
_SEGMENTS = _LRU(512 << 20)


class Postings:
    """The documents of one term in one segment: a bitmap, the ids, and for text fields the weights.

    A weight is what Whoosh stored: the term's frequency in the field times the field's boost (the title's
    is TITLE_BOOST, kb.search.index.schema). Nothing here depends on the rest of the index.
    """

    __slots__ = ("bitmap", "ids", "weights")

    def __init__(self, bitmap: int, ids: np.ndarray, weights: np.ndarray | None) -> None:
        self.bitmap = bitmap
        self.ids = ids  # ascending document numbers, deleted ones too (searches mask them)
        self.weights = weights  # float32, by position in ids

    def cost(self, size: int) -> int:
        """Bytes held: the bitmap, and per posting its id and weight (4 + 4)."""
        return 64 + ((size >> 3) if self.bitmap else 0) + 8 * len(self.ids)


_NO_POSTINGS = Postings(0, np.zeros(0, dtype=np.uint32), None)


class _Segment:
    """What is cached about one segment: size, facet values, field lengths, dates, keys, live documents."""

    def __init__(self, key: str, size: int) -> None:
        self.key = key
        self.size = size
        self.facets: dict[str, list[tuple[str, int]]] = {}
        self.lengths: dict[str, np.ndarray] = {}  # field -> each document's length, as Whoosh stores it
        self.dates: list[tuple[int, int]] | None = None  # (published, docnum) ascending
        self.published: np.ndarray | None = None  # int64 by docnum
        self.keys: dict[int, tuple[str, int]] = {}  # docnum -> (kind, id), read when ties need them
        self.live: tuple[int, int] = (-1, 0)  # (deleted count, bitmap)
        self.lock = threading.Lock()


def _segment_of(reader: Any) -> _Segment:
    segment = reader.segment()
    key = f"{segment.segment_id()}:{reader.doc_count_all()}"
    cached = _SEGMENTS.get(key)
    if cached is None:
        cached = _Segment(key, reader.doc_count_all())
        _SEGMENTS.put(key, cached, 4096 + 256 * cached.size)  # facet tables, dates, lengths, keys
    return cached  # type: ignore[no-any-return]


class SegmentLeaf:
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

    def postings(self, field_name: str, text: str) -> Postings:
        """A term's documents, and for the text fields their weights (cached)."""
        key = (self.segment.key, field_name, text)
        cached = _TERMS.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        try:
            matcher = self.reader.postings(field_name, text)  # one lookup in the term table
        except TermNotFound:
            found = _NO_POSTINGS
        else:
            ids, weights = read_postings(matcher)
            found = Postings(bitmap_of(ids, self.size), ids, weights if field_name in SCORED_FIELDS else None)
        _TERMS.put(key, found, found.cost(self.size))
        return found

    def lengths(self, field_name: str) -> np.ndarray:
        """Each document's length of a field in words (float64 holding whole numbers) as Whoosh stores it:
        one byte, so exact up to 10 words and then rounded up to the next of 256 steps (3% apart at 400
        words; whoosh.util.numeric.length_to_byte). Merging segments keeps these lengths as they are."""
        found = self.segment.lengths.get(field_name)
        if found is None:
            found = field_lengths(self.reader, field_name, self.size)
            self.segment.lengths[field_name] = found
        return found

    def sort_keys(self, docnums: Iterable[int]) -> list[tuple[str, int]]:
        """The (kind, id) of documents, which orders equal scores and dates the same in any segmentation.

        Read from the stored fields (about 20 microseconds a document) only for the documents whose order
        depends on it, and kept with the segment.
        """
        keys = self.segment.keys
        found = []
        for docnum in docnums:
            key = keys.get(docnum)
            if key is None:
                key = keys[docnum] = parse_key(self.reader.stored_fields(docnum)["id"])
            found.append(key)
        return found

    def docs(self, q: wq.Query) -> int:
        """Bitmap of a Whoosh query on this segment."""
        searcher = self._searcher()
        assert searcher is not None, "a leaf is only used while its searcher is open"
        return bitmap_of(q.docs(searcher), self.size)

    def phrase(self, part: str | None, words: tuple[str, ...]) -> int:
        """Bitmap of the items holding these stems in this order (in the title, the text, or either).

        The documents holding every word are checked against the `phrases` column, the stems of the
        title and the text as they follow each other (a few microseconds a document; positions in the
        postings cost ten times more to read, and to write).
        """
        key = (self.segment.key, _PHRASE, part, words)
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
            for d in ids_of(candidates):
                text = column[d]
                if part:
                    title_end = text.find(b"\n")
                    text = text[:title_end] if part == "title" else text[title_end:]
                if needle in text:
                    hits.append(d)
            found = bitmap_of(hits, self.size)
        _TERMS.put(key, found, 64 + (self.size >> 3 if found else 0))
        return found

    def live(self) -> int:
        deleted = self.size - self.reader.doc_count()
        seen, bitmap = self.segment.live
        if seen != deleted:
            bitmap = (1 << self.size) - 1
            if deleted:
                bitmap &= ~bitmap_of(self.segment_object.deleted_docs(), self.size)
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
                        ids, _ = read_postings(self.reader.postings(field_name, term))
                        table.append((decode_term(term), bitmap_of(ids, self.size)))
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

    def published(self) -> np.ndarray:
        """Each document's date (as the column holds it, 0 for none), by document number (int64)."""
        by_doc = self.segment.published
        if by_doc is None:
            by_doc = np.zeros(self.size, dtype=np.int64)
            for date, d in self.dates():
                by_doc[d] = date
            self.segment.published = by_doc
        return by_doc

    def date_range(self, start: int | None, end: int | None) -> int:
        dates = self.dates()
        # Documents without a date (0) are left out of any date range.
        low = bisect.bisect_left(dates, (max(start or 1, 1), -1))
        high = bisect.bisect_left(dates, (end, -1)) if end is not None else len(dates)
        return bitmap_of((d for _, d in dates[low:high]), self.size)


_LEAVES: weakref.WeakKeyDictionary[Searcher, list[SegmentLeaf]] = weakref.WeakKeyDictionary()
_LEAVES_LOCK = threading.Lock()


def segment_leaves(searcher: Searcher) -> list[SegmentLeaf]:
    """The segments of the index that hold documents (an empty index has a segment-less reader).

    Made once per searcher, which is shared by the searches until the next commit.
    """
    with _LEAVES_LOCK:
        leaves = _LEAVES.get(searcher)
        if leaves is None:
            leaves = [SegmentLeaf(s, offset) for s, offset in searcher.leaf_searchers()
                      if s.reader().segment() is not None and s.reader().doc_count_all()]
            _LEAVES[searcher] = leaves
    return leaves


# --- BM25 ----------------------------------------------------------------------------------------


class Bm25:
    """BM25 over the live documents of the whole index, for one searcher (one state of the index).

    For a document d and the distinct (field, term) pairs Q of a query (kb.search.index.query says which):

        score(d) = sum, over the (f, t) in Q whose postings hold d, of
                   idf(f, t) * w * (K1 + 1) / (w + K1 * (1 - B + B * L / avgL))

        w    = the posting's weight: the number of times t occurs in d's field f, times the field's boost
               (2 for title and private_title, 1 for the others), as Whoosh stores it at indexing
        L    = d's length of f in words, as Whoosh stores it (one byte: see SegmentLeaf.lengths)
        avgL = the mean of L over the live documents of the kinds holding f (FIELD_KINDS), over every
               segment; 1 when none of them has the field
        idf(f, t) = ln(1 + (N - df + 0.5) / (df + 0.5))   (Lucene's; always above 0)
        N    = the live documents of the kinds holding f, over every segment
        df   = the live documents holding t in f, over every segment
        K1 = 1.2, B = 0.75

    Every number here is the same however the documents are spread over segments (lengths and weights
    are integers, summed exactly), so one document scores the same before and after a merge, and two
    identical documents score the same. Deleted documents count nowhere.
    """

    DF_CACHE = 100_000  # (field, term) document frequencies kept per searcher

    def __init__(self, leaves: list[SegmentLeaf]) -> None:
        self.leaves = leaves
        self._documents: dict[str, int] = {}
        self._average: dict[str, float] = {}
        self._norms: dict[tuple[int, str], np.ndarray] = {}
        self._df: dict[tuple[str, str], int] = {}

    def _holders(self, leaf: SegmentLeaf, field_name: str) -> int:
        """Bitmap of the live documents of a segment of the kinds holding a field."""
        kinds = dict(leaf.facet("kind"))
        bits = 0
        for kind in FIELD_KINDS[field_name]:
            bits |= kinds.get(kind, 0)
        return bits & leaf.live()

    def _count(self, field_name: str) -> None:
        documents = total = 0
        for leaf in self.leaves:
            holders = self._holders(leaf, field_name)
            if holders:
                documents += holders.bit_count()
                total += int(leaf.lengths(field_name)[mask_of(holders, leaf.size)].sum())  # whole numbers
        self._documents[field_name] = documents
        self._average[field_name] = total / documents if total else 1.0

    def documents(self, field_name: str) -> int:
        """N: the live documents of the kinds holding a field."""
        if field_name not in self._documents:
            self._count(field_name)
        return self._documents[field_name]

    def average_length(self, field_name: str) -> float:
        """avgL: the mean length of a field over the live documents of the kinds holding it."""
        if field_name not in self._average:
            self._count(field_name)
        return self._average[field_name]

    def frequency(self, field_name: str, text: str) -> int:
        """df: the live documents holding a term in a field, over every segment."""
        found = self._df.get((field_name, text))
        if found is None:
            found = 0
            for leaf in self.leaves:
                postings = leaf.postings(field_name, text)
                if len(postings.ids):
                    deleted = leaf.size != leaf.reader.doc_count()
                    found += (postings.bitmap & leaf.live()).bit_count() if deleted else len(postings.ids)
            if len(self._df) >= self.DF_CACHE:
                self._df.clear()
            self._df[(field_name, text)] = found
        return found

    def idf(self, field_name: str, text: str) -> float:
        """idf(f, t), or 0 for a term no live document holds."""
        df = self.frequency(field_name, text)
        if not df:
            return 0.0
        n = self.documents(field_name)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def norms(self, leaf: SegmentLeaf, field_name: str) -> np.ndarray:
        """K1 * (1 - B + B * L / avgL) for every document of a segment (made once per searcher)."""
        key = (leaf.offset, field_name)
        found = self._norms.get(key)
        if found is None:
            found = K1 * (1 - B + B * leaf.lengths(field_name) / self.average_length(field_name))
            self._norms[key] = found
        return found

    def parts(self, leaf: SegmentLeaf, field_name: str, weights: np.ndarray, docnums: np.ndarray,
              idf: float) -> np.ndarray:
        """idf * w * (K1 + 1) / (w + K1 * (1 - B + B * L / avgL)) for documents of a segment holding a term,
        given their postings' weights, as float64."""
        w = weights.astype(np.float64)
        return idf * (w * (K1 + 1) / (w + self.norms(leaf, field_name)[docnums]))  # type: ignore[no-any-return]


_BM25: weakref.WeakKeyDictionary[Searcher, Bm25] = weakref.WeakKeyDictionary()


def bm25(searcher: Searcher) -> Bm25:
    """The BM25 statistics of a searcher's state of the index (made once per searcher)."""
    with _LEAVES_LOCK:
        found = _BM25.get(searcher)
    if found is None:
        found = Bm25(segment_leaves(searcher))
        with _LEAVES_LOCK:
            found = _BM25.setdefault(searcher, found)
    return found

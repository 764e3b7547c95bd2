"""What a search reads of each segment of the index, cached: bitmaps of documents, and a term's BM25 parts.

A segment's documents are numbered from 0; a set of them is a bitmap, one Python int, so that filters,
facets and query terms combine with `&` and `|` and count with `bit_count()`. `SegmentLeaf` is one segment
as the matcher sees it: the bitmap of a term, a phrase, a facet value, a date range or the live documents,
and for the text fields each document's BM25 term-frequency part. They are built from postings read in
bulk (kb.search.index.codec) and cached per segment, across searchers, within a memory bound.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from kb.search.index.codec import field_lengths, read_postings

SCORED_FIELDS = ("title", "text", "private_title", "private_text")
K1, B = 1.2, 0.75  # BM25, as Whoosh's default BM25F
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


# Term postings of all segments (bitmaps, ids, BM25 parts: 128 MB at most); a segment's facet tables,
# field lengths, dates and live documents.
_TERMS = _LRU(128 << 20)
_SEGMENTS = _LRU(512 << 20)


class Postings:
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


_NO_POSTINGS = Postings(0, np.zeros(0, dtype=np.uint32), None)


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
            ids, weights = read_postings(matcher)
            parts = None
            if field_name in SCORED_FIELDS:
                tf = weights.astype(np.float64)
                parts = (tf * (K1 + 1) / (tf + self.length_norms(field_name)[ids])).astype(np.float32)
            found = Postings(bitmap_of(ids, self.size), ids, parts)
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
            lengths = field_lengths(self.reader, field_name, self.size)
            average = max(self.reader.field_length(field_name) / max(self.size, 1), 1.0)
            norms = K1 * (1 - B + B * lengths / average)
            self.segment.length_norms[field_name] = norms
        return norms

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

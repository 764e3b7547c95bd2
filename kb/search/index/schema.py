"""The Whoosh schema. Text arrives analysed by kb.documents (folded, stemmed words): the analyzer only splits.

No stop filter anywhere: a phrase like "we can appeal" must keep every word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from whoosh import columns, fields, formats
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.system import pack_uint

# Bump when the schema or the analysis changes (here, in kb.search.documents, or kb.text.normalize's
# folding and stemming): an index of another version is rebuilt on start.
SCHEMA_VERSION = 6  # 6: the Devanagari nukta is folded away, English "hospitality" is not "hospital"

# kb.search.documents hands every text field over as space-separated words it has folded and stemmed.
WORDS: Any = SpaceSeparatedTokenizer()  # a tokenizer is a complete analyzer
TITLE_BOOST = 2.0


class WordCounts(formats.Frequency):  # type: ignore[misc] # whoosh has partial type hints
    """Frequency postings of words that arrive already analysed, separated by spaces.

    The same postings as `Frequency` with the space-splitting analyzer (so an index written before
    needs no rebuild), counted by `str.split` and `Counter` rather than one token object at a time:
    adding a document costs a third less.
    """

    # Whoosh's hint says bytes, but its own Frequency yields the analyzer's text (str) here too.
    def word_values(  # type: ignore[override]
            self, value: Any, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        boost = self.field_boost
        counts = Counter(value.split() if isinstance(value, str) else value)
        return ((word, freq, freq * boost, pack_uint(freq)) for word, freq in counts.items())


def _words(field: Any) -> Any:
    """A TEXT or KEYWORD field (without positions) indexing pre-analysed words through WordCounts."""
    field.format = WordCounts(field_boost=field.format.field_boost)
    return field


def build_schema() -> fields.Schema:
    """The fields of a search document (see kb.documents)."""
    facet: dict[str, Any] = {"stored": False, "commas": False, "lowercase": False, "scorable": False}
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        kind=fields.ID(),
        # Items: stems in the item's language. No positions: phrases are checked against `phrases`, the
        # stems of title and text in order, read from a column (ten times faster than positions, and the
        # index is written 60% faster without them).
        title=_words(fields.TEXT(analyzer=WORDS, phrase=False, field_boost=TITLE_BOOST)),
        text=_words(fields.TEXT(analyzer=WORDS, phrase=False)),
        phrases=fields.COLUMN(columns.VarBytesColumn()),
        # Items: folded, unstemmed words of the title and the lead, the vocabulary of "did you mean".
        vocab=_words(fields.KEYWORD(**facet)),
        # Items: each folded, unstemmed word of the title and text once, for ranking the words typed
        # exactly above their inflections (kb.search.index.query).
        words=_words(fields.KEYWORD(**facet)),
        # Contacts, case files and systems: folded words, kept apart so item-only features never see them.
        private_title=fields.TEXT(analyzer=WORDS, field_boost=TITLE_BOOST),
        private_text=fields.TEXT(analyzer=WORDS),
        sensitivity=fields.ID(),
        # What a hit shows without a database round trip.
        heading=fields.STORED(),
        excerpt=fields.STORED(),
        language=fields.ID(),
        topic=fields.KEYWORD(**facet),
        sector=fields.KEYWORD(**facet),
        country=fields.KEYWORD(**facet),
        source=fields.KEYWORD(**facet),
        source_name=fields.TEXT(analyzer=WORDS, phrase=False),
        status=fields.ID(),
        case=fields.KEYWORD(**facet),
        system=fields.KEYWORD(**facet),  # items: the systems they are confirmed to be about
        month=fields.ID(),
        # Dates are filtered and sorted on a column (seconds since 1970, 0 for none): indexing them as
        # terms (DATETIME) made the whole index 20% slower to write and would not be used.
        published=fields.STORED(),
        date=fields.COLUMN(columns.NumericColumn("q", default=0)),
    )

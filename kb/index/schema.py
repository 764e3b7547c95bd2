"""The Whoosh schema and its analysis: accent and case folding for every language, no stop words."""

from __future__ import annotations

from whoosh import fields
from whoosh.analysis import Filter, RegexTokenizer

from kb.textnorm import fold

# Bump when the schema or the analysis changes: an index of another version is rebuilt on start.
SCHEMA_VERSION = 1


class FoldFilter(Filter):
    """Case, accent and Arabic letter-form folding, shared with the tagger through kb.textnorm."""

    def __call__(self, tokens):  # type: ignore[no-untyped-def]
        for token in tokens:
            token.text = fold(token.text)
            if token.text:
                yield token


# No stop filter: a phrase like "we can appeal" must keep every word.
FOLDING = RegexTokenizer(r"\w+") | FoldFilter()


def build_schema() -> fields.Schema:
    """The fields of an item document (see kb.documents.item_document)."""
    facet = {"stored": False, "commas": False, "lowercase": False, "scorable": False}
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        kind=fields.ID(),
        title=fields.TEXT(analyzer=FOLDING, stored=True, field_boost=2.0),
        text=fields.TEXT(analyzer=FOLDING),
        excerpt=fields.STORED(),
        language=fields.ID(stored=True, sortable=True),
        topic=fields.KEYWORD(**facet),
        sector=fields.KEYWORD(**facet),
        system=fields.KEYWORD(**facet),
        right=fields.KEYWORD(**facet),
        country=fields.KEYWORD(**facet),
        source=fields.KEYWORD(**facet),
        source_name=fields.TEXT(analyzer=FOLDING, phrase=False),
        status=fields.ID(sortable=True),
        relevant=fields.ID(sortable=True),
        digest=fields.ID(sortable=True),
        case=fields.KEYWORD(**facet),
        published=fields.DATETIME(stored=True, sortable=True),
        month=fields.ID(sortable=True),
    )

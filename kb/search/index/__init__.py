"""The derived Whoosh index. This package is the only code that imports Whoosh."""

from kb.search.index.store import IndexStatus, SearchIndex

__all__ = ["IndexStatus", "SearchIndex"]

"""Search: `service.search` (queries, filters, facets, snippets and access rules over items, contacts and
case files), how each record becomes an index document (`documents`), saved searches (`saved`), and the
derived Whoosh index (`index`, the only code that imports Whoosh).

Builds on the records, `kb.storage` and `kb.text`; no Whoosh type leaves `kb.search.index`, so another
engine can stand behind `service.search`. A new index field goes in `documents` and `index.schema`.
"""

"""The core: the knowledge base's records and every operation on them (see kb/README.md).

Areas, each a package with its own rules:
- `kb.storage`: the SQLite connection, migrations, the index outbox, the audit log, the meta table.
- `kb.text`: pure text work: folding and stemming, language detection, the taxonomy and the tagger,
  content fingerprints, URL canonicalisation.
- `kb.search`: the search function (`kb.search.service`), records as index documents, saved searches,
  and the Whoosh engine (`kb.search.index`, the only code that imports Whoosh).
- `kb.digest`: the weekly digest: the draft, recipients, deliveries and the mail it sends.
- `kb.sample`: the bundled offline sample corpus.
The modules at this level are the records (items, sources, tags, curation, contacts, cases, users), each
the storage of its own tables, with `settings`, `errors` and `knowledge` (the opened knowledge base).
"""

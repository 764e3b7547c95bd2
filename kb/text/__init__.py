"""Text: folding, tokenising and stemming (`normalize`), language detection (`language`), the topic
taxonomy as data (`taxonomy`, `taxonomy.toml`) and the tagger (`tagging`), content fingerprints for
deduplication (`fingerprints`), URL canonicalisation (`urls`) and the cleaning of what a person typed
into a record's field (`cleaning`).

Pure functions over strings, no database and no network; imports nothing of `kb` but `kb.errors`, so the
records, search and ingest all build on it. A new tagging rule or language goes here.
"""

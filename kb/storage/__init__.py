"""Storage of record: the SQLite connection and its migrations (`db`), the outbox that feeds the search
index (`outbox`), the audit log (`audit`), the `meta` table (`meta`),
the failures counted for sign-in throttling (`throttle`) and the row-by-row CSV import with its report and
dry run (`csvimport`, used by the contacts and systems imports).

Imports nothing of `kb` but `kb.errors`: every other area builds on it. SQL lives here and in the record
modules at the top of `kb/` (one per entity), never in `kb.search`, `kb.text`, `ingest`, `webui` or `cli`.
"""

"""The `kb` command: every command of the product, one module per command group.

This package sits above the three others and composes them: it may import `kb`, `ingest` and `webui`,
and nothing imports it. Commands are thin: parse the options, call `kb` (or `ingest`, `webui`), print;
an expected failure (`kb.errors.KbError`) becomes a one-line message and exit status 1.
`cli.main` builds the command tree; `cli.state` holds what every command shares (the data folder, the
opened knowledge base), `cli.reports` prints the import reports. A new command goes in the module of its
group, and a new group in a module of its own registered in `cli.main`.
"""

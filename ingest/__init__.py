"""Ingestion: fetching sources safely and turning what they send into items of the knowledge base.

Fetching: `fetch` (the one HTTP fetcher: redirects, retries, politeness), `guard` (which URLs and addresses
may be reached, and connections that reach no other), `responses` (headers, capped and decompressed bodies),
`failures` (why a fetch failed), `robots` (robots.txt rules).
Reading: `decoding` (bytes to text: headers, charsets, byte-order marks), `plaintext` (markup to bounded
plain text), `feeds` (RSS, Atom, JSON Feed, autodiscovery), `pages` (article extraction), `opml`
(subscription lists). Running: `prepare` (extract, detect the language, tag), `pipeline` (one ingest pass),
`worker` (passes on a schedule), `subscribe` (adding feeds and OPML import/export).

Imports `kb`, never `webui` or `cli`; parsers get bytes already fetched and never open a URL themselves.
"""

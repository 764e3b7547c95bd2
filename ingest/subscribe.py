"""Adding sources: check the address, find a page's feed through autodiscovery, import and export OPML."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import lxml.html
from lxml import etree

from ingest.decoding import decode_html
from ingest.feeds import FeedError, find_feed_links, looks_like_html, parse_feed
from ingest.fetch import Fetcher
from ingest.opml import OpmlOutline, build_opml, parse_opml
from ingest.plaintext import HTML_PARSER, clip
from kb import sources as sources_store
from kb.errors import Conflict, InvalidInput
from kb.knowledge import KnowledgeBase
from kb.sources import MAX_NAME, Source
from kb.text.urls import is_http_url

LOGGER = logging.getLogger(__name__)


def resolve_feed(fetcher: Fetcher, url: str) -> tuple[str, str]:
    """The feed URL and title for `url`: the feed itself, or the first feed an HTML page links to."""
    result = fetcher.fetch(url)
    if looks_like_html(result.body, result.headers):
        links = find_feed_links(result.body, result.headers, result.url)
        if not links:
            raise InvalidInput(f"{url} is a web page that links to no feed; "
                               "add it with --kind page to watch it")
        LOGGER.info("autodiscovery: %s -> %s", url, links[0])
        return resolve_feed(fetcher, links[0]) if links[0] != url else (links[0], "")
    try:
        feed = parse_feed(result.body, result.headers, result.url)
    except FeedError as exc:
        raise InvalidInput(f"{url} does not give a feed: {exc}") from exc
    return url, feed.title


def page_title(body: bytes, headers: Mapping[str, str]) -> str:
    """A web page's own title (its <title>, else its first <h1>) as plain text, or "" when it has none."""
    if not body.strip():
        return ""
    try:
        tree = lxml.html.document_fromstring(decode_html(body, headers), parser=HTML_PARSER)
    except (etree.ParserError, ValueError):
        return ""
    for path in ("//title", "//h1"):
        for element in tree.xpath(path)[:1]:
            title = clip(" ".join(element.text_content().split()), MAX_NAME)
            if title:
                return title
    return ""


def subscribe(kb: KnowledgeBase, fetcher: Fetcher | None, url: str, *, kind: str = "feed", name: str = "",
              interval_minutes: int | None = None, full_text: bool = False, by: int | None = None) -> Source:
    """Validate and add a source; with a fetcher, a feed address is checked and a page's feed discovered,
    and an unnamed source takes the feed's or page's title (without one, its first fetch names it)."""
    url = url.strip()
    if not is_http_url(url):
        raise InvalidInput(f"{url[:200]!r} is not an http(s) address")
    if kind == "feed" and fetcher is not None:
        url, title = resolve_feed(fetcher, url)
        name = name or title
    elif kind == "page" and fetcher is not None and not name.strip():
        result = fetcher.fetch(url, is_page=True)
        name = page_title(result.body, result.headers)
    return sources_store.add_source(kb.db, url, kind=kind, name=name,
                                    interval_minutes=interval_minutes or kb.settings.source_interval,
                                    full_text=full_text, by=by)


def import_opml(kb: KnowledgeBase, data: bytes, *, by: int | None = None) -> tuple[list[Source], list[str]]:
    """Add the feeds of an OPML file; returns those added and those skipped (already followed)."""
    added, skipped = [], []
    for outline in parse_opml(data):
        try:
            added.append(sources_store.add_source(kb.db, outline.url, kind="feed", name=outline.title,
                                                  interval_minutes=kb.settings.source_interval, by=by))
        except Conflict:
            skipped.append(outline.url)
    return added, skipped


def export_opml(sources: Iterable[Source]) -> bytes:
    """The followed feeds as OPML 2.0 for any feed reader."""
    outlines = [OpmlOutline(url=s.url, title=s.name or s.url, html_url="", category="")
                for s in sources if s.kind == "feed"]
    return build_opml(outlines, "Media monitoring sources")

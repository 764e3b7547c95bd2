"""Feeds: RSS 0.9x/1.0/2.0, Atom and JSON Feed bytes into plain-text entries, and feed autodiscovery in HTML.

Parsers get the bytes and headers already fetched, never a URL: feedparser.parse(str) may open a URL or a
file, so it only ever receives io.BytesIO. Links survive only as absolute http(s) URLs; text is plain text.

Nothing is left out without a trace: every entry the parser does not keep is counted in
`ParsedFeed.dropped` under its reason (DROPPED_REASONS), and one entry that cannot be read (a bug, a
pathological value) costs that entry only, never the feed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import xml.sax
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin

import feedparser
import lxml.html
from lxml import etree

from ingest.decoding import (
    SNIFF_BYTES,
    ascii_head,
    content_type,
    decode_document,
    decode_html,
    decode_xml,
    header_value,
)
from ingest.plaintext import (
    CONTROL_CHARS,
    HTML_PARSER,
    MAX_AUTHOR_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    SURROGATES,
    XML_DECLARATION,
    html_to_text,
)
from kb.errors import FetchError
from kb.text.language import normalize_language
from kb.text.urls import is_http_url

LOGGER = logging.getLogger(__name__)

MAX_FEED_BYTES = 10_000_000
# Entries read from one feed. Real feeds list 10 to 100 entries; full-archive feeds (a blog's whole history,
# a podcast's every episode) run to a few thousand. A feed at MAX_FEED_BYTES with entries of a typical
# 1 to 5 kB holds 2,000 to 10,000, so 20,000 bites only on a feed of near-empty entries or a runaway
# generator. It bounds what one feed adds to a pass: building 20,000 entries takes under a second (after
# feedparser's own 2 s over such a document, which MAX_FEED_BYTES bounds), and as many items to store.
MAX_ENTRIES = 20_000
# Why an entry was not kept: the keys of ParsedFeed.dropped.
DROPPED_OVER_CAP = "over the entry cap"
DROPPED_NO_LINK = "no http(s) link"
DROPPED_UNREADABLE = "unreadable entry"
DROPPED_REASONS = (DROPPED_OVER_CAP, DROPPED_NO_LINK, DROPPED_UNREADABLE)
MAX_GUID_CHARS = 1_000
FEED_LINK_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# An entry's date: when it was published, else last updated, else created (feedparser gives UTC struct_time).
DATE_FIELDS = ("published_parsed", "updated_parsed", "created_parsed")
JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"
JSON_INT_DIGITS = 4_000  # below Python's limit on converting digit strings (sys.get_int_max_str_digits)
UTF8_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"

HTML_MESSAGE = "The response is an HTML page, not a feed"
EMPTY_MESSAGE = "The feed is empty"

# What may precede the root element: whitespace, XML declaration and instructions, comments, a doctype.
# Atomic and possessive (Python 3.11): without them "<!---->" * 600 + "x" backtracks for ever.
_PROLOG = rb"(?>\s|<\?[^>]{0,500}>|<!--.*?-->|<!doctype[^>\[]{0,500}>)*+"
HTML_SNIFF = re.compile(
    rb"^" + _PROLOG + rb"<(?:!doctype\s+html|html[\s>/]|head[\s>]|body[\s>])", re.I | re.S
)
FEED_SNIFF = re.compile(rb"^" + _PROLOG + rb"<(?:[\w.-]+:)?(?:rss|feed|rdf|channel)[\s>/]", re.I | re.S)
# Whitespace, processing instructions and comments before a doctype (str documents).
PROLOG_ITEMS = re.compile(r"(?>\s|<\?.*?\?>|<!--.*?-->)*+", re.S)
DOCTYPE_WITH_SUBSET = re.compile(r"<!DOCTYPE\s[^\[>]*\[", re.I)
SUBSET_END = re.compile(r"\]\s*>")
FIRST_ELEMENT = re.compile(r"<([A-Za-z_][\w.:-]*)")
# A guid is opaque, but one that is markup or a script URL is stored as its hash, never as is.
ACTIVE_GUID = re.compile(r"[<>]|^\s*(?:javascript|vbscript|data)\s*:", re.I)
# feedparser searches author-like text with an e-mail regex that is quadratic in runs of [\w.+-]: such text
# is cut to AUTHOR_RAW_CHARS and its runs to AUTHOR_RUN_CHARS before parsing (a 40 kB <author> took 23 s).
AUTHOR_TAGS = "author|creator|managingeditor|webmaster|publisher|contributor|name|email|owner"
AUTHOR_OPEN = re.compile(rf"<(?:[\w.-]+:)?(?:{AUTHOR_TAGS})(?:\s[^<>]*)?>", re.I)
AUTHOR_RAW_CHARS = 300
AUTHOR_RUN_CHARS = 80
LONG_RUN = re.compile(rf"[A-Za-z0-9_.+\-]{{{AUTHOR_RUN_CHARS + 1},}}")
PARTIAL_ENTITY = re.compile(r"&[#\w]*$")
# A numeric character reference: feedparser's lenient parser calls chr() on it and crashes on a surrogate
# ("&#xD800;") or a number past U+10FFFF, losing the whole feed, so such references become U+FFFD first.
CHAR_REF = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")
REPLACEMENT_REF = "&#xFFFD;"

RawEntry = TypeVar("RawEntry")


class FeedError(FetchError):
    """A response that cannot be read as a feed; the message says why, in words."""


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as plain text; url is an absolute http(s) URL (entries without one are dropped)."""

    url: str
    guid: str
    title: str
    summary: str
    published: datetime | None
    author: str
    language: str | None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its own title, site and language, its entries, and what was wrong with it, in words.

    `dropped` counts the entries of the document that are not in `entries`, by reason (only reasons with
    a count appear):
    - "over the entry cap" (DROPPED_OVER_CAP): beyond the MAX_ENTRIES newest (or, without dates, first);
    - "no http(s) link" (DROPPED_NO_LINK): no link, alternate link or permalink guid that is an absolute
      http(s) URL, so nothing to store the entry under;
    - "unreadable entry" (DROPPED_UNREADABLE): building the entry failed (logged with its traceback), or,
      in a JSON Feed, the item is not an object.
    `warnings` says the same in words, with whatever else was wrong with the document; `cap_warning` is
    the one about the cap on its own ("The feed lists 24,310 entries; only the newest 20,000 were read."),
    None when the cap did not bite.
    """

    title: str
    site_url: str
    language: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...]
    dropped: dict[str, int] = field(default_factory=dict)
    cap_warning: str | None = None


# --- sniffing -------------------------------------------------------------------------------------------


def looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    """True when the response is an HTML page (worth feed autodiscovery) rather than a feed."""
    head = ascii_head(body)
    if FEED_SNIFF.match(head) or head.lstrip().startswith(b"{"):
        return False
    if HTML_SNIFF.match(head):
        return True
    return content_type(headers)[0] in HTML_TYPES


# --- autodiscovery --------------------------------------------------------------------------------------


def _absolute_http(href: Any, base: str) -> str:
    """href resolved against base when the result is an http(s) URL, else ""."""
    if not isinstance(href, str) or not href.strip() or SURROGATES.search(href):  # no UTF-8 form to store
        return ""
    try:
        resolved = urljoin(base, href.strip()) if base else href.strip()
    except ValueError:
        return ""
    return resolved if is_http_url(resolved) else ""


def _html_tree(body: bytes, headers: Mapping[str, str]) -> lxml.html.HtmlElement | None:
    """An HTML page parsed with lxml, no network; None when there is nothing to parse."""
    text = XML_DECLARATION.sub("", decode_html(body, headers))
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text, parser=HTML_PARSER)
    except (etree.ParserError, ValueError):
        return None


def find_feed_links(body: bytes, headers: Mapping[str, str], url: str) -> list[str]:
    """Feeds a page announces with <link rel="alternate">: absolute http(s), in document order, once each."""
    tree = _html_tree(body, headers)
    if tree is None:
        return []
    base = url
    for element in tree.iter("base"):
        base = _absolute_http(element.get("href"), url) or url
        break
    found: list[str] = []
    for element in tree.iter("link"):
        rels = (element.get("rel") or "").lower().split()
        kind = (element.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_LINK_TYPES:
            continue
        link = _absolute_http(element.get("href"), base)
        if link and link not in found:
            found.append(link)
    return found


# --- XML for feedparser ---------------------------------------------------------------------------------


def _without_internal_subset(text: str) -> tuple[str, bool]:
    """The document without the doctype(s) that carry an internal subset: no entity of its own is expanded."""
    found = False
    while True:
        prolog = PROLOG_ITEMS.match(text)
        match = DOCTYPE_WITH_SUBSET.match(text, prolog.end() if prolog else 0)
        if match is None:
            return text, found
        found = True
        end = SUBSET_END.search(text, match.end())
        if end is None:
            return text[: match.start()], found
        text = text[: match.start()] + text[end.end() :]


def _short_author(text: str, cdata: bool) -> str:
    """Author-like text cut so that feedparser's e-mail regex stays fast."""
    text = LONG_RUN.sub(lambda run: run.group(0)[:AUTHOR_RUN_CHARS], text[:AUTHOR_RAW_CHARS])
    return text if cdata else PARTIAL_ENTITY.sub("", text)


def _with_short_authors(text: str) -> str:
    """The document with the text of author-like elements (author, dc:creator, name, ...) bounded."""
    pieces, position = [], 0
    for match in AUTHOR_OPEN.finditer(text):
        start = match.end()
        if start < position:
            continue
        cdata = text.startswith("<![CDATA[", start)
        content_start = start + 9 if cdata else start
        end = text.find("]]>" if cdata else "<", content_start)
        if end == -1:
            break
        content = text[content_start:end]
        if len(content) > AUTHOR_RAW_CHARS or LONG_RUN.search(content):
            pieces += [text[position:content_start], _short_author(content, cdata)]
            position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _safe_char_ref(match: re.Match[str]) -> str:
    """A numeric character reference as is when it names a character XML allows, else one for U+FFFD."""
    hex_digits, decimal = match.groups()
    digits = (hex_digits or decimal).lstrip("0")
    if len(digits) > 8:  # past U+10FFFF whatever the digits (and int() refuses 4,300 of them)
        return REPLACEMENT_REF
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
    return match.group(0) if allowed or 0x10000 <= code <= 0x10FFFF else REPLACEMENT_REF


def _prepared_xml(text: str) -> tuple[bytes, list[str]]:
    """UTF-8 bytes for feedparser with an XML declaration in place (line numbers kept) and no DTD subset."""
    warnings = []
    stripped = text.lstrip()
    if stripped.startswith("<?xml"):
        text = stripped
    text, had_subset = _without_internal_subset(text)
    if had_subset:
        warnings.append("The feed declares entities in a DTD; they were ignored and not expanded.")
    if not text.startswith("<?xml"):
        text = UTF8_DECLARATION + text
    text = _with_short_authors(text)
    text = CHAR_REF.sub(_safe_char_ref, text)
    return text.encode("utf-8", errors="replace"), warnings


# --- entries --------------------------------------------------------------------------------------------


def _utc(parsed: Any) -> datetime | None:
    """A feedparser UTC struct_time as an aware datetime, or None."""
    try:
        year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso_date(value: Any) -> datetime | None:
    """An RFC 3339 date (JSON Feed) as a UTC datetime; a date without a zone is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip()[:64])
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the range by its zone
        return None


def _text(value: Any) -> str:
    """A string value or ""."""
    return value if isinstance(value, str) else ""


def _sha256(text: str) -> str:
    """'sha256:' and the hex digest of text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


def _guid(raw_id: Any, url: str, title: str, summary: str) -> str:
    """The entry's own id (hashed when long or active, e.g. "javascript:..."), else its URL, else a hash."""
    raw = str(raw_id) if isinstance(raw_id, str | int) else ""
    guid = SURROGATES.sub("", CONTROL_CHARS.sub("", raw)).strip()
    if len(guid) > MAX_GUID_CHARS or ACTIVE_GUID.search(guid):
        guid = _sha256(guid)
    if guid:
        return guid
    if url:
        return url
    return _sha256(f"{title}\n{summary}")


def _entry_language(raw: Mapping[str, Any], default: str | None) -> str | None:
    """The language an entry declares (xml:lang on its title, summary or content), else the feed's."""
    details = [raw.get("title_detail"), raw.get("summary_detail"), *(raw.get("content") or [])[:1]]
    for detail in details:
        if isinstance(detail, Mapping):
            language = normalize_language(_text(detail.get("language")))
            if language:
                return language
    return default


def _entry_url(raw: Mapping[str, Any], base: str) -> str:
    """The entry's first http(s) link: its link, an alternate link, or a guid that is a permalink."""
    candidates = [raw.get("link")]
    candidates += [link.get("href") for link in raw.get("links") or [] if isinstance(link, Mapping)
                   and link.get("rel", "alternate") == "alternate"]
    if raw.get("guidislink"):
        candidates.append(raw.get("id"))
    return next((url for url in (_absolute_http(c, base) for c in candidates) if url), "")


def _feedparser_date(raw: Mapping[str, Any]) -> datetime | None:
    """When a feedparser entry was published, else last updated, else created, in UTC."""
    # dict.get: FeedParserDict.get("updated_parsed") warns, mapped to published_parsed (feedparser issue 310).
    dates = (_utc(dict.get(raw, name) if isinstance(raw, dict) else raw.get(name)) for name in DATE_FIELDS)
    return next((date for date in dates if date), None)


def _feedparser_entry(raw: Mapping[str, Any], base: str, feed_language: str | None) -> FeedEntry:
    """A feedparser entry as a plain-text FeedEntry."""
    url = _entry_url(raw, base)
    title = html_to_text(_text(raw.get("title")), limit=MAX_TITLE_CHARS)
    content = raw.get("content") or [{}]
    summary_markup = _text(raw.get("summary")) or _text(content[0].get("value"))
    summary = html_to_text(summary_markup, limit=MAX_SUMMARY_CHARS, paragraphs=True)
    author_detail = raw.get("author_detail") or {}
    author = _text(author_detail.get("name")) or _text(raw.get("author"))
    return FeedEntry(
        url=url,
        guid=_guid(raw.get("id"), url, title, summary),
        title=title,
        summary=summary,
        published=_feedparser_date(raw),
        author=html_to_text(author, limit=MAX_AUTHOR_CHARS),
        language=_entry_language(raw, feed_language),
    )


def _entries(count: int) -> str:
    """'1 entry' or 'N entries'."""
    return f"{count} {'entry' if count == 1 else 'entries'}"


def _were(count: int) -> str:
    """'was' or 'were' for a count."""
    return "was" if count == 1 else "were"


def _safe_date(date_of: Callable[[RawEntry], datetime | None], raw: RawEntry) -> datetime | None:
    """An entry's date for ranking, or None when reading it fails (the entry itself is judged later)."""
    try:
        return date_of(raw)
    except Exception:  # noqa: BLE001 - ranking only; building the entry reports its own failure
        return None


def _within_cap(
    raws: Sequence[RawEntry], date_of: Callable[[RawEntry], datetime | None], dropped: Counter[str]
) -> tuple[list[RawEntry], str | None]:
    """At most MAX_ENTRIES of the raw entries, in document order: the newest when they carry dates.

    Feeds usually list the newest first, but archive feeds may list the oldest first; ranking by date keeps
    a monitor reading what is new in either. Entries without a date rank after dated ones, and without any
    date the first MAX_ENTRIES in the document are kept. The second value is the warning when the cap bites.
    """
    total = len(raws)
    if total <= MAX_ENTRIES:
        return list(raws), None
    dropped[DROPPED_OVER_CAP] += total - MAX_ENTRIES
    dates = [_safe_date(date_of, raw) for raw in raws]
    if not any(dates):
        warning = f"The feed lists {total:,} entries; only the first {MAX_ENTRIES:,} were read."
        return list(raws[:MAX_ENTRIES]), warning
    oldest = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(range(total), key=lambda i: (dates[i] is not None, dates[i] or oldest, -i), reverse=True)
    warning = f"The feed lists {total:,} entries; only the newest {MAX_ENTRIES:,} were read."
    return [raws[i] for i in sorted(ranked[:MAX_ENTRIES])], warning


def _kept_entries(
    raws: Sequence[RawEntry],
    build: Callable[[RawEntry], FeedEntry],
    date_of: Callable[[RawEntry], datetime | None],
    warnings: list[str],
    url: str,
    dropped: Counter[str] | None = None,
) -> tuple[tuple[FeedEntry, ...], dict[str, int], str | None]:
    """The entries worth keeping, what was dropped by reason, and the cap's warning if it bit; `warnings`
    gets the same in words.

    An entry whose building raises is dropped as unreadable and the others are kept: one pathological
    value or one bug costs one entry. The first such failure of a feed is logged with its traceback.
    """
    dropped = Counter() if dropped is None else dropped
    kept: list[FeedEntry] = []
    failures = 0
    within, cap_warning = _within_cap(raws, date_of, dropped)
    if cap_warning:
        warnings.append(cap_warning)
    for raw in within:
        try:
            entry = build(raw)
        except Exception:  # noqa: BLE001 - any failure of one entry is that entry's, never the feed's
            if not failures:  # one traceback per feed: a bug met by every entry must not flood the log
                LOGGER.exception("feed %s: an entry could not be read and was dropped", url[:200])
            failures += 1
            dropped[DROPPED_UNREADABLE] += 1
            continue
        if not entry.url:
            dropped[DROPPED_NO_LINK] += 1
            continue
        kept.append(entry)
    if dropped[DROPPED_NO_LINK]:
        count = dropped[DROPPED_NO_LINK]
        warnings.append(f"{_entries(count)} without an http(s) link {_were(count)} skipped.")
    if dropped[DROPPED_UNREADABLE]:
        count = dropped[DROPPED_UNREADABLE]
        warnings.append(f"{_entries(count)} could not be read and {_were(count)} skipped.")
    if failures > 1:
        LOGGER.warning("feed %s: %s dropped as unreadable", url[:200], _entries(failures))
    by_reason = {reason: dropped[reason] for reason in DROPPED_REASONS if dropped[reason]}
    return tuple(kept), by_reason, cap_warning


# --- bozo and errors ------------------------------------------------------------------------------------


def _syntax_error(exc: BaseException | None) -> str | None:
    """'XML syntax error at line N: message' for a SAX parse error, else None."""
    if isinstance(exc, xml.sax.SAXParseException):
        return f"XML syntax error at line {exc.getLineNumber()}: {exc.getMessage()}"
    return None


def _bozo_warning(exc: BaseException | None) -> str | None:
    """feedparser's complaint about a feed it could still read, in words."""
    if exc is None:
        return None
    syntax = _syntax_error(exc)
    if syntax:
        return f"The feed is not well-formed XML ({syntax}); it was read with a lenient parser."
    if isinstance(exc, feedparser.UndeclaredNamespace):
        return f"The feed uses an undeclared XML namespace prefix: {str(exc)[:200]}."
    return f"The feed has a problem: {str(exc)[:200] or type(exc).__name__}."


def _not_a_feed(exc: BaseException | None, xml_text: str) -> str:
    """Why a document that yielded neither a feed version nor entries is not a feed."""
    syntax = _syntax_error(exc)
    if syntax:
        return f"Not a feed: {syntax}"
    root = FIRST_ELEMENT.search(XML_DECLARATION.sub("", xml_text[:SNIFF_BYTES]))
    if root:
        return f"Not a feed: the document's root element is <{root.group(1)[:60]}>, not RSS or Atom"
    return "Not a feed: no RSS, Atom or JSON Feed content found"


# --- parsing --------------------------------------------------------------------------------------------


def _base_url(headers: Mapping[str, str], url: str) -> str:
    """The base of relative links: Content-Location resolved against the feed URL, else the feed URL."""
    base = url if is_http_url(url) else ""
    return _absolute_http(header_value(headers, "content-location"), base) or base


def _parse_xml_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """An RSS or Atom feed through feedparser, on bytes decoded and re-encoded as UTF-8 here."""
    text, warnings = decode_xml(body, headers)
    if not text.strip():
        raise FeedError(EMPTY_MESSAGE)
    data, prepare_warnings = _prepared_xml(text)
    warnings += prepare_warnings
    base = _base_url(headers, url)
    response_headers = {"content-type": "application/xml; charset=utf-8"}
    if base:
        response_headers["content-location"] = base
    try:
        # No sanitising or URI rewriting inside HTML: every field becomes plain text here, and feedparser's
        # sanitizer needs about 30 s for a few MB of markup.
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers=response_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # noqa: BLE001 - feedparser on hostile input: any crash means "not readable"
        LOGGER.warning("feedparser failed on %s: %r", url[:200], exc)
        raise FeedError(f"The feed could not be read: {type(exc).__name__}") from exc
    raw_entries = result.get("entries") or []
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not raw_entries and not result.get("version"):
        raise FeedError(HTML_MESSAGE if looks_like_html(body, headers) else _not_a_feed(problem, text))
    if not raw_entries and _syntax_error(problem):
        raise FeedError(f"Broken feed: {_syntax_error(problem)}; no entries could be read")
    bozo = _bozo_warning(problem)
    if bozo:
        warnings.append(bozo)
    feed = result.get("feed") or {}
    language = normalize_language(_text(feed.get("language"))) or normalize_language(
        header_value(headers, "content-language").split(",")[0]
    )
    entries, dropped, cap_warning = _kept_entries(
        raw_entries, lambda raw: _feedparser_entry(raw, base, language), _feedparser_date, warnings, url
    )
    return ParsedFeed(
        title=html_to_text(_text(feed.get("title")), limit=MAX_TITLE_CHARS),
        site_url=_absolute_http(feed.get("link"), base),
        language=language,
        entries=entries,
        warnings=tuple(warnings),
        dropped=dropped,
        cap_warning=cap_warning,
    )


def _json_author(item: Mapping[str, Any]) -> str:
    """The first author's name of a JSON Feed item (1.1 "authors" or 1.0 "author")."""
    authors = item.get("authors")
    first = authors[0] if isinstance(authors, list) and authors else item.get("author")
    return _text(first.get("name")) if isinstance(first, Mapping) else ""


def _json_date(item: Mapping[str, Any]) -> datetime | None:
    """When a JSON Feed item was published, else last modified, in UTC."""
    return _iso_date(item.get("date_published")) or _iso_date(item.get("date_modified"))


def _json_entry(item: Mapping[str, Any], base: str, feed_language: str | None) -> FeedEntry:
    """A JSON Feed item as a plain-text FeedEntry."""
    url = next((u for u in (_absolute_http(item.get(k), base) for k in ("url", "external_url")) if u), "")
    title = html_to_text(_text(item.get("title")), limit=MAX_TITLE_CHARS)
    markup = _text(item.get("summary")) or _text(item.get("content_html")) or _text(item.get("content_text"))
    summary = html_to_text(markup, limit=MAX_SUMMARY_CHARS, paragraphs=True)
    return FeedEntry(
        url=url,
        guid=_guid(item.get("id"), url, title, summary),
        title=title,
        summary=summary,
        published=_json_date(item),
        author=html_to_text(_json_author(item), limit=MAX_AUTHOR_CHARS),
        language=normalize_language(_text(item.get("language"))) or feed_language,
    )


def _json_int(digits: str) -> int | str:
    """A JSON integer; one too long for int() (over 4,300 digits) stays a string, so that one item's id
    does not make the whole document unreadable."""
    return int(digits) if len(digits) <= JSON_INT_DIGITS else digits


def _parse_json_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """A JSON Feed (https://jsonfeed.org) document."""
    text, _codec, warnings = decode_document(body, [("The server", content_type(headers)[1])])
    try:
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise FeedError(f"Not a feed: JSON syntax error at line {exc.lineno}: {exc.msg}") from exc
    except (ValueError, RecursionError) as exc:
        raise FeedError("Not a feed: the JSON cannot be read") from exc
    if not isinstance(data, dict) or not _text(data.get("version")).startswith(JSON_FEED_VERSION_PREFIX):
        raise FeedError("Not a feed: JSON without a JSON Feed version")
    base = _base_url(headers, url)
    language = normalize_language(_text(data.get("language"))) or normalize_language(
        header_value(headers, "content-language").split(",")[0]
    )
    items: list[Any] = data["items"] if isinstance(data.get("items"), list) else []
    objects = [item for item in items if isinstance(item, Mapping)]
    dropped: Counter[str] = Counter({DROPPED_UNREADABLE: len(items) - len(objects)})
    entries, dropped_by_reason, cap_warning = _kept_entries(
        objects, lambda item: _json_entry(item, base, language), _json_date, warnings, url, dropped
    )
    return ParsedFeed(
        title=html_to_text(_text(data.get("title")), limit=MAX_TITLE_CHARS),
        site_url=_absolute_http(data.get("home_page_url"), base),
        language=language,
        entries=entries,
        warnings=tuple(warnings),
        dropped=dropped_by_reason,
        cap_warning=cap_warning,
    )


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Fetched feed bytes (RSS, Atom, JSON Feed) as plain-text entries; FeedError when they are no feed."""
    if not body or not body.strip():
        raise FeedError(EMPTY_MESSAGE)
    if len(body) > MAX_FEED_BYTES:
        raise FeedError(f"The feed is larger than {MAX_FEED_BYTES // 1_000_000} MB")
    head = ascii_head(body)
    if HTML_SNIFF.match(head):
        raise FeedError(HTML_MESSAGE)
    if head.lstrip().startswith(b"{"):
        return _parse_json_feed(body, headers, url)
    return _parse_xml_feed(body, headers, url)

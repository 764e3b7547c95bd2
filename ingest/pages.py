"""Web pages: the article of a fetched HTML page as plain text with trafilatura, and the metadata it declares.

Nothing here opens a URL: callers pass the bytes and headers they fetched, and the URL only labels them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import trafilatura
from trafilatura.settings import Document
from trafilatura.utils import load_html

from ingest.decoding import decode_html, header_value
from ingest.plaintext import (
    MAX_AUTHOR_CHARS,
    MAX_SITE_NAME_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    XML_DECLARATION,
    html_to_text,
    text_paragraphs,
)
from kb.text.language import normalize_language

LOGGER = logging.getLogger(__name__)

MAX_PAGE_BYTES = 5_000_000
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
MAX_JSON_LD_CHARS = 200_000
PUBLISHED_META_KEYS = (
    "article:published_time", "og:article:published_time", "published_time", "datepublished", "pubdate",
    "publishdate", "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "date", "parsely-pub-date",
)
# htmldate keeps the time and zone when the page gives them; extensive search would guess from the text.
DATE_PARAMS = {"original_date": True, "extensive_search": False, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


@dataclass(frozen=True)
class Article:
    """The readable part of a web page, as plain text, with the metadata the page declares."""

    title: str
    text: str
    author: str
    published: datetime | None
    site_name: str
    description: str
    language: str | None


def _declared_language(tree: lxml.html.HtmlElement, headers: Mapping[str, str]) -> str | None:
    """The language the page declares: <html lang>, og:locale, a content-language meta, the HTTP header."""
    root = tree.getroottree().getroot()
    candidates = [root.get("lang"), root.get("xml:lang"), root.get(f"{{{XML_NAMESPACE}}}lang")]
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("http-equiv") or "").strip().lower()
        if key in ("og:locale", "content-language", "dc.language", "language"):
            candidates.append(meta.get("content"))
    candidates.append(header_value(headers, "content-language").split(",")[0])
    return next((lang for lang in map(normalize_language, candidates) if lang), None)


def parse_iso_date(value: object) -> datetime | None:
    """An ISO 8601 date or date-time as a UTC datetime (one without a zone is taken as UTC), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()[:64]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed out of range by its zone: no usable date
        return None


def _json_ld_dates(script_text: str) -> list[object]:
    """The datePublished values of a JSON-LD block (objects, lists and @graph)."""
    try:
        data = json.loads(script_text[:MAX_JSON_LD_CHARS])
    except (ValueError, RecursionError):
        return []
    found: list[object] = []
    pending = [data]
    while pending and len(found) < 10:
        item = pending.pop(0)
        if isinstance(item, list):
            pending.extend(item[:50])
        elif isinstance(item, dict):
            if "datePublished" in item:
                found.append(item["datePublished"])
            if isinstance(item.get("@graph"), list):
                pending.extend(item["@graph"][:50])
    return found


def _declared_published(tree: lxml.html.HtmlElement) -> datetime | None:
    """The publication time the page declares in its meta tags or JSON-LD, with its time zone."""
    root = tree.getroottree().getroot()
    candidates: list[object] = []
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in PUBLISHED_META_KEYS:
            candidates.append(meta.get("content"))
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json" and script.text:
            candidates.extend(_json_ld_dates(script.text))
    return next((date for date in map(parse_iso_date, candidates) if date), None)


def extract_article(body: bytes, headers: Mapping[str, str], url: str) -> Article | None:
    """The main text and metadata of an HTML page, or None when the page carries no article text."""
    if not body.strip():
        return None
    if len(body) > MAX_PAGE_BYTES:
        LOGGER.info("page %s not extracted: %d bytes is more than %d", url[:200], len(body), MAX_PAGE_BYTES)
        return None
    # A str with an encoding declaration would make lxml re-read it as bytes in the declared encoding.
    tree = load_html(XML_DECLARATION.sub("", decode_html(body, headers)))
    if tree is None:
        return None
    language = _declared_language(tree, headers)
    declared_published = _declared_published(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=True,
        # Skip the readability/jusText comparison: a third of the time on link-heavy news pages for the
        # same text here (bench/ingest_bench.py); a page it cannot read falls back to the feed's summary.
        fast=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        with_metadata=True,
        date_extraction_params=dict(DATE_PARAMS),
    )
    if not isinstance(document, Document):
        return None
    text = text_paragraphs(document.text, limit=MAX_TEXT_CHARS)
    if not text:
        return None
    return Article(
        title=html_to_text(document.title, limit=MAX_TITLE_CHARS),
        text=text,
        author=html_to_text(document.author, limit=MAX_AUTHOR_CHARS),
        published=declared_published or parse_iso_date(document.date),
        site_name=html_to_text(document.sitename, limit=MAX_SITE_NAME_CHARS),
        description=html_to_text(document.description, limit=MAX_SUMMARY_CHARS, paragraphs=True),
        language=language,
    )

"""Web pages: decode fetched bytes, extract the article as plain text with trafilatura; shared text helpers.

Nothing here opens a URL: callers pass the bytes and headers they fetched, and the URL only labels them.
"""

from __future__ import annotations

import codecs
import html
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import Document
from trafilatura.utils import load_html

LOGGER = logging.getLogger(__name__)

MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 10_000
MAX_TEXT_CHARS = 300_000
MAX_AUTHOR_CHARS = 300
MAX_SITE_NAME_CHARS = 300
MAX_PAGE_BYTES = 5_000_000
# How much markup is read per character kept: a field is cut to limit * RAW_MARKUP_FACTOR before parsing.
RAW_MARKUP_FACTOR = 20
# Escaped markup ("&lt;b&gt;") is unescaped and stripped again, at most this many times.
MAX_MARKUP_PASSES = 3
ELLIPSIS = "…"
SNIFF_BYTES = 4_096
META_SNIFF_BYTES = 16_384
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
LANGUAGE_PLACEHOLDERS = frozenset({"und", "mul", "zxx", "mis"})

# Elements whose content is never text a reader sees.
DROPPED_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
        "svg", "math", "head", "title", "canvas", "audio", "video", "select", "textarea", "button",
    }
)
BLOCK_TAGS = frozenset(
    """address article aside blockquote caption dd details div dl dt fieldset figcaption figure footer form
    h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody tfoot thead tr ul""".split()
)
CELL_TAGS = frozenset({"td", "th"})

# WHATWG maps these labels to windows-1252; Python's latin-1 would turn € and ’ into control characters.
WINDOWS_1252_LABELS = frozenset(
    {
        "ascii", "us-ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "iso88591", "latin1", "latin-1", "l1",
        "cp819", "ibm819", "iso-ir-100", "csisolatin1", "x-cp1252", "windows-1252", "cp1252",
    }
)
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-9": "cp1254",
                   "latin5": "cp1254", "tis-620": "cp874", "iso-8859-11": "cp874", "ks_c_5601-1987": "cp949",
                   "euc-kr": "cp949", "x-sjis": "shift_jis", "unicode-1-1-utf-8": "utf-8", "utf8": "utf-8"}
# Python codecs that decode but are no document encodings (or are known XSS vectors, like UTF-7).
REFUSED_CODECS = frozenset(
    {"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "palmos"}
)
SINGLE_BYTE_CODEC_PREFIXES = ("cp125", "cp874", "iso8859", "latin", "ascii", "koi8", "mac-", "cp437", "cp850")

BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# A whole tag left in text after unescaping, e.g. "<script>" from "&lt;script&gt;".
TAG_LIKE = re.compile(r"<(?:!--|/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>)")
META_CHARSET = re.compile(
    rb"""<meta[^<>]{1,500}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE
)
XML_DECLARATION_CHARSET = re.compile(
    rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
)
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
HTML_PARSER = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, recover=True)
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


# --- headers and character sets -------------------------------------------------------------------------


def header_value(headers: Mapping[str, str], name: str) -> str:
    """The value of an HTTP header whatever the case of its name, or ""."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return str(value or "")


def content_type(headers: Mapping[str, str]) -> tuple[str, str | None]:
    """The media type (lower-case) and charset parameter of the Content-Type header."""
    mime, _, params = header_value(headers, "content-type").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip("\"'"):
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


def python_codec(label: str | None) -> str | None:
    """The Python codec for a charset label, mapped the way browsers do; None when unknown or refused."""
    if not label:
        return None
    name = label.strip().lower()
    if name in WINDOWS_1252_LABELS:
        return "cp1252"
    name = CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in REFUSED_CODECS:
        return None
    return info.name


def _is_single_byte(codec: str) -> bool:
    """True for the one-byte-per-character codecs a UTF-8 document is often mislabelled as."""
    return codec.startswith(SINGLE_BYTE_CODEC_PREFIXES)


def _strict_decode(body: bytes, codec: str) -> str | None:
    """The body decoded with codec, or None when it does not decode cleanly."""
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_document(body: bytes, declared: list[tuple[str, str | None]]) -> tuple[str, str, list[str]]:
    """Decode bytes: a BOM wins, then the declared charsets in order, then UTF-8, then windows-1252.

    declared lists (where, label) pairs such as ("The server", "utf-8"). Returns the text, the codec used,
    and warnings in words for every declaration that turned out wrong.
    """
    for bom, bom_codec in BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace"), bom_codec, []
    warnings: list[str] = []
    is_ascii = body.isascii()
    tried: list[str] = []
    for where, label in declared:
        if not label:
            continue
        codec = python_codec(label)
        if codec is None:
            warnings.append(f"{where} declared an unknown character encoding {label[:40]!r}; it was ignored.")
            continue
        if codec in tried:
            continue
        tried.append(codec)
        if not is_ascii and _is_single_byte(codec) and _strict_decode(body, "utf-8") is not None:
            warnings.append(f"{where} declared {label[:40]}, but the content is UTF-8 and was read as such.")
            return body.decode("utf-8"), "utf-8", warnings
        text = _strict_decode(body, codec)
        if text is not None:
            return text, codec, warnings
        warnings.append(f"{where} declared {label[:40]}, but the content is not valid {label[:40]}.")
    for codec in ("utf-8", "cp1252"):
        if codec in tried:
            continue
        text = _strict_decode(body, codec)
        if text is not None:
            if tried:
                warnings.append(f"The content was read as {'UTF-8' if codec == 'utf-8' else 'windows-1252'}.")
            return text, codec, warnings
    codec = tried[0] if tried else "utf-8"
    warnings.append(f"Some bytes are not valid {codec} and were replaced.")
    return body.decode(codec, errors="replace"), codec, warnings


def decode_html(body: bytes, headers: Mapping[str, str]) -> str:
    """An HTML page as text: charset from the Content-Type header, else <meta>, else UTF-8 or windows-1252."""
    head = body[:META_SNIFF_BYTES]
    meta = META_CHARSET.search(head) or XML_DECLARATION_CHARSET.search(head.lstrip())
    declared = [
        ("The server", content_type(headers)[1]),
        ("The page", meta.group(1).decode("ascii") if meta else None),
    ]
    text, _codec, warnings = decode_document(body, declared)
    for warning in warnings:
        LOGGER.info("decoding page: %s", warning)
    return text


# --- plain text -----------------------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """The text cut to at most limit characters, an ellipsis marking a cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def _clean_piece(text: str | None) -> str:
    """A text node without control characters."""
    return CONTROL_CHARS.sub("", text) if text else ""


def _markup_to_paragraphs(markup: str) -> list[list[str]]:
    """Paragraphs (lists of lines) of the visible text of an HTML fragment; scripts and styles are dropped."""
    if "<" not in markup:
        pieces = [_clean_piece(html.unescape(markup))]
    else:
        markup = XML_DECLARATION.sub("", markup)
        try:
            root = lxml.html.fragment_fromstring(markup, create_parent="div", parser=HTML_PARSER)
        except (etree.ParserError, ValueError):
            return []
        pieces = []
        walker = etree.iterwalk(root, events=("start", "end"))
        for event, element in walker:
            tag = element.tag.lower() if isinstance(element.tag, str) else ""
            if event == "start":
                if not tag or tag in DROPPED_TAGS:
                    walker.skip_subtree()
                    continue
                if tag in BLOCK_TAGS:
                    pieces.append("\x00")
                elif tag == "br":
                    pieces.append("\x01")
                elif tag in CELL_TAGS:
                    pieces.append(" ")
                pieces.append(_clean_piece(element.text))
            else:
                if tag in BLOCK_TAGS:
                    pieces.append("\x00")
                if element is not root:
                    pieces.append(_clean_piece(element.tail))
    paragraphs = []
    for block in "".join(pieces).split("\x00"):
        lines = [" ".join(line.split()) for line in block.split("\x01")]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append(lines)
    return paragraphs


def html_to_text(markup: str | None, *, limit: int, paragraphs: bool = False) -> str:
    """Plain text from HTML or text (tags, scripts, entities resolved): one line, or paragraphs.

    Escaped markup such as "&lt;script&gt;" is stripped too, so no tag survives in the result.
    """
    if not markup:
        return ""
    text = str(markup)[: limit * RAW_MARKUP_FACTOR]
    blocks = [text]
    for _ in range(MAX_MARKUP_PASSES):
        found = [para for block in blocks for para in _markup_to_paragraphs(block)]
        blocks = ["\n".join(lines) for lines in found]
        if not any(TAG_LIKE.search(block) for block in blocks):
            break
    else:
        blocks = [" ".join(TAG_LIKE.sub(" ", block).split()) for block in blocks]
    if paragraphs:
        return clip("\n\n".join(block for block in blocks if block), limit)
    return clip(" ".join(" ".join(blocks).split()), limit)


def text_paragraphs(text: str | None, *, limit: int) -> str:
    """Extracted plain text tidied: one paragraph per line, a blank line between, no tag left in it."""
    if not text:
        return ""
    text = TAG_LIKE.sub(" ", CONTROL_CHARS.sub("", text[: limit * 2]))
    blocks: list[str] = []
    for line in (" ".join(raw.split()) for raw in text.splitlines()):
        if not line:
            continue
        if line.startswith("|") and blocks and blocks[-1].startswith("|"):
            blocks[-1] += "\n" + line  # the rows of one table stay together
        else:
            blocks.append(line)
    return clip("\n\n".join(blocks), limit)


def normalise_language(tag: str | None) -> str | None:
    """The primary subtag of a language tag, lower-case ("en-US" and "en_us" give "en"), or None."""
    if not tag:
        return None
    primary = re.split(r"[-_\s]", tag.strip().lower()[:40], maxsplit=1)[0]
    if len(primary) not in (2, 3) or not primary.isascii() or not primary.isalpha():
        return None
    return None if primary in LANGUAGE_PLACEHOLDERS else primary


# --- articles -------------------------------------------------------------------------------------------


def _declared_language(tree: lxml.html.HtmlElement, headers: Mapping[str, str]) -> str | None:
    """The language the page declares: <html lang>, og:locale, a content-language meta, the HTTP header."""
    root = tree.getroottree().getroot()
    candidates = [root.get("lang"), root.get("xml:lang"), root.get(f"{{{XML_NAMESPACE}}}lang")]
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("http-equiv") or "").strip().lower()
        if key in ("og:locale", "content-language", "dc.language", "language"):
            candidates.append(meta.get("content"))
    candidates.append(header_value(headers, "content-language").split(",")[0])
    return next((lang for lang in map(normalise_language, candidates) if lang), None)


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
    return parsed.astimezone(UTC)


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

"""Plain text from markup: HTML fragments and extracted text made tag-free and bounded, and the field limits.

Feeds, pages and OPML lists all keep their fields as plain text: scripts, styles and tags are dropped,
entities resolved, and escaped markup ("&lt;script&gt;") stripped too, so no tag survives.
"""

from __future__ import annotations

import html
import re

import lxml.html
from lxml import etree

MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 10_000
MAX_TEXT_CHARS = 300_000
MAX_AUTHOR_CHARS = 300
MAX_SITE_NAME_CHARS = 300
# How much markup is read per character kept: a field is cut to limit * RAW_MARKUP_FACTOR before parsing.
RAW_MARKUP_FACTOR = 20
# Lone surrogates (a JSON "\ud800" escape) have no UTF-8 form: lxml refuses them and SQLite cannot store them.
SURROGATES = re.compile(r"[\ud800-\udfff]")
# Escaped markup ("&lt;b&gt;") is unescaped and stripped again, at most this many times.
MAX_MARKUP_PASSES = 3
ELLIPSIS = "…"

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
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# A whole tag left in text after unescaping, e.g. "<script>" from "&lt;script&gt;".
TAG_LIKE = re.compile(r"<(?:!--|/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>)")
# Dropped before lxml parses a str: with an encoding declaration it would re-read the text as bytes.
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
HTML_PARSER = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, recover=True)


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
    text = SURROGATES.sub("", str(markup)[: limit * RAW_MARKUP_FACTOR])
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
    text = TAG_LIKE.sub(" ", CONTROL_CHARS.sub("", SURROGATES.sub("", text[: limit * 2])))
    blocks: list[str] = []
    for line in (" ".join(raw.split()) for raw in text.splitlines()):
        if not line:
            continue
        if line.startswith("|") and blocks and blocks[-1].startswith("|"):
            blocks[-1] += "\n" + line  # the rows of one table stay together
        else:
            blocks.append(line)
    return clip("\n\n".join(blocks), limit)

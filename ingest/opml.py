"""OPML subscription lists: read safely (defusedxml) into flat outlines; written as OPML 2.0 for readers."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET  # noqa: S405 - only to build documents; parsing goes through defusedxml
from collections.abc import Iterable
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as SafeET

from ingest.plaintext import MAX_TITLE_CHARS, html_to_text
from kb.errors import InvalidInput
from kb.text.urls import is_http_url

LOGGER = logging.getLogger(__name__)

MAX_OPML_BYTES = 5_000_000
MAX_OUTLINES = 10_000
MAX_DEPTH = 50
CATEGORY_SEPARATOR = " / "
# Characters XML 1.0 does not allow, even escaped.
XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class OpmlOutline:
    """One subscription: the feed URL, its title, the site it belongs to, and its folder ("" for none)."""

    url: str
    title: str
    html_url: str
    category: str


def _local_name(tag: object) -> str:
    """An element's tag without namespace, lower-case."""
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _attributes(element: ET.Element) -> dict[str, str]:
    """The element's attributes with lower-case names (exporters disagree on "xmlUrl" and "xmlurl")."""
    return {_local_name(key): value for key, value in element.attrib.items()}


def _feed_url(value: str | None) -> str:
    """An http(s) feed URL from an xmlUrl attribute ("feed://" and "feed:https://" accepted), else ""."""
    url = (value or "").strip()
    if url.lower().startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    return url if is_http_url(url) else ""


def _label(attributes: dict[str, str]) -> str:
    """An outline's title as plain text: its title attribute, else its text attribute."""
    raw = attributes.get("title") or attributes.get("text") or ""
    return html_to_text(raw, limit=MAX_TITLE_CHARS)


def _category_attribute(attributes: dict[str, str]) -> str:
    """The first category of an OPML 2.0 category attribute ("/Tech/News,/Other" gives "Tech / News")."""
    first = (attributes.get("category") or "").split(",")[0]
    parts = [html_to_text(part, limit=MAX_TITLE_CHARS) for part in first.split("/")]
    return CATEGORY_SEPARATOR.join(part for part in parts if part)


def _parse_root(data: bytes) -> ET.Element:
    """The OPML document's root element, parsed with defusedxml; InvalidInput in words otherwise."""
    if not data or not data.strip():
        raise InvalidInput("The OPML file is empty.")
    if len(data) > MAX_OPML_BYTES:
        raise InvalidInput(f"The OPML file is larger than {MAX_OPML_BYTES // 1_000_000} MB.")
    try:
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        raise InvalidInput("The OPML file declares XML entities, which are not accepted.") from exc
    except defusedxml.DefusedXmlException as exc:
        raise InvalidInput("The OPML file refers to external resources, which are not accepted.") from exc
    except ET.ParseError as exc:
        line, column = exc.position
        raise InvalidInput(f"The OPML file is not well-formed XML (line {line}, column {column}).") from exc


def parse_opml(data: bytes) -> list[OpmlOutline]:
    """The feeds of an OPML file, folders flattened into categories, in document order, each URL once."""
    root = _parse_root(data)
    if _local_name(root.tag) != "opml":
        raise InvalidInput(f"This is not an OPML file: its root element is <{_local_name(root.tag)[:60]}>.")
    body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if body is None:
        raise InvalidInput("This OPML file has no <body> element, so it lists no feeds.")
    outlines: list[OpmlOutline] = []
    seen: set[str] = set()
    # Depth-first in document order, without recursion: (element, folder path above it).
    pending: list[tuple[ET.Element, tuple[str, ...]]] = [(child, ()) for child in reversed(list(body))]
    while pending:
        element, folders = pending.pop()
        if _local_name(element.tag) != "outline":
            continue
        attributes = _attributes(element)
        url = _feed_url(attributes.get("xmlurl"))
        if url and url not in seen:
            if len(outlines) >= MAX_OUTLINES:
                raise InvalidInput(f"The OPML file lists more than {MAX_OUTLINES} feeds.")
            seen.add(url)
            html_url = (attributes.get("htmlurl") or "").strip()
            outlines.append(
                OpmlOutline(
                    url=url,
                    title=_label(attributes),
                    html_url=html_url if is_http_url(html_url) else "",
                    category=CATEGORY_SEPARATOR.join(folders) or _category_attribute(attributes),
                )
            )
        elif not url and len(folders) < MAX_DEPTH:
            label = _label(attributes)
            inner = (*folders, label) if label else folders
            pending.extend((child, inner) for child in reversed(list(element)))
    return outlines


def _xml_text(value: str) -> str:
    """A string XML 1.0 can carry."""
    return XML_INVALID_CHARS.sub("", value)


def _feed_element(parent: ET.Element, outline: OpmlOutline) -> None:
    """Append an <outline type="rss"> for one feed."""
    label = _xml_text(outline.title) or outline.url
    attributes = {"type": "rss", "text": label, "title": label, "xmlUrl": outline.url}
    if is_http_url(outline.html_url):
        attributes["htmlUrl"] = outline.html_url
    ET.SubElement(parent, "outline", attributes)


def build_opml(outlines: Iterable[OpmlOutline], title: str) -> bytes:
    """An OPML 2.0 document (UTF-8) of the feeds, one folder per category, that feed readers import."""
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for outline in outlines:
        if not is_http_url(outline.url):
            LOGGER.warning("OPML export skips a feed without an http(s) URL: %r", outline.url[:200])
            continue
        parent = body
        category = _xml_text(outline.category).strip()
        if category:
            if category not in folders:
                folders[category] = ET.SubElement(body, "outline", {"text": category, "title": category})
            parent = folders[category]
        _feed_element(parent, outline)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"

"""OPML import (defusedxml, folders flattened, http(s) only), export as OPML 2.0 for readers, round trip."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ingest.opml import OpmlOutline, build_opml, parse_opml
from kb.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "opml"
EXPECT = re.compile(r"<!--\s*expect:\s*(\{.*?\})\s*-->", re.S)


def expectation(path: Path) -> dict[str, Any]:
    """The expectation a fixture states in its header comment."""
    match = EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no expect header"
    return json.loads(match.group(1))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.opml")), ids=lambda p: p.name)
def test_opml_fixture(path: Path) -> None:
    """Each fixture yields the outlines, or the error, its header comment states; hostile files fail fast."""
    expected = expectation(path)
    started = time.perf_counter()
    if "error" in expected:
        with pytest.raises(InvalidInput) as caught:
            parse_opml(path.read_bytes())
        assert expected["error"] in str(caught.value)
    else:
        outlines = parse_opml(path.read_bytes())
        assert [o.__dict__ for o in outlines] == expected["outlines"]
    assert time.perf_counter() - started < 1


def test_round_trip_of_a_reader_export() -> None:
    """Exporting what was imported and importing it again gives the same outlines."""
    outlines = parse_opml((FIXTURES / "reader_export_nested.opml").read_bytes())
    assert parse_opml(build_opml(outlines, "Lab subscriptions")) == outlines


def test_round_trip_with_awkward_characters() -> None:
    """Quotes, ampersands, angle brackets, other scripts and control characters survive or go safely."""
    outlines = [
        OpmlOutline(
            url="https://a.example/rss?x=1&y=2",
            title="Quotes \"double\" & 'single' <angle>",
            html_url="https://a.example/",
            category="Santé & éducation",
        ),
        OpmlOutline(url="https://b.example/feed", title="Новости — 新闻 — أخبار", html_url="", category=""),
        OpmlOutline(url="https://c.example/feed", title="", html_url="", category="Santé & éducation"),
    ]
    data = build_opml(outlines, "Title with & and <")
    back = {o.url: o for o in parse_opml(data)}  # one folder per category: a folder's feeds come together
    assert list(back) == ["https://a.example/rss?x=1&y=2", "https://c.example/feed", "https://b.example/feed"]
    assert back["https://b.example/feed"].title == outlines[1].title
    assert back["https://a.example/rss?x=1&y=2"].category == "Santé & éducation"
    assert back["https://c.example/feed"].category == "Santé & éducation"
    assert back["https://c.example/feed"].title == "https://c.example/feed"  # untitled: labelled by its URL
    assert (
        back["https://a.example/rss?x=1&y=2"].title == "Quotes \"double\" & 'single'"
    )  # a tag-like part goes
    control = build_opml([OpmlOutline("https://d.example/", "bell\x07tab\ttitle", "", "")], "x\x00y")
    assert parse_opml(control)[0].title == "belltab title"


def test_export_is_opml_2_that_readers_import() -> None:
    """OPML 2.0: head/title, a folder per category, feed outlines with type, text, title, xmlUrl, htmlUrl."""
    outlines = [
        OpmlOutline("https://a.example/rss", "A", "https://a.example/", "Welfare"),
        OpmlOutline("https://b.example/rss", "B", "", "Welfare"),
        OpmlOutline("https://c.example/rss", "C", "javascript:alert(1)", ""),
    ]
    data = build_opml(outlines, "Lab subscriptions")
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(data)  # noqa: S314 - our own output
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Lab subscriptions"
    body = root.find("body")
    assert body is not None
    folder, loose = list(body)
    assert folder.get("text") == "Welfare" and folder.get("xmlUrl") is None
    feeds = [*folder, loose]
    for element in feeds:
        assert element.get("type") == "rss"
        assert (
            element.get("text") and element.get("title") and element.get("xmlUrl", "").startswith("https://")
        )
    assert feeds[0].get("htmlUrl") == "https://a.example/"
    assert feeds[1].get("htmlUrl") is None and feeds[2].get("htmlUrl") is None


def test_export_skips_non_http_feeds() -> None:
    """Only http(s) feed URLs are written."""
    data = build_opml(
        [OpmlOutline("file:///etc/passwd", "x", "", ""), OpmlOutline("https://a.example/", "a", "", "")], "t"
    )
    assert [o.url for o in parse_opml(data)] == ["https://a.example/"]


def test_empty_export() -> None:
    """No feeds: a valid OPML document with an empty body."""
    assert parse_opml(build_opml([], "Nothing")) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"not xml at all", "not well-formed XML"),
        (b"\x00\xff\xfe garbage", "not well-formed XML"),
        (b'<?xml version="1.0"?><opml version="2.0"><head/></opml>', "no <body>"),
        (b"<html><body><p>Hi</p></body></html>", "root element is <html>"),
    ],
)
def test_invalid_opml(data: bytes, message: str) -> None:
    """Anything that is not an OPML list of feeds gives InvalidInput with a readable message."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse_opml(data)


def test_opml_version_1_and_namespaced_root() -> None:
    """OPML 1.0 files and files with a namespace on the root are read too."""
    data = (
        b'<opml version="1.0" xmlns="http://example.org/ns"><body>'
        b'<outline text="Feed" type="rss" xmlUrl="https://a.example/rss"/></body></opml>'
    )
    assert parse_opml(data) == [OpmlOutline("https://a.example/rss", "Feed", "", "")]


def test_deeply_nested_folders_do_not_recurse() -> None:
    """Deep nesting neither crashes nor produces huge categories."""
    depth = 500
    data = (
        "<opml><body>"
        + '<outline text="f">' * depth
        + '<outline xmlUrl="https://deep.example/rss" text="d"/>'
        + "</outline>" * depth
        + "</body></opml>"
    ).encode()
    assert parse_opml(data) == []  # below MAX_DEPTH folders deep, nothing is read

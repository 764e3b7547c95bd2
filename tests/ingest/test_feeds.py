"""Feed parsing and autodiscovery on fixture bytes: formats, charsets, hostile feeds, bounds. No network."""

from __future__ import annotations

import io
import json
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from ingest import feeds
from ingest.feeds import (
    FeedEntry,
    FeedError,
    ParsedFeed,
    find_feed_links,
    looks_like_html,
    parse_feed,
)
from ingest.plaintext import MAX_AUTHOR_CHARS, MAX_SUMMARY_CHARS, MAX_TITLE_CHARS
from kb.errors import FetchError
from kb.text.urls import is_http_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
EXPECT = re.compile(r"<!--\s*expect:\s*(\{.*?\})\s*-->", re.S)
DEFAULT_URL = "https://feeds.example.org/feed.xml"


pytestmark = pytest.mark.usefixtures("no_network")  # parsers get bytes, never URLs


def expectation(path: Path) -> dict[str, Any]:
    """The expectation a fixture states in its header comment (or its "_expect" key for JSON)."""
    body = path.read_bytes()
    if path.suffix == ".json":  # a fixture may hold an integer too long for int(): it stays a string here
        data = json.loads(body, parse_int=lambda digits: int(digits) if len(digits) < 100 else digits)
        return data["_expect"]
    match = EXPECT.search(body[:16_384].decode("utf-8", errors="replace"))  # non-UTF-8 fixtures keep it ASCII
    assert match, f"{path.name} has no expect header"
    return json.loads(match.group(1))


def fixture_paths() -> list[Path]:
    """Every feed fixture with an expectation."""
    return sorted(p for p in FIXTURES.iterdir() if p.suffix in (".xml", ".html", ".json", ".rss", ".atom"))


def stored_strings(feed: ParsedFeed) -> list[str]:
    """Every string that would be stored from a parsed feed."""
    strings = [feed.title, feed.site_url, *feed.warnings]
    for entry in feed.entries:
        strings += [entry.url, entry.guid, entry.title, entry.summary, entry.author, entry.language or ""]
    return strings


def check_entry(entry: FeedEntry, expected: dict[str, Any]) -> None:
    """An entry matches the fields the fixture names."""
    for key, value in expected.items():
        if key == "published":
            assert entry.published == (datetime.fromisoformat(value) if value else None), entry.title
        elif key == "guid_prefix":
            assert entry.guid.startswith(value)
        else:
            assert getattr(entry, key) == value, f"{key} of {entry.title!r}"


def check_invariants(feed: ParsedFeed) -> None:
    """What holds for any parsed feed: http(s) URLs, UTC dates, bounded plain-text fields, known reasons."""
    assert feed.site_url == "" or is_http_url(feed.site_url)
    assert len(feed.title) <= MAX_TITLE_CHARS
    assert set(feed.dropped) <= set(feeds.DROPPED_REASONS) and all(n > 0 for n in feed.dropped.values())
    for entry in feed.entries:
        assert is_http_url(entry.url)
        assert entry.guid
        assert entry.published is None or entry.published.utcoffset().total_seconds() == 0
        assert entry.published is None or entry.published.tzinfo is UTC
        assert len(entry.title) <= MAX_TITLE_CHARS
        assert len(entry.summary) <= MAX_SUMMARY_CHARS
        assert len(entry.author) <= MAX_AUTHOR_CHARS
        assert entry.language is None or re.fullmatch(r"[a-z]{2,3}", entry.language)


@pytest.mark.parametrize("path", fixture_paths(), ids=lambda p: p.name)
def test_feed_fixture(path: Path) -> None:
    """Each fixture yields what its header comment says."""
    expected = expectation(path)
    body = path.read_bytes()
    url = expected.get("url", DEFAULT_URL)
    headers = expected.get("headers", {})
    started = time.perf_counter()
    if "error" in expected:
        with pytest.raises(FeedError) as caught:
            parse_feed(body, headers, url)
        assert expected["error"] in str(caught.value)
    else:
        feed = parse_feed(body, headers, url)
        check_invariants(feed)
        for key in ("title", "site_url", "language"):
            if key in expected:
                assert getattr(feed, key) == expected[key], key
        if "entries" in expected:
            assert len(feed.entries) == len(expected["entries"])
            for entry, entry_expected in zip(feed.entries, expected["entries"], strict=True):
                check_entry(entry, entry_expected)
        if "warnings" in expected:
            assert list(feed.warnings) == expected["warnings"]
        assert feed.dropped == expected.get("dropped", {})
        if "warning_contains" in expected:
            assert any(expected["warning_contains"] in w for w in feed.warnings), feed.warnings
        stored = " ".join(stored_strings(feed)).lower()
        for fragment in expected.get("absent", []):
            assert fragment.lower() not in stored, fragment
    assert time.perf_counter() - started < expected.get("max_seconds", 5)
    if "feed_links" in expected:
        assert find_feed_links(body, headers, url) == expected["feed_links"]


# --- what never reaches feedparser ----------------------------------------------------------------------


def test_feedparser_only_ever_gets_bytes_in_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """feedparser.parse(str) may open a URL or a file: it must receive io.BytesIO and response headers."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    original = feedparser.parse

    def spy(source: Any, **kwargs: Any) -> Any:
        calls.append((source, kwargs))
        return original(source, **kwargs)

    monkeypatch.setattr(feeds.feedparser, "parse", spy)
    parse_feed((FIXTURES / "rss20.xml").read_bytes(), {}, "https://news.example.org/feeds/main/rss.xml")
    with pytest.raises(FeedError):
        parse_feed(b"/etc/passwd", {}, "file:///etc/passwd")
    assert calls
    for source, kwargs in calls:
        assert isinstance(source, io.BytesIO)
        assert "response_headers" in kwargs


def test_a_body_naming_a_local_file_is_not_opened() -> None:
    """A body that is a path is just bytes: no file content ends up anywhere."""
    with pytest.raises(FeedError) as caught:
        parse_feed(b"/etc/passwd", {}, DEFAULT_URL)
    assert "root:" not in str(caught.value)


# --- empty, garbage and HTML bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n\t  ", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"], ids=repr)
def test_empty_body(body: bytes) -> None:
    """Nothing to parse: 'The feed is empty'."""
    with pytest.raises(FeedError, match="The feed is empty"):
        parse_feed(body, {"content-type": "application/rss+xml"}, DEFAULT_URL)


def _random_bytes() -> bytes:
    rng = random.Random(20240305)
    return bytes(rng.randrange(256) for _ in range(4096))


@pytest.mark.parametrize(
    "body",
    [bytes(range(256)) * 8, _random_bytes(), b"\x89PNG\r\n\x1a\n" + bytes(200), b"Hello, world", b"<<<>>>"],
    ids=["all-bytes", "random", "png", "plain-text", "brackets"],
)
def test_garbage_body(body: bytes) -> None:
    """Bytes that are no document give a readable 'Not a feed' reason, not a crash."""
    with pytest.raises(FeedError, match=r"^Not a feed: "):
        parse_feed(body, {}, DEFAULT_URL)


def test_feed_error_is_a_fetch_error() -> None:
    """Callers that handle FetchError handle FeedError too."""
    assert issubclass(FeedError, FetchError)


def test_html_without_doctype_served_as_html() -> None:
    """A fragment of HTML served as text/html is reported as an HTML page."""
    with pytest.raises(FeedError, match="HTML page"):
        parse_feed(b"<div><p>Welcome</p></div>", {"Content-Type": "text/html; charset=utf-8"}, DEFAULT_URL)


def test_feed_served_as_text_html_is_still_a_feed() -> None:
    """Servers mislabel feeds; the body decides."""
    body = (FIXTURES / "rss20.xml").read_bytes()
    headers = {"Content-Type": "text/html; charset=utf-8"}
    assert not looks_like_html(body, headers)
    assert len(parse_feed(body, headers, "https://news.example.org/feeds/main/rss.xml").entries) == 3


def test_broken_feed_without_entries() -> None:
    """An RSS document cut before its first item is a broken feed, reported with the XML error."""
    body = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Cut</title>\n<description>a & b'
    with pytest.raises(FeedError, match=r"XML syntax error at line"):
        parse_feed(body, {}, DEFAULT_URL)


def test_valid_feed_without_entries() -> None:
    """A new feed with no items yet is a feed, not an error."""
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>New</title></channel></rss>'
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert feed.title == "New"
    assert feed.entries == ()


# --- character sets -------------------------------------------------------------------------------------

CP1252_TITLES = [
    "Réforme des aides : le score contesté",
    "Prüfung kostet 2 € pro Fall",
    "Council’s “fraud” model – explained…",
]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "text/xml"},
        {"content-type": "application/xml"},
        {"Content-Type": "application/rss+xml"},
        {"Content-Type": "text/plain"},
        {"Content-Location": "https://legacy.example.fr/rss.xml"},
    ],
    ids=["no-headers", "text/xml", "application/xml", "rss+xml", "text/plain", "no-content-type"],
)
def test_windows_1252_declared_in_the_prolog(headers: dict[str, str]) -> None:
    """A cp1252 feed declared only in its XML prolog comes out right however it is served."""
    feed = parse_feed(
        (FIXTURES / "cp1252_prolog.xml").read_bytes(), headers, "https://legacy.example.fr/rss.xml"
    )
    assert [e.title for e in feed.entries] == CP1252_TITLES
    assert feed.title == "Vieille Gazette é"
    assert "ü ö ä ß œ" in feed.entries[0].summary


def test_iso_8859_1_label_is_read_as_windows_1252() -> None:
    """Like browsers, an iso-8859-1 label admits € and curly quotes (bytes 0x80-0x9f)."""
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><item>'
        "<title>2 € – ‘ok’</title>"
        "<link>https://a.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(body.encode("cp1252"), {}, DEFAULT_URL)
    assert feed.entries[0].title == "2 € – ‘ok’"


def test_http_charset_disagreeing_with_prolog_still_yields_entries() -> None:
    """utf-8 in the header, iso-8859-1 in the prolog and latin-1 bytes: entries come out, with a warning."""
    feed = parse_feed(
        (FIXTURES / "charset_mismatch.xml").read_bytes(),
        {"Content-Type": "application/rss+xml; charset=utf-8"},
        "https://mismatch.example.org/feed",
    )
    assert [e.title for e in feed.entries] == [
        "Élèves notés par logiciel",
        "Ärztekammer prüft Triage-Software",
    ]
    assert feed.warnings


def test_latin1_header_on_a_utf8_feed() -> None:
    """A server claiming iso-8859-1 for a UTF-8 feed would give mojibake; valid UTF-8 wins, with a warning."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item>'
        "<title>Données – Prüfung</title>"
        "<link>https://a.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(body.encode("utf-8"), {"Content-Type": "text/xml; charset=ISO-8859-1"}, DEFAULT_URL)
    assert feed.entries[0].title == "Données – Prüfung"
    assert any("UTF-8" in w for w in feed.warnings)


def test_utf8_without_declaration_or_content_type() -> None:
    """feedparser alone would default to iso-8859-1 here; XML says UTF-8."""
    body = (
        '<rss version="2.0"><channel><item><title>Santé publique</title><link>https://a.example/1</link>'
        "</item></channel></rss>"
    )
    feed = parse_feed(body.encode("utf-8"), {"content-location": "https://a.example/feed"}, DEFAULT_URL)
    assert feed.entries[0].title == "Santé publique"


@pytest.mark.parametrize("codec", ["utf-16", "utf-8-sig"])
def test_byte_order_mark(codec: str) -> None:
    """A BOM decides the encoding, whatever the header says."""
    body = (
        '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><item>'
        "<title>Bildung für alle</title>"
        "<link>https://a.example/1</link></item></channel></rss>"
    )
    if codec == "utf-8-sig":
        body = body.replace("utf-16", "utf-8")
    feed = parse_feed(
        body.encode(codec), {"Content-Type": "application/xml; charset=iso-8859-1"}, DEFAULT_URL
    )
    assert feed.entries[0].title == "Bildung für alle"


def test_unknown_charset_label() -> None:
    """An unknown or refused label (UTF-7) is ignored with a warning; the bytes are still read."""
    body = (
        b'<?xml version="1.0" encoding="utf-7"?><rss version="2.0"><channel><item>'
        b"<title>+ADw-script+AD4-</title>"
        b"<link>https://a.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(body, {"Content-Type": "application/xml; charset=x-klingon"}, DEFAULT_URL)
    assert feed.entries[0].title == "+ADw-script+AD4-"
    assert any("x-klingon" in w for w in feed.warnings)


# --- hostile content ------------------------------------------------------------------------------------


def test_five_megabyte_title_is_truncated() -> None:
    """A 5 MB title (and author, summary) never reaches the database whole."""
    huge = "A" * 5_000_000
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{huge[:1_000_000]}</title>'
        f"<item><title>{huge}</title>"
        f"<author>{huge[:1_000_000]}</author><description>{huge[:2_000_000]}</description>"
        "<link>https://a.example/1</link></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert time.perf_counter() - started < 10
    entry = feed.entries[0]
    assert len(feed.title) <= MAX_TITLE_CHARS
    assert len(entry.title) == MAX_TITLE_CHARS
    assert entry.title.endswith("…")
    assert len(entry.author) <= MAX_AUTHOR_CHARS
    assert len(entry.summary) <= MAX_SUMMARY_CHARS


def test_huge_markup_title_is_truncated_quickly() -> None:
    """Megabytes of markup in CDATA are cut before they are parsed as HTML."""
    markup = "<b>x</b> <i>y</i> " * 250_000
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><item><title><![CDATA[{markup}]]></title>'
        f"<description><![CDATA[{markup}]]></description><link>https://a.example/1</link></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    entry = parse_feed(body, {}, DEFAULT_URL).entries[0]
    assert time.perf_counter() - started < 10
    assert len(entry.title) <= MAX_TITLE_CHARS
    assert entry.title.startswith("x y x y")
    assert "<" not in entry.title + entry.summary


@pytest.mark.parametrize("filler", ["1", "a.", "a@b."])
def test_long_author_does_not_stall_the_parser(filler: str) -> None:
    """feedparser's e-mail regex is quadratic on author text; 100 kB authors stay fast and come out short."""
    author = (filler * 100_000)[:100_000]
    items = "".join(
        f"<item><title>{i}</title><author>{author}</author><dc:creator><![CDATA[{author}]]></dc:creator>"
        f"<managingEditor>{author}</managingEditor><link>https://a.example/{i}</link></item>"
        for i in range(5)
    )
    body = f'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>{items}</channel></rss>'
    started = time.perf_counter()
    feed = parse_feed(body.encode(), {}, DEFAULT_URL)
    assert time.perf_counter() - started < 5
    assert len(feed.entries) == 5
    assert all(0 < len(entry.author) <= MAX_AUTHOR_CHARS for entry in feed.entries)


def test_feed_larger_than_the_limit() -> None:
    """Bodies beyond MAX_FEED_BYTES are refused before parsing."""
    with pytest.raises(FeedError, match="larger than"):
        parse_feed(b"<rss>" + b" " * (feeds.MAX_FEED_BYTES + 1), {}, DEFAULT_URL)


def test_entry_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dates, the first MAX_ENTRIES entries are kept; the rest are counted and named in a warning."""
    monkeypatch.setattr(feeds, "MAX_ENTRIES", 5)
    items = "".join(f"<item><title>{i}</title><link>https://a.example/{i}</link></item>" for i in range(8))
    feed = parse_feed(f'<rss version="2.0"><channel>{items}</channel></rss>'.encode(), {}, DEFAULT_URL)
    assert [e.title for e in feed.entries] == ["0", "1", "2", "3", "4"]
    assert feed.dropped == {"over the entry cap": 3}
    assert feed.cap_warning == "The feed lists 8 entries; only the first 5 were read."
    assert feed.cap_warning in feed.warnings


def test_over_the_cap_the_newest_entries_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive feed listing the oldest first still yields its newest entries, in the feed's order."""
    monkeypatch.setattr(feeds, "MAX_ENTRIES", 3)
    items = "".join(
        f"<item><title>{day}</title><link>https://a.example/{day}</link>"
        f"<pubDate>{day:02d} Mar 2024 09:00:00 GMT</pubDate></item>"
        for day in (1, 2, 3, 4, 5, 6)
    )
    undated = "<item><title>undated</title><link>https://a.example/u</link></item>"
    body = f'<rss version="2.0"><channel>{items}{undated}</channel></rss>'.encode()
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert [e.title for e in feed.entries] == ["4", "5", "6"]
    assert feed.dropped == {"over the entry cap": 4}
    assert feed.warnings == ("The feed lists 7 entries; only the newest 3 were read.",) == (feed.cap_warning,)


def test_json_feed_over_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON Feed items are capped the same way, newest first by date_published."""
    monkeypatch.setattr(feeds, "MAX_ENTRIES", 2)
    items = [{"id": str(day), "url": f"https://a.example/{day}", "title": str(day),
              "date_published": f"2024-03-{day:02d}T09:00:00Z"} for day in (3, 1, 2)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}).encode()
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert [e.title for e in feed.entries] == ["3", "2"]
    assert feed.dropped == {"over the entry cap": 1}


def test_entries_without_a_link_are_dropped_and_counted() -> None:
    """An entry with nothing to store it under is not kept, and the feed says so: count and warning."""
    body = (
        b'<rss version="2.0"><channel>'
        b"<item><title>Statement</title><description>Text only</description></item>"
        b"<item><title>Script</title><link>javascript:alert(1)</link></item>"
        b"<item><title>Kept</title><link>https://a.example/1</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert [e.title for e in feed.entries] == ["Kept"]
    assert feed.dropped == {"no http(s) link": 2}
    assert feed.warnings == ("2 entries without an http(s) link were skipped.",)


def test_a_feed_with_nothing_dropped_reports_nothing() -> None:
    """dropped is empty, not a dict of zeros, when every entry was kept."""
    feed = parse_feed((FIXTURES / "rss10_rdf.xml").read_bytes(), {}, DEFAULT_URL)
    assert feed.entries and feed.dropped == {} and feed.cap_warning is None


def test_one_unreadable_entry_does_not_stop_the_feed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry whose building fails is dropped as "unreadable entry", with its traceback in the log; the
    entries around it are kept. The damage is done where no feed can do it, on feedparser's way out (a
    content list with a hole in it, as a bug in a library might leave), because every value a feed can
    carry is handled; the point is the containment, whatever the cause."""
    original = feedparser.parse

    def with_a_hole(source: Any, **kwargs: Any) -> Any:
        result = original(source, **kwargs)
        for entry in result["entries"]:
            if entry.get("title") == "Broken in transit":
                entry.pop("summary", None)
                entry["content"] = [None]
        return result

    monkeypatch.setattr(feeds.feedparser, "parse", with_a_hole)
    body = (FIXTURES / "broken_in_transit.xml").read_bytes()
    with caplog.at_level("ERROR", logger="ingest.feeds"):
        feed = parse_feed(body, {}, "https://benefits-watch.example.org/feed.xml")
    assert [e.title for e in feed.entries] == [
        "Risk scores for housing benefit published", "Auditor reviews eligibility software"
    ]
    assert feed.dropped == {"unreadable entry": 1}
    assert feed.warnings == ("1 entry could not be read and was skipped.",)
    (record,) = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert record.exc_info is not None and "benefits-watch.example.org" in record.getMessage()


def test_json_feed_items_that_are_not_objects_are_counted() -> None:
    """A JSON Feed item that is a string or a number is refused, and counted as unreadable."""
    items = ["not an object", 42, {"id": "1", "url": "https://a.example/1", "title": "Kept"}]
    body = json.dumps({"version": "https://jsonfeed.org/version/1", "items": items}).encode()
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert [e.title for e in feed.entries] == ["Kept"]
    assert feed.dropped == {"unreadable entry": 2}
    assert feed.warnings == ("2 entries could not be read and were skipped.",)


def test_billion_laughs_is_not_expanded_anywhere() -> None:
    """Neither the strict nor the lenient parser expands the nested entities."""
    body = (FIXTURES / "billion_laughs.xml").read_bytes()
    started = time.perf_counter()
    feed = parse_feed(body, {}, "https://attack.example.org/laughs.xml")
    assert time.perf_counter() - started < 2
    assert sum(len(s) for s in stored_strings(feed)) < 5_000


def test_xxe_file_content_never_appears() -> None:
    """No /etc/passwd content in any field, warning or error."""
    for name in ("xxe_file.xml", "xxe_parameter.xml", "xxe_external_dtd.xml"):
        feed = parse_feed((FIXTURES / name).read_bytes(), {}, "https://attack.example.org/x.xml")
        assert "root:" not in " ".join(stored_strings(feed))


def test_script_links_never_become_urls() -> None:
    """javascript:, data: and vbscript: links give url "" and are not used as guid either."""
    feed = parse_feed((FIXTURES / "xss.xml").read_bytes(), {}, "https://attack.example.org/xss.xml")
    assert [e.url for e in feed.entries] == ["https://evil.example/x"]
    assert feed.dropped == {"no http(s) link": 4}
    assert feed.site_url == ""
    marked = parse_feed((FIXTURES / "xss_markup.xml").read_bytes(), {}, "https://attack.example.org/x.xml")
    for entry in feed.entries + marked.entries:
        assert not re.match(r"\s*(javascript|data|vbscript):", entry.guid, re.I)


# --- guids, links, languages ----------------------------------------------------------------------------


def test_an_entry_without_a_guid_is_known_by_its_url() -> None:
    """Without a guid of its own, an entry's URL is its guid: the same entry keeps the same guid."""

    def feed_with(title: str) -> bytes:
        return (
            f'<rss version="2.0"><channel><item><title>{title}</title><link>https://a.example/1</link>'
            "</item></channel></rss>".encode()
        )

    first = parse_feed(feed_with("One"), {}, DEFAULT_URL).entries[0].guid
    edited = parse_feed(feed_with("One, edited"), {}, DEFAULT_URL).entries[0].guid
    assert first == edited == "https://a.example/1"


def test_long_guid_is_hashed() -> None:
    """A guid longer than MAX_GUID_CHARS is replaced by its hash."""
    body = (
        f'<rss version="2.0"><channel><item><title>t</title><guid isPermaLink="false">{"g" * 5000}</guid>'
        "<link>https://a.example/1</link></item></channel></rss>"
    )
    guid = parse_feed(body.encode(), {}, DEFAULT_URL).entries[0].guid
    assert guid.startswith("sha256:") and len(guid) < 100


def test_content_location_header_is_the_base() -> None:
    """Relative links resolve against Content-Location (itself resolved against the feed URL)."""
    body = b'<rss version="2.0"><channel><link>./</link><item><title>t</title><link>post/1</link></item>'
    body += b"</channel></rss>"
    feed = parse_feed(body, {"Content-Location": "/blog/feed/"}, "https://site.example/feed")
    assert feed.entries[0].url == "https://site.example/blog/feed/post/1"
    assert feed.site_url == "https://site.example/blog/feed/"


def test_relative_links_without_a_feed_url() -> None:
    """With no usable feed URL, a relative link cannot be made absolute: the entry is dropped, and counted."""
    body = b'<rss version="2.0"><channel><item><title>t</title><link>/post/1</link></item></channel></rss>'
    feed = parse_feed(body, {}, "")
    assert feed.entries == () and feed.dropped == {"no http(s) link": 1}


def test_content_language_header_is_the_last_resort() -> None:
    """Without a declared language in the feed, the Content-Language header is used."""
    body = b'<rss version="2.0"><channel><item><title>t</title><link>https://a.example/1</link></item></channel></rss>'
    feed = parse_feed(body, {"Content-Language": "pt-BR, en"}, DEFAULT_URL)
    assert feed.language == "pt"
    assert feed.entries[0].language == "pt"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("en-us", "en"), ("de-DE-1996", "de"), ("iw", "he"), ("yue-Hant-HK", None), ("x-default", None)],
)
def test_feed_language_tags(tag: str, expected: str | None) -> None:
    """A feed's language is the ISO-639-1 code of its tag (kb.text.language.normalize_language), or None."""
    body = (
        f'<rss version="2.0"><channel><language>{tag}</language><item><title>t</title>'
        "<link>https://a.example/1</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, {}, DEFAULT_URL)
    assert feed.language == expected
    assert feed.entries[0].language == expected


# --- sniffing and autodiscovery -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b"<!DOCTYPE html><html><head></head></html>", {}, True),
        (b"\xef\xbb\xbf\n  <!-- c --><html lang='en'>", {}, True),
        (
            b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x"><html>',
            {},
            True,
        ),
        (b"<div>fragment</div>", {"Content-Type": "text/html"}, True),
        (b'<?xml version="1.0"?><rss version="2.0"></rss>', {"Content-Type": "text/html"}, False),
        (
            b'<?xml version="1.0"?><?xml-stylesheet href="s.xsl"?><feed xmlns="http://www.w3.org/2005/Atom">',
            {},
            False,
        ),
        (b"<rdf:RDF xmlns:rdf='x'>", {"content-type": "text/html"}, False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', {"content-type": "text/html"}, False),
        (b"<div>fragment</div>", {}, False),
        (b"", {}, False),
    ],
)
def test_looks_like_html(body: bytes, headers: dict[str, str], expected: bool) -> None:
    """The body decides first; the Content-Type only when the body is not recognisable."""
    assert looks_like_html(body, headers) is expected


def test_find_feed_links_without_base_and_with_header_charset() -> None:
    """Relative hrefs resolve against the page URL; a non-UTF-8 page is decoded by its header."""
    page = (
        '<html><head><title>Bücher</title><link rel="alternate" type="application/rss+xml" href="rss?ä=1">'
        "</head><body></body></html>"
    )
    links = find_feed_links(
        page.encode("cp1252"),
        {"Content-Type": "text/html; charset=windows-1252"},
        "https://books.example/shop/",
    )
    assert links == ["https://books.example/shop/rss?ä=1"]


@pytest.mark.parametrize("body", [b"", b"   ", b"<html><body>No feeds here</body></html>", bytes(range(256))])
def test_find_feed_links_finds_nothing(body: bytes) -> None:
    """Pages without alternate feed links, and non-pages, give an empty list."""
    assert find_feed_links(body, {}, "https://a.example/") == []


def test_entities_after_a_comment_or_a_second_doctype_are_not_expanded() -> None:
    """Every doctype with an internal subset before the root goes, whatever comes before it."""
    laughs = "".join(f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 8))
    body = (
        '<?xml version="1.0"?>\n<!-- <rss> in a comment -->\n'
        f'<!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]>\n<!DOCTYPE rss [<!ENTITY big "{"lol" * 1000}">]>\n'
        '<rss version="2.0"><channel><item><title>&l7;</title><description>'
        + "&big;" * 1000
        + "</description><link>https://a.example/1</link></item></channel></rss>"
    )
    started = time.perf_counter()
    feed = parse_feed(body.encode(), {}, DEFAULT_URL)
    assert time.perf_counter() - started < 2
    assert sum(len(s) for s in stored_strings(feed)) < 20_000
    assert any("DTD" in w for w in feed.warnings)


@pytest.mark.parametrize(
    "body",
    [b"<!---->" * 600 + b"x", b"<?x?>" * 800 + b"y", b"<!--" * 2000, b"<!doctype x>" * 400 + b"z"],
    ids=["comments", "instructions", "unclosed-comments", "doctypes"],
)
def test_sniffing_does_not_backtrack(body: bytes) -> None:
    """Long runs of prolog-like items are sniffed in linear time (the prolog regex is atomic)."""
    started = time.perf_counter()
    assert not looks_like_html(body, {})
    with pytest.raises(FeedError):
        parse_feed(body, {}, DEFAULT_URL)
    assert time.perf_counter() - started < 2

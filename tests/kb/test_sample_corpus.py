"""The bundled sample corpus agrees with its manifest: feeds, pages, watched page, contacts and cases."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

import pytest
from defusedxml import ElementTree

from kb.sample import SAMPLE_DIR, load_cases, load_contacts, load_manifest

BASE = "http://127.0.0.1:8000/"
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
MIN_ON_TOPIC = {"en": 6, "fr": 6, "es": 6, "de": 6, "nl": 6, "ar": 6, "pt": 2, "it": 2}
TOPICS = {
    "sector/welfare", "sector/education", "sector/health", "system/risk-scoring", "system/eligibility",
    "system/biometrics", "system/predictive", "system/exam-grading", "system/triage", "system/chatbots",
    "right/discrimination", "right/privacy", "right/transparency", "right/due-process", "right/exclusion",
}
KINDS = {"journalist", "expert", "partner", "lawyer", "affected person"}

MANIFEST = load_manifest()
ITEMS = {item["slug"]: item for item in MANIFEST["items"]}
FEEDS = {feed["file"]: feed for feed in MANIFEST["feeds"]}


def _entries(feed_file: str) -> list[tuple[str, datetime]]:
    """(link, published) for every entry of a feed, whatever its format."""
    fmt = FEEDS[feed_file]["format"]
    root = ElementTree.parse(SAMPLE_DIR / feed_file).getroot()
    if fmt == "rss2":
        return [(item.findtext("link", ""), parsedate_to_datetime(item.findtext("pubDate", "")))
                for item in root.iter("item")]
    if fmt == "atom":
        rows = []
        for entry in root.iter(f"{ATOM}entry"):
            links = entry.iter(f"{ATOM}link")
            link = next(el.get("href", "") for el in links if el.get("rel", "alternate") == "alternate")
            rows.append((link, datetime.fromisoformat(entry.findtext(f"{ATOM}published", ""))))
        return rows
    assert fmt == "rss1"
    return [(item.findtext(f"{RSS1}link", ""), datetime.fromisoformat(item.findtext(f"{DC}date", "")))
            for item in root.iter(f"{RSS1}item")]


def _slug(feed_file: str, link: str) -> str:
    """The page slug an entry link points to, resolved against the feed's URL as the ingest does."""
    path = PurePosixPath(urlsplit(urljoin(BASE + feed_file, link)).path)
    assert path.parent == PurePosixPath("/pages") and path.suffix == ".html", link
    return path.stem


class _Page(HTMLParser):
    """Collects what the tests check on an article page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.meta: dict[str, str] = {}
        self.alternates: list[tuple[str, str]] = []
        self.h1 = ""
        self.paragraphs: list[str] = []
        self._in_article = 0
        self._capture: str | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "meta" and ("name" in a or "property" in a):
            self.meta[a.get("name") or a.get("property", "")] = a.get("content", "")
        elif tag == "link" and a.get("rel") == "alternate":
            self.alternates.append((a.get("type", ""), a.get("href", "")))
        elif tag == "article":
            self._in_article += 1
        elif tag in ("h1", "p") and self._in_article and "byline" not in a.get("class", ""):
            self._capture, self._buffer = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._in_article -= 1
        elif tag == self._capture:
            text = " ".join("".join(self._buffer).split())
            if tag == "h1":
                self.h1 = text
            elif text:
                self.paragraphs.append(text)
            self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._buffer.append(data)


def _page(slug: str) -> _Page:
    parser = _Page()
    parser.feed((SAMPLE_DIR / "pages" / f"{slug}.html").read_text(encoding="utf-8"))
    return parser


def test_every_listed_file_exists_and_every_page_is_listed():
    for feed_file in FEEDS:
        assert (SAMPLE_DIR / feed_file).is_file(), feed_file
    for watched in MANIFEST["watched"]:
        assert (SAMPLE_DIR / watched["file"]).is_file()
        assert (SAMPLE_DIR / watched["next_version"]).is_file()
    pages = {p.stem for p in (SAMPLE_DIR / "pages").glob("*.html")}
    assert pages == set(ITEMS)
    for slug, item in ITEMS.items():
        assert re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)+", slug) and slug.startswith(item["language"] + "-"), slug
        assert item["feeds"] and set(item["feeds"]) <= set(FEEDS), slug


def test_feed_formats_and_full_text_flags():
    formats = Counter(feed["format"] for feed in MANIFEST["feeds"])
    assert formats["rss2"] >= 2 and formats["atom"] >= 2 and formats["rss1"] >= 1
    assert sum(feed["full_text"] for feed in MANIFEST["feeds"]) >= 2
    assert any(not feed["full_text"] for feed in MANIFEST["feeds"])
    for feed_file, feed in FEEDS.items():
        root = ElementTree.parse(SAMPLE_DIR / feed_file).getroot()  # well-formed, no DTD tricks
        expected_root = {"rss2": "rss", "atom": f"{ATOM}feed", "rss1": f"{RDF}RDF"}[feed["format"]]
        assert root.tag == expected_root, feed_file
        if feed["format"] == "atom":
            assert root.get("{http://www.w3.org/XML/1998/namespace}lang"), feed_file
    assert any(
        ElementTree.parse(SAMPLE_DIR / f).getroot().findtext("channel/language") for f, feed in FEEDS.items()
        if feed["format"] == "rss2"
    )


@pytest.mark.parametrize("feed_file", sorted(FEEDS))
def test_feed_links_match_the_manifest(feed_file):
    entries = _entries(feed_file)
    linked = Counter(_slug(feed_file, link) for link, _ in entries)
    assert all(n == 1 for n in linked.values()), linked
    assert set(linked) == {slug for slug, item in ITEMS.items() if feed_file in item["feeds"]}
    for link, published in entries:
        assert not urlsplit(link).scheme, f"links must be relative: {link}"
        item = ITEMS[_slug(feed_file, link)]
        assert published == datetime.fromisoformat(item["published"]), link
        assert date(2026, 10, 1) <= published.date() <= date(2026, 11, 30), link


def test_exactly_two_articles_repeat_with_tracking_parameters():
    repeated = [item for item in ITEMS.values() if len(item["feeds"]) > 1]
    assert len(repeated) == 2 and all(len(item["feeds"]) == 2 for item in repeated)
    for item in repeated:
        first, second = item["feeds"]
        [plain] = [link for link, _ in _entries(first) if _slug(first, link) == item["slug"]]
        [tracked] = [link for link, _ in _entries(second) if _slug(second, link) == item["slug"]]
        assert not urlsplit(plain).query and not urlsplit(plain).fragment
        assert "utm_" in urlsplit(tracked).query and urlsplit(tracked).fragment


def test_language_sector_and_week_coverage():
    on_topic = [item for item in ITEMS.values() if item["on_topic"]]
    off_topic = [item for item in ITEMS.values() if not item["on_topic"]]
    counts = Counter(item["language"] for item in on_topic)
    for lang, minimum in MIN_ON_TOPIC.items():
        assert counts[lang] >= minimum, (lang, counts)
    assert len(on_topic) >= 46
    assert len(off_topic) >= 5 and len({item["language"] for item in off_topic}) >= 3
    assert all(item["sector"] is None for item in off_topic)
    sectors = Counter(item["sector"] for item in on_topic)
    assert set(sectors) == {"welfare", "education", "health"} and min(sectors.values()) >= 8
    off_feeds = {item["feeds"][0] for item in off_topic}
    assert all(any(o["on_topic"] and f in o["feeds"] for o in ITEMS.values()) for f in off_feeds)
    weeks = Counter(datetime.fromisoformat(item["published"]).isocalendar()[:2] for item in ITEMS.values())
    assert weeks[(2026, 46)] >= 3 and weeks[(2026, 47)] >= 3 and len(weeks) >= 6


@pytest.mark.parametrize("slug", sorted(ITEMS))
def test_article_page(slug):
    item, page = ITEMS[slug], _page(slug)
    assert page.lang == item["language"]
    for key in ("author", "description", "og:site_name", "article:published_time"):
        assert page.meta.get(key), (slug, key)
    assert page.meta["article:published_time"] == item["published"]
    assert page.h1 == item["title"]
    assert 4 <= len(page.paragraphs) <= 7, slug
    words = sum(len(p.split()) for p in page.paragraphs)
    assert 250 <= words <= 450, (slug, words)
    feed_types = ("application/rss+xml", "application/atom+xml")
    feed_links = [href for kind, href in page.alternates if kind in feed_types]
    assert feed_links and urljoin(BASE + f"pages/{slug}.html", feed_links[0]) == BASE + item["feeds"][0]


def test_windows_1252_feed():
    declared = {
        f: (SAMPLE_DIR / f).read_bytes() for f in FEEDS
        if (SAMPLE_DIR / f).read_bytes().startswith(b'<?xml version="1.0" encoding="windows-1252"?>')
    }
    assert len(declared) == 1
    [raw] = declared.values()
    text = raw.decode("cp1252")
    assert any(ord(ch) > 127 for ch in text)
    for ch in "éü’€":
        assert ch in text
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    for other in set(FEEDS) - set(declared):
        (SAMPLE_DIR / other).read_bytes().decode("utf-8")


def test_watched_versions_differ():
    [watched] = MANIFEST["watched"]
    first = (SAMPLE_DIR / watched["file"]).read_text(encoding="utf-8")
    second = (SAMPLE_DIR / watched["next_version"]).read_text(encoding="utf-8")
    assert first != second
    changed = set(second.splitlines()) - set(first.splitlines())
    assert 1 <= len(changed) <= 10


def test_contacts():
    contacts = load_contacts()
    assert len(contacts) == 5
    assert [c["sensitivity"] for c in contacts].count("restricted") == 1
    assert all(c["sensitivity"] in ("normal", "restricted") for c in contacts)
    [restricted] = [c for c in contacts if c["sensitivity"] == "restricted"]
    assert restricted["kind"] == "affected person"
    for c in contacts:
        assert c["kind"] in KINDS
        assert re.fullmatch(r"[A-Z]{2}", c["country"])
        assert c["languages"] and all(re.fullmatch(r"[a-z]{2}", lang) for lang in c["languages"])
        domains = [e.rsplit("@", 1)[1] for e in c["emails"]]
        assert domains and all(d.endswith(("example.org", "example.net")) for d in domains)
        assert all(p.startswith("+00 ") for p in c["phones"])
        assert c["expertise"] and set(c["expertise"]) <= TOPICS
        date.fromisoformat(c["consent_date"])
        for key in ("name", "organisation", "role", "networks", "notes", "consent_how"):
            assert key in c


def test_cases_refer_to_existing_items_and_contacts():
    cases = load_cases()
    names = {c["name"] for c in load_contacts()}
    assert len(cases) == 2
    for case in cases:
        assert case["status"] == "open" and case["sector"] in ("welfare", "education", "health")
        assert case["items"] and set(case["items"]) <= set(ITEMS)
        assert case["contacts"] and {c["name"] for c in case["contacts"]} <= names
        for deadline in case["deadlines"]:
            assert date.fromisoformat(deadline["due"]).strftime("%Y-%m") == "2026-12"


def test_no_active_content():
    suffixes = (".html", ".xml", ".json", ".md")
    files = [p for p in SAMPLE_DIR.rglob("*") if p.is_file() and p.suffix in suffixes]
    assert len(files) > len(ITEMS)
    for path in files:
        lowered = path.read_bytes().lower()
        assert b"<script" not in lowered, path
        assert b"javascript:" not in lowered, path

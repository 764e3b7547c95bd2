"""Article extraction from fixture pages: metadata, languages, charsets, boilerplate, scripts. No network."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import trafilatura

from ingest import pages
from ingest.pages import Article, extract_article
from ingest.plaintext import MAX_AUTHOR_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
EXPECT = re.compile(r"<!--\s*expect:\s*(\{.*?\})\s*-->", re.S)
SCALAR_FIELDS = ("title", "author", "site_name", "language")


pytestmark = pytest.mark.usefixtures("no_network")  # trafilatura never downloads


def expectation(path: Path) -> dict[str, Any]:
    """The expectation a fixture states in its header comment (ASCII JSON in non-UTF-8 files)."""
    match = EXPECT.search(path.read_bytes()[:16_384].decode("utf-8", errors="replace"))
    assert match, f"{path.name} has no expect header"
    return json.loads(match.group(1))


def page_paths() -> list[Path]:
    """Every page fixture."""
    return sorted(FIXTURES.glob("*.html"))


@pytest.mark.parametrize("path", page_paths(), ids=lambda p: p.name)
def test_page_fixture(path: Path) -> None:
    """Each page yields what its header comment says."""
    expected = expectation(path)
    article = extract_article(path.read_bytes(), expected.get("headers", {}), expected["url"])
    if "article" in expected and expected["article"] is None:
        assert article is None
        return
    assert isinstance(article, Article)
    for key in SCALAR_FIELDS:
        if key in expected:
            assert getattr(article, key) == expected[key], key
    if "published" in expected:
        assert article.published == datetime.fromisoformat(expected["published"])
    if "description_contains" in expected:
        assert expected["description_contains"] in article.description
    for fragment in expected.get("contains", []):
        assert fragment in article.text, fragment
    everything = " ".join(
        [article.title, article.text, article.author, article.site_name, article.description]
    )
    for fragment in expected.get("absent", []):
        assert fragment not in everything, fragment
    assert article.published is None or article.published.utcoffset().total_seconds() == 0
    assert "\n\n\n" not in article.text
    assert len(article.title) <= MAX_TITLE_CHARS and len(article.text) <= MAX_TEXT_CHARS


@pytest.mark.parametrize(
    "path", [p for p in page_paths() if "no_article" not in p.name], ids=lambda p: p.name
)
def test_paragraphs_are_separated_by_blank_lines(path: Path) -> None:
    """Article text keeps its paragraph breaks as a blank line."""
    article = extract_article(path.read_bytes(), {}, expectation(path)["url"])
    assert article is not None
    assert article.text.count("\n\n") >= 2


def test_extraction_time() -> None:
    """Each fixture page extracts well within a second on a slow machine (measured: a few ms each)."""
    for path in page_paths():
        body, url = path.read_bytes(), expectation(path)["url"]
        started = time.perf_counter()
        extract_article(body, {}, url)
        assert time.perf_counter() - started < 3, path.name


# --- decoding -------------------------------------------------------------------------------------------


def test_windows_1252_page_with_a_wrong_header() -> None:
    """A cp1252 page served as utf-8 is still read right: the header is wrong, the meta tag decides."""
    path = FIXTURES / "cp1252_meta.html"
    article = extract_article(
        path.read_bytes(), {"Content-Type": "text/html; charset=utf-8"}, "https://a.example/"
    )
    assert article is not None
    assert "coûte environ 2 € par élève" in article.text


# --- no article, no downloads, bounds ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n", b"https://example.org/", b"\x00\x01\x02" * 100, b"{}"])
def test_no_article(body: bytes) -> None:
    """Nothing readable gives None (the caller keeps the feed summary); a URL as body is not fetched."""
    assert extract_article(body, {}, "https://example.org/") is None


def test_trafilatura_never_gets_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """trafilatura receives a parsed tree, never a URL or bytes, and its downloader is never called."""
    received: list[Any] = []
    original = trafilatura.bare_extraction

    def spy(content: Any, **kwargs: Any) -> Any:
        received.append(content)
        return original(content, **kwargs)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("trafilatura tried to download")

    monkeypatch.setattr(pages.trafilatura, "bare_extraction", spy)
    monkeypatch.setattr(trafilatura, "fetch_url", refuse)
    monkeypatch.setattr(trafilatura.downloads, "fetch_url", refuse)
    extract_article((FIXTURES / "en_welfare_article.html").read_bytes(), {}, "https://example.org/a")
    assert received and not isinstance(received[0], str | bytes)


def test_oversized_page_is_not_extracted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages over MAX_PAGE_BYTES give None rather than a long extraction."""
    monkeypatch.setattr(pages, "MAX_PAGE_BYTES", 1_000)
    assert (
        extract_article((FIXTURES / "en_welfare_article.html").read_bytes(), {}, "https://a.example/") is None
    )


def test_huge_title_and_author_are_bounded() -> None:
    """Megabyte-long metadata is clipped to the stored limits."""
    long_title, long_author = "Title " * 200_000, "Author " * 100_000
    paragraphs = "".join(
        f"<p>Paragraph {i} of a long enough article about public algorithms in welfare.</p>"
        for i in range(20)
    )
    body = (
        f'<html lang="en"><head><title>{long_title}</title><meta name="author" content="{long_author}">'
        f'<meta property="og:title" content="{long_title}"></head>'
        f"<body><article><h1>Headline</h1>{paragraphs}</article></body></html>"
    ).encode()
    article = extract_article(body, {}, "https://a.example/")
    assert article is not None
    assert len(article.title) <= MAX_TITLE_CHARS
    assert len(article.author) <= MAX_AUTHOR_CHARS


def test_markup_in_metadata_is_plain_text() -> None:
    """Escaped markup in meta tags never comes back as a tag."""
    paragraphs = "".join(
        f"<p>Paragraph {i} of a long enough article about automated decisions.</p>" for i in range(10)
    )
    body = (
        '<html lang="en"><head>'
        '<meta property="og:title" content="&lt;script&gt;alert(1)&lt;/script&gt;Safe title">'
        '<meta name="description" content="&lt;img src=x onerror=alert(1)&gt;Summary">'
        '<meta property="og:site_name" content="&lt;b&gt;Site&lt;/b&gt;">'
        f"</head><body><article>{paragraphs}</article></body></html>"
    ).encode()
    article = extract_article(body, {}, "https://a.example/")
    assert article is not None
    everything = " ".join([article.title, article.description, article.site_name, article.text])
    assert "<script" not in everything and "onerror" not in everything and "<b>" not in everything
    assert article.title == "Safe title"


@pytest.mark.parametrize(
    ("head", "headers", "expected"),
    [
        ('<html lang="pt-BR">', {}, "pt"),
        ('<html><head><meta property="og:locale" content="nl_NL"></head>', {}, "nl"),
        ('<html xml:lang="es">', {}, "es"),
        ("<html>", {"Content-Language": "it"}, "it"),
        ('<html lang="x-default">', {}, None),
        ("<html>", {}, None),
    ],
)
def test_declared_language(head: str, headers: dict[str, str], expected: str | None) -> None:
    """<html lang>, og:locale, xml:lang, then the Content-Language header; placeholders give None."""
    paragraphs = "".join(
        f"<p>Paragraph {i} of a long enough article text for the extractor.</p>" for i in range(10)
    )
    body = f"{head}<body><article>{paragraphs}</article></body></html>".encode()
    article = extract_article(body, headers, "https://a.example/")
    assert article is not None
    assert article.language == expected


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_a_date_out_of_range_in_utc_is_no_date(value: str) -> None:
    """A declared date that its zone moves past year 1 or 9999 gives None, not an OverflowError that
    would lose the whole page."""
    assert pages.parse_iso_date(value) is None
    body = (f'<html><head><meta property="article:published_time" content="{value}"></head><body><article>'
            + "<p>The ministry scores every claimant with an algorithm nobody may inspect.</p>" * 20
            + "</article></body></html>").encode()
    article = extract_article(body, {}, "https://news.example.org/a")
    assert article is not None and article.published is None

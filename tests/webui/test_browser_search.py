"""The search page in a real browser (Debian's Chromium through Playwright, the app served by waitress):
a concept found across languages with its note, multi-select facets (OR within a facet, AND across),
"Clear all filters", the words-only toggle, and the query and filters kept in the address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cli.web import web_app
from kb import items as items_store
from kb import users as users_store
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser

# name: (title, text, language, topics)
STORIES = {
    "fr-word": ("France audits a welfare algorithm", "The audit of the scoring model.", "en",
                ("sector/welfare", "country/fr")),
    "caf": ("La CAF note les allocataires", "Un algorithme de notation.", "fr",
            ("sector/welfare", "country/fr")),
    "uwv": ("UWV stopt met risicoprofielen", "Het UWV gebruikte een algoritme.", "nl",
            ("sector/welfare", "country/nl")),
    "syri": ("Dutch court stops SyRI", "The court ruled on the risk model.", "en",
             ("sector/welfare", "country/nl")),
    "triage": ("Hospital triage model", "A triage model ranks patients.", "en",
               ("sector/health", "country/gb")),
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, dict[str, int]]]:
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "rita@lab.example", PASSWORD, "researcher", name="Rita")
    ids = {}
    for n, (name, (title, text, language, topics)) in enumerate(STORIES.items()):
        ids[name] = items_store.store_item(kb.db, make_draft(
            url=f"https://example.org/{name}", title=title, text=text, summary="", language=language,
            topics=tuple(TopicEvidence(t) for t in topics), published=datetime(2026, 10, 1 + n, tzinfo=UTC),
        )).item_id
    kb.sync_index()
    server = start_in_background(web_app(kb))
    try:
        yield server, ids
    finally:
        server.stop()
        kb.close()


def _shown(page, ids: dict[str, int]) -> set[str]:  # type: ignore[no-untyped-def]
    by_id = {str(v): k for k, v in ids.items()}
    return {by_id[h] for h in page.locator(".hit").evaluate_all("hits => hits.map(h => h.dataset.hit)")}


def _arguments(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_concept_note_multi_select_facets_clear_all_and_words_only(served, browser_page):  # type: ignore[no-untyped-def]
    server, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page

    browser_sign_in(page, base, "rita@lab.example")

    # "welfare" reaches the French and Dutch items through their tag, with a note naming the concept.
    page.fill("#q", "welfare")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    assert _shown(page, ids) == {"fr-word", "caf", "uwv", "syri"}
    notes = page.inner_text(".results")
    assert "Also matched: Welfare and social protection" in notes
    assert page.locator(".hit").first.get_attribute("data-hit") == str(ids["fr-word"])  # holds the word

    # Facet values in words, never keys.
    facets = page.inner_text(".facets")
    assert "France" in facets and "Netherlands" in facets and "French" in facets and "Dutch" in facets
    assert "country/" not in facets and "sector/" not in facets
    assert page.locator("#clear-filters").count() == 0

    # Two values of one facet: either (OR).
    page.click("[data-facet=country] a:has-text('France')")
    page.wait_for_load_state()
    assert _shown(page, ids) == {"fr-word", "caf"}
    page.click("[data-facet=country] a:has-text('Netherlands')")
    page.wait_for_load_state()
    assert _shown(page, ids) == {"fr-word", "caf", "uwv", "syri"}
    assert page.locator("[data-facet=country] a[aria-checked=true]").count() == 2
    # And a value of another facet: both (AND).
    page.click("[data-facet=language] a:has-text('French')")
    page.wait_for_load_state()
    assert _shown(page, ids) == {"caf"}
    arguments = _arguments(page.url)
    assert arguments["q"] == ["welfare"] and sorted(arguments["country"]) == ["country/fr", "country/nl"]
    assert arguments["language"] == ["fr"]
    # The address alone gives the same page (a link shared with a colleague).
    page.goto(page.url)
    assert _shown(page, ids) == {"caf"}

    # Clear all: no facet value chosen, the query kept.
    page.click("#clear-filters")
    page.wait_for_load_state()
    arguments = _arguments(page.url)
    assert arguments["q"] == ["welfare"] and not {"country", "language", "sector"} & set(arguments)
    assert page.input_value("#q") == "welfare"
    assert _shown(page, ids) == {"fr-word", "caf", "uwv", "syri"}
    assert page.locator(".facets a[aria-checked=true]").count() == 0

    # Words only: the items holding the word, no note; the toggle stays in the address and the box.
    page.check("#words_only")
    page.click("button[type=submit]:has-text('Search')")
    page.wait_for_load_state()
    assert _shown(page, ids) == {"fr-word"}
    assert "Also matched" not in page.inner_text(".results")
    assert _arguments(page.url).get("words_only") == ["1"]
    assert page.is_checked("#words_only")

    # Saved so, the search runs again with the toggle on (issue 13); saved without, with it off.
    page.fill("#save-name", "Welfare, the word")
    page.click(".save-search button[type=submit]")
    page.wait_for_load_state()
    page.uncheck("#words_only")
    page.click("button[type=submit]:has-text('Search')")
    page.wait_for_load_state()
    page.fill("#save-name", "Welfare, the concept")
    page.click(".save-search button[type=submit]")
    page.wait_for_load_state()
    page.goto(base + "/")
    page.click(".saved a:has-text('Welfare, the word')")
    page.wait_for_load_state()
    assert page.input_value("#q") == "welfare" and page.is_checked("#words_only")
    assert _shown(page, ids) == {"fr-word"}
    page.click(".saved a:has-text('Welfare, the concept')")
    page.wait_for_load_state()
    assert not page.is_checked("#words_only")
    assert _shown(page, ids) == {"fr-word", "caf", "uwv", "syri"}
    assert csp_violations == []

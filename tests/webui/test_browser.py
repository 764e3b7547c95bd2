"""A person in a real browser: Debian's Chromium, driven by Playwright, against the app served by waitress.

Sign in, search, apply a facet, open an item, accept it in the curation queue with the keyboard, and see the
decision on the item page; with JavaScript on, and no Content-Security-Policy violation on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.web import web_app
from kb import items as items_store
from kb import users as users_store
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, dict[str, int]]]:
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    ids = {
        "english": items_store.store_item(kb.db, make_draft(
            title="Council pauses welfare fraud algorithm",
            published=datetime(2026, 11, 10, tzinfo=UTC))).item_id,
        "french": items_store.store_item(kb.db, make_draft(
            title="La CAF suspend son algorithme de notation", language="fr",
            text="La caisse d'allocations familiales suspend l'algorithme de score des allocataires.",
            topics=(TopicEvidence("sector/welfare", ("allocataires",)),),
            published=datetime(2026, 11, 12, tzinfo=UTC))).item_id,
    }
    kb.sync_index()
    server = start_in_background(web_app(kb))
    try:
        yield server, ids
    finally:
        server.stop()
        kb.close()


def test_sign_in_search_facet_open_and_accept_with_the_keyboard(served, browser_page):
    server, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page

    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.fill("#email", "cora@lab.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(base + "/")

    page.fill("#q", "algorithme")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    assert "La CAF suspend son algorithme de notation" in page.inner_text(".results")

    page.fill("#q", "")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    page.click("[data-facet=language] a:has-text('French')")
    page.wait_for_load_state()
    results = page.inner_text(".results")
    assert "La CAF suspend" in results and "Council pauses" not in results
    assert page.locator("[data-facet=language] a.selected").count() == 1

    page.click(".hit h2 a:has-text('La CAF suspend')")
    page.wait_for_url(f"{base}/items/{ids['french']}")
    assert page.inner_text("h1") == "La CAF suspend son algorithme de notation"
    assert "No decision yet." in page.inner_text("#decision")

    page.goto(base + "/curation")
    target = f"#item-{ids['french']}"
    for _ in range(5):  # move with j until the French item is the current one
        if "current" in (page.get_attribute(target, "class") or ""):
            break
        page.keyboard.press("j")
    assert "current" in (page.get_attribute(target, "class") or "")
    page.keyboard.press("a")  # decided in place, without reloading the page (curation.js)
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator("#queue-message")).to_have_text("Accepted: La CAF suspend son algorithme de notation")
    assert page.locator(target).is_hidden()  # it left the queue

    page.goto(f"{base}/items/{ids['french']}")
    decision = page.inner_text("#decision")
    assert re.search(r"Accepted.*by Cora on \d{4}-\d{2}-\d{2}", decision), decision
    assert page.inner_text("#status") == "Accepted"
    assert csp_violations == []

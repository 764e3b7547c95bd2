"""Case files in a real browser: Debian's Chromium, driven by Playwright, against the app served by waitress.

A coordinator signs in, opens a case file, files an item under it from the item's page, links a contact
with a role from the case page, and finds the case file through the search page; with no
Content-Security-Policy violation on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.web import web_app
from kb import contacts as contacts_store
from kb import items as items_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from tests.webui.test_contacts_pages import index_private
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, KnowledgeBase, dict[str, int]]]:
    kb = make_kb(tmp_path / "data")
    cora = users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    ids = {
        "item": items_store.store_item(kb.db, make_draft(
            title="Council pauses welfare fraud algorithm",
            published=datetime(2026, 11, 10, tzinfo=UTC))).item_id,
        "contact": contacts_store.create_contact(kb.db, cora, {
            "name": "Amina Haddad", "organisation": "Digital Rights Lab", "kind": "lawyer"}).id,
    }
    kb.sync_index()
    server = start_in_background(web_app(kb))
    try:
        yield server, kb, ids
    finally:
        server.stop()
        kb.close()


def test_coordinator_opens_a_case_links_an_item_and_a_contact_and_finds_it(served, browser_page):
    server, kb, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page

    browser_sign_in(page, base, "cora@lab.example")

    # Open a case file from the menu.
    page.click("nav a:has-text('Case files')")
    page.wait_for_url(re.compile(r".*/cases$"))
    page.click("a:has-text('New case file')")
    page.fill("#title", "Tazkia scoring of welfare claimants")
    page.fill("#country", "Morocco")
    page.fill("#system_name", "Tazkia")
    page.fill("#summary", "The ministry scores claimants.\n\nWe follow the appeals.")
    page.click("button:has-text('Open the case file')")
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    assert page.inner_text("h1").startswith("Tazkia scoring of welfare claimants")
    assert "Case file “Tazkia scoring of welfare claimants” opened." in page.inner_text("main")

    # File the item under it from the item's page.
    page.goto(f"{base}/items/{ids['item']}")
    page.select_option("#link-case", str(case_id))
    with page.expect_navigation():
        page.click("#link-to-case button[type=submit]")
    assert page.url.endswith(f"/items/{ids['item']}#cases")
    cases = page.inner_text("#cases")
    assert "Tazkia scoring of welfare claimants" in cases
    page.click("#cases a:has-text('Tazkia scoring')")
    page.wait_for_url(f"{base}/cases/{case_id}")
    assert "Council pauses welfare fraud algorithm" in page.inner_text("#items")

    # Link the contact with a role from the case page.
    page.select_option("#contact_id", str(ids["contact"]))
    page.fill("#contact-role", "lawyer for the claimants")
    with page.expect_navigation():
        page.click("#link-contact button[type=submit]")
    contacts = page.inner_text("#contacts")
    assert "Amina Haddad" in contacts and "lawyer for the claimants" in contacts

    # Find the case file through the search page.
    index_private(kb)
    page.goto(base + "/")
    page.fill("#q", "Tazkia")
    page.press("#q", "Enter")
    page.wait_for_load_state()
    hit = page.locator("article.hit[data-kind=case]")
    assert hit.count() == 1 and "Case file" in hit.inner_text()
    with page.expect_navigation():
        hit.locator("h2 a").click()
    assert page.url == f"{base}/cases/{case_id}"
    # And the item through the search within the case file.
    page.fill("#case-q", "council")
    page.press("#case-q", "Enter")
    page.wait_for_load_state()
    assert "Council pauses welfare fraud algorithm" in page.inner_text(".results")
    assert csp_violations == []

"""The register in a real browser: Debian's Chromium, driven by Playwright, against the app under waitress.

A coordinator signs in, goes to the register from the menu, opens an item the monitoring linked to a
system (a suggestion written when the item was stored), confirms the suggestion on the item's page, and
finds the item among the system page's confirmed items, the chart of its mentions drawn; a researcher
sees the same page without the buttons. No Content-Security-Policy violation on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.web import web_app
from kb import items as items_store
from kb import systems as systems_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, KnowledgeBase, dict[str, int]]]:
    kb = make_kb(tmp_path / "data")
    cora = users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    users_store.add_user(kb.db, "rita@lab.example", PASSWORD, "researcher", name="Rita")
    system = systems_store.create_system(kb.db, cora, {
        "name": "Robodebt", "aliases": ["Online Compliance Intervention"], "country": "au",
        "sector": "welfare", "kind": "risk-scoring"})
    item = items_store.store_item(kb.db, make_draft(
        title="Royal commission hears how the Online Compliance Intervention raised debts",
        text="Witnesses told the commission that Robodebt averaged incomes.",
        topics=(TopicEvidence("country/au", ("Australia",)), TopicEvidence("sector/welfare", ("welfare",))),
        published=datetime(2026, 11, 10, tzinfo=UTC))).item_id
    kb.sync_index()
    server = start_in_background(web_app(kb))
    try:
        yield server, kb, {"system": system.id, "item": item}
    finally:
        server.stop()
        kb.close()


def test_coordinator_confirms_a_suggestion_on_the_item_page_and_finds_it_on_the_system_page(
        served, browser_page):
    server, kb, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "cora@lab.example")

    # The register from the menu; the system's page lists the item as a suggestion.
    page.click("nav a:has-text('Systems')")
    page.wait_for_url(re.compile(r".*/systems$"))
    assert "Australia" in page.inner_text("#systems")
    page.click("#systems a:has-text('Robodebt')")
    page.wait_for_url(re.compile(rf".*/systems/{ids['system']}$"))
    assert "Royal commission hears" in page.inner_text("#suggested")
    assert "No confirmed items yet." in page.inner_text("#confirmed")

    # On the item's page: the suggestion, then the confirmation.
    page.click("#suggested a:has-text('Royal commission hears')")
    page.wait_for_url(re.compile(rf".*/items/{ids['item']}$"))
    link = page.locator(f"#systems li[data-system='{ids['system']}']")
    assert link.get_attribute("data-state") == "suggested"
    assert "found: Online Compliance Intervention, Robodebt" in link.inner_text()
    with page.expect_navigation():
        link.locator("button:has-text('Confirm')").click()
    assert page.url.endswith(f"/items/{ids['item']}#systems")
    assert "confirmed as about “Robodebt”" in page.inner_text("main")
    link = page.locator(f"#systems li[data-system='{ids['system']}']")
    assert link.get_attribute("data-state") == "confirmed"
    assert link.locator("button:has-text('Confirm')").count() == 0

    # The system's page now has it among its confirmed items, and its chart.
    link.locator("a:has-text('Robodebt')").click()
    page.wait_for_url(re.compile(rf".*/systems/{ids['system']}$"))
    confirmed = page.locator("#confirmed li[data-item]")
    assert confirmed.count() == 1
    assert confirmed.first.get_attribute("data-item") == str(ids["item"])
    assert "Royal commission hears" in confirmed.first.inner_text()
    assert "No suggestions waiting." in page.inner_text("#suggested")
    assert page.locator("svg[aria-label='Mentions per month by language'] polyline").count() == 1
    links = systems_store.links_for_items(kb.db, [ids["item"]])[ids["item"]]
    assert [(x.system_id, x.state) for x in links] == [(ids["system"], "confirmed")]

    # The country tag of the item leads to the country page, which lists the system.
    page.goto(f"{base}/items/{ids['item']}")
    page.click("table.tags a:has-text('Australia')")
    page.wait_for_url(re.compile(r".*/countries/au$"))
    assert "Robodebt" in page.inner_text("#systems")
    assert csp_violations == []


def test_a_researcher_reads_the_system_page_without_buttons(served, browser_page):
    server, _, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "rita@lab.example")
    page.goto(f"{base}/systems/{ids['system']}")
    assert "Royal commission hears" in page.inner_text("#suggested")
    assert page.locator("#suggested button").count() == 0
    assert page.locator("#status-form").count() == 0
    assert csp_violations == []


def test_coordinator_confirms_a_suggestion_from_the_queue_with_one_key(served, browser_page):
    server, kb, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "cora@lab.example")
    page.goto(base + "/curation")
    row = page.locator(f"[data-queue-item][data-item-id='{ids['item']}']")
    link = row.locator(f"[data-system='{ids['system']}']")
    assert link.get_attribute("data-state") == "suggested"
    assert "Online Compliance Intervention" in link.inner_text()
    page.locator("h1").click()  # the page, not a field, has the focus
    page.keyboard.press("s")
    row.locator(f"[data-system='{ids['system']}'][data-state='confirmed']").wait_for()
    assert page.url.endswith("/curation")  # no reload
    assert "confirmed as about “Robodebt”" in page.inner_text("#queue-message")
    assert link.locator("button").count() == 0
    assert systems_store.links_for_items(kb.db, [ids["item"]])[ids["item"]][0].state == "confirmed"

    page.goto(f"{base}/systems/{ids['system']}")
    confirmed = page.locator("#confirmed li[data-item]")
    found = [confirmed.nth(n).get_attribute("data-item") for n in range(confirmed.count())]
    assert found == [str(ids["item"])]
    assert csp_violations == []


def test_the_reject_key_leaves_the_item_in_the_queue_without_the_system(served, browser_page):
    server, kb, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "cora@lab.example")
    page.goto(base + "/curation")
    page.locator("h1").click()
    page.keyboard.press("n")
    selector = f"[data-item-id='{ids['item']}'] [data-system='{ids['system']}']"
    page.locator(selector + "[data-state='rejected']").wait_for()
    assert systems_store.links_for_items(kb.db, [ids["item"]])[ids["item"]][0].state == "rejected"
    page.goto(f"{base}/curation")
    assert page.locator(selector).count() == 0  # rejected links are not shown again
    assert page.locator(f"[data-queue-item][data-item-id='{ids['item']}']").count() == 1
    assert csp_violations == []

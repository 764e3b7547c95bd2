"""A person switches the interface to Arabic in a real browser (Debian's Chromium, driven by Playwright):
the pages turn right to left (the brand on the right, the sign-out on the left, table cells aligned to the
right) without sideways scrolling at 1280 px, in Arabic, and without Content-Security-Policy violations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.web import web_app
from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import items as items_store
from kb import users as users_store
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser
WIDTH = 1280


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, dict[str, int]]]:
    kb = make_kb(tmp_path / "data")
    cora = users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    item_id = items_store.store_item(kb.db, make_draft(
        title="Council pauses welfare fraud algorithm", published=datetime(2026, 10, 30, tzinfo=UTC))).item_id
    case = cases_store.create_case(kb.db, cora, {"title": "Fraud scoring in Rotterdam", "country": "NL"},
                                   lead_id=cora.id)
    cases_store.link_item(kb.db, cora, case.id, item_id)
    contact_id = contacts_store.create_contact(kb.db, cora, {
        "name": "Amina Haddad", "organisation": "Digital Rights Lab", "kind": "lawyer",
        "emails": "amina@rights.example"}).id
    kb.sync_index()
    server = start_in_background(web_app(kb))
    try:
        yield server, {"case": case.id, "contact": contact_id}
    finally:
        server.stop()
        kb.close()


def test_a_user_switches_to_arabic_and_pages_read_right_to_left(served, browser_page):
    server, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    page.set_viewport_size({"width": WIDTH, "height": 900})

    browser_sign_in(page, base, "cora@lab.example")
    assert page.evaluate("document.documentElement.dir") == "ltr"

    page.goto(base + "/profile")
    page.select_option("#interface-language", "ar")
    page.click("button[type=submit]:has-text('Save the language')")
    page.wait_for_url(base + "/profile#language")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert "حُفظت لغة الواجهة." in page.inner_text("main")
    assert page.input_value("#interface-language") == "ar"

    for path in ("/profile", "/cases", f"/cases/{ids['case']}", "/cases/new", "/contacts",
                 f"/contacts/{ids['contact']}", "/contacts/new"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.dir") == "rtl", path
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px"
        brand = page.locator(".brand").bounding_box()
        sign_out = page.locator(".sign-out").bounding_box()
        assert brand["x"] + brand["width"] > WIDTH - 60, f"{path}: the brand is not on the right"
        assert sign_out["x"] < 60, f"{path}: the sign-out is not at the left end"
        assert "Sign out" not in page.inner_text("header")

    page.goto(base + "/cases")
    assert page.inner_text("h1").startswith("ملفات القضايا")
    assert page.evaluate("getComputedStyle(document.querySelector('th')).textAlign") in ("start", "right")
    cell = page.locator("#cases th").first.bounding_box()
    assert cell["x"] + cell["width"] > WIDTH - 80  # the first column is the rightmost
    page.goto(base + f"/cases/{ids['case']}")
    items = page.inner_text("#items")
    assert "30 أكتوبر 2026" in items  # the item's date, with Arabic months
    assert "الحماية الاجتماعية" in items and "Welfare and social protection" not in items  # its topic
    assert csp_violations == []

"""A coordinator in a real browser (Debian's Chromium through Playwright) renames a source, then removes it
through its confirmation step; the item it brought stays. No Content-Security-Policy violation on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.web import web_app
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.storage import audit
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, dict[str, int], object]]:
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    source = sources_store.add_source(kb.db, "https://news.example.org/feed.xml", name="Example News")
    item_id = items_store.store_item(kb.db, make_draft(title="Council pauses welfare fraud algorithm"),
                                     source_id=source.id).item_id
    kb.sync_index()
    server = start_in_background(web_app(kb))
    try:
        yield server, {"source": source.id, "item": item_id}, kb
    finally:
        server.stop()
        kb.close()


def test_rename_then_remove_a_source_with_its_confirmation(served, browser_page):
    server, ids, kb = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    row = f"#source-{ids['source']}"

    browser_sign_in(page, base, "cora@lab.example")

    page.goto(base + "/sources")
    page.click(f"{row} a:has-text('Edit')")
    page.wait_for_url(f"{base}/sources/{ids['source']}/edit")
    assert page.input_value("#name") == "Example News"
    page.fill("#name", "Council watch (Rotterdam)")
    page.fill("#interval", "120")
    page.check("input[name=mode][value=full]")
    page.click("button[type=submit]:has-text('Save')")
    page.wait_for_url(f"{base}/sources#source-{ids['source']}")
    assert "Saved Council watch (Rotterdam): every 120 min, full articles." in page.inner_text("main")
    assert "Council watch (Rotterdam)" in page.inner_text(row)
    assert "every 120 min" in page.inner_text(row)

    page.click(f"{row} a:has-text('Remove')")
    page.wait_for_url(f"{base}/sources/{ids['source']}/remove")
    assert page.inner_text("h1") == "Remove the source Council watch (Rotterdam)?"
    assert "Its 1 item stays in the knowledge base" in page.inner_text("main")
    page.click("button:has-text('Remove')")  # not ticked: the browser keeps the form on the page
    assert page.url == f"{base}/sources/{ids['source']}/remove"
    assert sources_store.find_source(kb.db, ids["source"]) is not None
    page.check("input[name=confirm]")
    page.click("button:has-text('Remove')")
    page.wait_for_url(base + "/sources")
    assert ("Removed Council watch (Rotterdam): it is no longer fetched; its 1 item stays in the knowledge "
            "base.") in page.inner_text("main")
    assert page.locator(row).count() == 0

    assert sources_store.find_source(kb.db, ids["source"]) is None
    assert items_store.get_item(kb.db, ids["item"]).title == "Council pauses welfare fraud algorithm"
    actions = [e.action for e in audit.entries(kb.db, entity="source", entity_id=ids["source"])]
    assert actions[:2] == ["delete", "update"]
    assert csp_violations == []

"""A coordinator in a real browser (Debian's Chromium through Playwright) adds a term to a topic: a mistake
shown inline first, then the preview (a background job: its page refreshes itself until the result) with
its count, Apply, and the article shows the new topic once the monitor's scheduler has re-tagged the stored
items in the background. No Content-Security-Policy violation on the way."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.web import web_app
from ingest.queue import TaskQueue
from kb import items as items_store
from kb import users as users_store
from kb.learning import taxonomies
from kb.storage import previews
from kb.storage.db import transaction
from kb.text.taxonomy import install_taxonomy
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser

TOPIC = "sector/welfare"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, int, object]]:
    kb = make_kb(tmp_path / "data", schedule_seconds=1)
    users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    item_id = items_store.store_item(kb.db, make_draft(
        url="https://habari.example.org/ruzuku", title="Ruzuku za mbolea zacheleweshwa", language="sw",
        text="Wakulima wanasubiri ruzuku za mbolea kwa wiki tatu sasa.", topics=())).item_id
    kb.sync_index()
    queue = TaskQueue(kb.settings, in_memory=True)
    queue.start_storing(kb)  # the writer: its scheduler's tick re-tags after a taxonomy edit
    server = start_in_background(web_app(kb, queue))
    try:
        yield server, item_id, kb
    finally:
        server.stop()
        queue.stop()
        kb.close()
        install_taxonomy(None)


def test_add_a_term_preview_apply_and_the_article_gets_the_topic(served, browser_page):
    server, item_id, kb = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page

    browser_sign_in(page, base, "cora@lab.example")
    page.goto(f"{base}/items/{item_id}")
    assert "No topics." in page.inner_text("main")

    page.click("nav a:has-text('Taxonomy')")
    page.wait_for_url(base + "/taxonomy")
    page.select_option("#topic", TOPIC)
    page.select_option("#language", "sw")
    page.fill("#term", "ru")
    page.click("#term-form button:has-text('Preview')")
    page.wait_for_load_state()
    assert "Too short" in page.inner_text("#term-error")
    assert page.input_value("#term") == "ru" and page.input_value("#language") == "sw"
    assert page.get_attribute("#term", "aria-invalid") == "true"

    page.fill("#term", "ruzuku")
    page.click("#term-form button:has-text('Preview')")
    # The preview runs in the background: its page shows the progress, refreshing itself, then the result.
    page.wait_for_url(re.compile(re.escape(base) + r"/taxonomy/preview/\d+(#preview)?$"))
    page.locator("#preview-counts").wait_for(timeout=60_000)
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert page.inner_text("#preview-counts") == (
        "Would tag 1 article with Welfare and social protection and untag 0.")
    assert "Ruzuku za mbolea zacheleweshwa" in page.inner_text("#preview")
    assert items_store.get_item(kb.db, item_id).topics == []

    page.click("#apply-form button:has-text('Apply')")
    page.wait_for_url(base + "/taxonomy#status")
    assert "“ruzuku” was added to sector/welfare" in page.inner_text("main")

    deadline = time.monotonic() + 60
    while page.get_attribute("#status", "data-retag") != "done":
        assert time.monotonic() < deadline, "the background re-tag did not finish"
        time.sleep(0.5)
        page.reload()
    assert "1 topic added, 0 removed" in page.inner_text("#status")
    page.goto(f"{base}/items/{item_id}")
    assert "Welfare and social protection" in page.inner_text("table.tags")
    assert csp_violations == []
    assert "ruzuku" in taxonomies.current(kb.db).get(TOPIC).terms["sw"]


def test_a_running_preview_page_refreshes_itself_until_the_result(served, browser_page):
    server, _, kb = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    subject = json.dumps({"topic": TOPIC, "language": "sw", "term": "ruzuku", "remove": False})
    with transaction(kb.db):  # a job as a coordinator's request starts it, before its thread has run
        job_id = previews.create(kb.db, "term", subject, taxonomies.current_digest(kb.db), None, 1)

    browser_sign_in(page, base, "cora@lab.example")
    page.goto(f"{base}/taxonomy/preview/{job_id}")
    assert page.inner_text("#preview-progress") == "Examined 0 of 1 articles."
    assert page.locator("#apply-form").count() == 0
    taxonomies.run_preview(kb.db, job_id)  # what the job's thread does
    # No reload from here: the page's meta refresh brings the result.
    page.locator("#preview-counts").wait_for(timeout=30_000)
    assert page.inner_text("#preview-counts") == (
        "Would tag 1 article with Welfare and social protection and untag 0.")
    assert page.locator("#apply-form input[name=expected]").get_attribute("value") == (
        taxonomies.current_digest(kb.db))
    assert csp_violations == []

"""The curation queue in real Chromium: decide two items with the keyboard without the page reloading,
undo one, open the shortcut help with "?" (a modal dialog that keeps focus and closes on Esc), turn the
single-key shortcuts off and see a key do nothing; and the digest draft warning before unsaved text is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.web import web_app
from kb import curation
from kb import items as items_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, browser_sign_in
from webui.server import BackgroundServer, start_in_background

pytestmark = pytest.mark.browser

TITLES = ("Welfare risk scores paused in Rotterdam", "Exam grading algorithm withdrawn",
          "Biometric ID checks at the border expand")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BackgroundServer, KnowledgeBase, list[int]]]:
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    now = datetime.now(UTC)
    # Newest first in the queue: the first title is the first item.
    ids = [items_store.store_item(kb.db, make_draft(title=title, published=now - timedelta(days=n))).item_id
           for n, title in enumerate(TITLES)]
    server = start_in_background(web_app(kb))
    try:
        yield server, kb, ids
    finally:
        server.stop()
        kb.close()


def _status(kb: KnowledgeBase, item_id: int) -> str:
    return curation.decision(kb.db, item_id).status


def test_decide_with_keys_without_reloading_undo_help_and_shortcuts_off(served, browser_page):
    server, kb, ids = served
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    expect = pytest.importorskip("playwright.sync_api").expect
    browser_sign_in(page, base, "cora@lab.example")
    page.goto(base + "/curation")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    message = page.locator("#queue-message")
    nav_count = page.locator("[data-nav-count] [data-number]")
    assert nav_count.inner_text() == "3"

    # a accepts the current (first) item, r rejects the next one, which became current.
    page.keyboard.press("a")
    expect(message).to_have_text(f"Accepted: {TITLES[0]}")
    assert page.locator(f"#item-{ids[0]}").is_hidden()
    page.keyboard.press("r")
    expect(message).to_have_text(f"Rejected: {TITLES[1]}")
    assert page.locator(f"#item-{ids[1]}").is_hidden()
    assert (_status(kb, ids[0]), _status(kb, ids[1]), _status(kb, ids[2])) == ("accepted", "rejected", "new")
    assert nav_count.inner_text() == "1"
    assert "current" in (page.get_attribute(f"#item-{ids[2]}", "class") or "")

    # u undoes the last decision: the rejected item comes back and is the current one again.
    assert page.get_attribute("#undo-form button", "aria-label") == f"Undo: Rejected: {TITLES[1]}"
    page.keyboard.press("u")
    expect(message).to_have_text(f"Undone: {TITLES[1]} is back in the queue")
    assert page.locator(f"#item-{ids[1]}").is_visible()
    assert "current" in (page.get_attribute(f"#item-{ids[1]}", "class") or "")
    assert _status(kb, ids[1]) == "new" and _status(kb, ids[0]) == "accepted"
    assert nav_count.inner_text() == "2"
    assert page.evaluate("window.__sameDocument") is True and loads == []

    # The digest button by mouse, d by key, and undo: the badge and the button follow each answer.
    assert page.locator(f"#item-{ids[2]} [data-digest-badge]").is_hidden()  # not in the digest
    page.click(f"#item-{ids[2]} [data-action=digest]")
    expect(message).to_have_text(f"Marked for the digest: {TITLES[2]}")
    assert page.locator(f"#item-{ids[2]} [data-digest-badge]").is_visible()
    assert page.inner_text(f"#item-{ids[2]} [data-action=digest]") == "Take out of digest"
    assert curation.decision(kb.db, ids[2]).in_digest is True
    page.keyboard.press("d")  # the clicked item is the current one
    expect(message).to_have_text(f"Taken out of the digest: {TITLES[2]}")
    assert page.locator(f"#item-{ids[2]} [data-digest-badge]").is_hidden()
    page.keyboard.press("u")
    expect(message).to_have_text(f"Undone: {TITLES[2]} is in the digest again")
    assert page.locator(f"#item-{ids[2]} [data-digest-badge]").is_visible()
    assert curation.decision(kb.db, ids[2]).in_digest is True
    assert page.evaluate("window.__sameDocument") is True and loads == []

    # ? opens the help as a modal dialog with the focus inside; Esc closes it and keys work again.
    page.keyboard.press("?")
    dialog = page.locator("#shortcut-help")
    assert dialog.is_visible()
    assert page.evaluate("document.getElementById('shortcut-help').open") is True
    assert page.evaluate("document.getElementById('shortcut-help').contains(document.activeElement)")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('shortcut-help').contains(document.activeElement)")
    page.keyboard.press("a")  # inside the dialog no shortcut acts
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert _status(kb, ids[1]) == "new"

    # Switched off, single keys do nothing (the buttons still work); the choice survives a reload.
    page.uncheck("#shortcuts-on")
    page.keyboard.press("a")
    page.keyboard.press("r")
    page.wait_for_timeout(300)  # give a (wrongly) sent request time to land before checking it did not
    assert (_status(kb, ids[1]), _status(kb, ids[2])) == ("new", "new")
    assert message.inner_text() == "Single-key shortcuts are off."
    page.reload()
    assert not page.is_checked("#shortcuts-on")
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    assert _status(kb, ids[1]) == "new"
    assert csp_violations == []


@pytest.fixture
def served_digest(tmp_path: Path) -> Iterator[tuple[BackgroundServer, KnowledgeBase]]:
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    item_id = items_store.store_item(kb.db, make_draft(title="Accepted this week")).item_id
    curation.set_status(kb.db, item_id, "accepted", None)
    server = start_in_background(web_app(kb))
    try:
        yield server, kb
    finally:
        server.stop()
        kb.close()


def test_the_digest_draft_warns_before_an_unsaved_introduction_is_lost(served_digest, browser_page):
    server, kb = served_digest
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "cora@lab.example")
    page.goto(base + "/digest")
    page.fill("#intro", "Unsaved words")
    questions: list[str] = []

    def refuse(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    page.click(".dg-summary button:has-text('Save the summary')")  # another form on the page
    assert questions and "the introduction" in questions[0]
    assert page.input_value("#intro") == "Unsaved words"  # still there: the other form was not sent

    page.click("button:has-text('Save the introduction')")  # its own form: no question, saved
    page.wait_for_load_state()
    assert page.input_value("#intro") == "Unsaved words"
    assert len(questions) == 1
    assert csp_violations == []


def _in_french(kb: KnowledgeBase) -> None:
    cora = users_store.find_user_by_email(kb.db, "cora@lab.example")
    assert cora is not None
    users_store.set_user_language(kb.db, cora.id, "fr")


def test_the_scripts_speak_the_users_language(served, browser_page):
    """What curation.js writes after a decision comes from the page, in the user's language (French)."""
    expect = pytest.importorskip("playwright.sync_api").expect
    server, kb, ids = served
    _in_french(kb)
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "cora@lab.example")
    page.goto(base + "/curation")
    button = page.locator(f"#item-{ids[2]} [data-action=digest]")
    assert button.inner_text() == "Mettre dans la lettre"
    button.click()
    expect(page.locator("#queue-message")).to_have_text(f"Mis dans la lettre : {TITLES[2]}")
    expect(button).to_have_text("Retirer de la lettre")
    undo = page.locator("#undo-form button")
    assert undo.get_attribute("aria-label") == f"Annuler : Mis dans la lettre : {TITLES[2]}"
    assert undo.get_attribute("title") == "Annuler votre dernière décision (u)"
    page.uncheck("#shortcuts-on")
    expect(page.locator("#queue-message")).to_have_text("Les raccourcis à une touche sont désactivés.")
    page.check("#shortcuts-on")  # the switch is kept in this browser: leave it on
    button.click()
    expect(page.locator("#queue-message")).to_have_text(f"Retiré de la lettre : {TITLES[2]}")
    expect(button).to_have_text("Mettre dans la lettre")
    assert curation.decision(kb.db, ids[2]).in_digest is False
    assert csp_violations == []


def test_the_digest_drafts_question_is_in_the_users_language(served_digest, browser_page):
    server, kb = served_digest
    _in_french(kb)
    base = server.url.rstrip("/")
    page, csp_violations = browser_page
    browser_sign_in(page, base, "cora@lab.example")
    page.goto(base + "/digest")
    page.fill("#intro", "Mots non enregistrés")
    page.fill(".dg-summary textarea", "Un résumé")
    questions: list[str] = []

    def refuse(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    page.click("button:has-text('Enregistrer le résumé')")  # its own form, but the introduction is lost
    assert questions == ["Vos modifications de l’introduction ne sont pas enregistrées et seront perdues. "
                         "Continuer quand même ?"]
    assert csp_violations == []

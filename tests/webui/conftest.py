"""Web UI fixtures: a real knowledge base on tmp_path, one user per role, the app and signed-in clients."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cli.web import web_app
from kb import cases as cases_store
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.users import User
from tests.factories import make_draft
from webui.access import SESSION_STARTED, SESSION_USER, SESSION_VERSION

PASSWORD = "correct horse battery"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROLES = ("researcher", "coordinator", "admin")
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class World:
    """What the tests click on: users by role, an item, a source, a case file."""

    kb: KnowledgeBase
    users: dict[str, User]
    item_id: int
    source_id: int
    case_id: int


@pytest.fixture
def world(kb: KnowledgeBase) -> World:
    people = {role: users_store.add_user(kb.db, f"{role}@lab.example", PASSWORD, role, name=role.title())
              for role in ROLES}
    source = sources_store.add_source(kb.db, "https://news.example.org/feed.xml", name="Example News")
    item_id = items_store.store_item(kb.db, make_draft(), source_id=source.id).item_id
    case = cases_store.create_case(kb.db, people["coordinator"], {"title": "Fraud scoring in Rotterdam"})
    kb.sync_index()
    return World(kb, people, item_id, source.id, case.id)


@pytest.fixture
def app(kb: KnowledgeBase) -> Flask:
    return web_app(kb, TESTING=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    response = client.get("/login")
    if response.status_code == 302:
        response = client.get("/profile")
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **extra: str):
    """Sign in through the form (CSRF token included); returns the response."""
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})


def browser_sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page in a browser (whatever the page's language) and wait for the
    search page it leads to."""
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(base + "/")


def enter_session(client: FlaskClient, user: User, started: float | None = None) -> None:
    """Put the user's session in the client directly (fast, for the access matrix)."""
    with client.session_transaction() as session:
        session[SESSION_USER] = user.id
        session[SESSION_VERSION] = user.session_version
        session[SESSION_STARTED] = int(time.time() if started is None else started)


@pytest.fixture
def signed_in(app: Flask, world: World):
    """A factory: a new client signed in with the role's user."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        enter_session(client, world.users[role])
        return client

    return make


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A page in Debian's Chromium driven by Playwright, and the Content-Security-Policy violations its
    console reports (the test asserts there are none). Skips with a message when Chromium is absent."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    violations: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            yield page, violations
        finally:
            browser.close()

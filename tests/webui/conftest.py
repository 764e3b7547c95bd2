"""Web UI fixtures: a real knowledge base on tmp_path, one user per role, the app and signed-in clients."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from kb import cases as cases_store
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.users import User
from tests.factories import make_draft, make_kb
from webui.access import SESSION_STARTED, SESSION_USER, SESSION_VERSION
from webui.app import create_app

PASSWORD = "correct horse battery"
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


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its smallest cost: these tests hash many passwords, and hashing is not what they test."""
    monkeypatch.setattr(users_store, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = make_kb(tmp_path / "data")
    try:
        yield base
    finally:
        base.close()


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
    return create_app(kb.settings, kb=kb, TESTING=True)


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

"""Who may open what: every route, for no session and for each role (allowed, 403, or sign-in / 401)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kb import systems as systems_store
from kb import users as users_store
from kb.learning import taxonomies
from kb.search import saved as saved_searches
from kb.storage import previews
from kb.storage.db import transaction
from kb.text.taxonomy import bundled_taxonomy, dump_taxonomy, install_taxonomy
from tests.webui.conftest import PASSWORD, ROLES, World, csrf_token


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart form."""

    filename: str
    content: bytes


OPML = Upload("list.opml", b'<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
               b'<outline type="rss" text="Imported" xmlUrl="https://imported.example.org/rss"/></body></opml>')
# A taxonomy file that differs from the bundled one by a term (importing the same file is refused).
TAXONOMY = dump_taxonomy(taxonomies.with_term(bundled_taxonomy(), "sector/welfare", "sw", "ruzuku"))
TERM = {"topic": "sector/welfare", "language": "sw", "term": "ruzuku", "action": "add"}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # the URL rule as Flask knows it, to check that every rule is covered
    path: str  # formatted with the world's ids and the user's token id
    role: str  # the least role allowed
    data: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/", "/", "researcher"),
    Route("GET", "/search/export.<fmt>", "/search/export.csv", "researcher"),
    Route("GET", "/search/export.<fmt>", "/search/export.json", "researcher"),
    Route("POST", "/saved-searches", "/saved-searches", "researcher", {"name": "Welfare", "q": "welfare"}),
    Route("POST", "/saved-searches/<int:search_id>/delete", "/saved-searches/{saved}/delete", "researcher"),
    Route("GET", "/items/<int:item_id>", "/items/{item}", "researcher"),
    Route("POST", "/items/<int:item_id>/notes", "/items/{item}/notes", "researcher", {"note": "Call"}),
    Route("POST", "/items/<int:item_id>/curation", "/items/{item}/curation", "coordinator",
          {"status": "accepted"}),
    Route("GET", "/curation", "/curation", "coordinator"),
    Route("POST", "/curation/bulk", "/curation/bulk", "coordinator",
          {"item_id": "{item}", "status": "rejected"}),
    Route("POST", "/curation/undo", "/curation/undo", "coordinator"),
    Route("GET", "/sources", "/sources", "coordinator"),
    Route("POST", "/sources", "/sources", "coordinator",
          {"url": "https://watch.example.org/policy", "kind": "page"}),
    Route("POST", "/sources/<int:source_id>/pause", "/sources/{source}/pause", "coordinator"),
    Route("POST", "/sources/<int:source_id>/resume", "/sources/{source}/resume", "coordinator"),
    Route("POST", "/sources/<int:source_id>/fetch", "/sources/{source}/fetch", "coordinator"),
    Route("GET", "/sources/opml", "/sources/opml", "coordinator"),
    Route("POST", "/sources/opml", "/sources/opml", "coordinator", {"opml": OPML}),
    Route("GET", "/dashboard", "/dashboard", "coordinator"),
    Route("GET", "/admin/users", "/admin/users", "admin"),
    Route("POST", "/admin/users", "/admin/users", "admin",
          {"email": "new@lab.example", "password": PASSWORD, "role": "researcher"}),
    Route("POST", "/admin/users/<int:user_id>", "/admin/users/{other}", "admin", {"role": "coordinator"}),
    Route("POST", "/admin/users/<int:user_id>/password", "/admin/users/{other}/password", "admin",
          {"password": "another long password"}),
    Route("GET", "/sources/<int:source_id>/edit", "/sources/{source}/edit", "coordinator"),
    Route("POST", "/sources/<int:source_id>/edit", "/sources/{source}/edit", "coordinator",
          {"name": "Renamed", "interval": "30", "mode": "full"}),
    Route("GET", "/sources/<int:source_id>/remove", "/sources/{source}/remove", "coordinator"),
    Route("POST", "/sources/<int:source_id>/remove", "/sources/{source}/remove", "coordinator",
          {"confirm": "yes"}),
    Route("GET", "/admin/audit", "/admin/audit", "admin"),
    Route("GET", "/admin/audit.csv", "/admin/audit.csv", "admin"),
    Route("GET", "/admin/tokens", "/admin/tokens", "admin"),
    Route("GET", "/admin/tokens/<int:token_id>/revoke", "/admin/tokens/{token}/revoke", "admin"),
    Route("POST", "/admin/tokens/<int:token_id>/revoke", "/admin/tokens/{token}/revoke", "admin",
          {"confirm": "yes"}),
    Route("GET", "/profile", "/profile", "researcher"),
    Route("POST", "/profile/tokens", "/profile/tokens", "researcher", {"name": "script"}),
    Route("POST", "/profile/tokens/<int:token_id>/revoke", "/profile/tokens/{token}/revoke", "researcher"),
    Route("POST", "/profile/password", "/profile/password", "researcher",
          {"current": PASSWORD, "new": "a new long password", "confirm": "a new long password"}),
    Route("GET", "/api/v1/search", "/api/v1/search?q=council", "researcher"),
    Route("GET", "/api/v1/items/<int:item_id>", "/api/v1/items/{item}", "researcher"),
    Route("POST", "/api/v1/items/<int:item_id>/curation", "/api/v1/items/{item}/curation", "coordinator",
          json={"status": "accepted"}),
    Route("GET", "/api/v1/systems", "/api/v1/systems?country=nl", "researcher"),
    Route("GET", "/api/v1/systems/<int:system_id>", "/api/v1/systems/{system}", "researcher"),
    # The taxonomy: everyone signed in reads it and downloads the file; coordinators preview and change it.
    Route("GET", "/taxonomy", "/taxonomy", "researcher"),
    Route("GET", "/taxonomy/export", "/taxonomy/export", "researcher"),
    Route("POST", "/taxonomy/preview", "/taxonomy/preview", "coordinator", TERM),
    Route("GET", "/taxonomy/preview/<int:job_id>", "/taxonomy/preview/{preview}", "coordinator"),
    Route("POST", "/taxonomy/apply", "/taxonomy/apply", "coordinator", {**TERM, "expected": "{digest}"}),
    Route("POST", "/taxonomy/apply", "/taxonomy/apply", "coordinator",
          {**TERM, "term": "välfärd", "language": "sv", "action": "remove", "expected": "{digest}"}),
    Route("POST", "/taxonomy/import", "/taxonomy/import", "coordinator",
          {"file": Upload("taxonomy.toml", TAXONOMY.encode())}),
    Route("POST", "/taxonomy/import/apply", "/taxonomy/import/apply", "coordinator",
          {"text": "{taxonomy}", "expected": "{digest}"}),
]
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
          ("GET", "/static/<path:filename>")}
CLIENTS = (None, *ROLES)


@pytest.fixture(autouse=True)
def _bundled_taxonomy_afterwards() -> Iterator[None]:
    yield  # a taxonomy change installs the edited one in this process: the next test gets the bundled one
    install_taxonomy(None)


def _ids(world: World, role: str | None) -> dict[str, Any]:
    ids: dict[str, Any] = {"item": world.item_id, "source": world.source_id, "case": world.case_id,
                           "saved": 0, "token": 0, "digest": taxonomies.current_digest(world.kb.db),
                           "taxonomy": TAXONOMY}
    with transaction(world.kb.db):  # a preview job as a running one is stored
        ids["preview"] = previews.create(world.kb.db, "term", json.dumps(
            {"topic": "sector/welfare", "language": "sw", "term": "ruzuku", "remove": False}),
            ids["digest"], None, 1)
    other = users_store.add_user(world.kb.db, "other@lab.example", PASSWORD, "researcher")
    ids["other"] = other.id
    ids["system"] = systems_store.create_system(world.kb.db, world.users["admin"], {"name": "Matrix"}).id
    if role is not None:
        user = world.users[role]
        users_store.create_token(world.kb.db, user.id, "t")
        ids["token"] = users_store.list_tokens(world.kb.db, user.id)[-1].id
        saved_searches.create_saved_search(world.kb.db, user.id, "Mine", "council")
        ids["saved"] = saved_searches.list_saved_searches(world.kb.db, user.id)[0].id
    return ids


def _request(client, route: Route, ids: dict[str, Any], *, with_token: bool = True):
    path = route.path.format(**ids)
    if route.method == "GET":
        return client.get(path)
    token = {"csrf_token": csrf_token(client)} if with_token else {}
    if route.json is not None:
        headers = {"X-CSRFToken": token["csrf_token"]} if token else {}
        return client.post(path, json=route.json, headers=headers)
    data = {key: (io.BytesIO(value.content), value.filename) if isinstance(value, Upload) else
            (value.format(**ids) if isinstance(value, str) else value) for key, value in route.data.items()}
    upload = any(isinstance(v, Upload) for v in route.data.values())
    return client.post(path, data={**data, **token}, content_type="multipart/form-data" if upload else None)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("who", CLIENTS, ids=lambda r: r or "anonymous")
def test_access_matrix(app, world, signed_in, route, who):
    client = app.test_client() if who is None else signed_in(who)
    response = _request(client, route, _ids(world, who))
    if who is None:
        if route.path.startswith("/api/"):
            assert response.status_code == 401
            assert response.is_json and response.json["error"]["status"] == 401
        else:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login")
    elif ROLES.index(who) < ROLES.index(route.role):
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
        if response.status_code == 302:
            assert not response.headers["Location"].startswith("/login")


def test_every_route_is_in_the_matrix(app):
    covered = {(r.method, r.rule) for r in ROUTES}
    mine = {"auth", "search", "items", "sources", "dashboard", "admin", "api", "static", "taxonomy"}
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules()
             if rule.endpoint.partition(".")[0] in mine for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules - covered - PUBLIC == set()


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "POST"], ids=str)
def test_every_post_needs_its_csrf_token(signed_in, world, route):
    # The admin may do everything: the missing token is the only reason to refuse.
    response = _request(signed_in("admin"), route, _ids(world, "admin"), with_token=False)
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    if route.rule.startswith("/taxonomy"):
        assert taxonomies.history(world.kb.db) == []


def test_sign_in_page_is_the_only_page_without_a_session(client, world):
    assert client.get("/login").status_code == 200
    with client.get("/static/style.css") as response:
        assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_redirect_to_sign_in_keeps_the_page_asked_for(client, world):
    response = client.get(f"/items/{world.item_id}?x=1")
    assert response.headers["Location"] == f"/login?next=/items/{world.item_id}?x%3D1"


def test_a_hidden_button_is_not_the_only_guard(signed_in, world):
    researcher = signed_in("researcher")
    page = researcher.get(f"/items/{world.item_id}").get_data(as_text=True)
    assert 'data-action="accept"' not in page and 'href="/curation"' not in page  # not offered...
    token = csrf_token(researcher)
    response = researcher.post(f"/items/{world.item_id}/curation",
                               data={"status": "accepted", "csrf_token": token})
    assert response.status_code == 403  # ...and refused when asked anyway

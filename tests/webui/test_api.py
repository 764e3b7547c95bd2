"""The JSON API: personal tokens, the same roles as the pages, and curation by JSON."""

from __future__ import annotations

import pytest

from kb import curation
from kb import items as items_store
from kb import users as users_store


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(world):
    return {role: users_store.create_token(world.kb.db, user.id, "test")
            for role, user in world.users.items()}


def test_search_with_a_token(client, world, tokens):
    response = client.get("/api/v1/search?q=council&sort=newest", headers=_bearer(tokens["researcher"]))
    assert response.status_code == 200
    body = response.json
    assert {"total", "page", "page_size", "pages", "results", "facets", "notes", "suggestion"} <= set(body)
    assert body["total"] >= 1 and body["results"][0]["id"] == world.item_id
    assert "<mark>" in body["results"][0]["snippet"] and body["facets"]["language"] == {"en": 1}


def test_search_arguments_are_checked(client, world, tokens):
    for query in ("sort=sideways", "from=yesterday", "page=two"):
        response = client.get(f"/api/v1/search?{query}", headers=_bearer(tokens["researcher"]))
        assert response.status_code == 400 and response.json["error"]["message"], query


def test_item_with_tags_decision_and_notes(client, world, tokens):
    curation.add_note(world.kb.db, world.item_id, world.users["coordinator"].id, "Call the ombudsman")
    response = client.get(f"/api/v1/items/{world.item_id}", headers=_bearer(tokens["researcher"]))
    assert response.status_code == 200
    body = response.json
    assert body["id"] == world.item_id and body["status"] == "new"
    assert {t["topic"]: t["evidence"] for t in body["tags"]}["sector/welfare"] == ["benefit"]
    assert body["sources"][0]["name"] == "Example News"
    assert body["notes"][0]["body"] == "Call the ombudsman" and body["notes"][0]["author"] == "Coordinator"
    assert body["decision"] == {"status": "new", "in_digest": False, "by": None, "at": None}


def test_unknown_item_is_a_json_404(client, world, tokens):
    response = client.get("/api/v1/items/999", headers=_bearer(tokens["researcher"]))
    assert response.status_code == 404 and response.json["error"]["status"] == 404
    assert client.get("/api/v1/nothing", headers=_bearer(tokens["researcher"])).is_json


def test_curation_with_a_token_needs_no_csrf(client, world, tokens):
    path = f"/api/v1/items/{world.item_id}/curation"
    response = client.post(path, headers=_bearer(tokens["coordinator"]), json={
        "status": "accepted", "in_digest": True, "note": "Strong lead",
        "tags": {"add": ["sector/health"], "remove": ["system/risk-scoring"]}, "case_id": world.case_id,
    })
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["in_digest"]) == ("accepted", True)
    assert body["decision"]["by"] == "Coordinator" and body["decision"]["at"]
    assert "sector/health" in body["topics"] and "system/risk-scoring" not in body["topics"]
    assert [c["id"] for c in body["cases"]] == [world.case_id]
    assert body["notes"][-1]["body"] == "Strong lead"
    actions = {e.action for e in curation.history(world.kb.db, world.item_id)}
    assert {"set-status", "digest-add", "tag-add", "tag-remove", "link-case", "add-note"} <= actions


def test_researcher_may_add_a_note_but_not_decide(client, world, tokens):
    path = f"/api/v1/items/{world.item_id}/curation"
    assert client.post(path, headers=_bearer(tokens["researcher"]), json={"note": "Seen"}).status_code == 200
    refused = client.post(path, headers=_bearer(tokens["researcher"]), json={"status": "accepted"})
    assert refused.status_code == 403 and refused.is_json
    assert items_store.get_item(world.kb.db, world.item_id).status == "new"


@pytest.mark.parametrize("body", [
    None, [], {"status": "maybe"}, {"status": 1}, {"in_digest": "yes"}, {"tags": ["sector/health"]},
    {"tags": {"add": "sector/health"}}, {"tags": {"add": ["sector/atlantis"]}}, {"tags": {"keep": []}},
    {"color": "red"}, {}, {"case_id": "1"}, {"case_id": 999}, {"note": 5},
])
def test_bad_curation_bodies_are_refused(client, world, tokens, body):
    response = client.post(f"/api/v1/items/{world.item_id}/curation", headers=_bearer(tokens["coordinator"]),
                           json=body)
    assert response.status_code in (400, 404), response.json
    assert response.json["error"]["message"]
    assert items_store.get_item(world.kb.db, world.item_id).status == "new"


def test_revoked_or_unknown_token_is_refused(client, world, tokens):
    user = world.users["researcher"]
    token_id = users_store.list_tokens(world.kb.db, user.id)[-1].id
    assert client.get("/api/v1/search", headers=_bearer(tokens["researcher"])).status_code == 200
    users_store.revoke_token(world.kb.db, user.id, token_id)
    response = client.get("/api/v1/search", headers=_bearer(tokens["researcher"]))
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/search", headers=_bearer("kbt_made-up")).status_code == 401


def test_token_of_a_deactivated_user_is_refused(client, world, tokens):
    users_store.update_user(world.kb.db, world.users["coordinator"].id, active=False)
    assert client.get("/api/v1/search", headers=_bearer(tokens["coordinator"])).status_code == 401


def test_a_bad_token_does_not_fall_back_to_the_session(signed_in, world):
    client = signed_in("admin")
    assert client.get("/api/v1/search").status_code == 200
    assert client.get("/api/v1/search", headers=_bearer("kbt_wrong")).status_code == 401


def test_tokens_do_not_open_the_pages(client, world, tokens):
    assert client.get("/", headers=_bearer(tokens["admin"])).status_code == 302


def test_tokens_are_managed_on_the_profile_page(signed_in, world):
    from tests.webui.conftest import csrf_token

    client = signed_in("researcher")
    page = client.post("/profile/tokens", data={"name": "export script", "csrf_token": csrf_token(client)})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "shown only once" in text
    token = text.split('id="new-token">')[1].split("<")[0]
    assert token.startswith(users_store.TOKEN_PREFIX)
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/search", headers=_bearer(token)).status_code == 200
    [listed] = users_store.list_tokens(world.kb.db, world.users["researcher"].id)
    assert listed.name == "export script" and token not in client.get("/profile").get_data(as_text=True)
    client.post(f"/profile/tokens/{listed.id}/revoke", data={"csrf_token": csrf_token(client)})
    assert client.get("/api/v1/search", headers=_bearer(token)).status_code == 401
    other = signed_in("coordinator")  # someone else's token cannot be revoked
    assert other.post(f"/profile/tokens/{listed.id}/revoke",
                      data={"csrf_token": csrf_token(other)}).status_code == 404

"""The curation queue as a feed reader, through the Flask test client: the item's title in every
confirmation, the JSON answer the queue's script asks for and the plain form's redirect (the same endpoint,
the same CSRF token), undo (server-side, audited, refused when stale), the count of new items in the menu,
and the folded filter and bulk forms."""

from __future__ import annotations

import html
import re

from kb import curation
from kb import items as items_store
from kb.storage import audit
from tests.factories import make_draft
from tests.webui.conftest import csrf_token

JSON = {"Accept": "application/json"}
TITLE = 'Rotterdam <b>pauses</b> "welfare" score & more'


def _text(response) -> str:
    return response.get_data(as_text=True)


def _post(client, path: str, headers: dict[str, str] | None = None, **data: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)}, headers=headers or {})


def _flashes(page: str) -> list[str]:
    found = re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', page, re.S)
    return [html.unescape(" ".join(message.split())) for message in found]


def _nav_count(page: str) -> int | None:
    match = re.search(r'href="/curation"[^>]*>Curation <span class="nav-count" data-nav-count[^>]*>'
                      r'<span data-number>(\d+)</span>', page)
    return int(match.group(1)) if match else None


def _item(world, **overrides: object) -> int:
    return items_store.store_item(world.kb.db, make_draft(**overrides)).item_id


# --- the confirmation names the item ---------------------------------------------------------------


def test_the_plain_form_is_redirected_and_the_confirmation_names_the_item(signed_in, world):
    item_id = _item(world, title=TITLE)
    client = signed_in("coordinator")
    response = _post(client, f"/items/{item_id}/curation", status="rejected", next="/curation")
    assert response.status_code == 302 and response.headers["Location"] == "/curation"
    page = _text(client.get("/curation"))
    assert _flashes(page) == [f"Rejected: {TITLE}"]
    assert "<b>pauses</b>" not in page  # the title is escaped, not markup
    assert curation.decision(world.kb.db, item_id).status == "rejected"


def test_the_digest_mark_and_a_bulk_change_name_their_items(signed_in, world):
    ids = [_item(world, title=f"Story number {n}") for n in range(5)]
    client = signed_in("coordinator")
    _post(client, f"/items/{ids[0]}/curation", digest="1", next="/curation")
    assert _flashes(_text(client.get("/curation"))) == ["Marked for the digest: Story number 0"]
    _post(client, "/curation/bulk", status="accepted", digest="0", item_id=[str(i) for i in ids],
          next="/curation")
    [flash] = _flashes(_text(client.get("/curation")))
    assert flash == ("Accepted, taken out of the digest: 5 items "
                     "(Story number 0; Story number 1; Story number 2 and 2 more)")


# --- the script's path: JSON from the same endpoint -------------------------------------------------


def test_asking_for_json_decides_without_a_redirect_and_says_what_changed(signed_in, world):
    other = _item(world, title="Another story")
    client = signed_in("coordinator")
    response = _post(client, f"/items/{world.item_id}/curation", JSON, status="accepted", next="/curation")
    assert response.status_code == 200 and response.mimetype == "application/json"
    reply = response.get_json()
    title = items_store.get_item(world.kb.db, world.item_id).title
    assert reply["ok"] is True
    assert reply["message"] == f"Accepted: {title}"
    assert reply["items"] == [{"id": world.item_id, "status": "accepted", "in_digest": False}]
    assert reply["new_count"] == 1  # the other item still waits
    assert isinstance(reply["undo"], str) and reply["undo"]
    # The decision is stored (checked in the database, not in the answer) and nothing was flashed for a
    # page that will never show it.
    assert curation.decision(world.kb.db, world.item_id).status == "accepted"
    assert curation.decision(world.kb.db, other).status == "new"
    assert _flashes(_text(client.get("/curation"))) == []

    digest = _post(client, f"/items/{other}/curation", JSON, digest="1").get_json()
    assert digest["items"] == [{"id": other, "status": "new", "in_digest": True}]
    assert digest["message"] == "Marked for the digest: Another story"


def test_a_refused_json_decision_is_a_json_error_and_changes_nothing(signed_in, world):
    client = signed_in("coordinator")
    bad = _post(client, f"/items/{world.item_id}/curation", JSON, status="maybe")
    assert bad.status_code == 400 and bad.get_json()["ok"] is False
    assert bad.get_json()["error"].startswith("Status must be one of new, accepted, rejected")
    missing = _post(client, "/items/999999/curation", JSON, status="accepted")
    assert missing.status_code == 404 and missing.get_json()["error"] == "Item 999999 does not exist"
    assert curation.decision(world.kb.db, world.item_id).status == "new"


def test_the_json_path_keeps_csrf_and_roles(signed_in, world):
    coordinator = signed_in("coordinator")
    no_token = coordinator.post(f"/items/{world.item_id}/curation", data={"status": "accepted"}, headers=JSON)
    assert no_token.status_code == 400
    researcher = _post(signed_in("researcher"), f"/items/{world.item_id}/curation", JSON, status="accepted")
    assert researcher.status_code == 403
    undo = _post(signed_in("researcher"), "/curation/undo", JSON)
    assert undo.status_code == 403
    assert curation.decision(world.kb.db, world.item_id).status == "new"


# --- undo --------------------------------------------------------------------------------------------


def test_undo_puts_back_the_state_before_and_is_audited(signed_in, world):
    db = world.kb.db
    coordinator = world.users["coordinator"]
    curation.set_status(db, world.item_id, "rejected", world.users["admin"].id)
    before = curation.decision(db, world.item_id)
    client = signed_in("coordinator")
    reply = _post(client, f"/items/{world.item_id}/curation", JSON, status="accepted").get_json()
    assert curation.decision(db, world.item_id).status == "accepted"

    undone = _post(client, "/curation/undo", JSON, decision=reply["undo"]).get_json()
    title = items_store.get_item(db, world.item_id).title
    assert undone["ok"] is True and undone["message"] == f"Undone: {title} is rejected again"
    assert undone["items"] == [{"id": world.item_id, "status": "rejected", "in_digest": False}]
    assert curation.decision(db, world.item_id) == before  # status, who and when, as they were
    [entry, *_] = audit.entries(db, entity="item", entity_id=world.item_id)
    assert (entry.action, entry.user_id) == ("undo", coordinator.id)
    assert (entry.details["status"], entry.details["was"]) == ("rejected", "accepted")

    again = _post(client, "/curation/undo", JSON, decision=reply["undo"])
    assert again.status_code == 409 and "undone already" in again.get_json()["error"]
    assert curation.decision(db, world.item_id) == before


def test_undo_without_javascript_is_offered_on_the_queue_and_redirects(signed_in, world):
    db = world.kb.db
    client = signed_in("coordinator")
    title = items_store.get_item(db, world.item_id).title
    _post(client, f"/items/{world.item_id}/curation", status="accepted", next="/curation")
    page = _text(client.get("/curation"))
    form = re.search(r'<form method="post" action="/curation/undo" id="undo-form" class="undo">(.*?)</form>',
                     page, re.S)
    assert form, "the queue offers no undo form"
    assert f"Your last decision: Accepted: {html.escape(title)}." in form.group(1)
    key = re.search(r'name="decision" value="([^"]+)"', form.group(1)).group(1)

    response = _post(client, "/curation/undo", decision=key, next="/curation")
    assert response.status_code == 302 and response.headers["Location"] == "/curation"
    page = _text(client.get("/curation"))
    assert _flashes(page) == [f"Undone: {title} is back in the queue."]
    assert f'id="item-{world.item_id}"' in page  # back in the queue
    assert 'id="undo-form" class="undo" hidden' in page  # nothing left to undo
    assert curation.decision(db, world.item_id).status == "new"


def test_undo_is_refused_when_someone_changed_the_item_since(signed_in, world):
    db = world.kb.db
    client = signed_in("coordinator")
    reply = _post(client, f"/items/{world.item_id}/curation", JSON, status="accepted").get_json()
    curation.set_in_digest(db, world.item_id, True, world.users["admin"].id)
    refused = _post(client, "/curation/undo", JSON, decision=reply["undo"])
    assert refused.status_code == 409
    assert "changed since by Admin" in refused.get_json()["error"]
    decision = curation.decision(db, world.item_id)
    assert (decision.status, decision.in_digest) == ("accepted", True)


def test_only_ones_own_last_decision_can_be_undone(signed_in, world):
    db = world.kb.db
    other = _item(world, title="Second story")
    client = signed_in("coordinator")
    first = _post(client, f"/items/{world.item_id}/curation", JSON, status="accepted").get_json()
    _post(client, f"/items/{other}/curation", JSON, status="rejected")
    stale = _post(client, "/curation/undo", JSON, decision=first["undo"])
    assert stale.status_code == 409 and "no longer your last decision" in stale.get_json()["error"]
    # Another coordinator has nothing to undo: the decisions are not theirs.
    admin = _post(signed_in("admin"), "/curation/undo", JSON)
    assert admin.status_code == 404 and admin.get_json()["error"] == "You have no decision to undo"
    assert curation.decision(db, world.item_id).status == "accepted"
    assert curation.decision(db, other).status == "rejected"


def test_undo_of_a_bulk_decision_restores_every_item(signed_in, world):
    db = world.kb.db
    ids = [world.item_id, *(_item(world, title=f"Bulk {n}") for n in range(3))]
    curation.set_in_digest(db, ids[1], True, None)
    client = signed_in("coordinator")
    _post(client, "/curation/bulk", status="rejected", item_id=[str(i) for i in ids], next="/curation")
    assert {curation.decision(db, i).status for i in ids} == {"rejected"}
    undone = _post(client, "/curation/undo", JSON).get_json()
    assert undone["message"].startswith("Undone for 4 items")
    assert [(curation.decision(db, i).status, curation.decision(db, i).in_digest) for i in ids] == [
        ("new", False), ("new", True), ("new", False), ("new", False)]


# --- the menu's count, the folded forms ---------------------------------------------------------------


def test_the_menu_counts_new_items_for_coordinators_only(signed_in, world):
    db = world.kb.db
    extra = [_item(world, title=f"Waiting {n}") for n in range(2)]
    curation.set_status(db, extra[0], "rejected", None)
    expected = int(db.execute("SELECT count(*) FROM items WHERE status = 'new'").fetchone()[0])
    assert expected == 2
    for role in ("coordinator", "admin"):
        assert _nav_count(_text(signed_in(role).get("/profile"))) == expected
    researcher = _text(signed_in("researcher").get("/profile"))
    assert "nav-count" not in researcher
    # After a decision through the script, the answer carries the new count for the menu.
    reply = _post(signed_in("coordinator"), f"/items/{extra[1]}/curation", JSON, status="accepted").get_json()
    assert reply["new_count"] == 1
    assert _nav_count(_text(signed_in("coordinator").get("/profile"))) == 1


def test_filters_and_bulk_changes_are_folded_and_the_first_item_comes_next(signed_in, world):
    page = _text(signed_in("coordinator").get("/curation"))
    folded = re.findall(r'<details class="queue-tools"( open)?>\s*<summary>([^<]*)</summary>', page)
    assert folded == [("", "Filters"), ("", "Change the ticked items together")]
    # Nothing but the folded forms and the status bar between the heading and the first item.
    assert page.index('id="bulk"') < page.index(f'id="item-{world.item_id}"')
    filtered = _text(signed_in("coordinator").get("/curation?relevant=1&language=en"))
    assert "<summary>Filters: English, relevant only</summary>" in filtered
    assert 'src="/static/curation.js"' in page and "<dialog" in page

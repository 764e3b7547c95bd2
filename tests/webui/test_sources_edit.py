"""Editing sources in the UI: rename, re-schedule, summary or full text, pause and resume, remove after a
confirmation; coordinators and admins only, CSRF-protected, audited, and bad input explained on the form with
what was typed kept."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from kb import items as items_store
from kb import sources as sources_store
from kb.storage import audit
from tests.webui.conftest import csrf_token


def _post(client: FlaskClient, path: str, **data: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+" role="status">(.*?)</p>', page, re.S)


def test_the_edit_form_shows_the_current_values(signed_in, world):
    page = _text(signed_in("coordinator").get(f"/sources/{world.source_id}/edit"))
    assert '<input id="name" name="name" required maxlength="300" value="Example News">' in page
    assert 'name="interval" type="number" min="1" max="43200" required value="60"' in page
    assert 'value="summary" checked' in page and 'value="full" checked' not in page


def test_rename_reschedule_and_switch_to_full_text(signed_in, world):
    client = signed_in("coordinator")
    response = _post(client, f"/sources/{world.source_id}/edit", name="  Exemple Sécurité ", interval="90",
                     mode="full")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#source-{world.source_id}")
    source = sources_store.get_source(world.kb.db, world.source_id)
    assert (source.name, source.interval_minutes, source.full_text) == ("Exemple Sécurité", 90, True)
    page = _text(client.get("/sources"))
    assert _flashes(page) == ["Saved Exemple Sécurité: every 90 min, full articles."]
    row = re.search(rf'<tr id="source-{world.source_id}".*?</tr>', page, re.S).group(0)
    assert "Exemple Sécurité" in row and "full text" in row and "every 90 min" in row
    [entry] = audit.entries(world.kb.db, entity="source", entity_id=world.source_id, limit=1)
    assert (entry.action, entry.user_id) == ("update", world.users["coordinator"].id)
    assert entry.details == {"changes": {"name": ["Example News", "Exemple Sécurité"],
                                         "interval_minutes": [60, 90], "full_text": [False, True]}}


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"name": "   ", "interval": "30", "mode": "summary"}, "name", "Enter a name"),
    ({"interval": "30", "mode": "summary"}, "name", "Enter a name"),  # the field is missing
    ({"name": "News", "interval": "0", "mode": "summary"}, "interval", "from 1 to 43,200 (a month)"),
    ({"name": "News", "interval": "43201", "mode": "summary"}, "interval", "from 1 to 43,200"),
    ({"name": "News", "interval": "every hour", "mode": "summary"}, "interval", "whole number of minutes"),
    ({"name": "News", "mode": "summary"}, "interval", "whole number of minutes"),
    ({"name": "News", "interval": "30", "mode": "everything"}, "mode", "Choose whether to keep"),
    ({"name": "News", "interval": "30"}, "mode", "Choose whether to keep"),
])
def test_bad_input_is_explained_inline_and_nothing_changes(signed_in, world, form, field, message):
    before = sources_store.get_source(world.kb.db, world.source_id)
    logged = audit.count(world.kb.db)
    response = _post(signed_in("coordinator"), f"/sources/{world.source_id}/edit", **form)
    assert response.status_code == 400
    page = _text(response)
    assert "The source was not changed: see what is marked below." in page
    error = re.search(rf'<span class="field-error" id="{field}-error">(.*?)</span>', page, re.S)
    assert error and message in error.group(1)
    assert f'aria-describedby="{field}-error"' in page
    for name, typed in form.items():  # what was typed is kept
        if name in ("name", "interval"):
            assert f'name="{name}"' in page and f'value="{typed}"' in page
    assert sources_store.get_source(world.kb.db, world.source_id) == before
    assert audit.count(world.kb.db) == logged


def test_a_form_without_its_csrf_token_is_refused(signed_in, world):
    client = signed_in("admin")
    response = client.post(f"/sources/{world.source_id}/edit", data={"name": "X", "interval": "5",
                                                                      "mode": "full"})
    assert response.status_code == 400
    assert client.post(f"/sources/{world.source_id}/remove", data={"confirm": "yes"}).status_code == 400
    assert sources_store.get_source(world.kb.db, world.source_id).name == "Example News"


def test_researchers_may_not_edit_pause_or_remove(signed_in, world):
    client = signed_in("researcher")
    for path in (f"/sources/{world.source_id}/edit", f"/sources/{world.source_id}/remove"):
        response = client.get(path)
        assert response.status_code == 403
        assert "This page is for coordinators and admins; you are signed in as a researcher." in \
            _text(response)
    assert _post(client, f"/sources/{world.source_id}/edit", name="X", interval="5",
                 mode="full").status_code == 403
    assert _post(client, f"/sources/{world.source_id}/pause").status_code == 403
    assert _post(client, f"/sources/{world.source_id}/remove", confirm="yes").status_code == 403
    assert sources_store.get_source(world.kb.db, world.source_id).name == "Example News"


def test_pause_and_resume_are_audited_by_name(signed_in, world):
    client = signed_in("coordinator")
    _post(client, f"/sources/{world.source_id}/pause")
    assert _flashes(_text(client.get("/sources"))) == [
        "Paused Example News: it is not fetched until resumed."]
    _post(client, f"/sources/{world.source_id}/resume")
    assert _flashes(_text(client.get("/sources"))) == ["Resumed Example News."]
    entries = audit.entries(world.kb.db, entity="source", entity_id=world.source_id, limit=2)
    assert [(e.action, e.user_id) for e in entries] == [("resume", world.users["coordinator"].id),
                                                        ("pause", world.users["coordinator"].id)]


def test_remove_says_what_becomes_of_the_items_and_needs_confirming(signed_in, world):
    client = signed_in("coordinator")
    page = _text(client.get(f"/sources/{world.source_id}/remove"))
    assert "Remove the source Example News?" in page
    assert "Its 1 item stays in the knowledge base: in search, in case files and in digests" in page

    response = _post(client, f"/sources/{world.source_id}/remove")  # the box not ticked
    assert response.status_code == 400 and "Tick the box to confirm, then press Remove." in _text(response)
    assert sources_store.find_source(world.kb.db, world.source_id) is not None

    response = _post(client, f"/sources/{world.source_id}/remove", confirm="yes")
    assert response.status_code == 302
    assert _flashes(_text(client.get("/sources"))) == [
        "Removed Example News: it is no longer fetched; its 1 item stays in the knowledge base."]
    assert sources_store.find_source(world.kb.db, world.source_id) is None
    assert items_store.get_item(world.kb.db, world.item_id).title  # the item stays
    [entry] = audit.entries(world.kb.db, entity="source", entity_id=world.source_id, limit=1)
    assert (entry.action, entry.user_id) == ("delete", world.users["coordinator"].id)
    assert entry.details["items"] == 1
    assert client.get(f"/sources/{world.source_id}/edit").status_code == 404


def test_the_list_links_to_edit_and_remove(signed_in, world):
    page = signed_in("admin").get("/sources").get_data(as_text=True)
    row = re.search(rf'<tr id="source-{world.source_id}".*?</tr>', page, re.S).group(0)
    assert f'href="/sources/{world.source_id}/edit"' in row
    assert f'href="/sources/{world.source_id}/remove"' in row


def test_a_source_added_in_the_ui_is_audited_as_its_coordinators(signed_in, world):
    client = signed_in("coordinator")
    _post(client, "/sources", url="https://watch.example.org/policy", kind="page", name="")
    added = sources_store.find_source_by_url(world.kb.db, "https://watch.example.org/policy")
    assert added is not None
    [entry] = audit.entries(world.kb.db, entity="source", entity_id=added.id)
    assert (entry.action, entry.user_id) == ("create", world.users["coordinator"].id)

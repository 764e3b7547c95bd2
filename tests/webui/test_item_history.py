"""The item page's history (issue 16): what was done to an item, by whom, in the audit log's readable form —
decisions and their undo, topics, notes, the case files and systems it was linked to — for every signed-in
role that opens the item; contacts a reader may not see are never named. The case file, contact and system
pages show their history with the same rows."""

from __future__ import annotations

import re

from flask import g

from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import systems as systems_store
from kb.storage import audit
from tests.webui.conftest import csrf_token


def _history(page: str) -> str:
    found = re.search(r'<section id="history".*?</section>', page, re.S)
    assert found is not None, "no history section"
    return found.group(0)


def _rows(history: str) -> list[str]:
    """Each entry's row as its text, newest first, with the markup dropped and spaces folded."""
    rows = re.findall(r'<tr id="audit-\d+">(.*?)</tr>\s*(?=<tr id="audit-|</tbody>)', history, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def _post(client, url: str, **data: str):
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def test_the_history_names_who_did_what_for_every_role(signed_in, world):
    db = world.kb.db
    coordinator = signed_in("coordinator")
    item = f"/items/{world.item_id}"
    assert _post(coordinator, f"{item}/curation", status="accepted", next=item).status_code == 302
    assert _post(coordinator, "/curation/undo", next=item).status_code == 302
    assert _post(coordinator, f"{item}/curation", add_tag="right/privacy", next=item).status_code == 302
    system = systems_store.create_system(db, world.users["admin"], {"name": "Fraud Radar", "country": "nl"})
    systems_store.confirm_link(db, world.users["coordinator"], system.id, world.item_id)
    cases_store.link_item(db, world.users["coordinator"], world.case_id, world.item_id)
    for role in ("researcher", "coordinator", "admin"):
        rows = _rows(_history(signed_in(role).get(item).get_data(as_text=True)))
        assert len(rows) == 5, (role, rows)
        linked_case, linked_system, topic, undone, accepted = rows
        who = "Coordinator (coordinator@lab.example)"
        assert f"{who} Linked an article (Case file “Fraud scoring in " \
            "Rotterdam”)" in linked_case, linked_case
        assert f"{who} Confirmed an article (System “Fraud Radar”)" in linked_system, linked_system
        assert f"{who} Added a topic Topic Privacy" in topic, topic
        # The undo says what it put back; the decision says what it changed, not its undo key.
        assert f"{who} Undid a decision Field Before After Status Accepted New" in undone, undone
        assert f"{who} Changed the status Field Before After Status New Accepted" in accepted, accepted
        machine = ("set-status", "Undoes", "Decision", "Item id", "item_id", "Was")
        assert not any(key in " ".join(rows) for key in machine)


def test_filing_from_the_item_is_one_entry_not_two(signed_in, world):
    coordinator = signed_in("coordinator")
    item = f"/items/{world.item_id}"
    before = audit.count(world.kb.db)
    _post(coordinator, f"{item}/curation", case_id=str(world.case_id), next=item)
    # kb writes the item's "link-case" and the case file's "link-item" together: the page shows one.
    assert audit.count(world.kb.db) - before == 2
    [row] = _rows(_history(coordinator.get(item).get_data(as_text=True)))
    assert "Linked to a case file" in row and "“Fraud scoring in Rotterdam”" in row


def test_the_history_is_in_the_readers_language(signed_in, world):
    from kb import users as users_store

    coordinator = signed_in("coordinator")
    item = f"/items/{world.item_id}"
    _post(coordinator, f"{item}/curation", status="rejected", next=item)
    users_store.set_user_language(world.kb.db, world.users["researcher"].id, "fr")
    history = _history(signed_in("researcher").get(item).get_data(as_text=True))
    assert "<h2>Historique</h2>" in history and "<td>Statut</td>" not in history, history
    assert "<td>Statut modifié</td>" in history and '<th scope="row">Statut</th>' in history, history
    assert "<td>Nouveau</td><td>Rejeté</td>" in history, history
    assert "Changed the status" not in history and ">Status<" not in history


def test_a_contact_the_reader_may_not_see_is_never_named(app, world):
    """The rows of every history page go through one reading, which applies kb.contacts' rule."""
    db = world.kb.db
    admin = world.users["admin"]
    contacts_store.create_contact(db, admin, {"name": "Hidden Witness", "sensitivity": "restricted"},
                                           case_id=world.case_id)
    seen = contacts_store.create_contact(db, admin, {"name": "Open Expert"})
    entries = [e for e in audit.entries(db, entity="case", entity_id=world.case_id)
               if e.action == "link-contact"]
    entries += audit.entries(db, entity="contact", entity_id=seen.id)
    read = app.jinja_env.globals["readable_audit"]
    with app.test_request_context("/"):
        g.user = world.users["researcher"]
        as_researcher = " ".join(f"{r.record} {r.details_text()}" for r in read(entries))
        g.user = admin
        as_admin = " ".join(f"{r.record} {r.details_text()}" for r in read(entries))
    assert "Hidden Witness" not in as_researcher and "a restricted contact" in as_researcher
    assert "Open Expert" in as_researcher
    assert "Hidden Witness" in as_admin and "a restricted contact" not in as_admin


def test_case_contact_and_system_pages_use_the_same_rows(signed_in, world):
    db = world.kb.db
    admin = world.users["admin"]
    system = systems_store.create_system(db, admin, {"name": "Fraud Radar", "country": "nl"})
    systems_store.update_system(db, admin, system.id, {"name": "Fraud Radar 2"})
    contact = contacts_store.create_contact(db, admin, {"name": "Open Expert"})
    client = signed_in("admin")
    for url in (f"/systems/{system.id}", f"/cases/{world.case_id}", f"/contacts/{contact.id}"):
        history = _history(client.get(url).get_data(as_text=True))
        assert "Audit history" in history and '<table class="audit-log">' in history, url
        assert "Admin (admin@lab.example)" in history or "Coordinator (coordinator@lab.example)" in history
    history = _history(client.get(f"/systems/{system.id}").get_data(as_text=True))
    rows = _rows(history)
    assert "Changed Field Before After Name Fraud Radar Fraud Radar 2" in rows[0], rows
    assert "Created" in rows[1] and "update" not in history
    assert 'id="history"' not in signed_in("coordinator").get(f"/systems/{system.id}").get_data(as_text=True)

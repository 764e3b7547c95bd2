"""The case file pages: who may open and change what (researcher, case member, case lead, coordinators,
admin), every action through its route, the search within a case file, source exports, the item page's
"link to case" form, the dashboard's deadlines, case hits on the search page, CSRF and escaping."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from kb import cases as cases_store
from kb import items as items_store
from kb.knowledge import KnowledgeBase
from kb.storage import audit
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft
from tests.webui.conftest import World, csrf_token
from tests.webui.test_contacts_pages import (
    CLIENTS,
    COORDINATORS,
    IMG,
    JS_URL,
    PAYLOADS,
    SCRIPT,
    Team,
    assert_inert,
    client_for,
    index_private,
    make_app,
    make_team,
    post,
    text,
)

READERS = frozenset(CLIENTS) - {"anonymous"}
MANAGERS = COORDINATORS | {"lead"}
CONTRIBUTORS = MANAGERS | {"member"}


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def app(kb: KnowledgeBase) -> Flask:
    return make_app(kb)


@pytest.fixture
def case_world(world: World) -> Team:
    """The team of test_contacts_pages, and a deadline and a second item (not linked) to link."""
    team = make_team(world)
    db = team.world.kb.db
    admin = team.users["admin"]
    deadline = cases_store.add_deadline(db, admin, team.case_id, _today() + timedelta(days=3),
                                        "Reply to the ministry")
    spare = items_store.store_item(db, make_draft(title="Ministry publishes the risk model")).item_id
    cases_store.link_item(db, admin, team.case_id, team.world.item_id)
    team.world.kb.sync_index()
    team.ids.update(deadline=deadline.id, spare=spare)
    return team


# --- the access matrix ---------------------------------------------------------------------------------


class Route:
    def __init__(self, method: str, rule: str, path: str, allowed: frozenset[str],
                 data: dict[str, Any] | None = None) -> None:
        self.method, self.rule, self.path, self.allowed, self.data = method, rule, path, allowed, data or {}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


C = "/cases/{case}"
ROUTES = [
    Route("GET", "/cases", "/cases", READERS),
    Route("GET", "/cases", "/cases?status=closed&mine=1", READERS),
    Route("GET", "/cases/new", "/cases/new", COORDINATORS),
    Route("POST", "/cases/new", "/cases/new", COORDINATORS, {"title": "Triage chatbot", "lead_id": "{lead}"}),
    Route("GET", "/cases/<int:case_id>", C, READERS),
    Route("GET", "/cases/<int:case_id>/edit", C + "/edit", MANAGERS),
    Route("POST", "/cases/<int:case_id>/edit", C + "/edit", MANAGERS, {"summary": "Changed"}),
    Route("POST", "/cases/<int:case_id>/team", C + "/team", COORDINATORS,
          {"lead_id": "{lead}", "member_ids": "{member}"}),
    Route("POST", "/cases/<int:case_id>/close", C + "/close", MANAGERS),
    Route("POST", "/cases/<int:case_id>/reopen", C + "/reopen", MANAGERS),
    Route("POST", "/cases/<int:case_id>/notes", C + "/notes", CONTRIBUTORS, {"body": "Called the ministry"}),
    Route("POST", "/cases/<int:case_id>/deadlines", C + "/deadlines", MANAGERS,
          {"due": "2030-01-01", "what": "Appeal"}),
    Route("POST", "/cases/<int:case_id>/deadlines/<int:deadline_id>/done", C + "/deadlines/{deadline}/done",
          MANAGERS),
    Route("POST", "/cases/<int:case_id>/deadlines/<int:deadline_id>/delete",
          C + "/deadlines/{deadline}/delete", MANAGERS),
    Route("POST", "/cases/<int:case_id>/items", C + "/items", CONTRIBUTORS, {"item_id": "{spare}"}),
    Route("POST", "/cases/link-item", "/cases/link-item", CONTRIBUTORS,
          {"case_id": "{case}", "item_id": "{spare}"}),
    Route("POST", "/cases/<int:case_id>/items/<int:item_id>/unlink", C + "/items/{item}/unlink",
          CONTRIBUTORS),
    Route("POST", "/cases/<int:case_id>/contacts", C + "/contacts", COORDINATORS,
          {"contact_id": "{normal}", "role": "expert witness"}),
    Route("POST", "/cases/<int:case_id>/contacts/<int:contact_id>/unlink", C + "/contacts/{normal}/unlink",
          COORDINATORS),
    Route("GET", "/cases/<int:case_id>/search", C + "/search?q=council", READERS),
    Route("GET", "/cases/<int:case_id>/sources.csv", C + "/sources.csv", READERS),
    Route("GET", "/cases/<int:case_id>/sources.ris", C + "/sources.ris", READERS),
]


def _ids(world: Team) -> dict[str, Any]:
    return {"case": world.case_id, "item": world.world.item_id, "normal": world.normal_id,
            "lead": world.users["lead"].id, "member": world.users["member"].id, **world.ids}


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("who", CLIENTS)
def test_access_matrix(app, case_world, route, who):
    client = client_for(app, case_world, who)
    ids = _ids(case_world)
    path = route.path.format(**ids)
    if route.method == "GET":
        response = client.get(path)
    else:
        data = {k: v.format(**ids) for k, v in route.data.items()}
        response = post(client, path, data)
    if who == "anonymous":
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    elif who not in route.allowed:
        assert response.status_code == 403, text(response)[:500]
    else:
        assert response.status_code in (200, 302), text(response)[:800]
        if response.status_code == 302:
            assert not response.headers["Location"].startswith("/login")
        assert 'class="flash flash-error"' not in text(client.get(f"/cases/{case_world.case_id}"))


def test_every_cases_route_is_in_the_matrix(app):
    covered = {(r.method, r.rule) for r in ROUTES}
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("cases.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules and rules - covered == set()


def test_unknown_case_file_is_404(app, case_world):
    client = client_for(app, case_world, "admin")
    assert client.get("/cases/999").status_code == 404
    assert post(client, "/cases/999/notes", {"body": "x"}).status_code == 404
    assert client.get("/cases/999/sources.csv").status_code == 404
    huge = "9" * 25  # beyond SQLite's integers: not found, never a server error
    assert client.get(f"/cases/{huge}").status_code == 404
    assert post(client, f"/cases/{huge}/notes", {"body": "x"}).status_code == 404
    post(client, f"/cases/{case_world.case_id}/items", {"item_id": huge})
    assert "Give the item as a number." in text(client.get(f"/cases/{case_world.case_id}"))
    assert post(client, "/cases/link-item", {"case_id": huge, "item_id": "1"}).status_code == 400


def test_pages_offer_only_what_the_user_may_do(app, case_world):
    path = f"/cases/{case_world.case_id}"
    researcher = text(client_for(app, case_world, "researcher").get(path))
    assert "Fraud scoring in Rotterdam" in researcher
    unlink = f"/contacts/{case_world.normal_id}/unlink"
    for absent in ("/edit", "/close", 'name="body"', "/deadlines", 'id="link-item"', 'id="link-contact"',
                   unlink, "/contacts/new", "/team"):
        assert absent not in researcher, absent
    # Issue 16: researchers see the case file's contacts that are not restricted, and change none of them.
    assert 'id="contacts"' in researcher
    member = text(client_for(app, case_world, "member").get(path))
    assert 'name="body"' in member and 'id="link-item"' in member  # notes and items
    assert "/edit" not in member and "/close" not in member and 'id="contacts"' in member
    assert unlink not in member and "/contacts/new" not in member
    lead = text(client_for(app, case_world, "lead").get(path))
    assert "/edit" in lead and "/close" in lead and 'name="due"' in lead
    assert 'id="contacts"' in lead and "/team" not in lead  # a researcher lead sees the normal contacts
    assert f"/contacts/{case_world.normal_id}" in lead and f"/contacts/{case_world.restricted_id}" not in lead
    assert unlink not in lead and 'id="link-contact"' not in lead and "/contacts/new" not in lead
    coordinator = text(client_for(app, case_world, "coordinator").get(path))
    assert f"{path}/team" in coordinator and 'id="link-contact"' not in coordinator  # all linked already
    assert "Audit history" not in coordinator
    assert "New case file" not in text(client_for(app, case_world, "researcher").get("/cases"))
    assert "New case file" in text(client_for(app, case_world, "coordinator").get("/cases"))


# --- every action through its route --------------------------------------------------------------------


def test_create_a_case_file_with_its_team_and_see_every_field(app, case_world):
    db = case_world.world.kb.db
    client = client_for(app, case_world, "coordinator")
    form = text(client.get("/cases/new"))
    assert 'name="lead_id"' in form and 'name="member_ids"' in form
    fields = {"title": "Triage chatbot in Lisbon", "country": "Portugal", "sector": "health",
              "system_name": "SNS24 triage", "system_agency": "SNS", "system_vendor": "Acme Health",
              "legal_basis": "Decree 12/2020", "summary": "First paragraph.\n\nSecond paragraph.",
              "lead_id": str(case_world.users["teamcoord"].id),
              "member_ids": [str(case_world.users["member"].id), str(case_world.users["researcher"].id)]}
    created = post(client, "/cases/new", fields)
    assert created.status_code == 302
    case_id = int(created.headers["Location"].rsplit("/", 1)[1])
    case = cases_store.get_case(db, case_world.users["admin"], case_id)
    assert case.lead_id == case_world.users["teamcoord"].id
    assert set(case.member_ids) == {case_world.users["member"].id, case_world.users["researcher"].id}
    page = text(client.get(f"/cases/{case_id}"))
    for value in ("Triage chatbot in Lisbon", "Portugal", "health", "SNS24 triage", "Acme Health",
                  "Decree 12/2020", "<p>First paragraph.</p>", "<p>Second paragraph.</p>",
                  "Lead: Teamcoord.", "Researcher, Member"):
        assert value in page, value
    assert "Triage chatbot in Lisbon" in text(client.get("/cases"))


def test_invalid_case_form_comes_back_with_the_message(app, case_world):
    client = client_for(app, case_world, "coordinator")
    response = post(client, "/cases/new", {"title": "", "summary": "Kept summary"})
    assert response.status_code == 400
    assert "needs a title" in text(response) and "Kept summary" in text(response)
    response = post(client, f"/cases/{case_world.case_id}/edit", {"title": "x" * 301})
    assert response.status_code == 400 and "longer than 300" in text(response)


def test_edit_changes_only_the_fields_sent(app, case_world):
    db = case_world.world.kb.db
    cases_store.update_case(db, case_world.users["admin"], case_world.case_id, {"country": "Netherlands"})
    lead = client_for(app, case_world, "lead")
    assert 'value="Netherlands"' in text(lead.get(f"/cases/{case_world.case_id}/edit"))
    assert post(lead, f"/cases/{case_world.case_id}/edit", {"summary": "New summary"}).status_code == 302
    case = cases_store.get_case(db, case_world.users["admin"], case_world.case_id)
    assert (case.summary, case.country, case.title) == ("New summary", "Netherlands",
                                                        "Fraud scoring in Rotterdam")


def test_close_and_reopen_and_the_list_filter(app, case_world):
    client = client_for(app, case_world, "lead")
    path = f"/cases/{case_world.case_id}"
    post(client, path + "/close")
    assert 'id="case-status">Closed' in text(client.get(path))
    assert "Fraud scoring in Rotterdam" not in text(client.get("/cases"))
    assert "Fraud scoring in Rotterdam" in text(client.get("/cases?status=closed"))
    assert "Fraud scoring in Rotterdam" in text(client.get("/cases?status=all"))
    post(client, path + "/reopen")
    assert 'id="case-status">Open' in text(client.get(path))
    assert client.get("/cases?status=deleted").status_code == 400
    mine = text(client_for(app, case_world, "researcher").get("/cases?mine=1"))
    assert "Fraud scoring in Rotterdam" not in mine


def test_team_change(app, case_world):
    db = case_world.world.kb.db
    client = client_for(app, case_world, "coordinator")
    researcher = case_world.users["researcher"]
    response = post(client, f"/cases/{case_world.case_id}/team",
                    {"lead_id": str(researcher.id), "member_ids": [str(case_world.users["teamcoord"].id)]})
    assert response.status_code == 302
    case = cases_store.get_case(db, case_world.users["admin"], case_world.case_id)
    assert case.lead_id == researcher.id and case.member_ids == (case_world.users["teamcoord"].id,)
    assert post(client, f"/cases/{case_world.case_id}/team", {"lead_id": "999"}).status_code == 400


def test_notes_timeline(app, case_world):
    member = client_for(app, case_world, "member")
    path = f"/cases/{case_world.case_id}"
    post(member, path + "/notes", {"body": "Called the ministry.\n\nThey will answer on Friday."})
    page = text(member.get(path))
    timeline = re.search(r'<section id="notes">.*?</section>', page, re.S).group(0)
    assert "member@lab.example" in timeline
    assert "<p>Called the ministry.</p>" in timeline and "<p>They will answer on Friday.</p>" in timeline
    refused = post(member, path + "/notes", {"body": "   "})
    assert refused.status_code == 302
    assert "The note is empty." in text(member.get(path))
    assert len(cases_store.case_notes(case_world.world.kb.db, case_world.users["admin"],
                                      case_world.case_id)) == 1


def test_deadlines_add_done_undo_and_remove(app, case_world):
    db = case_world.world.kb.db
    admin = case_world.users["admin"]
    lead = client_for(app, case_world, "lead")
    path = f"/cases/{case_world.case_id}"
    post(lead, path + "/deadlines", {"due": "2030-05-01", "what": "File the appeal"})
    deadlines = cases_store.case_deadlines(db, admin, case_world.case_id)
    assert [(d.due, d.what) for d in deadlines][-1] == ("2030-05-01", "File the appeal")
    post(lead, path + "/deadlines", {"due": "01/05/2030", "what": "Bad date"})
    assert "Bad due date" in text(lead.get(path))
    deadline_id = case_world.ids["deadline"]
    post(lead, f"{path}/deadlines/{deadline_id}/done", {"done": "1"})
    assert next(d for d in cases_store.case_deadlines(db, admin, case_world.case_id)
                if d.id == deadline_id).done
    assert "Not done" in text(lead.get(path))
    post(lead, f"{path}/deadlines/{deadline_id}/done", {"done": "0"})
    assert not next(d for d in cases_store.case_deadlines(db, admin, case_world.case_id)
                    if d.id == deadline_id).done
    post(lead, f"{path}/deadlines/{deadline_id}/delete")
    assert deadline_id not in [d.id for d in cases_store.case_deadlines(db, admin, case_world.case_id)]


def test_a_deadline_is_changed_through_its_own_case_only(app, case_world):
    client = client_for(app, case_world, "admin")
    other = f"/cases/{case_world.other_case_id}/deadlines/{case_world.ids['deadline']}/done"
    assert post(client, other).status_code == 404
    # Nor can its lead remove it through the page of a case file they do not manage.
    lead = client_for(app, case_world, "lead")
    assert post(lead, f"/cases/{case_world.other_case_id}/deadlines/{case_world.ids['deadline']}/delete"
                ).status_code == 404
    deadlines = cases_store.case_deadlines(case_world.world.kb.db, case_world.users["admin"],
                                           case_world.case_id)
    assert [d.id for d in deadlines] == [case_world.ids["deadline"]]


def test_link_and_unlink_items_and_see_their_tags(app, case_world):
    db = case_world.world.kb.db
    admin = case_world.users["admin"]
    member = client_for(app, case_world, "member")
    path = f"/cases/{case_world.case_id}"
    spare = case_world.ids["spare"]
    assert post(member, path + "/items", {"item_id": f"#{spare}"}).status_code == 302
    assert cases_store.case_item_ids(db, admin, case_world.case_id) == [case_world.world.item_id, spare]
    page = text(member.get(path))
    items = re.search(r'<section id="items">.*?</section>', page, re.S).group(0)
    assert f'href="/items/{spare}"' in items and "Ministry publishes the risk model" in items
    assert 'class="badge badge-sector">Welfare' in items  # the item's tags
    post(member, path + "/items", {"item_id": "999"})
    assert "Item 999 does not exist." in text(member.get(path))
    post(member, path + "/items", {"item_id": "abc"})
    assert "Give the item as a number." in text(member.get(path))
    post(member, path + "/items", {"item_id": str(spare)})
    assert "already filed" in text(member.get(path))
    assert post(member, f"{path}/items/{spare}/unlink").status_code == 302
    assert cases_store.case_item_ids(db, admin, case_world.case_id) == [case_world.world.item_id]


def test_link_an_item_from_its_page(app, case_world):
    spare = case_world.ids["spare"]
    member = client_for(app, case_world, "member")
    page = text(member.get(f"/items/{spare}"))
    form = re.search(r'<form[^>]*id="link-to-case".*?</form>', page, re.S).group(0)
    assert f'<option value="{case_world.case_id}">Fraud scoring in Rotterdam</option>' in form
    assert "Exam grading in Lisbon" not in form  # not on that team
    response = post(member, "/cases/link-item", {"case_id": str(case_world.case_id), "item_id": str(spare),
                                                 "next": f"/items/{spare}#cases"})
    assert response.status_code == 302 and response.headers["Location"] == f"/items/{spare}#cases"
    page = text(member.get(f"/items/{spare}"))
    cases = re.search(r'<section id="cases">.*?</section>', page, re.S).group(0)
    assert f'<a href="/cases/{case_world.case_id}">Fraud scoring in Rotterdam</a>' in cases
    assert 'id="link-to-case"' not in cases  # no other case file this member may file under
    # Others are not offered the form, and a next address off the site is ignored.
    assert 'id="link-to-case"' not in text(client_for(app, case_world, "researcher").get(f"/items/{spare}"))
    admin = client_for(app, case_world, "admin")
    away = post(admin, "/cases/link-item", {"case_id": str(case_world.other_case_id), "item_id": str(spare),
                                            "next": "https://evil.example/"})
    assert away.headers["Location"] == f"/items/{spare}#cases"


def test_link_a_contact_with_a_role_and_unlink_it(app, case_world):
    db = case_world.world.kb.db
    admin = case_world.users["admin"]
    client = client_for(app, case_world, "coordinator")
    other = f"/cases/{case_world.other_case_id}"
    picker = re.search(r'<form[^>]*id="link-contact".*?</form>', text(client.get(other)), re.S).group(0)
    assert f'<option value="{case_world.normal_id}">Amina Haddad' in picker
    assert post(client, other + "/contacts", {"contact_id": str(case_world.normal_id),
                                              "role": "expert witness"}).status_code == 302
    linked = cases_store.case_contacts(db, admin, case_world.other_case_id)
    assert [(c.contact.id, c.role) for c in linked] == [(case_world.normal_id, "expert witness")]
    contacts = re.search(r'<section id="contacts">.*?</section>', text(client.get(other)), re.S).group(0)
    assert "Amina Haddad" in contacts and "expert witness" in contacts
    assert f'href="/contacts/{case_world.normal_id}"' in contacts
    assert post(client, f"{other}/contacts/{case_world.normal_id}/unlink").status_code == 302
    assert cases_store.case_contacts(db, admin, case_world.other_case_id) == []


def test_search_within_the_case_file(app, case_world):
    kb = case_world.world.kb
    other = items_store.store_item(kb.db, make_draft(title="Council algorithm elsewhere")).item_id
    kb.sync_index()
    client = client_for(app, case_world, "researcher")
    page = text(client.get(f"/cases/{case_world.case_id}/search?q=council"))
    assert f'href="/items/{case_world.world.item_id}"' in page
    assert f'href="/items/{other}"' not in page and "<mark>" in page
    assert f'href="/items/{other}"' in text(client.get("/?q=council"))  # found outside the case file
    everything = text(client.get(f"/cases/{case_world.case_id}/search"))
    assert "<strong>1</strong> result in this case file" in everything
    assert "<strong>0</strong>" in text(client.get(f"/cases/{case_world.other_case_id}/search?q=council"))


def test_source_exports(app, case_world):
    client = client_for(app, case_world, "researcher")
    item = items_store.get_item(case_world.world.kb.db, case_world.world.item_id)
    response = client.get(f"/cases/{case_world.case_id}/sources.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="case-{case_world.case_id}-sources.csv"'
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert [(r["id"], r["title"], r["url"]) for r in rows] == [(str(item.id), item.title, item.url)]
    ris = client.get(f"/cases/{case_world.case_id}/sources.ris")
    assert ris.headers["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert ris.headers["Content-Disposition"] == \
        f'attachment; filename="case-{case_world.case_id}-sources.ris"'
    body = text(ris)
    assert body.startswith("TY  - NEWS\r\n") and f"TI  - {item.title}\r\n" in body and "ER  - " in body


def test_admin_sees_the_audit_history(app, case_world):
    post(client_for(app, case_world, "lead"), f"/cases/{case_world.case_id}/edit", {"summary": "Audited"})
    page = text(client_for(app, case_world, "admin").get(f"/cases/{case_world.case_id}"))
    history = re.search(r'<section id="history".*?</section>', page, re.S).group(0)
    # Readable: actions in words, the item's title instead of its id, the change as before and after.
    assert "lead@lab.example" in history and ">Changed<" in history and ">Linked an article<" in history
    assert re.search(r"<th scope=\"row\">Summary</th><td>[^<]*</td><td>Audited</td>", history), history
    for who in ("lead", "coordinator", "teamcoord"):
        page = text(client_for(app, case_world, who).get(f"/cases/{case_world.case_id}"))
        assert 'id="history"' not in page


def test_dashboard_lists_upcoming_deadlines(app, case_world):
    db = case_world.world.kb.db
    admin = case_world.users["admin"]
    cases_store.add_deadline(db, admin, case_world.case_id, _today() - timedelta(days=2), "Overdue reply")
    cases_store.add_deadline(db, admin, case_world.case_id, _today() + timedelta(days=60), "Far away")
    done = cases_store.add_deadline(db, admin, case_world.case_id, _today(), "Already done")
    cases_store.set_deadline_done(db, admin, done.id)
    cases_store.add_deadline(db, admin, case_world.other_case_id, _today(), "In a closed case")
    cases_store.close_case(db, admin, case_world.other_case_id)
    page = text(client_for(app, case_world, "coordinator").get("/dashboard"))
    panel = re.search(r'<section id="deadlines">.*?</section>', page, re.S).group(0)
    assert "Reply to the ministry" in panel and "Overdue reply" in panel and "(overdue)" in panel
    assert f'href="/cases/{case_world.case_id}#deadlines">Fraud scoring in Rotterdam</a>' in panel
    for absent in ("Far away", "Already done", "In a closed case"):
        assert absent not in panel
    assert panel.index("Overdue reply") < panel.index("Reply to the ministry")


def test_case_hits_on_the_search_page(app, case_world):
    index_private(case_world.world.kb)
    for who in ("researcher", "coordinator"):
        page = text(client_for(app, case_world, who).get("/?q=Rotterdam"))
        assert f'<a href="/cases/{case_world.case_id}">Fraud scoring in Rotterdam</a>' in page
        assert 'class="badge badge-kind">Case file<' in page
    api = client_for(app, case_world, "researcher").get("/api/v1/search?q=Rotterdam&kind=case")
    assert [(h["kind"], h["id"]) for h in api.json["results"]] == [("case", case_world.case_id)]


# --- CSRF and escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/cases/new", "/cases/{case}/edit", "/cases/{case}/team", "/cases/{case}/close", "/cases/{case}/notes",
    "/cases/{case}/deadlines", "/cases/{case}/deadlines/{deadline}/done", "/cases/{case}/items",
    "/cases/link-item", "/cases/{case}/items/{item}/unlink", "/cases/{case}/contacts",
    "/cases/{case}/contacts/{normal}/unlink"])
def test_posts_without_the_csrf_token_are_refused(app, case_world, path):
    db = case_world.world.kb.db
    before = len(audit.entries(db, limit=10_000))
    client = client_for(app, case_world, "admin")
    data = {"title": "Forged", "summary": "Forged", "body": "Forged", "due": "2030-01-01", "what": "Forged",
            "item_id": str(case_world.ids["spare"]), "case_id": str(case_world.case_id),
            "contact_id": str(case_world.normal_id)}
    response = client.post(path.format(**_ids(case_world)), data=data)
    assert response.status_code == 400 and "CSRF" in text(response)
    assert len(audit.entries(db, limit=10_000)) == before


@pytest.fixture
def hostile_case(case_world: Team) -> Team:
    """A payload in every free-text field of a case file, a note, a deadline and a contact role."""
    db = case_world.world.kb.db
    admin = case_world.users["admin"]
    payload = " ".join(PAYLOADS)
    fields = {name: f"{name} {payload}" for name in cases_store.FIELDS}
    cases_store.update_case(db, admin, case_world.case_id, fields)
    cases_store.add_note(db, admin, case_world.case_id, f"Note {payload}\n\n{IMG}")
    cases_store.add_deadline(db, admin, case_world.case_id, _today(), f"Deadline {payload}")
    cases_store.link_contact(db, admin, case_world.case_id, case_world.normal_id, f"Role {payload}")
    hostile_item = items_store.store_item(db, make_draft(
        title=f"Item {SCRIPT}", topics=(TopicEvidence("sector/welfare", ("benefit",)),))).item_id
    cases_store.link_item(db, admin, case_world.case_id, hostile_item)
    index_private(case_world.world.kb)
    case_world.ids["hostile_item"] = hostile_item
    return case_world


HOSTILE_PAGES = ["/cases", "/cases?status=all", "/cases/{case}", "/cases/{case}/edit",
                 "/cases/{case}/search?q=item", "/cases/{case}/search?q=" + SCRIPT, "/items/{item}",
                 "/items/{spare}", "/contacts/{normal}", "/dashboard", "/?q=title", "/?q=Deadline",
                 "/?case={case}", "/contacts/new"]


NOT_FOR_RESEARCHERS = ("/dashboard", "/contacts/{normal}", "/contacts/new", "/cases/{case}/edit")


@pytest.mark.parametrize("who, path", [("admin", path) for path in HOSTILE_PAGES] +
                         [("member", path) for path in HOSTILE_PAGES if path not in NOT_FOR_RESEARCHERS])
def test_hostile_case_text_is_escaped_on_every_page(app, hostile_case, who, path):
    response = client_for(app, hostile_case, who).get(path.format(**_ids(hostile_case)))
    assert response.status_code == 200
    assert_inert(text(response))


def test_hostile_case_text_is_shown_escaped_not_dropped(app, hostile_case):
    client = client_for(app, hostile_case, "admin")
    page = text(client.get(f"/cases/{hostile_case.case_id}"))
    escaped = ("&lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(1)&gt; "
               "javascript:alert(1)")
    for name in ("title", "summary", "system_name", "system_agency", "system_vendor", "legal_basis",
                 "country", "sector"):
        assert f"{name} {escaped}" in page, name
    assert f"Note {escaped}" in page and f"Deadline {escaped}" in page and f"Role {escaped}" in page
    assert "Item &lt;script&gt;" in page
    edit = text(client.get(f"/cases/{hostile_case.case_id}/edit"))
    assert f'value="title {escaped}"' in edit
    assert f"summary {escaped}</textarea>" in edit
    dashboard = text(client.get("/dashboard"))
    assert f"Deadline {escaped}" in dashboard and f"title {escaped}</a>" in dashboard
    item_page = text(client.get(f"/items/{hostile_case.ids['spare']}"))
    assert f">title {escaped}</option>" in item_page  # the link-to-case choices
    search = text(client.get("/?q=title"))
    assert f'<a href="/cases/{hostile_case.case_id}">title {escaped}</a>' in search


def test_a_link_to_case_with_a_hostile_next_is_ignored(app, case_world):
    member = client_for(app, case_world, "member")
    spare = case_world.ids["spare"]
    for target in (JS_URL, "//evil.example/x", "https://evil.example/"):
        response = post(member, f"/cases/{case_world.case_id}/items", {"item_id": str(spare), "next": target})
        assert response.headers["Location"] == f"/cases/{case_world.case_id}#items"


def test_a_json_post_without_a_token_is_refused(app, case_world):
    """A cross-site script cannot post JSON to a case page instead of a form."""
    client = client_for(app, case_world, "coordinator")
    assert csrf_token(client)
    response = client.post(f"/cases/{case_world.case_id}/notes", json={"body": "x"})
    assert response.status_code == 400


def test_pages_carry_no_inline_script_style_or_event_handlers(app, case_world):
    client = client_for(app, case_world, "admin")
    paths = ("/cases", "/cases/new", f"/cases/{case_world.case_id}", f"/cases/{case_world.case_id}/edit",
             f"/cases/{case_world.case_id}/search?q=council", "/contacts", "/contacts/new",
             f"/contacts/{case_world.restricted_id}", f"/contacts/{case_world.restricted_id}/edit",
             f"/contacts/{case_world.normal_id}/delete", "/contacts/import", "/dashboard",
             f"/items/{case_world.ids['spare']}")
    for path in paths:
        page = text(client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"\son[a-z]+\s*=", page), path
        assert not re.search(r"\sstyle\s*=", page), path

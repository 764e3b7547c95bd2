"""The register's pages: who may read and change what, contacts under their rules, CSRF, the forms' inline
errors keeping what was typed, confirming and rejecting suggestions (system page and item page), "maybe a
new system" with its one-click draft, the JSON API's shapes, the country pages and the links to them,
readable labels and escaping.

The `register` fixture adds to the team of test_contacts_pages (roles, a case team, a normal and a restricted
contact) a Dutch welfare system with aliases, items that name it (stored through kb.items.store_item, so
the monitoring's suggestions are real), a dated status step backed by an item, a linked case file with a
deadline and both contacts."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask

from kb import cases as cases_store
from kb import curation
from kb import items as items_store
from kb import systems as systems_store
from kb.knowledge import KnowledgeBase
from kb.storage import audit
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft
from tests.webui.conftest import World
from tests.webui.test_contacts_pages import (
    IMG,
    JS_URL,
    NORMAL,
    RESTRICTED,
    SCRIPT,
    Team,
    assert_inert,
    client_for,
    make_app,
    make_team,
    post,
    text,
)

SIGNED_IN = ("researcher", "member", "coordinator", "teamcoord", "admin")
EDITORS = frozenset({"coordinator", "teamcoord", "admin"})
NL = (TopicEvidence("country/nl", ("Netherlands",)), TopicEvidence("sector/welfare", ("benefit",)),
      TopicEvidence("system/risk-scoring", ("risk score",)))


@dataclass
class Register:
    team: Team
    system_id: int
    suggested: int  # an item the matcher linked to the system (state "suggested")
    confirmed: int  # an item confirmed by a person, the evidence of the status step
    accepted: int  # confirmed too, and accepted in the curation queue
    other_system: int  # a French system, no links
    deadline: int


@pytest.fixture
def app(kb: KnowledgeBase) -> Flask:
    return make_app(kb)


def _published(months_ago: int) -> datetime:
    today = datetime.now(UTC)
    year, month = today.year, today.month - months_ago
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def register(world: World) -> Register:
    team = make_team(world)
    db = world.kb.db
    admin = team.users["admin"]
    system = systems_store.create_system(db, admin, {
        "name": "SyRI", "aliases": ["Systeem Risico Indicatie"], "country": "NL", "sector": "welfare",
        "kind": "risk-scoring", "organisation": "Ministry of Social Affairs", "level": "national",
        "rights": ["privacy"], "description": "Links data of residents to flag fraud risks."})
    other = systems_store.create_system(db, admin, {"name": "Grading Model Lycee", "country": "fr",
                                                    "sector": "education"})
    suggested = items_store.store_item(db, make_draft(
        title="Court hears the case against SyRI", language="nl", topics=NL, published=_published(0),
        text="De rechtbank oordeelt over Systeem Risico Indicatie, het systeem voor fraudeopsporing.",
    )).item_id
    confirmed = items_store.store_item(db, make_draft(
        title="Ministry starts the risk model", topics=NL, published=_published(2),
        text="The ministry starts using SyRI to score neighbourhoods.")).item_id
    accepted = items_store.store_item(db, make_draft(
        title="Judges rule the welfare risk model unlawful", topics=NL, published=_published(1),
        text="Judges in The Hague ruled that SyRI breached the right to privacy.")).item_id
    for item_id in (confirmed, accepted):
        systems_store.confirm_link(db, admin, system.id, item_id)
    curation.set_status(db, accepted, "accepted", admin.id)
    systems_store.add_status(db, admin, system.id, "in use", "2014-09", note="Law in force",
                             item_ids=[confirmed])
    systems_store.link_case(db, admin, system.id, world.case_id)
    systems_store.link_contact(db, admin, system.id, team.normal_id, "lawyer")
    systems_store.link_contact(db, admin, system.id, team.restricted_id, "claimant")
    deadline = cases_store.add_deadline(db, admin, world.case_id, date.today() + timedelta(days=5),
                                        "Appeal brief due")
    world.kb.sync_index()
    return Register(team, system.id, suggested, confirmed, accepted, other.id, deadline.id)


def _client(app: Flask, reg: Register, who: str):
    return client_for(app, reg.team, who)


def _state(reg: Register, item_id: int) -> str | None:
    links = systems_store.links_for_items(reg.team.world.kb.db, [item_id]).get(item_id, [])
    return next((link.state for link in links if link.system_id == reg.system_id), None)


def _count_systems(reg: Register) -> int:
    return len(systems_store.list_systems(reg.team.world.kb.db, reg.team.users["admin"]))


# --- access --------------------------------------------------------------------------------------------


READ_PATHS = ("/systems", "/systems?country=nl&status=in+use&q=syri", "/systems/{id}", "/systems/candidates",
              "/countries", "/countries/nl")
EDIT_PAGES = ("/systems/new", "/systems/{id}/edit")


@pytest.mark.parametrize("path", READ_PATHS)
def test_every_signed_in_user_reads_and_anonymous_is_sent_to_sign_in(app: Flask, register: Register,
                                                                      path: str):
    path = path.format(id=register.system_id)
    response = _client(app, register, "anonymous").get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for who in SIGNED_IN:
        assert _client(app, register, who).get(path).status_code == 200, (who, path)


@pytest.mark.parametrize("path", EDIT_PAGES)
def test_only_coordinators_and_admins_open_the_forms(app: Flask, register: Register, path: str):
    path = path.format(id=register.system_id)
    for who in SIGNED_IN:
        assert _client(app, register, who).get(path).status_code == (200 if who in EDITORS else 403), who


def test_a_researcher_may_change_nothing(app: Flask, register: Register):
    client = _client(app, register, "researcher")
    sid, item = register.system_id, register.suggested
    posts = [
        ("/systems/new", {"name": "Researcher System"}),
        (f"/systems/{sid}/edit", {"name": "Renamed"}),
        (f"/systems/{sid}/status", {"status": "suspended", "date": "2020"}),
        (f"/systems/{sid}/items/{item}/confirm", {}),
        (f"/systems/{sid}/items/{item}/reject", {}),
        (f"/systems/{sid}/items", {"item_id": str(register.accepted)}),
        (f"/systems/{sid}/cases", {"case_id": str(register.team.other_case_id)}),
        ("/systems/draft", {"item_id": str(item)}),
    ]
    for path, data in posts:
        assert post(client, path, data).status_code == 403, path
    assert _state(register, item) == "suggested"
    assert _count_systems(register) == 2
    page = text(client.get(f"/systems/{sid}"))
    assert "/confirm" not in page and "/reject" not in page
    assert 'id="status-form"' not in page and ">Edit<" not in page


def test_reading_pages_show_no_edit_controls_but_editors_get_them(app: Flask, register: Register):
    page = text(_client(app, register, "coordinator").get(f"/systems/{register.system_id}"))
    assert 'id="status-form"' in page and "/edit" in page
    assert f'/systems/{register.system_id}/items/{register.suggested}/confirm' in page


# --- contacts under their rules ------------------------------------------------------------------------


@pytest.mark.parametrize("who,sees_restricted", [("researcher", False), ("member", False),
                                                  ("coordinator", False), ("teamcoord", True),
                                                  ("admin", True)])
def test_contacts_of_a_system_follow_the_contacts_rules(app: Flask, register: Register, who: str,
                                                        sees_restricted: bool):
    page = text(_client(app, register, who).get(f"/systems/{register.system_id}"))
    assert NORMAL["name"] in page
    assert (RESTRICTED["name"] in page) is sees_restricted
    assert (RESTRICTED["organisation"] in page) is sees_restricted


# --- CSRF ----------------------------------------------------------------------------------------------


def test_every_form_needs_the_csrf_token(app: Flask, register: Register):
    client = _client(app, register, "admin")
    sid = register.system_id
    for path, data in [("/systems/new", {"name": "No Token System"}),
                       (f"/systems/{sid}/edit", {"name": "No Token"}),
                       (f"/systems/{sid}/status", {"status": "ended", "date": "2020"}),
                       (f"/systems/{sid}/items/{register.suggested}/confirm", {}),
                       ("/systems/draft", {"item_id": str(register.suggested)})]:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "CSRF" in text(response)
    assert _state(register, register.suggested) == "suggested"
    assert _count_systems(register) == 2
    assert len(systems_store.timeline(register.team.world.kb.db, register.team.users["admin"], sid)) == 1


# --- forms: inline errors, typed values kept, nothing written ------------------------------------------


FORM = {"name": "Robodebt Checker", "aliases": "Online Compliance Intervention\nOCI scheme",
        "country": "country/au", "level": "national", "organisation": "Services Australia",
        "external_supplier": "In-house team", "sector": "country/x", "kind": "system/risk-scoring",
        "description": "Income averaging to raise debts.", "decision": "Debt notices",
        "legal_basis": "Social Security Act", "register_url": "https://register.example.org/robodebt",
        "impact_assessment": "not published", "source_disclosed": "no", "notes": "Royal commission 2023",
        "rights": ["right/due-process", "right/exclusion"]}


def _field_error(page: str, field: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', page)
    assert match, f"no error next to {field}"
    return html.unescape(match.group(1))


def _assert_kept(page: str, form: dict[str, object], skip: str) -> None:
    """Every field shows what was typed (but the one whose mistake is shown)."""
    for name in ("name", "organisation", "external_supplier", "register_url"):
        if name != skip:
            assert f'value="{html.escape(str(form[name]))}"' in page, name
    for name in ("description", "decision", "legal_basis", "notes"):
        assert f">{html.escape(str(form[name]))}</textarea>" in page, name
    assert "Online Compliance Intervention\nOCI scheme</textarea>" in page or skip == "aliases"
    assert re.search(r'value="country/au" selected', page)
    assert re.search(r'value="right/due-process" checked', page)
    assert re.search(r'value="right/exclusion" checked', page)
    assert re.search(r'value="not published" selected', page)


@pytest.mark.parametrize("change,field,words", [
    ({"aliases": "Online Compliance Intervention\nOC"}, "aliases", "too short"),
    ({"aliases": "Online Compliance Intervention\ncard"}, "aliases", "common word"),
    ({"name": "syri"}, "name", "already a name or alias of the system 'syri'"),
    ({"aliases": "Systeem Risico Indicatie"}, "aliases", "already a name or alias"),
    ({"register_url": JS_URL}, "register_url", "not an http(s) address"),
    ({"sector": "sector/transport"}, "sector", "unknown sector"),
])
def test_a_bad_system_form_says_what_is_wrong_next_to_the_field_and_keeps_what_was_typed(
        app: Flask, register: Register, change: dict[str, str], field: str, words: str):
    client = _client(app, register, "coordinator")
    form = {**FORM, "sector": "sector/welfare", **change}
    response = post(client, "/systems/new", form)
    assert response.status_code == 400
    page = text(response)
    assert words in _field_error(page, field).lower()
    assert f'aria-describedby="{field}-error"' in page or f"{field}-error\"" in page
    _assert_kept(page, form, field)
    assert_inert(page)
    assert _count_systems(register) == 2


def test_a_good_system_form_creates_it_and_the_log_says_who(app: Flask, register: Register):
    client = _client(app, register, "coordinator")
    response = post(client, "/systems/new", {**FORM, "sector": "sector/welfare"})
    assert response.status_code == 302
    system_id = int(response.headers["Location"].rsplit("/", 1)[1])
    system = systems_store.get_system(register.team.world.kb.db, register.team.users["admin"], system_id)
    assert system.aliases == ("Online Compliance Intervention", "OCI scheme")
    assert system.country == "country/au" and system.rights == ("right/due-process", "right/exclusion")
    entries = audit.entries(register.team.world.kb.db, entity="system", entity_id=system_id)
    assert [e.action for e in entries] == ["create"]
    assert entries[0].user_id == register.team.users["coordinator"].id
    page = text(client.get(f"/systems/{system_id}"))
    assert "Australia" in page and "Due process" in page.replace("due process", "Due process")


def test_editing_keeps_what_was_typed_on_a_duplicate_name_and_saves_otherwise(app: Flask, register: Register):
    client = _client(app, register, "admin")
    sid = register.other_system
    response = post(client, f"/systems/{sid}/edit", {**FORM, "name": "Systeem Risico Indicatie",
                                                     "sector": "sector/education"})
    assert response.status_code == 400
    page = text(response)
    assert "already a name or alias" in _field_error(page, "name")
    assert 'value="Systeem Risico Indicatie"' in page
    db, admin = register.team.world.kb.db, register.team.users["admin"]
    assert systems_store.get_system(db, admin, sid).name == "Grading Model Lycee"
    response = post(client, f"/systems/{sid}/edit", {**FORM, "name": "Grading Model Lycée",
                                                     "sector": "sector/education", "draft": "1"})
    assert response.status_code == 302
    saved = systems_store.get_system(db, admin, sid)
    assert saved.name == "Grading Model Lycée" and saved.draft and saved.external_supplier == "In-house team"


@pytest.mark.parametrize("form,field,words", [
    ({"status": "suspended", "date": "2999-01-01", "note": "Planned stop"}, "date", "in the future"),
    ({"status": "suspended", "date": "01/02/2020", "note": "Typed badly"}, "date", "bad date"),
    ({"status": "paused", "date": "2020", "note": "Odd status"}, "status", "must be one of"),
    ({"status": "suspended", "date": "2020", "note": "Missing item", "other_items": "999999"}, "item_ids",
     "does not exist"),
    ({"status": "suspended", "date": "2020", "note": "Not a number", "other_items": "twelve"}, "item_ids",
     "whole numbers"),
])
def test_a_bad_status_step_is_refused_next_to_its_field_with_the_note_kept(app: Flask, register: Register,
                                                                           form: dict[str, str], field: str,
                                                                           words: str):
    client = _client(app, register, "coordinator")
    response = post(client, f"/systems/{register.system_id}/status", form)
    assert response.status_code == 400
    page = text(response)
    assert words in _field_error(page, field).lower()
    assert f">{form['note']}</textarea>" in page
    assert f'value="{form["date"]}"' in page
    db, admin = register.team.world.kb.db, register.team.users["admin"]
    assert len(systems_store.timeline(db, admin, register.system_id)) == 1


def test_a_status_step_with_its_sources_joins_the_timeline_in_date_order(app: Flask, register: Register):
    client = _client(app, register, "coordinator")
    response = post(client, f"/systems/{register.system_id}/status",
                    {"status": "ruled unlawful", "date": "2020-02-05", "note": "District court of The Hague",
                     "item_ids": str(register.accepted), "other_items": f"#{register.suggested}"})
    assert response.status_code == 302
    post(client, f"/systems/{register.system_id}/status", {"status": "announced", "date": "2013"})
    page = text(client.get(f"/systems/{register.system_id}"))
    timeline = page[page.index('id="timeline"'):page.index('id="status-form"')]
    assert [m for m in re.findall(r"<time>([^<]+)</time>", timeline)] == ["2013", "2014-09", "2020-02-05"]
    last = timeline[timeline.index("2020-02-05"):]
    assert "Judges rule the welfare risk model unlawful" in last
    assert "Court hears the case against SyRI" in last
    assert "Ruled unlawful" in page[:page.index('id="record"')]  # the current status, in the heading


# --- suggestions ---------------------------------------------------------------------------------------


def test_confirming_a_suggestion_on_the_system_page_moves_it_to_the_confirmed_items(app: Flask,
                                                                                   register: Register):
    client = _client(app, register, "coordinator")
    sid = register.system_id
    page = text(client.get(f"/systems/{sid}"))
    suggested = page[page.index('id="suggested"'):page.index('id="confirmed"')]
    assert "Court hears the case against SyRI" in suggested and "Systeem Risico Indicatie" in suggested
    response = post(client, f"/systems/{sid}/items/{register.suggested}/confirm",
                    {"next": f"/systems/{sid}#suggested"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/systems/{sid}#suggested")
    assert _state(register, register.suggested) == "confirmed"
    page = text(client.get(f"/systems/{sid}"))
    confirmed = page[page.index('id="confirmed"'):page.index('id="cases"')]
    assert "Court hears the case against SyRI" in confirmed
    actions = [e.action for e in audit.entries(register.team.world.kb.db, entity="system", entity_id=sid)]
    assert "confirm-item" in actions


def test_rejecting_from_the_item_page_and_the_next_address_stays_on_this_site(app: Flask, register: Register):
    client = _client(app, register, "admin")
    sid, item = register.system_id, register.suggested
    response = post(client, f"/systems/{sid}/items/{item}/reject", {"next": "https://evil.example/x"})
    assert response.headers["Location"].endswith(f"/systems/{sid}#suggested")
    assert _state(register, item) == "rejected"
    systems_store.rematch(register.team.world.kb.db, [item])
    assert _state(register, item) == "rejected"
    page = text(client.get(f"/items/{item}"))
    assert 'data-state="rejected"' not in page


def test_the_item_page_lists_its_systems_with_their_state_and_buttons_for_editors(app: Flask,
                                                                                 register: Register):
    item = register.suggested
    page = text(_client(app, register, "coordinator").get(f"/items/{item}"))
    section = page[page.index('<section id="systems">'):]
    section = section[:section.index("</section>")]
    assert f'data-system="{register.system_id}" data-state="suggested"' in section
    assert "Suggested" in section and "found: Systeem Risico Indicatie" in section
    assert f"/systems/{register.system_id}/items/{item}/confirm" in section
    page = text(_client(app, register, "researcher").get(f"/items/{register.confirmed}"))
    section = page[page.index('<section id="systems">'):]
    section = section[:section.index("</section>")]
    assert 'data-state="confirmed"' in section and "Confirmed" in section
    assert "/confirm" not in section and "/reject" not in section


def test_an_item_page_links_its_country_tag_to_the_country_page(app: Flask, register: Register):
    page = text(_client(app, register, "researcher").get(f"/items/{register.confirmed}"))
    assert '<a href="/countries/nl">Netherlands</a>' in page


def test_the_search_pages_country_facet_links_to_the_country_page(app: Flask, register: Register):
    page = text(_client(app, register, "researcher").get("/?q=risk"))
    facet = page[page.index('data-facet="country"'):]
    facet = facet[:facet.index("</section>")]
    assert 'href="/countries/nl"' in facet


# --- "maybe a new system" ------------------------------------------------------------------------------


def test_an_item_naming_no_system_is_offered_and_drafted_in_one_click(app: Flask, register: Register):
    db = register.team.world.kb.db
    lonely = items_store.store_item(db, make_draft(
        title="Danish municipalities test a new child-welfare score", text="Gladsaxe tests a score.",
        topics=(TopicEvidence("country/dk", ("Denmark",)), TopicEvidence("system/risk-scoring", ("score",)),
                TopicEvidence("right/privacy", ("data",))))).item_id
    client = _client(app, register, "coordinator")
    page = text(client.get("/systems/candidates"))
    assert f'data-item="{lonely}"' in page and "Denmark" in page
    assert f'data-item="{register.suggested}"' not in page  # it names SyRI
    response = post(client, "/systems/draft", {"item_id": str(lonely), "name": "Gladsaxe model"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    system_id = int(response.headers["Location"].split("/")[-2])
    system = systems_store.get_system(db, register.team.users["admin"], system_id)
    assert (system.name, system.country, system.kind, system.draft) == ("Gladsaxe model", "country/dk",
                                                                        "system/risk-scoring", True)
    links = systems_store.system_links(db, register.team.users["admin"], system_id)
    assert [(link.item_id, link.state) for link in links] == [(lonely, "confirmed")]
    assert f'data-item="{lonely}"' not in text(client.get("/systems/candidates"))
    response = post(client, "/systems/draft", {"item_id": str(register.accepted), "name": "SyRI"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/systems/candidates")
    assert "already a name or alias" in text(client.get("/systems/candidates"))


# --- the list: filters and readable labels -------------------------------------------------------------


def test_the_list_filters_and_shows_labels_not_keys(app: Flask, register: Register):
    client = _client(app, register, "researcher")
    page = text(client.get("/systems"))
    assert "SyRI" in page and "Grading Model Lycee" in page
    visible = re.sub(r"<[^>]+>", " ", page)
    assert "country/" not in visible and "sector/" not in visible and "system/" not in visible
    assert "Netherlands" in visible and "Welfare" in visible and "In use" in visible
    for query, expected in [("country=nl", {"SyRI"}), ("country=country/fr", {"Grading Model Lycee"}),
                            ("sector=education", {"Grading Model Lycee"}), ("status=in+use", {"SyRI"}),
                            ("status=none", {"Grading Model Lycee"}), ("q=risico", {"SyRI"}),
                            ("q=nothing-like-it", set())]:
        page = text(client.get(f"/systems?{query}"))
        names = set(re.findall(r'<a href="/systems/\d+">([^<]+)</a>', page))
        assert names == expected, query
    assert client.get("/systems?status=paused").status_code == 400
    assert client.get("/systems?country=atlantis").status_code == 400


# --- country pages -------------------------------------------------------------------------------------


def test_a_country_page_has_its_systems_items_per_month_cases_deadlines_and_latest_accepted_items(
        app: Flask, register: Register):
    client = _client(app, register, "researcher")
    page = text(client.get("/countries/nl"))
    systems = page[page.index('id="systems"'):page.index('class="chart')]
    assert "SyRI" in systems and "In use" in systems and "Grading Model" not in systems
    cases = page[page.index('id="cases"'):page.index('id="latest"')]
    assert "Fraud scoring in Rotterdam" in cases and "Appeal brief due" in cases
    assert "Exam grading in Lisbon" not in cases
    latest = page[page.index('id="latest"'):]
    assert "Judges rule the welfare risk model unlawful" in latest
    assert "Court hears the case" not in latest  # not accepted
    # The chart's table: this month 1 (welfare), last month 1, two months ago 1 — as the items were published.
    months = re.findall(r"<th>(\d{4}-\d{2})</th>", page)
    assert len(months) == 12 and months[-1] == _published(0).strftime("%Y-%m")
    row = re.search(r"<tr><th>Welfare[^<]*</th>((?:<td>\d+</td>)+)</tr>", page)
    assert row
    assert [int(n) for n in re.findall(r"\d+", row.group(1))][-3:] == [1, 1, 1]


def test_country_addresses(app: Flask, register: Register):
    client = _client(app, register, "researcher")
    assert client.get("/countries/NL").headers["Location"].endswith("/countries/nl")
    assert client.get("/countries/atlantis").status_code == 404
    page = text(client.get("/countries"))
    assert re.search(r'href="/countries/nl">Netherlands</a> <span class="count">1</span>', page)


def test_a_closed_case_file_leaves_the_country_page(app: Flask, register: Register):
    cases_store.close_case(register.team.world.kb.db, register.team.users["admin"], register.team.case_id)
    page = text(_client(app, register, "researcher").get("/countries/nl"))
    assert "Fraud scoring in Rotterdam" not in page


# --- the JSON API --------------------------------------------------------------------------------------


def test_the_api_lists_systems_with_filters(app: Flask, register: Register):
    client = _client(app, register, "researcher")
    body = client.get("/api/v1/systems").get_json()
    assert body["total"] == 2 and [s["name"] for s in body["systems"]] == ["Grading Model Lycee", "SyRI"]
    syri = body["systems"][1]
    assert syri["aliases"] == ["Systeem Risico Indicatie"] and syri["country"] == "country/nl"
    assert (syri["status"], syri["status_date"], syri["rights"]) == ("in use", "2014-09", ["right/privacy"])
    assert {"organisation", "external_supplier", "description", "decision", "impact_assessment"} <= set(syri)
    for query, names in [("country=nl", ["SyRI"]), ("sector=education", ["Grading Model Lycee"]),
                         ("status=in use", ["SyRI"]), ("q=systeem", ["SyRI"])]:
        assert [s["name"] for s in client.get(f"/api/v1/systems?{query}").get_json()["systems"]] == names
    bad = client.get("/api/v1/systems?status=paused")
    assert bad.status_code == 400 and "status must be one of" in bad.get_json()["error"]["message"]
    assert _client(app, register, "anonymous").get("/api/v1/systems").status_code == 401


def test_the_api_gives_a_system_with_its_timeline_and_confirmed_items(app: Flask, register: Register):
    client = _client(app, register, "researcher")
    body = client.get(f"/api/v1/systems/{register.system_id}").get_json()
    assert body["name"] == "SyRI"
    assert body["timeline"] == [{"id": body["timeline"][0]["id"], "status": "in use", "date": "2014-09",
                                 "note": "Law in force", "item_ids": [register.confirmed]}]
    assert sorted(i["id"] for i in body["items"]) == sorted([register.confirmed, register.accepted])
    assert {"id", "title", "url", "published", "language"} == set(body["items"][0])
    assert client.get("/api/v1/systems/999999").status_code == 404


def test_the_api_item_lists_its_system_links_with_their_state(app: Flask, register: Register):
    client = _client(app, register, "researcher")
    links = client.get(f"/api/v1/items/{register.suggested}").get_json()["systems"]
    assert links == [{"system_id": register.system_id, "system_name": "SyRI", "item_id": register.suggested,
                      "state": "suggested", "origin": "matcher",
                      "evidence": ["Systeem Risico Indicatie", "SyRI"], "decided_at": None}]
    links = client.get(f"/api/v1/items/{register.confirmed}").get_json()["systems"]
    assert [(link["state"], link["origin"]) for link in links] == [("confirmed", "matcher")]


# --- escaping ------------------------------------------------------------------------------------------


def test_what_people_type_is_shown_as_text(app: Flask, register: Register):
    db, admin = register.team.world.kb.db, register.team.users["admin"]
    system = systems_store.create_system(db, admin, {
        "name": f"Scoring {SCRIPT}", "aliases": [f"Model {IMG}"], "organisation": SCRIPT, "notes": IMG,
        "description": SCRIPT, "country": "nl"})
    systems_store.add_status(db, admin, system.id, "piloted", "2019", note=IMG)
    client = _client(app, register, "admin")
    for path in (f"/systems/{system.id}", "/systems", f"/systems/{system.id}/edit", "/countries/nl"):
        page = text(client.get(path))
        assert_inert(page)
        assert "&lt;script&gt;" in page, path


# --- every route of the register, for each role --------------------------------------------------------


READERS_ROUTES = [("GET", "/systems", "/systems"), ("GET", "/systems/candidates", "/systems/candidates"),
                  ("GET", "/systems/<int:system_id>", "/systems/{sid}"), ("GET", "/countries", "/countries"),
                  ("GET", "/countries/<code>", "/countries/nl")]
S = "/systems/<int:system_id>"
EDITOR_ROUTES = [
    ("GET", "/systems/new", "/systems/new", {}),
    ("GET", "/systems/<int:system_id>/edit", "/systems/{sid}/edit", {}),
    ("POST", "/systems/new", "/systems/new", {"name": "Matrix System"}),
    ("POST", "/systems/draft", "/systems/draft", {"item_id": "{item}", "name": "Matrix Draft"}),
    ("POST", "/systems/<int:system_id>/edit", "/systems/{sid}/edit", {"name": "SyRI", "notes": "edited"}),
    ("POST", "/systems/<int:system_id>/status", "/systems/{sid}/status", {"status": "ended", "date": "2020"}),
    ("POST", f"{S}/status/<int:step_id>/remove", "/systems/{sid}/status/{step}/remove", {}),
    ("POST", f"{S}/items/<int:item_id>/confirm", "/systems/{sid}/items/{item}/confirm", {}),
    ("POST", f"{S}/items/<int:item_id>/reject", "/systems/{sid}/items/{item}/reject", {}),
    ("POST", "/systems/<int:system_id>/items", "/systems/{sid}/items", {"item_id": "{item}"}),
    ("POST", "/systems/<int:system_id>/cases", "/systems/{sid}/cases", {"case_id": "{other_case}"}),
    ("POST", "/systems/<int:system_id>/cases/<int:case_id>/unlink", "/systems/{sid}/cases/{case}/unlink", {}),
    ("POST", "/systems/<int:system_id>/contacts", "/systems/{sid}/contacts", {"contact_id": "{normal}"}),
    ("POST", "/systems/<int:system_id>/contacts/<int:contact_id>/unlink",
     "/systems/{sid}/contacts/{normal}/unlink", {}),
]


def _ids(reg: Register) -> dict[str, int]:
    db, admin = reg.team.world.kb.db, reg.team.users["admin"]
    return {"sid": reg.system_id, "item": reg.suggested, "other_case": reg.team.other_case_id,
            "case": reg.team.case_id, "normal": reg.team.normal_id,
            "step": systems_store.timeline(db, admin, reg.system_id)[0].id}


@pytest.mark.parametrize("route", READERS_ROUTES + EDITOR_ROUTES, ids=lambda r: f"{r[0]} {r[2]}")
def test_each_route_for_each_role(app: Flask, register: Register, route):
    method, _, template, *rest = route
    ids = _ids(register)
    path = template.format(**ids)
    data = {k: v.format(**ids) for k, v in (rest[0] if rest else {}).items()}
    editor_only = bool(rest)

    def ask(who: str):
        client = _client(app, register, who)
        return client.get(path) if method == "GET" else post(client, path, data)

    anonymous = ask("anonymous")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    for who in ("researcher", "member"):
        assert ask(who).status_code == (403 if editor_only else 200), who
    response = ask("coordinator")
    assert response.status_code in (200, 302), text(response)[:300]
    if response.status_code == 302:
        assert not response.headers["Location"].startswith("/login")


def test_every_route_of_the_register_is_in_the_matrix(app: Flask):
    covered = {(method, rule) for method, rule, *_ in READERS_ROUTES + EDITOR_ROUTES}
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("systems.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == covered


def test_the_mentions_chart_spans_the_months_of_the_items_and_draws_a_line_even_for_one_month(app):
    from webui.systems import _months_between, mentions_chart

    assert _months_between("2025-11", "2026-02") == ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01",
                                                     "2026-02"]
    assert _months_between("2019-01", "2026-02")[0] == "2023-03"  # the last 36 months
    assert len(_months_between("2019-01", "2026-02")) == 36
    with app.test_request_context("/"):  # the chart's title is in the reader's language
        chart = mentions_chart([("2026-01", "nl", 2), ("2026-01", "en", 1), ("2026-03", "nl", 1),
                                ("", "en", 4)])
    assert chart is not None and chart.weeks[-1] == "2026-03" and len(chart.weeks) == 6
    assert [(label, counts[-3:]) for label, counts in chart.rows] == [("Dutch", (2, 0, 1)),
                                                                      ("English", (1, 0, 0))]
    assert all(len(line.points.split()) == 6 for line in chart.lines)


def test_the_queues_script_gets_json_answers(app: Flask, register: Register):
    client = _client(app, register, "coordinator")
    sid, item = register.system_id, register.suggested
    response = post(client, f"/systems/{sid}/items/{item}/confirm", headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["link"]["state"] == "confirmed" and "“SyRI”" in body["message"]
    assert _state(register, item) == "confirmed"
    response = post(client, f"/systems/{sid}/items/999999/reject", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json() == {"ok": False,
                                                                   "error": "Item 999999 does not exist."}
    researcher = _client(app, register, "researcher")
    refused = post(researcher, f"/systems/{sid}/items/{item}/reject", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and _state(register, item) == "confirmed"


def test_the_curation_queue_shows_each_items_systems_with_the_buttons(app: Flask, register: Register):
    page = text(_client(app, register, "coordinator").get("/curation"))
    row = page[page.index(f'data-item-id="{register.suggested}"'):]
    row = row[:row.index("</li>")]
    assert f'data-system="{register.system_id}" data-state="suggested"' in row
    assert f"/systems/{register.system_id}/items/{register.suggested}/confirm" in row
    assert 'data-action="system-confirm"' in row and 'data-action="system-reject"' in row
    assert "systems-queue.js" in page and "<kbd>s</kbd>" in page
    confirmed = page[page.index(f'data-item-id="{register.confirmed}"'):]
    confirmed = confirmed[:confirmed.index("</li>")]
    assert 'data-state="confirmed"' in confirmed and "system-confirm" not in confirmed


def test_the_curation_queue_filters_by_system(app: Flask, register: Register):
    client = _client(app, register, "coordinator")
    page = text(client.get(f"/curation?system={register.system_id}"))
    shown = set(re.findall(r'data-queue-item data-item-id="(\d+)"', page))
    # Suggested and confirmed items of SyRI that wait (the accepted one is not new); the world's item is not.
    assert shown == {str(register.suggested), str(register.confirmed)}
    assert f'<option value="{register.system_id}" selected>SyRI</option>' in page
    systems_store.reject_link(register.team.world.kb.db, register.team.users["admin"], register.system_id,
                              register.suggested)
    page = text(client.get(f"/curation?system={register.system_id}"))
    assert set(re.findall(r'data-queue-item data-item-id="(\d+)"', page)) == {str(register.confirmed)}
    assert not re.findall(r'data-queue-item data-item-id="(\d+)"',
                          text(client.get(f"/curation?system={register.other_system}")))
    assert client.get("/curation?system=abc").status_code == 400


def test_a_case_file_page_lists_its_systems(app: Flask, register: Register):
    case_page = _client(app, register, "researcher").get(f"/cases/{register.team.world.case_id}")
    page = case_page.get_data(as_text=True)
    section = page.split('<section id="systems">', 1)[1].split("</section>", 1)[0]
    assert f'href="/systems/{register.system_id}">SyRI</a>' in section
    assert "In use" in section

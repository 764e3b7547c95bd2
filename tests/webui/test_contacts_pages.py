"""The contact pages: who may open what, the restricted-contact rule everywhere a contact can show up (list,
detail, facets, CSV export, case pages, search page, JSON API), forms, the two-step CSV import, CSRF and
escaping.

The `team` fixture (also used by test_cases_pages.py) adds to the conftest world a case team (a researcher
lead, a researcher member and a coordinator member), a second case file, a normal contact and a restricted
contact linked to the team's case file.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from cli.web import web_app
from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import users as users_store
from kb.contacts import ContactFilter
from kb.knowledge import KnowledgeBase
from kb.storage import audit
from kb.users import User
from tests.webui.conftest import PASSWORD, World, csrf_token, enter_session
from webui.contacts import import_token

FIXTURES = Path(__file__).parent.parent / "fixtures" / "contacts"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
PAYLOADS = (SCRIPT, IMG, JS_URL)

# Who asks: no session, the three roles, and the team of the conftest world's case file.
CLIENTS = ("anonymous", "researcher", "member", "lead", "coordinator", "teamcoord", "admin")
COORDINATORS = frozenset({"coordinator", "teamcoord", "admin"})
SIGNED_IN = frozenset(CLIENTS) - {"anonymous"}  # researchers too see the contacts that are not restricted
SEES_RESTRICTED = frozenset({"teamcoord", "admin"})

NORMAL = {"name": "Amina Haddad", "organisation": "Digital Rights Lab", "role": "lawyer", "kind": "lawyer",
          "country": "Morocco", "languages": "ar;fr", "emails": "amina@drl.example",
          "expertise": ["sector/welfare"], "networks": "Digital Welfare Coalition",
          "notes": "Knows the scoring case", "consent_how": "e-mail", "consent_date": "2026-01-10"}
RESTRICTED = {"name": "Yara Hiddenperson", "organisation": "Shelter Hiddenorg", "role": "claimant",
              "kind": "affected person", "country": "Netherlands", "languages": "nl",
              "emails": "yara@shelter.example", "expertise": ["system/risk-scoring"],
              "networks": "Survivors Hiddennetwork", "notes": "Lost her benefits in 2019",
              "sensitivity": "restricted"}


@dataclass
class Team:
    world: World
    users: dict[str, User]
    case_id: int  # the world's case file, with the team below
    other_case_id: int  # no team
    normal_id: int
    restricted_id: int  # linked to case_id only
    ids: dict[str, Any] = field(default_factory=dict)


def index_private(kb: KnowledgeBase) -> None:
    """Index contacts and case files as kb.search expects them.

    Until kb.contacts and kb.cases announce their changes in the index outbox (work in progress at the
    time of writing), their documents are written here by hand, like tests/kb/test_search.py does; once the
    outbox carries them this only rewrites the same documents.
    """
    from kb.search.documents import case_document, contact_document
    from kb.search.index.store import _fields

    kb.sync_index()
    reader = User(0, "indexer@lab.example", "", "admin", True, 0, "")
    documents = [contact_document(c) for c in contacts_store.list_contacts(kb.db, reader)]
    documents += [case_document(c) for c in cases_store.list_cases(kb.db, reader)]
    with kb.index.writer_lock() as locked:
        assert locked
        writer = kb.index._open().writer()
        for document in documents:
            writer.update_document(**_fields(document))
        writer.commit()
    kb.index.refresh()


def make_team(world: World) -> Team:
    db = world.kb.db
    admin = world.users["admin"]
    people = dict(world.users)
    for key, role in (("member", "researcher"), ("lead", "researcher"), ("teamcoord", "coordinator")):
        people[key] = users_store.add_user(db, f"{key}@lab.example", PASSWORD, role, name=key.title())
    cases_store.set_team(db, admin, world.case_id, people["lead"].id, [people["member"].id,
                                                                       people["teamcoord"].id])
    other = cases_store.create_case(db, admin, {"title": "Exam grading in Lisbon"})
    normal = contacts_store.create_contact(db, admin, NORMAL)
    restricted = contacts_store.create_contact(db, admin, RESTRICTED, case_id=world.case_id,
                                               case_role="claimant in the case")
    cases_store.link_contact(db, admin, world.case_id, normal.id, "lawyer of claimants")
    world.kb.sync_index()
    return Team(world, people, world.case_id, other.id, normal.id, restricted.id)


@pytest.fixture
def team(world: World) -> Team:
    return make_team(world)


@pytest.fixture
def indexed(team: Team) -> Team:
    """The team with its contacts and case files in the search index."""
    index_private(team.world.kb)
    return team


class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by the many apps of these tests (each test makes its own app)."""

    store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


def make_app(kb: KnowledgeBase) -> Flask:
    """The conftest app, compiling each template once per test run rather than once per test."""
    application = web_app(kb, TESTING=True)
    application.jinja_env.bytecode_cache = _SharedBytecode()
    return application


@pytest.fixture
def app(kb: KnowledgeBase) -> Flask:
    return make_app(kb)


def client_for(app: Flask, team: Team, who: str) -> FlaskClient:
    client = app.test_client()
    if who != "anonymous":
        enter_session(client, team.users[who])
    return client


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def assert_inert(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "onerror=alert(1)>" not in page
    assert not re.search(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", page, re.IGNORECASE)


# --- the access matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    path: str  # formatted with Team ids
    allowed: frozenset[str] = COORDINATORS
    hidden: frozenset[str] = frozenset()  # allowed by role, but the contact does not exist for them (404)
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


R = SEES_RESTRICTED
# Issue 16: reading (list, a contact's page, the CSV export) is open to every signed-in user, researchers
# included, under the restricted-contact rule; changing stays with COORDINATORS.
ROUTES = [
    Route("GET", "/contacts", "/contacts", allowed=SIGNED_IN),
    Route("GET", "/contacts", "/contacts?q=amina&country=Morocco&kind=lawyer", allowed=SIGNED_IN),
    Route("GET", "/contacts/new", "/contacts/new"),
    Route("POST", "/contacts/new", "/contacts/new", data={"name": "Someone New", "emails": "new@x.example"}),
    Route("GET", "/contacts/<int:contact_id>", "/contacts/{normal}", allowed=SIGNED_IN),
    Route("GET", "/contacts/<int:contact_id>", "/contacts/{restricted}", allowed=SIGNED_IN,
          hidden=SIGNED_IN - R),
    Route("GET", "/contacts/<int:contact_id>/edit", "/contacts/{normal}/edit"),
    Route("GET", "/contacts/<int:contact_id>/edit", "/contacts/{restricted}/edit", hidden=COORDINATORS - R),
    Route("POST", "/contacts/<int:contact_id>/edit", "/contacts/{normal}/edit", data={"role": "judge"}),
    Route("POST", "/contacts/<int:contact_id>/edit", "/contacts/{restricted}/edit",
          hidden=COORDINATORS - R, data={"role": "witness"}),
    Route("GET", "/contacts/<int:contact_id>/delete", "/contacts/{normal}/delete"),
    Route("GET", "/contacts/<int:contact_id>/delete", "/contacts/{restricted}/delete",
          hidden=COORDINATORS - R),
    Route("POST", "/contacts/<int:contact_id>/delete", "/contacts/{normal}/delete"),
    Route("POST", "/contacts/<int:contact_id>/delete", "/contacts/{restricted}/delete",
          hidden=COORDINATORS - R),
    Route("POST", "/contacts/export.csv", "/contacts/export.csv", allowed=SIGNED_IN),
    Route("GET", "/contacts/import", "/contacts/import"),
    Route("POST", "/contacts/import", "/contacts/import", data={"file": "good.csv"}),
    Route("POST", "/contacts/import/confirm", "/contacts/import/confirm",
          data={"csv": "name\nPerson From Import\n", "token": "{token}"}),
]


def _request(app: Flask, client: FlaskClient, route: Route, team: Team, who: str):
    ids = {"normal": team.normal_id, "restricted": team.restricted_id, "case": team.case_id}
    path = route.path.format(**ids)
    if route.method == "GET":
        return client.get(path)
    data: dict[str, Any] = {}
    for key, value in route.data.items():
        if key == "file":
            data[key] = (io.BytesIO((FIXTURES / value).read_bytes()), value)
        elif value == "{token}":
            user = team.users.get(who, team.users["researcher"])
            with app.app_context():
                data[key] = import_token(user, route.data["csv"])
        else:
            data[key] = value
    data["csrf_token"] = csrf_token(client)
    return client.post(path, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("who", CLIENTS)
def test_access_matrix(app, team, route, who):
    client = client_for(app, team, who)
    response = _request(app, client, route, team, who)
    if who == "anonymous":
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    elif who not in route.allowed:
        assert response.status_code == 403
    elif who in route.hidden:
        assert response.status_code == 404
        assert RESTRICTED["name"] not in text(response)
    else:
        assert response.status_code in (200, 302), text(response)[:800]
        if response.status_code == 302:
            assert not response.headers["Location"].startswith("/login")


def test_every_contacts_route_is_in_the_matrix(app):
    covered = {(r.method, r.rule) for r in ROUTES}
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("contacts.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules and rules - covered == set()


def test_unknown_and_impossible_contact_ids_are_404(app, team):
    client = client_for(app, team, "admin")
    for contact_id in ("999", "9" * 25):
        assert client.get(f"/contacts/{contact_id}").status_code == 404
        # An id beyond SQLite's range matches no route (werkzeug may answer 405 for a POST); never a 500.
        assert post(client, f"/contacts/{contact_id}/delete").status_code in (404, 405)
    response = post(client, "/contacts/new", {"name": "Someone", "case_id": "9" * 25})
    assert response.status_code == 400 and "choose a case file from the list" in text(response)


def test_contacts_menu_entry_for_every_role(app, team):
    # Issue 16: researchers now have the Contacts menu entry too.
    assert 'href="/contacts"' in text(client_for(app, team, "researcher").get("/"))
    assert 'href="/contacts"' in text(client_for(app, team, "coordinator").get("/"))


# --- the restricted-contact rule everywhere ------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "teamcoord", "admin"])
def test_restricted_contact_in_list_detail_and_facets(app, team, who):
    client = client_for(app, team, who)
    sees = who in SEES_RESTRICTED
    listing = text(client.get("/contacts"))
    assert "Amina Haddad" in listing
    for word in ("Yara Hiddenperson", "Shelter Hiddenorg", "Survivors Hiddennetwork", "Netherlands"):
        assert (word in listing) is sees, word  # name, and its facet values
    assert (f"/contacts/{team.restricted_id}" in listing) is sees
    # The facet counts cover only what the user may see.
    country = re.search(r'data-facet="country".*?</section>', listing, re.S).group(0)
    assert re.search(r"Morocco</span> <span class=\"count\">1</span>", country)
    detail = client.get(f"/contacts/{team.restricted_id}")
    assert detail.status_code == (200 if sees else 404)
    # Filtering on a value only the restricted contact has reveals nothing either.
    filtered = text(client.get("/contacts?organisation=Shelter+Hiddenorg"))
    assert ("Yara Hiddenperson" in filtered) is sees
    searched = text(client.get("/contacts?q=hiddenperson"))
    assert (f"/contacts/{team.restricted_id}" in searched) is sees


@pytest.mark.parametrize("who", ["coordinator", "teamcoord", "admin"])
def test_restricted_contact_in_the_csv_export(app, team, who):
    client = client_for(app, team, who)
    response = post(client, "/contacts/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="contacts-\d{4}-\d{2}-\d{2}\.csv"',
                        response.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    names = sorted(row["name"] for row in rows)
    assert names == (["Amina Haddad", "Yara Hiddenperson"] if who in SEES_RESTRICTED else ["Amina Haddad"])
    entry = audit.entries(team.world.kb.db, entity="contact")[0]
    assert entry.action == "export" and entry.details == {"count": len(names)}


def test_export_follows_the_filters_of_the_list(app, team):
    client = client_for(app, team, "admin")
    response = post(client, "/contacts/export.csv", {"country": "Netherlands"})
    rows = list(csv.DictReader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert [row["name"] for row in rows] == ["Yara Hiddenperson"]


def test_export_is_not_a_get(app, team):
    assert client_for(app, team, "admin").get("/contacts/export.csv").status_code == 405


@pytest.mark.parametrize("who", ["researcher", "member", "coordinator", "teamcoord", "admin"])
def test_restricted_contact_in_search_page_and_json_api(app, indexed, who):
    team = indexed
    client = client_for(app, team, who)
    sees = who in SEES_RESTRICTED
    api = client.get("/api/v1/search?q=Hiddenperson")
    assert api.status_code == 200
    found = [(hit["kind"], hit["id"]) for hit in api.json["results"]]
    assert found == ([("contact", team.restricted_id)] if sees else [])
    assert api.json["total"] == len(found)
    if not sees:
        assert "Hiddenperson" not in json.dumps(api.json)
        assert "Hiddenorg" not in json.dumps(api.json)
    kinds = client.get("/api/v1/search?kind=contact")
    visible = sorted(hit["id"] for hit in kinds.json["results"])
    normal_only = [team.normal_id]
    expected = {"researcher": normal_only, "member": normal_only, "coordinator": normal_only}.get(
        who, sorted([team.normal_id, team.restricted_id]))
    assert visible == expected
    page = text(client.get("/?q=Hiddenorg"))
    assert (f'href="/contacts/{team.restricted_id}"' in page) is sees
    assert ('data-kind="contact"' in page) is sees
    if sees:
        assert "Yara Hiddenperson" in page and 'class="badge badge-kind">Contact<' in page


def test_normal_contact_hit_links_to_its_page(app, indexed):
    team = indexed
    page = text(client_for(app, team, "coordinator").get("/?q=Amina"))
    assert f'<a href="/contacts/{team.normal_id}">Amina Haddad</a>' in page
    assert 'class="badge badge-kind">Contact<' in page


@pytest.mark.parametrize("who", ["researcher", "member", "coordinator", "teamcoord", "admin"])
def test_restricted_contact_on_the_case_page(app, team, who):
    page = text(client_for(app, team, who).get(f"/cases/{team.case_id}"))
    assert ("Yara Hiddenperson" in page) is (who in SEES_RESTRICTED)
    assert "Amina Haddad" in page  # issue 16: researchers see the contacts that are not restricted
    other = text(client_for(app, team, who).get(f"/cases/{team.other_case_id}"))
    # The picker of the other case file lists only contacts this user may see.
    if who not in SEES_RESTRICTED:
        assert "Yara Hiddenperson" not in other


def test_coordinator_cannot_link_or_unlink_a_hidden_contact(app, team):
    client = client_for(app, team, "coordinator")
    linked = post(client, f"/cases/{team.other_case_id}/contacts", {"contact_id": team.restricted_id})
    assert linked.status_code == 404
    unlinked = post(client, f"/cases/{team.case_id}/contacts/{team.restricted_id}/unlink")
    assert unlinked.status_code == 404
    db = team.world.kb.db
    assert cases_store.case_contacts(db, team.users["admin"], team.other_case_id) == []
    assert team.restricted_id in [c.contact.id for c in
                                  cases_store.case_contacts(db, team.users["admin"], team.case_id)]


def test_import_never_matches_a_hidden_contact(app, team):
    """A row with the hidden contact's e-mail creates a new contact: nothing about the hidden one leaks."""
    client = client_for(app, team, "coordinator")
    body = b"name,emails\nSomeone Else,yara@shelter.example\n"
    page = text(post(client, "/contacts/import", {"file": (io.BytesIO(body), "c.csv")},
                     content_type="multipart/form-data"))
    assert "Created" in page
    assert "Yara" not in page and f"contact {team.restricted_id}" not in page


# --- forms ---------------------------------------------------------------------------------------------


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Lina Boutros", "organisation": "Observatoire", "role": "researcher",
                            "kind": "expert", "country": "Lebanon", "languages": "ar; fr",
                            "emails": "lina@obs.example\nl.boutros@mail.example", "phones": "+961 1 555 010",
                            "expertise": ["sector/welfare", "system/risk-scoring"],
                            "networks": "MENA digital rights", "notes": "First line\n\nSecond paragraph",
                            "consent_how": "signed form", "consent_date": "2026-02-01",
                            "sensitivity": "normal", "expertise_shown": "1"}
    data.update(overrides)
    return data


def test_create_show_edit_and_delete_a_contact(app, team):
    client = client_for(app, team, "coordinator")
    db = team.world.kb.db
    admin = team.users["admin"]
    assert 'name="expertise" value="system/risk-scoring"' in text(client.get("/contacts/new"))
    created = post(client, "/contacts/new", _form())
    assert created.status_code == 302
    contact_id = int(created.headers["Location"].rsplit("/", 1)[1])
    contact = contacts_store.get_contact(db, admin, contact_id)
    assert contact.emails == ("lina@obs.example", "l.boutros@mail.example")
    assert contact.languages == ("ar", "fr")
    assert contact.expertise == ("sector/welfare", "system/risk-scoring")
    page = text(client.get(f"/contacts/{contact_id}"))
    assert "Lina Boutros" in page and '<a href="mailto:lina@obs.example">' in page
    assert "<p>First line</p>" in page and "<p>Second paragraph</p>" in page
    assert "signed form (2026-02-01)" in page
    assert "Audit history" not in page  # admins only
    edit = text(client.get(f"/contacts/{contact_id}/edit"))
    assert "lina@obs.example\nl.boutros@mail.example</textarea>" in edit
    saved = post(client, f"/contacts/{contact_id}/edit", _form(role="director", expertise=[], phones=""))
    assert saved.status_code == 302
    contact = contacts_store.get_contact(db, admin, contact_id)
    assert (contact.role, contact.expertise, contact.phones) == ("director", (), ())
    confirm = text(client.get(f"/contacts/{contact_id}/delete"))
    assert "Delete Lina Boutros?" in confirm and 'method="post"' in confirm
    assert contacts_store.find_contact(db, admin, contact_id) is not None  # the GET deleted nothing
    deleted = post(client, f"/contacts/{contact_id}/delete")
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/contacts"
    assert contacts_store.find_contact(db, admin, contact_id) is None
    assert client.get(f"/contacts/{contact_id}").status_code == 404


def test_invalid_form_is_shown_again_with_the_message_and_the_values(app, team):
    client = client_for(app, team, "coordinator")
    response = post(client, "/contacts/new", _form(emails="not-an-email", name="Kept Name"))
    assert response.status_code == 400
    page = text(response)
    assert "bad e-mail address" in page and 'value="Kept Name"' in page
    assert contacts_store.list_contacts(team.world.kb.db, team.users["admin"],
                                        ContactFilter(query="Kept")) == []


def test_restricted_contact_needs_a_case_of_ones_team(app, team):
    db = team.world.kb.db
    coordinator = client_for(app, team, "coordinator")  # on no team
    refused = post(coordinator, "/contacts/new", _form(sensitivity="restricted", name="Hidden Without Case"))
    assert refused.status_code == 400 and "link it to a case file you work on" in text(refused)
    refused = post(coordinator, "/contacts/new", _form(sensitivity="restricted", name="Hidden Elsewhere",
                                                       case_id=str(team.case_id)))
    assert refused.status_code == 400  # a case file, but not one of theirs
    for name in ("Hidden Without Case", "Hidden Elsewhere"):
        assert contacts_store.list_contacts(db, team.users["admin"], ContactFilter(query=name)) == []
    teamcoord = client_for(app, team, "teamcoord")
    created = post(teamcoord, "/contacts/new", _form(sensitivity="restricted", name="Hidden Witness",
                                                     case_id=str(team.case_id), case_role="witness"))
    assert created.status_code == 302
    contact_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert "witness" in text(teamcoord.get(f"/contacts/{contact_id}"))
    assert coordinator.get(f"/contacts/{contact_id}").status_code == 404


def test_edit_can_link_a_case_and_restrict_in_one_step(app, team):
    db = team.world.kb.db
    teamcoord = client_for(app, team, "teamcoord")
    response = post(teamcoord, f"/contacts/{team.normal_id}/edit",
                    _form(name="Amina Haddad", sensitivity="restricted", case_id=str(team.case_id)))
    assert response.status_code == 302
    assert contacts_store.get_contact(db, team.users["admin"], team.normal_id).restricted
    # Restricting it from a case file not of one's team is refused, and the link is not kept either.
    coordinator = client_for(app, team, "coordinator")
    other = contacts_store.create_contact(db, team.users["admin"], {"name": "Plain Person"})
    refused = post(coordinator, f"/contacts/{other.id}/edit",
                   _form(name="Plain Person", sensitivity="restricted", case_id=str(team.other_case_id)))
    assert refused.status_code == 400
    unchanged = contacts_store.get_contact(db, team.users["admin"], other.id)
    assert not unchanged.restricted and unchanged.case_ids == ()


def test_an_edit_form_without_the_sensitivity_keeps_it(app, team):
    teamcoord = client_for(app, team, "teamcoord")
    assert post(teamcoord, f"/contacts/{team.restricted_id}/edit", {"role": "witness"}).status_code == 302
    contact = contacts_store.get_contact(team.world.kb.db, team.users["admin"], team.restricted_id)
    assert contact.restricted and contact.role == "witness" and contact.expertise == ("system/risk-scoring",)


def test_admin_sees_the_audit_history_of_a_contact(app, team):
    post(client_for(app, team, "teamcoord"), f"/contacts/{team.restricted_id}/edit", {"role": "witness"})
    page = text(client_for(app, team, "admin").get(f"/contacts/{team.restricted_id}"))
    history = re.search(r'<section id="history".*?</section>', page, re.S).group(0)
    assert "teamcoord@lab.example" in history and ">Changed<" in history and ">Created<" in history
    assert "<dt>Fields</dt><dd>Role</dd>" in history  # which field changed, in words
    assert "witness" not in history  # a restricted contact's log keeps field names, not values
    page = text(client_for(app, team, "teamcoord").get(f"/contacts/{team.restricted_id}"))
    assert "Audit history" not in page


def test_list_facets_filter_and_clear(app, team):
    db = team.world.kb.db
    admin = team.users["admin"]
    contacts_store.create_contact(db, admin, {"name": "Jan de Vries", "kind": "journalist",
                                              "country": "Netherlands", "languages": "nl;en"})
    client = client_for(app, team, "coordinator")
    page = text(client.get("/contacts"))
    kind_box = re.search(r'data-facet="kind".*?</section>', page, re.S).group(0)
    assert "Journalist" in kind_box and "Lawyer" in kind_box
    href = re.search(r'<a href="([^"]*kind=journalist[^"]*)" class="facet-value', page).group(1)
    filtered = text(client.get(href.replace("&amp;", "&")))
    assert "Jan de Vries" in filtered and "Amina Haddad" not in filtered
    assert "facet-value selected" in filtered
    clear = re.search(r'<a href="([^"]*)" class="facet-value selected', filtered).group(1)
    assert "kind=" not in clear
    assert "Amina Haddad" in text(client.get(clear.replace("&amp;", "&")))
    english = text(client.get("/contacts?language=en"))
    assert "Jan de Vries" in english and "Amina Haddad" not in english
    welfare = text(client.get("/contacts?expertise=sector/welfare"))
    assert "Amina Haddad" in welfare and "Jan de Vries" not in welfare


# --- the CSV import through the pages ------------------------------------------------------------------


def _table_counts(kb: KnowledgeBase) -> dict[str, int]:
    return {table: kb.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("contacts", "case_contacts", "audit_log")}


def _upload(client: FlaskClient, name: str, body: bytes | None = None):
    data = body if body is not None else (FIXTURES / name).read_bytes()
    return post(client, "/contacts/import", {"file": (io.BytesIO(data), name)},
                content_type="multipart/form-data")


def _confirm_fields(page: str) -> dict[str, str]:
    form = re.search(r'<form[^>]*id="confirm-import".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(token|csv)" value="([^"]*)"', form, re.S))
    return {name: html.unescape(value) for name, value in fields.items()}


def _rows(page: str) -> list[tuple[int, str]]:
    return [(int(line), action) for action, line in
            re.findall(r'<tr class="cf-row-(\w+)" data-line="(\d+)"', page)]


def test_import_dry_run_then_confirm(app, team):
    kb = team.world.kb
    client = client_for(app, team, "coordinator")
    before = _table_counts(kb)
    preview = _upload(client, "mixed.csv")
    assert preview.status_code == 200
    page = text(preview)
    assert _table_counts(kb) == before  # the dry run wrote nothing, not even to the audit log
    assert _rows(page) == [(2, "created"), (3, "refused"), (4, "refused"), (5, "refused"), (6, "refused"),
                           (7, "refused"), (8, "refused"), (9, "updated"), (10, "refused"), (12, "created")]
    assert "2 created, 1 updated, 0 unchanged, 7 refused (dry run: nothing written)" in page
    assert "bad e-mail address &#39;not-an-email&#39;" in page and "missing name" in page
    assert "15 cells for 14 columns" in page
    fields = _confirm_fields(page)
    assert "Sofía Ruiz" in fields["csv"]
    done = post(client, "/contacts/import/confirm", fields, content_type="multipart/form-data")
    assert done.status_code == 200
    assert "2 created, 1 updated, 0 unchanged, 7 refused" in text(done)
    assert "dry run" not in text(done)
    names = [c.name for c in contacts_store.list_contacts(kb.db, team.users["admin"])]
    assert "Sofía Ruiz" in names and "Paul Martin" in names
    sofia = contacts_store.list_contacts(kb.db, team.users["admin"], ContactFilter(query="sofía"))[0]
    assert sofia.role == "director"
    assert f'href="/contacts/{sofia.id}"' in text(done)
    again = _upload(client, "good.csv")
    assert "Created" in text(again)


def test_import_sees_crlf_line_ends_as_the_same_file(app, team):
    """Browsers send a field's line ends as CRLF: the confirmation still matches its preview."""
    client = client_for(app, team, "coordinator")
    fields = _confirm_fields(text(_upload(client, "good.csv")))
    fields["csv"] = fields["csv"].replace("\n", "\r\n")
    done = post(client, "/contacts/import/confirm", fields, content_type="multipart/form-data")
    assert done.status_code == 200 and "2 created" in text(done)
    amina = contacts_store.list_contacts(team.world.kb.db, team.users["admin"],
                                         ContactFilter(query="amina@marsad.example"))
    assert len(amina) == 1


def test_import_confirm_refuses_a_changed_file_or_another_users_token(app, team):
    kb = team.world.kb
    client = client_for(app, team, "coordinator")
    fields = _confirm_fields(text(_upload(client, "good.csv")))
    before = _table_counts(kb)
    tampered = {**fields, "csv": fields["csv"].replace("Amina Haddad", "Mallory")}
    response = post(client, "/contacts/import/confirm", tampered, content_type="multipart/form-data")
    assert response.status_code == 400 and "changed since its preview" in text(response)
    other = client_for(app, team, "admin")
    response = post(other, "/contacts/import/confirm", fields, content_type="multipart/form-data")
    assert response.status_code == 400
    response = post(client, "/contacts/import/confirm", {**fields, "token": "forged"},
                    content_type="multipart/form-data")
    assert response.status_code == 400 and "upload the file again" in text(response)
    assert _table_counts(kb) == before


def test_import_refuses_bad_files_with_a_message(app, team):
    client = client_for(app, team, "coordinator")
    bad_header = _upload(client, "bad_header.csv")
    assert bad_header.status_code == 400 and "unknown column(s) &#39;sensitivty&#39;" in text(bad_header)
    latin1 = _upload(client, "latin1.csv", "name\nJosé\n".encode("latin-1"))
    assert latin1.status_code == 400 and "not UTF-8" in text(latin1)
    empty = _upload(client, "empty.csv", b"")
    assert empty.status_code == 400 and "empty" in text(empty)
    none = post(client, "/contacts/import", {}, content_type="multipart/form-data")
    assert none.status_code == 400 and "Choose a CSV file" in text(none)


def _post_multipart(client: FlaskClient, path: str, values: dict[str, Any]):
    """A multipart POST encoded here (werkzeug's builder leaves its temporary file open above 500 kB)."""
    boundary, body = encode_multipart({**values, "csrf_token": csrf_token(client)})
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_import_confirm_takes_a_file_larger_than_the_form_field_limit(app, team):
    """The confirm form carries the file as a field: the 500 kB default for fields is raised there only."""
    client = client_for(app, team, "admin")
    filler = "x" * 900
    body = "name,notes\n" + "".join(f"Person {n},{filler}\n" for n in range(700))  # about 650 kB
    upload = FileStorage(io.BytesIO(body.encode()), filename="big.csv", content_type="text/csv")
    fields = _confirm_fields(text(_post_multipart(client, "/contacts/import", {"file": upload})))
    assert len(fields["csv"]) > 500_000
    done = _post_multipart(client, "/contacts/import/confirm", fields)
    assert done.status_code == 200 and "700 created" in text(done)
    # Elsewhere the usual limit holds.
    refused = _post_multipart(client, "/contacts/new", {"name": "Big", "notes": "y" * 600_000})
    assert refused.status_code == 413


# --- CSRF and escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/contacts/new", "/contacts/{normal}/edit", "/contacts/{normal}/delete",
                                  "/contacts/export.csv", "/contacts/import", "/contacts/import/confirm"])
def test_posts_without_the_csrf_token_are_refused(app, team, path):
    kb = team.world.kb
    before = _table_counts(kb)
    client = client_for(app, team, "admin")
    response = client.post(path.format(normal=team.normal_id), data={"name": "Forged", "role": "forged"})
    assert response.status_code == 400 and "CSRF" in text(response)
    assert _table_counts(kb) == before
    assert contacts_store.get_contact(kb.db, team.users["admin"], team.normal_id).role == "lawyer"


@pytest.fixture
def hostile_contact(team: Team) -> int:
    payload = " ".join(PAYLOADS)
    contact = contacts_store.create_contact(team.world.kb.db, team.users["admin"], {
        "name": f"Name {payload}", "organisation": f"Org {payload}", "role": f"Role {payload}",
        "country": f"Country {SCRIPT}", "networks": f"Net {SCRIPT}", "notes": f"Notes {payload}\n\n{IMG}",
        "consent_how": f"Consent {payload}", "emails": "x@evil.example",
    }, case_id=team.case_id, case_role=f"Case role {payload}")
    index_private(team.world.kb)
    return contact.id


@pytest.mark.parametrize("path", ["/contacts", "/contacts?q=Name", "/contacts/{id}", "/contacts/{id}/edit",
                                  "/contacts/{id}/delete", "/cases/{case}", "/?q=Name",
                                  "/contacts?organisation=" + SCRIPT, "/contacts?q=" + IMG])
def test_hostile_contact_text_is_escaped_on_every_page(app, team, hostile_contact, path):
    response = client_for(app, team, "admin").get(path.format(id=hostile_contact, case=team.case_id))
    assert response.status_code == 200
    assert_inert(text(response))


def test_hostile_contact_text_is_shown_escaped_not_dropped(app, team, hostile_contact):
    client = client_for(app, team, "admin")
    page = text(client.get(f"/contacts/{hostile_contact}"))
    assert "Name &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Notes &lt;script&gt;" in page and "Consent &lt;script&gt;" in page
    case_page = text(client.get(f"/cases/{team.case_id}"))
    assert "Case role &lt;script&gt;" in case_page
    search_page = text(client.get("/?q=Name"))
    assert f'href="/contacts/{hostile_contact}"' in search_page


def test_hostile_values_in_an_import_report_are_escaped(app, team):
    client = client_for(app, team, "coordinator")
    body = f'name,emails\n"{SCRIPT}",\n"{IMG}",bad {SCRIPT}\n{JS_URL},\n'.encode()
    page = text(_upload(client, "x.csv", body))
    assert_inert(page)
    assert "&lt;script&gt;" in page
    # The file's text in the confirm form is escaped too, and comes back unchanged.
    fields = _confirm_fields(page)
    assert SCRIPT in fields["csv"] and IMG in fields["csv"]


def test_dates_in_the_future_and_kinds_are_checked(app, team):
    client = client_for(app, team, "coordinator")
    tomorrow = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    response = post(client, "/contacts/new", _form(consent_date=tomorrow))
    assert response.status_code == 400 and "in the future" in text(response)
    response = post(client, "/contacts/new", _form(kind="spy"))
    assert response.status_code == 400 and "kind must be one of" in text(response)


# --- issue 16: researchers see and search the contacts that are not restricted ---------------------------


@pytest.mark.parametrize("who", ["researcher", "member", "lead"])
def test_researcher_sees_normal_contacts_and_never_restricted_ones(app, indexed, who):
    """Researchers, on the case team or not, everywhere a contact shows: list, page, search, case, export."""
    team = indexed
    client = client_for(app, team, who)
    hidden_words = ("Yara Hiddenperson", "Shelter Hiddenorg", "Survivors Hiddennetwork",
                    "yara@shelter.example")
    listing = text(client.get("/contacts"))
    assert f'href="/contacts/{team.normal_id}"' in listing and "Amina Haddad" in listing
    assert f"/contacts/{team.restricted_id}" not in listing
    assert not any(word in listing for word in hidden_words)
    assert "/contacts/new" not in listing and "/contacts/import" not in listing  # no changes offered
    for query in ("?q=Hiddenperson", "?organisation=Shelter+Hiddenorg", "?country=Netherlands"):
        filtered = text(client.get("/contacts" + query))  # (a chosen filter value is shown, to clear it)
        assert not any(word in filtered for word in hidden_words if word != "Shelter Hiddenorg"), query
        assert f"/contacts/{team.restricted_id}" not in filtered, query
    filtered = text(client.get("/contacts?country=Morocco"))
    assert "Amina Haddad" in filtered
    page = client.get(f"/contacts/{team.normal_id}")
    assert page.status_code == 200
    body = text(page)
    assert "Amina Haddad" in body and "amina@drl.example" in body
    assert f"/contacts/{team.normal_id}/edit" not in body and f"/contacts/{team.normal_id}/delete" not in body
    # By URL, the restricted contact reads exactly like one that does not exist.
    hidden = client.get(f"/contacts/{team.restricted_id}")
    missing = client.get("/contacts/999999")
    assert hidden.status_code == missing.status_code == 404
    def main(response) -> str:
        return re.search(r"<main>.*</main>", text(response), re.S).group(0)

    assert main(hidden).replace(str(team.restricted_id), "N") == main(missing).replace("999999", "N")
    assert not any(word in text(hidden) for word in hidden_words)
    # Search page and JSON API.
    found = text(client.get("/?q=Amina"))
    assert f'<a href="/contacts/{team.normal_id}">Amina Haddad</a>' in found
    for query in ("Hiddenperson", "Hiddenorg", "Hiddennetwork", "claimant"):
        results = text(client.get(f"/?q={query}"))
        assert not any(word in results for word in hidden_words), query
        assert f"/contacts/{team.restricted_id}" not in results, query
        api = client.get(f"/api/v1/search?q={query}")
        assert api.status_code == 200 and ("contact", team.restricted_id) not in \
            [(hit["kind"], hit["id"]) for hit in api.json["results"]]
    api = client.get("/api/v1/search?q=Amina")
    assert ("contact", team.normal_id) in [(hit["kind"], hit["id"]) for hit in api.json["results"]]
    # The case file linking both shows the normal contact only.
    case_page = text(client.get(f"/cases/{team.case_id}"))
    assert f'href="/contacts/{team.normal_id}"' in case_page
    assert f"/contacts/{team.restricted_id}" not in case_page
    assert not any(word in case_page for word in hidden_words)
    # The CSV export: the normal contact only, and the export is logged.
    exported = post(client, "/contacts/export.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(text(exported).lstrip("\ufeff"))))
    assert [row["name"] for row in rows] == ["Amina Haddad"]
    assert not any(word in text(exported) for word in hidden_words)
    entry = audit.entries(team.world.kb.db, entity="contact")[0]
    assert entry.action == "export" and entry.user_id == team.users[who].id


def test_researcher_cannot_create_edit_delete_or_import_contacts(app, team):
    client = client_for(app, team, "researcher")
    db = team.world.kb.db
    before = db.execute("SELECT count(*), max(updated_at) FROM contacts").fetchone()
    attempts = [
        client.get("/contacts/new"),
        post(client, "/contacts/new", {"name": "Someone New"}),
        client.get(f"/contacts/{team.normal_id}/edit"),
        post(client, f"/contacts/{team.normal_id}/edit", {"role": "judge"}),
        client.get(f"/contacts/{team.normal_id}/delete"),
        post(client, f"/contacts/{team.normal_id}/delete"),
        client.get("/contacts/import"),
        post(client, "/contacts/import", {"file": (io.BytesIO(b"name\nX\n"), "c.csv")},
             content_type="multipart/form-data"),
        post(client, f"/cases/{team.other_case_id}/contacts", {"contact_id": team.normal_id}),
        post(client, f"/cases/{team.case_id}/contacts/{team.normal_id}/unlink"),
    ]
    for response in attempts:
        assert response.status_code == 403
        page = text(response)
        assert "This page is for coordinators and admins; you are signed in as a researcher." in page
        assert '<nav aria-label="Main">' in page  # in the product's layout
    assert db.execute("SELECT count(*), max(updated_at) FROM contacts").fetchone() == before
    assert [c.contact.id for c in cases_store.case_contacts(db, team.users["admin"], team.case_id)] == \
        sorted([team.normal_id, team.restricted_id])

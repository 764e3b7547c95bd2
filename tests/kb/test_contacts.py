"""Contacts: editing, the access rules for every role, CSV import and export, and the audit trail."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from cli.main import kb_group
from kb import cases, contacts
from kb.contacts import ContactFilter
from kb.errors import InvalidInput, NotFound, PermissionDenied
from kb.storage import audit
from kb.users import User, add_user

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "contacts"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class People:
    researcher: User
    coordinator: User  # on no case file
    admin: User
    member: User  # a coordinator who is a member of the case file
    lead: User  # a coordinator who leads the case file
    researcher_member: User  # a researcher who is a member of the case file


@pytest.fixture
def people(db: Database) -> People:
    def user(name: str, role: str) -> User:
        return add_user(db, f"{name}@lab.example", PASSWORD, role, name=name)

    return People(user("researcher", "researcher"), user("coordinator", "coordinator"),
                  user("admin", "admin"), user("member", "coordinator"), user("lead", "coordinator"),
                  user("rmember", "researcher"))


def make_contact(**overrides: object) -> dict[str, object]:
    """Fields of a valid contact, with overrides."""
    fields: dict[str, object] = {
        "name": "Amina Haddad", "organisation": "Marsad", "role": "researcher", "kind": "expert",
        "country": "Jordan", "languages": "ar; en", "emails": ["amina@marsad.example"],
        "phones": "+962 6 555 0101",
        "expertise": "system/biometrics;right/privacy", "networks": "MENA digital rights",
        "notes": "Knows the programme.", "consent_how": "in person", "consent_date": "2024-03-12",
        "sensitivity": "normal",
    }
    fields.update(overrides)
    return fields


@dataclass(frozen=True)
class World:
    case_id: int
    normal: contacts.Contact
    restricted: contacts.Contact
    unlinked_restricted: contacts.Contact


@pytest.fixture
def world(db: Database, people: People) -> World:
    """A case file led by `lead` with members `member` and `researcher_member`, and three contacts."""
    case = cases.create_case(db, people.admin, {"title": "Risk scoring of claimants", "country": "NL"},
                             lead_id=people.lead.id,
                             member_ids=[people.member.id, people.researcher_member.id])
    normal = contacts.create_contact(db, people.coordinator, make_contact(
        name="Jan de Vries", organisation="Dagblad", emails="jan@dagblad.example", kind="journalist",
        languages="nl", country="Netherlands"))
    restricted = contacts.create_contact(db, people.member, make_contact(
        name="Claimant A", organisation="", emails="a@private.example", kind="affected person",
        sensitivity="restricted", notes="Lost benefits in 2019.", networks="Claimants group",
        country="Netherlands",
    ), case_id=case.id, case_role="affected person")
    unlinked = contacts.create_contact(db, people.admin, make_contact(
        name="Whistleblower B", emails="b@private.example", sensitivity="restricted", country="Netherlands"))
    return World(case.id, normal, restricted, unlinked)


# Creating, editing, deleting


def test_create_normalises_lists_and_records_the_fields(db: Database, people: People) -> None:
    fields = make_contact(emails="a@x.example; A@x.example;b@x.example")
    contact = contacts.create_contact(db, people.coordinator, fields)
    assert contact.languages == ("ar", "en")
    assert contact.emails == ("a@x.example", "b@x.example")
    assert contact.expertise == ("system/biometrics", "right/privacy")
    assert contacts.get_contact(db, people.coordinator, contact.id) == contact
    entry = audit.entries(db, entity="contact", entity_id=contact.id)[0]
    assert (entry.action, entry.user_id) == ("create", people.coordinator.id)
    assert entry.details["fields"]["name"] == "Amina Haddad"  # type: ignore[index]


def test_update_logs_each_changed_field_before_and_after(db: Database, people: People) -> None:
    contact = contacts.create_contact(db, people.coordinator, make_contact())
    changes = {"organisation": "Marsad Digital", "role": "researcher", "networks": ["A", "B"]}
    updated = contacts.update_contact(db, people.admin, contact.id, changes)
    assert updated.organisation == "Marsad Digital"
    assert updated.networks == ("A", "B")
    entry = audit.entries(db, entity="contact", entity_id=contact.id)[0]
    assert entry.action == "update"
    assert entry.details == {"changes": {"organisation": ["Marsad", "Marsad Digital"],
                                         "networks": [["MENA digital rights"], ["A", "B"]]}}


def test_update_without_change_writes_nothing(db: Database, people: People) -> None:
    contact = contacts.create_contact(db, people.coordinator, make_contact())
    contacts.update_contact(db, people.coordinator, contact.id, {"name": "Amina Haddad"})
    assert [e.action for e in audit.entries(db, entity="contact", entity_id=contact.id)] == ["create"]


def test_restricted_contacts_leave_only_field_names_in_the_log(db: Database, people: People,
                                                               world: World) -> None:
    contacts.update_contact(db, people.member, world.restricted.id, {"notes": "Moved to a new city, flat 4."})
    entries = audit.entries(db, entity="contact", entity_id=world.restricted.id)
    logged = json.dumps([e.details for e in entries])
    assert "Moved to a new city" not in logged
    assert "Lost benefits" not in logged
    assert "a@private.example" not in logged
    latest = audit.entries(db, entity="contact", entity_id=world.restricted.id)[0]
    assert latest.details == {"fields": ["notes"], "restricted": True}


def test_delete_removes_the_contact_and_its_case_links(db: Database, people: People, world: World) -> None:
    contacts.delete_contact(db, people.lead, world.restricted.id)
    with pytest.raises(NotFound):
        contacts.get_contact(db, people.admin, world.restricted.id)
    assert cases.case_contacts(db, people.admin, world.case_id) == []
    entry = audit.entries(db, entity="contact", entity_id=world.restricted.id)[0]
    assert entry.action == "delete"
    assert "Claimant" not in json.dumps(entry.details)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"name": " "}, "needs a name"),
    ({"emails": "someone@"}, "bad e-mail"),
    ({"expertise": "system/mind-reading"}, "unknown expertise topic"),
    ({"consent_date": "12/03/2024"}, "bad consent date"),
    ({"consent_date": "2024-02-30"}, "bad consent date"),
    ({"consent_date": "2999-01-01"}, "in the future"),
    ({"sensitivity": "secret"}, "sensitivity must be"),
    ({"kind": "spy"}, "kind must be"),
    ({"organisation": "x" * 201}, "longer than 200"),
    ({"phones": "call me"}, "bad phone"),
    ({"networks": [f"n{i}" for i in range(21)]}, "at most 20"),
    ({"colour": "blue"}, "unknown contact field"),
])
def test_invalid_fields_are_refused(db: Database, people: People, overrides: dict[str, object],
                                    message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        contacts.create_contact(db, people.coordinator, make_contact(**overrides))
    assert db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_researchers_may_not_change_contacts(db: Database, people: People, world: World) -> None:
    with pytest.raises(PermissionDenied):
        contacts.create_contact(db, people.researcher, make_contact())
    with pytest.raises(PermissionDenied):
        contacts.update_contact(db, people.researcher_member, world.normal.id, {"role": "x"})
    with pytest.raises(PermissionDenied):
        contacts.delete_contact(db, people.researcher, world.normal.id)


# The access rule


def test_can_see_contacts_by_role(people: People) -> None:
    # Issue 16: researchers now see contacts (the ones that are not restricted); they still change none.
    assert contacts.can_see_contacts(people.researcher)
    assert contacts.can_see_contacts(people.researcher_member)
    assert contacts.can_see_contacts(people.coordinator)
    assert contacts.can_see_contacts(people.admin)
    assert not contacts.can_change_contacts(people.researcher)
    assert not contacts.can_change_contacts(people.researcher_member)
    assert contacts.can_change_contacts(people.coordinator)
    assert contacts.can_change_contacts(people.admin)


def test_contact_scope_is_the_one_rule(people: People) -> None:
    from dataclasses import replace

    assert contacts.contact_scope(people.researcher) == contacts.ContactScope("normal")
    assert contacts.contact_scope(people.researcher_member) == contacts.ContactScope("normal")
    assert contacts.contact_scope(people.coordinator) == contacts.ContactScope("normal", through_cases=True)
    assert contacts.contact_scope(people.admin) == contacts.ContactScope("all")
    assert contacts.contact_scope(replace(people.researcher, active=False)) == contacts.ContactScope("none")


# Who sees which contact: researchers only the normal one (even on the case), a coordinator off the case only
# the normal one, the case's coordinator member and lead also its restricted contact, admins every contact.
VISIBLE = {
    "researcher": {"normal"},
    "researcher_member": {"normal"},
    "coordinator": {"normal"},
    "member": {"normal", "restricted"},
    "lead": {"normal", "restricted"},
    "admin": {"normal", "restricted", "unlinked_restricted"},
}
ALL_CONTACTS = ("normal", "restricted", "unlinked_restricted")


def _ids(world: World, names: set[str]) -> set[int]:
    return {getattr(world, name).id for name in names}


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_list_and_get_follow_the_rule(db: Database, people: People, world: World, role: str) -> None:
    user = getattr(people, role)
    assert {c.id for c in contacts.list_contacts(db, user)} == _ids(world, VISIBLE[role])
    for name in ALL_CONTACTS:
        contact_id = getattr(world, name).id
        if name in VISIBLE[role]:
            assert contacts.get_contact(db, user, contact_id).id == contact_id
        else:
            with pytest.raises(NotFound):
                contacts.get_contact(db, user, contact_id)
            assert contacts.find_contact(db, user, contact_id) is None


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_filters_and_facets_follow_the_rule(db: Database, people: People, world: World, role: str) -> None:
    user = getattr(people, role)
    by_country = contacts.list_contacts(db, user, ContactFilter(country="netherlands"))
    assert {c.id for c in by_country} == _ids(world, VISIBLE[role])
    by_query = contacts.list_contacts(db, user, ContactFilter(query="claimant"))
    assert {c.id for c in by_query} == _ids(world, VISIBLE[role] & {"restricted"})
    by_network = contacts.list_contacts(db, user, ContactFilter(network="claimants group"))
    assert {c.id for c in by_network} == _ids(world, VISIBLE[role] & {"restricted"})
    facets = contacts.contact_facets(db, user)
    assert dict(facets["country"]) == {"Netherlands": len(VISIBLE[role])}
    assert (("affected person", 1) in facets["kind"]) == ("restricted" in VISIBLE[role])


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_exports_follow_the_rule(db: Database, people: People, world: World, role: str) -> None:
    user = getattr(people, role)
    out = io.StringIO()
    count = contacts.export_contacts(db, user, out)
    names = {row["name"] for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert names == {getattr(world, name).name for name in VISIBLE[role]}
    assert count == len(VISIBLE[role])


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_visible_contact_ids_follow_the_rule(db: Database, people: People, world: World, role: str) -> None:
    visible = contacts.visible_contact_ids(db, getattr(people, role))
    if role == "admin":
        assert visible is None
    else:
        assert visible == _ids(world, VISIBLE[role])


@pytest.mark.parametrize("role", ["researcher", "researcher_member"])
def test_researchers_see_normal_contacts_never_restricted_ones_even_on_the_case(
        db: Database, people: People, world: World, role: str) -> None:
    """Issue 16: researchers see the contacts that are not restricted, and no restricted one, even one linked
    to a case file they are a member of (that opens restricted contacts to coordinators only)."""
    user = getattr(people, role)
    assert contacts.visible_contact_ids(db, user) == {world.normal.id}
    assert [c.id for c in contacts.list_contacts(db, user)] == [world.normal.id]
    assert contacts.get_contact(db, user, world.normal.id).name == "Jan de Vries"
    for hidden in (world.restricted.id, world.unlinked_restricted.id):
        assert not contacts.can_see_contact(db, user, hidden)
        with pytest.raises(NotFound, match=f"contact {hidden} does not exist"):
            contacts.get_contact(db, user, hidden)
    facets = contacts.contact_facets(db, user)
    assert dict(facets["country"]) == {"Netherlands": 1}
    assert "Claimants group" not in dict(facets["networks"])
    out = io.StringIO()
    assert contacts.export_contacts(db, user, out) == 1
    assert "Claimant A" not in out.getvalue() and "Whistleblower" not in out.getvalue()
    cases.link_contact(db, people.admin, world.case_id, world.normal.id, "journalist")
    assert [cc.contact.id for cc in cases.case_contacts(db, user, world.case_id)] == [world.normal.id]


def test_leaving_the_team_hides_the_restricted_contact(db: Database, people: People, world: World) -> None:
    cases.set_team(db, people.admin, world.case_id, people.lead.id, [people.researcher_member.id])
    with pytest.raises(NotFound):
        contacts.get_contact(db, people.member, world.restricted.id)


def test_disabled_admin_sees_nothing(db: Database, people: People, world: World) -> None:
    from dataclasses import replace

    disabled = replace(people.admin, active=False)
    assert contacts.visible_contact_ids(db, disabled) == set()
    with pytest.raises(PermissionDenied):
        contacts.list_contacts(db, disabled)


def test_a_restricted_contact_must_stay_visible_to_whoever_creates_it(db: Database, people: People,
                                                                     world: World) -> None:
    with pytest.raises(InvalidInput, match="hidden from you"):
        contacts.create_contact(db, people.coordinator, make_contact(sensitivity="restricted"))
    with pytest.raises(InvalidInput, match="hidden from you"):
        contacts.update_contact(db, people.coordinator, world.normal.id, {"sensitivity": "restricted"})
    assert contacts.get_contact(db, people.coordinator, world.normal.id).sensitivity == "normal"
    assert db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 3
    # On a case file they work on, they may.
    created = contacts.create_contact(db, people.lead, make_contact(sensitivity="restricted"),
                                      case_id=world.case_id)
    assert created.case_ids == (world.case_id,)


def test_audit_log_is_for_admins(db: Database, people: People, world: World) -> None:
    assert contacts.contact_history(db, people.admin, world.normal.id)
    with pytest.raises(PermissionDenied):
        contacts.contact_history(db, people.coordinator, world.normal.id)


# CSV import


def _import(db: Database, user: User, name: str, *, dry_run: bool = False) -> contacts.ImportReport:
    return contacts.import_contacts(db, user, (FIXTURES / name).read_bytes(), dry_run=dry_run)


def _table_counts(db: Database) -> tuple[int, int, int]:
    return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                 for t in ("contacts", "case_contacts", "audit_log"))


MIXED_EXPECTED = [
    (2, "created", ""),
    (3, "refused", "missing name"),
    (4, "refused", "bad e-mail"),
    (5, "refused", "unknown expertise topic"),
    (6, "refused", "bad consent date"),
    (7, "refused", "sensitivity must be"),
    (8, "refused", "longer than 200"),
    (9, "updated", "phones, role"),
    (10, "refused", "15 cells for 14 columns"),
    (12, "created", ""),
]


def _summary(report: contacts.ImportReport) -> list[tuple[int, str]]:
    return [(row.line, row.action) for row in report.rows]


def test_import_reports_row_by_row(db: Database, people: People) -> None:
    report = _import(db, people.admin, "mixed.csv")
    assert _summary(report) == [(line, action) for line, action, _ in MIXED_EXPECTED]
    for row, (_, _, reason) in zip(report.rows, MIXED_EXPECTED, strict=True):
        assert reason in row.reason
    names = [c.name for c in contacts.list_contacts(db, people.admin)]
    assert names == ["Paul Martin", "Sofía Ruiz"]
    sofia = contacts.list_contacts(db, people.admin, ContactFilter(query="sofía"))[0]
    assert (sofia.role, sofia.phones) == ("director", ("+34 600 000 000",))
    assert sofia.expertise == ("sector/welfare",)


def test_dry_run_reports_the_same_and_writes_nothing(db: Database, people: People) -> None:
    before = _table_counts(db)
    dry = _import(db, people.admin, "mixed.csv", dry_run=True)
    assert _table_counts(db) == before
    assert dry.summary().endswith("(dry run: nothing written)")
    real = _import(db, people.admin, "mixed.csv")
    assert _summary(dry) == _summary(real)


def test_import_again_changes_nothing(db: Database, people: People) -> None:
    first = _import(db, people.admin, "good.csv")
    assert [row.action for row in first.rows] == ["created", "created", "created"]
    second = _import(db, people.admin, "good.csv")
    assert [row.action for row in second.rows] == ["unchanged", "unchanged", "unchanged"]
    restricted = contacts.list_contacts(db, people.admin, ContactFilter(sensitivity="restricted"))
    assert [c.notes for c in restricted] == ["Lost benefits in 2019.\nPrefers contact through the lawyer."]


def test_a_row_failing_mid_way_leaves_nothing_and_the_others_go_on(db: Database, people: People,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real_record = audit.record

    def failing_record(db: Database, user_id: int | None, action: str, entity: str, entity_id: int | None,
                       details: dict[str, object] | None = None) -> None:
        fields = (details or {}).get("fields")
        if action == "create" and isinstance(fields, dict) and fields.get("name") == "Jan de Vries":
            raise sqlite3.IntegrityError("disk said no")  # after the contact row was inserted
        real_record(db, user_id, action, entity, entity_id, details)

    monkeypatch.setattr(contacts.audit, "record", failing_record)
    report = _import(db, people.admin, "good.csv")
    assert [row.action for row in report.rows] == ["created", "refused", "created"]
    assert "disk said no" in report.rows[1].reason
    assert sorted(c.name for c in contacts.list_contacts(db, people.admin)) == ["Amina Haddad", "Claimant A"]


def test_import_refuses_restricted_rows_its_author_would_not_see(db: Database, people: People) -> None:
    report = _import(db, people.coordinator, "good.csv")
    assert [row.action for row in report.rows] == ["created", "created", "refused"]
    assert "hidden from you" in report.rows[2].reason


def test_import_never_matches_a_contact_hidden_from_the_importer(db: Database, people: People,
                                                                 world: World) -> None:
    data = b"name,emails,notes\nSomeone Else,b@private.example,overwrite attempt\n"
    report = contacts.import_contacts(db, people.coordinator, data)
    assert report.rows[0].action == "created"
    hidden = contacts.get_contact(db, people.admin, world.unlinked_restricted.id)
    assert hidden.notes == "Knows the programme."


def test_an_empty_cell_leaves_the_stored_value(db: Database, people: People, world: World) -> None:
    data = b"name,organisation,emails,notes,role\nJan de Vries,,jan@dagblad.example,,editor\n"
    report = contacts.import_contacts(db, people.coordinator, data)
    assert [(r.action, r.reason) for r in report.rows] == [("updated", f"contact {world.normal.id}: role")]
    jan = contacts.get_contact(db, people.coordinator, world.normal.id)
    assert (jan.organisation, jan.notes, jan.role) == ("Dagblad", "Knows the programme.", "editor")


def test_name_and_organisation_match_only_contacts_without_e_mail(db: Database, people: People) -> None:
    contacts.create_contact(db, people.admin, make_contact(name="Ana Lima", organisation="Org", emails=""))
    data = b"name,organisation,emails\nAna Lima,ORG,ana@org.example\nAna Lima,Org,other@org.example\n"
    report = contacts.import_contacts(db, people.admin, data)
    assert [row.action for row in report.rows] == ["updated", "created"]


@pytest.mark.parametrize(("data", "message"), [
    ((FIXTURES / "bad_header.csv").read_bytes(), "unknown column"),
    (b"", "empty"),
    (b"organisation,emails\nOrg,a@b.example\n", "no 'name' column"),
    (b"name,name\nA,B\n", "given twice"),
    ("name\nJosé\n".encode("latin-1"), "not UTF-8"),
])
def test_a_bad_file_is_refused_as_a_whole(db: Database, people: People, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        contacts.import_contacts(db, people.admin, data)
    assert db.execute("SELECT count(*) FROM contacts").fetchone()[0] == 0


def test_import_accepts_excel_bom_and_header_spellings(db: Database, people: People) -> None:
    data = "\ufeffName,Organization,E-mail,Expertise topics\nAna,Org,ana@org.example,right/privacy\n".encode()
    report = contacts.import_contacts(db, people.admin, data)
    assert [row.action for row in report.rows] == ["created"]
    ana = contacts.list_contacts(db, people.admin)[0]
    assert (ana.organisation, ana.emails, ana.expertise) == ("Org", ("ana@org.example",), ("right/privacy",))


def test_researchers_may_not_import(db: Database, people: People) -> None:
    with pytest.raises(PermissionDenied):
        _import(db, people.researcher, "good.csv")


# CSV export


def test_export_neutralises_formulas(db: Database, people: People) -> None:
    contacts.create_contact(db, people.admin, make_contact(
        name="=HYPERLINK(\"http://evil.example\",\"click\")", organisation="@SUM(A1:A9)", role="-2+3",
        phones="+44 20 7946 0000", notes="+cmd|' /C calc'!A0"))
    out = io.StringIO()
    contacts.export_contacts(db, people.admin, out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    for column in ("name", "organisation", "role", "phones", "notes"):
        assert row[column].startswith("'"), column
    assert row["name"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert row["country"] == "Jordan"


def test_spreadsheet_safe() -> None:
    assert contacts.spreadsheet_safe("=1+1") == "'=1+1"
    assert contacts.spreadsheet_safe("\t=1") == "'\t=1"
    assert contacts.spreadsheet_safe("plain = text") == "plain = text"
    assert contacts.spreadsheet_safe("") == ""


def test_an_export_read_back_changes_nothing(db: Database, people: People, world: World) -> None:
    contacts.update_contact(db, people.admin, world.normal.id,
                            {"organisation": "=Dagblad", "phones": "+31 20 555"})
    out = io.StringIO()
    contacts.export_contacts(db, people.admin, out)
    report = contacts.import_contacts(db, people.admin, out.getvalue().encode())
    assert {row.action for row in report.rows} == {"unchanged"}
    assert contacts.get_contact(db, people.admin, world.normal.id).organisation == "=Dagblad"


def test_export_is_logged(db: Database, people: People, world: World) -> None:
    contacts.export_contacts(db, people.coordinator, io.StringIO())
    entry = audit.entries(db, entity="contact")[0]
    assert (entry.action, entry.user_id, entry.details) == ("export", people.coordinator.id, {"count": 1})


# The command line


@pytest.fixture
def runner_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    for name in list(os.environ):
        if name.startswith("KB_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(kb_group, ["--data-dir", str(data_dir), "users", "add", "boss@lab.example",
                                      "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(kb_group, ["--data-dir", str(data_dir), "users", "add", "res@lab.example",
                                      "--role", "researcher", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return data_dir


def test_cli_import_dry_run_then_real_then_export(runner_env: Path, tmp_path: Path) -> None:
    base = ["--data-dir", str(runner_env), "contacts"]
    fixture = str(FIXTURES / "mixed.csv")
    dry = CliRunner().invoke(kb_group, [*base, "import", fixture, "--dry-run", "--as", "boss@lab.example"])
    assert dry.exit_code == 0, dry.output
    assert "line     4: refused   Bad Mail - bad e-mail address 'not-an-email'" in dry.output
    assert "dry run" in dry.output
    real = CliRunner().invoke(kb_group, [*base, "import", fixture, "--as", "boss@lab.example"])
    assert "2 created, 1 updated, 0 unchanged, 7 refused" in real.output
    target = tmp_path / "contacts.csv"
    exported = CliRunner().invoke(kb_group, [*base, "export", "--output", str(target),
                                            "--as", "boss@lab.example"])
    assert exported.exit_code == 0, exported.output
    assert target.stat().st_mode & 0o777 == 0o600
    with target.open(encoding="utf-8", newline="") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["Paul Martin", "Sofía Ruiz"]


def test_cli_applies_the_access_rules(runner_env: Path) -> None:
    base = ["--data-dir", str(runner_env), "contacts", "export", "--as"]
    # Issue 16: a researcher exports the contacts they may see (none here); importing stays refused.
    result = CliRunner().invoke(kb_group, [*base, "res@lab.example"])
    assert result.exit_code == 0, result.output
    assert result.output.lstrip("\ufeff").splitlines()[0] == ",".join(contacts.FIELDS)
    refused = CliRunner().invoke(kb_group, ["--data-dir", str(runner_env), "contacts", "import",
                                            str(FIXTURES / "good.csv"), "--as", "res@lab.example"])
    assert refused.exit_code == 1
    assert "only coordinators and admins" in refused.output
    unknown = CliRunner().invoke(kb_group, [*base, "x@lab.example"])
    assert unknown.exit_code == 1
    assert "no active user" in unknown.output

"""Case files: editing and who may, items, contacts, notes, deadlines, source exports, the demo loader."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from cli.main import kb_group
from kb import cases, contacts, items, sample, tags
from kb.errors import InvalidInput, NotFound, PermissionDenied
from kb.storage import audit, outbox
from kb.users import User, add_user
from tests.factories import make_draft, make_kb

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class People:
    researcher: User
    coordinator: User
    admin: User
    lead: User  # a researcher who leads the case file
    member: User  # a researcher who is a member


@pytest.fixture
def people(db: Database) -> People:
    def user(name: str, role: str) -> User:
        return add_user(db, f"{name}@lab.example", PASSWORD, role, name=name)

    return People(user("researcher", "researcher"), user("coordinator", "coordinator"),
                  user("admin", "admin"), user("lead", "researcher"), user("member", "researcher"))


def make_case(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "title": "Fraud risk scoring of benefit claimants", "country": "Netherlands",
        "sector": "sector/welfare",
        "system_name": "SyRI", "system_agency": "Ministry of Social Affairs", "system_vendor": "",
        "legal_basis": "Wet SUWI, art. 65", "summary": "Risk profiles of neighbourhoods.",
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def case(db: Database, people: People) -> cases.CaseFile:
    return cases.create_case(db, people.coordinator, make_case(), lead_id=people.lead.id,
                             member_ids=[people.member.id])


def _item(db: Database, **overrides: object) -> int:
    return items.store_item(db, make_draft(**overrides)).item_id


# Creating and editing


def test_create_case_records_fields_and_team(db: Database, people: People, case: cases.CaseFile) -> None:
    assert (case.status, case.lead_id, case.member_ids) == ("open", people.lead.id, (people.member.id,))
    assert cases.get_case(db, people.researcher, case.id) == case
    actions = [e.action for e in audit.entries(db, entity="case", entity_id=case.id)]
    assert actions == ["set-team", "create"]


def test_update_logs_before_and_after(db: Database, people: People, case: cases.CaseFile) -> None:
    changes = {"system_vendor": "Acme Analytics", "title": case.title}
    updated = cases.update_case(db, people.lead, case.id, changes)
    assert updated.system_vendor == "Acme Analytics"
    entry = audit.entries(db, entity="case", entity_id=case.id)[0]
    assert (entry.action, entry.user_id) == ("update", people.lead.id)
    assert entry.details == {"changes": {"system_vendor": ["", "Acme Analytics"]}}


def test_close_and_reopen(db: Database, people: People, case: cases.CaseFile) -> None:
    assert cases.close_case(db, people.coordinator, case.id).status == "closed"
    assert [c.id for c in cases.list_cases(db, people.researcher, status="closed")] == [case.id]
    assert cases.list_cases(db, people.researcher, status="open") == []
    assert cases.reopen_case(db, people.lead, case.id).status == "open"
    assert [e.action for e in audit.entries(db, entity="case", entity_id=case.id)][:2] == ["reopen", "close"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": ""}, "needs a title"),
    ({"title": "x" * 301}, "longer than 300"),
    ({"colour": "red"}, "unknown case field"),
])
def test_invalid_case_fields(db: Database, people: People, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        cases.create_case(db, people.coordinator, make_case(**fields))


def test_unknown_team_member_is_refused(db: Database, people: People) -> None:
    with pytest.raises(InvalidInput, match="user 999"):
        cases.create_case(db, people.coordinator, make_case(), member_ids=[999])
    assert cases.list_cases(db, people.admin) == []


def test_list_cases_of_one_person(db: Database, people: People, case: cases.CaseFile) -> None:
    other = cases.create_case(db, people.admin, make_case(title="Exam grading"))
    assert [c.id for c in cases.list_cases(db, people.researcher)] == [other.id, case.id]
    assert [c.id for c in cases.list_cases(db, people.researcher, team_member=people.member.id)] == [case.id]
    assert [c.id for c in cases.list_cases(db, people.researcher, team_member=people.lead.id)] == [case.id]


def test_missing_case_is_not_found(db: Database, people: People) -> None:
    with pytest.raises(NotFound):
        cases.get_case(db, people.admin, 42)
    assert cases.find_case(db, people.admin, 42) is None


# Who may do what


def test_permissions_by_role(db: Database, people: People, case: cases.CaseFile) -> None:
    item_id = _item(db)
    # Anyone signed in reads.
    for user in (people.researcher, people.member, people.lead, people.coordinator, people.admin):
        assert cases.get_case(db, user, case.id).id == case.id
        assert cases.case_notes(db, user, case.id) == []
    # Only coordinators and admins create case files and change teams.
    for user in (people.researcher, people.lead):
        with pytest.raises(PermissionDenied):
            cases.create_case(db, user, make_case())
        with pytest.raises(PermissionDenied):
            cases.set_team(db, user, case.id, user.id, [])
    # A researcher off the team changes nothing.
    with pytest.raises(PermissionDenied):
        cases.add_note(db, people.researcher, case.id, "hello")
    with pytest.raises(PermissionDenied):
        cases.link_item(db, people.researcher, case.id, item_id)
    # A researcher member adds notes and links items, and nothing else.
    note = cases.add_note(db, people.member, case.id, "Called the ombudsman.")
    assert note.user_email == "member@lab.example"
    assert cases.link_item(db, people.member, case.id, item_id)
    with pytest.raises(PermissionDenied):
        cases.update_case(db, people.member, case.id, {"summary": "x"})
    with pytest.raises(PermissionDenied):
        cases.add_deadline(db, people.member, case.id, "2030-01-01", "Appeal")
    with pytest.raises(PermissionDenied):
        cases.close_case(db, people.member, case.id)
    # The lead, even a researcher, manages the case file.
    cases.add_deadline(db, people.lead, case.id, "2030-01-01", "Appeal")
    cases.close_case(db, people.lead, case.id)
    assert cases.can_manage_case(people.lead, case) and not cases.can_manage_case(people.member, case)
    assert cases.can_contribute(people.member, case) and not cases.can_contribute(people.researcher, case)


def test_set_team_is_logged(db: Database, people: People, case: cases.CaseFile) -> None:
    updated = cases.set_team(db, people.admin, case.id, None, [people.researcher.id, people.member.id])
    assert (updated.lead_id, set(updated.member_ids)) == (None, {people.researcher.id, people.member.id})
    entry = audit.entries(db, entity="case", entity_id=case.id)[0]
    members_after = sorted([people.researcher.id, people.member.id])
    assert entry.details == {"lead_id": [people.lead.id, None],
                             "member_ids": [[people.member.id], members_after]}


# Items


def test_link_and_unlink_items_reindex_them(db: Database, people: People, case: cases.CaseFile) -> None:
    item_id = _item(db)
    tags.set_tag(db, item_id, "right/privacy", people.admin.id)
    outbox.acknowledge(db, [row for row, _, _ in outbox.pending(db, 100)])
    assert cases.link_item(db, people.member, case.id, item_id) is True
    assert cases.link_item(db, people.member, case.id, item_id) is False
    assert [(k, i) for _, k, i in outbox.pending(db, 100)] == [("item", item_id)]
    linked = cases.case_items(db, people.researcher, case.id)
    assert [i.id for i in linked] == [item_id]
    assert linked[0].case_ids == (case.id,)
    assert set(linked[0].topics) == {"sector/welfare", "system/risk-scoring", "right/privacy"}
    assert cases.unlink_item(db, people.member, case.id, item_id) is True
    assert cases.unlink_item(db, people.member, case.id, item_id) is False
    assert [(k, i) for _, k, i in outbox.pending(db, 100)] == [("item", item_id)] * 2
    assert items.get_item(db, item_id).case_ids == ()
    actions = [e.action for e in audit.entries(db, entity="case", entity_id=case.id)][:2]
    assert actions == ["unlink-item", "link-item"]


def test_link_missing_item(db: Database, people: People, case: cases.CaseFile) -> None:
    with pytest.raises(NotFound):
        cases.link_item(db, people.lead, case.id, 12345)
    assert [kind for _, kind, _ in outbox.pending(db, 100)] == ["case"]  # only the new case file itself


# Contacts


def test_link_contacts_with_roles(db: Database, people: People, case: cases.CaseFile) -> None:
    normal = contacts.create_contact(db, people.coordinator, {"name": "Jan", "emails": "jan@x.example"})
    restricted = contacts.create_contact(db, people.admin, {"name": "Claimant", "sensitivity": "restricted"})
    cases.link_contact(db, people.coordinator, case.id, normal.id, "journalist who broke the story")
    cases.link_contact(db, people.admin, case.id, restricted.id, "affected person")
    cases.link_contact(db, people.coordinator, case.id, normal.id, "source")  # changes the role
    as_admin = [(c.contact.name, c.role) for c in cases.case_contacts(db, people.admin, case.id)]
    assert as_admin == [("Claimant", "affected person"), ("Jan", "source")]
    # The coordinator is not on the team: the restricted contact stays hidden from them.
    assert [c.contact.name for c in cases.case_contacts(db, people.coordinator, case.id)] == ["Jan"]
    with pytest.raises(NotFound):
        cases.link_contact(db, people.coordinator, case.id, restricted.id, "x")
    with pytest.raises(NotFound):
        cases.unlink_contact(db, people.coordinator, case.id, restricted.id)
    # Researchers, even the lead, see only the normal one (issue 16), and link or unlink none.
    assert [c.contact.name for c in cases.case_contacts(db, people.lead, case.id)] == ["Jan"]
    with pytest.raises(PermissionDenied):
        cases.link_contact(db, people.lead, case.id, normal.id, "x")
    with pytest.raises(PermissionDenied):
        cases.unlink_contact(db, people.lead, case.id, normal.id)
    assert cases.unlink_contact(db, people.coordinator, case.id, normal.id) is True
    assert cases.unlink_contact(db, people.coordinator, case.id, normal.id) is False
    assert [c.contact.name for c in cases.case_contacts(db, people.admin, case.id)] == ["Claimant"]


def test_a_coordinator_on_the_team_sees_the_restricted_contact(db: Database, people: People,
                                                               case: cases.CaseFile) -> None:
    restricted = contacts.create_contact(db, people.admin, {"name": "Claimant", "sensitivity": "restricted"},
                                         case_id=case.id, case_role="affected person")
    cases.set_team(db, people.admin, case.id, people.lead.id, [people.member.id, people.coordinator.id])
    assert [c.contact.id for c in cases.case_contacts(db, people.coordinator, case.id)] == [restricted.id]
    assert contacts.get_contact(db, people.coordinator, restricted.id).case_ids == (case.id,)


# Notes and deadlines


def test_notes_form_a_dated_timeline(db: Database, people: People, case: cases.CaseFile) -> None:
    first = cases.add_note(db, people.lead, case.id, "  Filed the FOI request.\r\nRef 2024/17 ")
    second = cases.add_note(db, people.member, case.id, "Answer received.")
    timeline = cases.case_notes(db, people.researcher, case.id)
    assert [n.id for n in timeline] == [first.id, second.id]
    assert timeline[0].body == "Filed the FOI request.\nRef 2024/17"
    assert timeline[0].created_at <= timeline[1].created_at
    with pytest.raises(InvalidInput):
        cases.add_note(db, people.lead, case.id, "   ")
    entry = audit.entries(db, entity="case", entity_id=case.id)[0]
    assert entry.details == {"note_id": second.id}


def test_upcoming_deadlines(db: Database, people: People, case: cases.CaseFile) -> None:
    today = date(2026, 3, 1)
    overdue = cases.add_deadline(db, people.lead, case.id, "2026-02-20", "Reply to the ministry")
    soon = cases.add_deadline(db, people.lead, case.id, date(2026, 3, 10), "Appeal deadline")
    cases.add_deadline(db, people.lead, case.id, "2026-04-30", "Report")
    done = cases.add_deadline(db, people.lead, case.id, "2026-03-05", "FOI request")
    cases.set_deadline_done(db, people.coordinator, done.id)
    other = cases.create_case(db, people.coordinator, make_case(title="Closed one"))
    cases.add_deadline(db, people.coordinator, other.id, "2026-03-02", "Never shown")
    cases.close_case(db, people.coordinator, other.id)
    upcoming = cases.upcoming_deadlines(db, people.researcher, days=14, today=today)
    assert [(d.id, d.case_title) for d in upcoming] == [(overdue.id, case.title), (soon.id, case.title)]
    assert cases.upcoming_deadlines(db, people.researcher, days=14, today=today, mine=True) == []
    assert len(cases.upcoming_deadlines(db, people.member, days=14, today=today, mine=True)) == 2
    assert len(cases.case_deadlines(db, people.researcher, case.id)) == 4
    assert cases.set_deadline_done(db, people.lead, done.id, done=False).done is False
    cases.delete_deadline(db, people.lead, done.id)
    assert len(cases.case_deadlines(db, people.researcher, case.id)) == 3


@pytest.mark.parametrize("due", ["2026-13-01", "01/03/2026", "", "2026-3-1"])
def test_bad_due_dates(db: Database, people: People, case: cases.CaseFile, due: str) -> None:
    with pytest.raises(InvalidInput, match="bad due date"):
        cases.add_deadline(db, people.lead, case.id, due, "Appeal")


# Exports of sources


def test_ris_record_format(db: Database) -> None:
    item = items.get_item(db, _item(
        db, url="https://news.example.org/robodebt", title="Robodebt:\nlessons learned", author="Jane Roe",
        site_name="Civic Ledger", summary="Income averaging\nproduced false debts.", language="en",
        published=datetime(2024, 3, 5, 8, 0, tzinfo=UTC)))
    assert cases.ris_record(item) == (
        "TY  - NEWS\r\n"
        "TI  - Robodebt: lessons learned\r\n"
        "AU  - Jane Roe\r\n"
        "PY  - 2024\r\n"
        "DA  - 2024/03/05\r\n"
        "UR  - https://news.example.org/robodebt\r\n"
        "T2  - Civic Ledger\r\n"
        "LA  - en\r\n"
        "AB  - Income averaging produced false debts.\r\n"
        "KW  - Welfare and social protection\r\n"
        "KW  - Risk scoring and fraud detection\r\n"
        "ER  - \r\n"
    )


def test_ris_of_an_undated_page_is_elec(db: Database) -> None:
    item = items.get_item(db, _item(db, published=None, author="", site_name="", summary="", language="und",
                                     topics=()))
    record = cases.ris_record(item)
    assert record.startswith("TY  - ELEC\r\n")
    assert "PY  -" not in record and "AU  -" not in record and "LA  -" not in record


def test_sources_exports(db: Database, people: People, case: cases.CaseFile) -> None:
    first = _item(db, title="=cmd|' /C calc'!A0")
    second = _item(db)
    for item_id in (first, second):
        cases.link_item(db, people.lead, case.id, item_id)
    ris = cases.sources_ris(db, people.researcher, case.id)
    assert ris.count("TY  - ") == 2 and ris.count("ER  - \r\n") == 2
    assert "ER  - \r\n\r\nTY  - " in ris
    rows = list(csv.DictReader(io.StringIO(cases.sources_csv(db, people.researcher, case.id))))
    assert [int(r["id"]) for r in rows] == [first, second]
    assert rows[0]["title"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["topics"] == "sector/welfare;system/risk-scoring"  # keys for programs
    assert rows[1]["topic_labels"] == "Welfare and social protection; Risk scoring and fraud detection"


def test_cli_cases(tmp_path: Path, people: People) -> None:
    base = make_kb(tmp_path / "data")
    try:
        admin = add_user(base.db, "boss@lab.example", PASSWORD, "admin")
        created = cases.create_case(base.db, admin, make_case())
        cases.link_item(base.db, admin, created.id, _item(base.db))
    finally:
        base.close()
    args = ["--data-dir", str(tmp_path / "data"), "cases"]
    listed = CliRunner().invoke(kb_group, [*args, "list", "--as", "boss@lab.example"])
    assert listed.exit_code == 0, listed.output
    assert f"{created.id:>4}  open" in listed.output
    ris = CliRunner().invoke(kb_group, [*args, "export-sources", str(created.id), "--format", "ris",
                                   "--as", "boss@lab.example"])
    assert ris.exit_code == 0, ris.output
    assert ris.output.startswith("TY  - NEWS")
    missing = CliRunner().invoke(kb_group, [*args, "export-sources", "99", "--as", "boss@lab.example"])
    assert missing.exit_code == 1 and "case file 99 does not exist" in missing.output


# The demo loader


SAMPLE_CONTACTS = [
    {"name": "Amina Haddad", "organisation": "Marsad", "role": "researcher", "country": "Jordan",
     "languages": ["ar", "en"], "emails": ["amina@marsad.example"], "phones": [],
     "expertise": ["system/biometrics"],
     "networks": ["MENA"], "notes": "", "consent_how": "in person", "consent_date": "2024-03-12",
     "sensitivity": "normal", "kind": "expert"},
    {"name": "Claimant A", "organisation": "", "role": "", "country": "Netherlands", "languages": ["nl"],
     "emails": [], "phones": [], "expertise": [], "networks": [], "notes": "Prefers the lawyer.",
     "consent_how": "signed form", "consent_date": "2024-01-05", "sensitivity": "restricted",
     "kind": "affected person"},
]
SAMPLE_CASES = [
    {**make_case(), "status": "open", "items": ["robodebt", "missing-slug"],
     "contacts": [{"name": "Amina Haddad", "role": "expert witness"},
                  {"name": "Claimant A", "role": "claimant"}],
     "deadlines": [{"due": "2030-01-15", "what": "Appeal"}]},
    {**make_case(title="Exam grading"), "status": "closed", "items": [], "contacts": [], "deadlines": []},
]


def test_load_sample_is_idempotent(db: Database, people: People) -> None:
    item_id = _item(db)
    slugs = {"robodebt": item_id}
    first = cases.load_sample(db, SAMPLE_CONTACTS, SAMPLE_CASES, slugs.get)
    assert (first.contacts_created, first.cases_created, first.items_linked, first.contacts_linked,
            first.deadlines_created) == (2, 2, 1, 2, 1)
    assert first.missing == ("item missing-slug",)

    def counts() -> list[int]:
        return [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                ("contacts", "cases", "case_items", "case_contacts", "case_deadlines", "audit_log")]

    before = counts()
    second = cases.load_sample(db, SAMPLE_CONTACTS, SAMPLE_CASES, slugs.get)
    assert (second.contacts_created, second.cases_created, second.items_linked, second.contacts_linked,
            second.deadlines_created) == (0, 0, 0, 0, 0)
    assert counts() == before
    statuses = {c.title: c.status for c in cases.list_cases(db, people.admin)}
    assert statuses == {"Fraud risk scoring of benefit claimants": "open", "Exam grading": "closed"}
    assert items.get_item(db, item_id).case_ids != ()
    sample_case = next(c for c in cases.list_cases(db, people.admin) if c.status == "open")
    roles = {c.contact.name: c.role for c in cases.case_contacts(db, people.admin, sample_case.id)}
    assert roles == {"Amina Haddad": "expert witness", "Claimant A": "claimant"}
    logged = json.dumps([e.details for e in audit.entries(db, entity="contact")])
    assert "Prefers the lawyer" not in logged


def test_bundled_sample_loads_once(db: Database, people: People) -> None:
    def load() -> tuple[int, int]:
        report = cases.load_sample(db, sample.load_contacts(), sample.load_cases(), lambda slug: None)
        return report.contacts_created, report.cases_created

    assert load() == (5, 2)
    assert load() == (0, 0)
    restricted = contacts.list_contacts(db, people.admin, contacts.ContactFilter(sensitivity="restricted"))
    assert [c.name for c in restricted] == ["Yasmina K. (pseudonym)"]
    # Restricted and linked to a case file with no team yet: only admins see it.
    assert restricted[0].id not in (contacts.visible_contact_ids(db, people.coordinator) or set())
    assert all(d.case_title for d in cases.upcoming_deadlines(db, people.researcher, days=3650,
                                                              today=date(2026, 1, 1)))

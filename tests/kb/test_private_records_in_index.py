"""Contacts and case files reach the index through the outbox like items, so access rules see fresh data."""

from __future__ import annotations

import pytest

from kb import cases, contacts
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.search.service import SearchFilters, search


@pytest.fixture
def people(kb: KnowledgeBase):
    make = users_store.add_user
    return {
        "admin": make(kb.db, "admin@lab.example", "a long password", "admin"),
        "coordinator": make(kb.db, "coord@lab.example", "a long password", "coordinator"),
        "lead": make(kb.db, "lead@lab.example", "a long password", "coordinator"),
    }


def _contact_hits(kb: KnowledgeBase, user, query: str) -> list[int]:
    found = search(kb, query, SearchFilters(kind=("contact",)), user=user,
                   allowed_contacts=contacts.visible_contact_ids(kb.db, user) or ())
    return [hit.id for hit in found.hits if hit.kind == "contact"]


def test_contact_changes_and_deletion_reach_search(kb: KnowledgeBase, people):
    admin, coordinator, lead = people["admin"], people["coordinator"], people["lead"]
    case = cases.create_case(kb.db, admin, {"title": "Benefit fraud scoring in Rotterdam"}, lead_id=lead.id)
    contact = contacts.create_contact(kb.db, lead,
                                      {"name": "Marieke Quispel", "organisation": "Bijstandsbond"})
    kb.sync_index()
    assert _contact_hits(kb, coordinator, "Quispel") == [contact.id]

    # Marked restricted (an affected person) and tied to the case: the coordinator off the team loses it.
    contacts.update_contact(kb.db, admin, contact.id, {"sensitivity": "restricted"})
    cases.link_contact(kb.db, admin, case.id, contact.id, "affected person")
    kb.sync_index()
    assert _contact_hits(kb, coordinator, "Quispel") == []
    assert _contact_hits(kb, lead, "Quispel") == [contact.id]

    contacts.delete_contact(kb.db, admin, contact.id)
    kb.sync_index()
    assert _contact_hits(kb, admin, "Quispel") == []
    assert kb.status().index_in_sync


def test_case_files_are_found_after_creation_and_edit(kb: KnowledgeBase, people):
    admin = people["admin"]
    case = cases.create_case(kb.db, admin, {"title": "Exam grading algorithm"})
    kb.sync_index()
    assert [h.id for h in search(kb, "grading", user=admin).hits if h.kind == "case"] == [case.id]
    cases.update_case(kb.db, admin, case.id, {"title": "Student finance risk profile"})
    kb.sync_index()
    assert [h.id for h in search(kb, "grading", user=admin).hits if h.kind == "case"] == []
    assert [h.id for h in search(kb, "profile", user=admin).hits if h.kind == "case"] == [case.id]


def test_rebuild_includes_contacts_and_cases(kb: KnowledgeBase, people):
    admin = people["admin"]
    cases.create_case(kb.db, admin, {"title": "Triage tool in emergency rooms"})
    contacts.create_contact(kb.db, admin, {"name": "Nadia Benali"})
    kb.index.rebuild(kb.db)
    assert {key.partition(":")[0] for key in kb.index.document_ids()} == {"case", "contact"}
    assert kb.status().index_in_sync

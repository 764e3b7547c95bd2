"""Systems of the register in search: a kind of document of their own, found by name, alias in any script,
organisation, supplier and description; and a `system` facet and filter on items, holding only the systems
an item is confirmed to be about. Every change reaches the index through the outbox (kb.sync_index), and a
rebuild holds the same."""

from __future__ import annotations

import pytest

from kb import items as items_store
from kb import systems
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.search.service import SearchFilters, search
from kb.storage import outbox
from kb.users import User
from tests.factories import make_draft

PASSWORD = "a-long-enough-password"

ROBODEBT = {"name": "Robodebt", "aliases": ["Online Compliance Intervention"], "country": "au",
            "organisation": "Services Australia", "external_supplier": "Centrelink in-house team",
            "description": "Averaged yearly tax income over fortnights to raise welfare debts."}
TAKAFUL = {"name": "Takaful cash transfer programme", "aliases": ["برنامج تكافل"], "country": "jo",
           "organisation": "National Aid Fund"}
SYRI = {"name": "SyRI", "aliases": ["Systeem Risico Indicatie"], "country": "nl"}


@pytest.fixture
def coordinator(kb: KnowledgeBase) -> User:
    return users_store.add_user(kb.db, "coordinator@lab.example", PASSWORD, "coordinator")


@pytest.fixture
def researcher(kb: KnowledgeBase) -> User:
    return users_store.add_user(kb.db, "researcher@lab.example", PASSWORD, "researcher")


def _systems_found(kb: KnowledgeBase, user: User | None, query: str) -> list[tuple[int, str, str]]:
    found = search(kb, query, user=user)
    return [(hit.id, hit.title, hit.url) for hit in found.hits if hit.kind == "system"]


def _store(kb: KnowledgeBase, title: str, text: str) -> int:
    draft = make_draft(title=title, text=text, summary="", language="en")
    return items_store.store_item(kb.db, draft).item_id


def test_a_system_is_found_by_name_alias_in_any_script_and_its_record(kb, coordinator, researcher):
    robodebt = systems.create_system(kb.db, coordinator, ROBODEBT).id
    takaful = systems.create_system(kb.db, coordinator, TAKAFUL).id
    systems.create_system(kb.db, coordinator, SYRI)
    kb.sync_index()
    expected_robodebt = [(robodebt, "Robodebt", f"/systems/{robodebt}")]
    assert _systems_found(kb, researcher, "Robodebt") == expected_robodebt
    assert _systems_found(kb, researcher, "Online Compliance Intervention") == expected_robodebt
    assert _systems_found(kb, researcher, '"online compliance intervention"') == expected_robodebt
    assert _systems_found(kb, researcher, "Services Australia") == expected_robodebt  # organisation
    assert _systems_found(kb, researcher, "Centrelink") == expected_robodebt  # supplier
    assert _systems_found(kb, researcher, "fortnights") == expected_robodebt  # description
    takaful_hit = [(takaful, "Takaful cash transfer programme", f"/systems/{takaful}")]
    assert _systems_found(kb, researcher, "تكافل") == takaful_hit  # an alias in Arabic script
    assert _systems_found(kb, researcher, "تَكافُل") == takaful_hit  # written with its vowel marks
    # Without a user (only items are searched) no system is found.
    assert _systems_found(kb, None, "Robodebt") == []


def test_the_kind_filter_keeps_only_systems(kb, coordinator, researcher):
    robodebt = systems.create_system(kb.db, coordinator, ROBODEBT).id
    item_id = _store(kb, "Robodebt inquiry hears from families", "The scheme sent letters to families.")
    kb.sync_index()
    everything = search(kb, "Robodebt", user=researcher)
    assert {(hit.kind, hit.id) for hit in everything.hits} == {("system", robodebt), ("item", item_id)}
    only = search(kb, "Robodebt", SearchFilters(kind=("system",)), user=researcher)
    assert [(hit.kind, hit.id) for hit in only.hits] == [("system", robodebt)]
    assert only.total == 1
    assert only.as_json()["results"][0]["url"] == f"/systems/{robodebt}"


def test_changes_to_a_system_reach_search_through_the_outbox(kb, coordinator, researcher):
    system_id = systems.create_system(kb.db, coordinator, SYRI).id
    assert ("system", system_id) in [(kind, record) for _, kind, record in outbox.pending(kb.db, 100)]
    kb.sync_index()
    assert [hit[0] for hit in _systems_found(kb, researcher, "Indicatie")] == [system_id]

    systems.update_system(kb.db, coordinator, system_id, {"aliases": ["Systeem Risicoindicatie Wet SUWI"]})
    kb.sync_index()
    assert _systems_found(kb, researcher, "Indicatie") == []
    assert [hit[0] for hit in _systems_found(kb, researcher, "Risicoindicatie")] == [system_id]

    systems.delete_system(kb.db, coordinator, system_id)
    kb.sync_index()
    assert _systems_found(kb, researcher, "SyRI") == []
    assert kb.status().index_in_sync


def test_rebuild_includes_systems_and_confirmed_links(kb, coordinator):
    system_id = systems.create_system(kb.db, coordinator, ROBODEBT).id
    item_id = _store(kb, "Robodebt inquiry", "The Online Compliance Intervention sent letters.")
    systems.confirm_link(kb.db, coordinator, system_id, item_id)
    kb.index.rebuild(kb.db)
    assert f"system:{system_id}" in set(kb.index.document_ids())
    found = search(kb, "inquiry", SearchFilters(system=(str(system_id),)), user=coordinator)
    assert [hit.id for hit in found.hits] == [item_id]
    assert kb.status().index_in_sync


def _facet(kb: KnowledgeBase, user: User, query: str = "") -> dict[str, int]:
    return search(kb, query, user=user).facets.get("system", {})


def test_items_carry_only_their_confirmed_systems_as_a_facet_and_filter(kb, coordinator, researcher):
    robodebt = systems.create_system(kb.db, coordinator, ROBODEBT).id
    syri = systems.create_system(kb.db, coordinator, SYRI).id
    named = _store(kb, "Robodebt inquiry hears from families", "The Online Compliance Intervention.")
    other = _store(kb, "Welfare inquiry in the Netherlands", "An inquiry into benefits.")
    kb.sync_index()
    # The matcher suggested the link; a suggestion is no facet value.
    assert {link.state for link in systems.links_for_items(kb.db, [named])[named]} == {"suggested"}
    assert _facet(kb, researcher, "inquiry") == {}

    systems.confirm_link(kb.db, coordinator, robodebt, named)
    systems.link_item(kb.db, coordinator, syri, other)
    kb.sync_index()
    assert _facet(kb, researcher, "inquiry") == {str(robodebt): 1, str(syri): 1}
    by_robodebt = search(kb, "inquiry", SearchFilters(system=(str(robodebt),)), user=researcher)
    assert [hit.id for hit in by_robodebt.hits] == [named]
    either = search(kb, "", SearchFilters(system=(str(robodebt), str(syri))), user=researcher)
    assert sorted(hit.id for hit in either.hits) == sorted([named, other])

    systems.reject_link(kb.db, coordinator, robodebt, named)
    kb.sync_index()
    assert _facet(kb, researcher, "inquiry") == {str(syri): 1}
    assert search(kb, "inquiry", SearchFilters(system=(str(robodebt),)), user=researcher).total == 0

    systems.unlink_item(kb.db, coordinator, syri, other)
    kb.sync_index()
    assert _facet(kb, researcher, "inquiry") == {}


def test_deleting_a_system_takes_it_off_its_items(kb, coordinator, researcher):
    syri = systems.create_system(kb.db, coordinator, SYRI).id
    item_id = _store(kb, "Court rules on the risk indicator", "Judges in The Hague ruled.")
    systems.link_item(kb.db, coordinator, syri, item_id)
    kb.sync_index()
    assert _facet(kb, researcher, "court") == {str(syri): 1}
    systems.delete_system(kb.db, coordinator, syri)
    kb.sync_index()
    assert _facet(kb, researcher, "court") == {}
    assert kb.status().index_in_sync


def test_a_system_filter_that_is_no_number_is_named_and_matches_nothing(kb, coordinator, researcher):
    _store(kb, "Court rules on the risk indicator", "Judges in The Hague ruled.")
    kb.sync_index()
    found = search(kb, "court", SearchFilters(system=("SyRI",)), user=researcher)
    assert found.total == 0
    assert any("'SyRI'" in note for note in found.notes)

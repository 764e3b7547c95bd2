"""kb.saved_searches: each user's named queries and filters; and the `kb search` / `kb saved` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import kb_group
from kb import users as users_store
from kb.errors import Conflict, InvalidInput, NotFound
from kb.items import ItemDraft, store_item
from kb.knowledge import KnowledgeBase, open_kb
from kb.search import saved
from kb.search.service import SearchFilters
from kb.settings import load_settings
from kb.text.tagging import TopicEvidence
from kb.users import User


def make_item(**overrides: object) -> ItemDraft:
    values: dict[str, object] = dict(
        url="https://example.org/a", title="Welfare algorithm", text="Risk scoring", language="en",
        published=datetime(2025, 3, 1, tzinfo=UTC), topics=())
    values.update(overrides)
    values["topics"] = tuple(TopicEvidence(t) for t in values["topics"])  # type: ignore[union-attr]
    return ItemDraft(**values)  # type: ignore[arg-type]


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    knowledge = open_kb(load_settings(tmp_path))
    store_item(knowledge.db, make_item(topics=("sector/welfare",)))
    store_item(knowledge.db, make_item(url="https://example.org/b", title="Notation", language="fr",
                                       text="Notation des allocataires", topics=("sector/welfare",)))
    store_item(knowledge.db, make_item(url="https://example.org/c", title="Hospital algorithm", text="Triage",
                                       topics=("sector/health",)))
    knowledge.sync_index()
    try:
        yield knowledge
    finally:
        knowledge.close()


@pytest.fixture
def alice(kb: KnowledgeBase) -> User:
    return users_store.add_user(kb.db, "alice@example.org", "a long password", "researcher")


@pytest.fixture
def bob(kb: KnowledgeBase) -> User:
    return users_store.add_user(kb.db, "bob@example.org", "a long password", "coordinator")


def test_create_get_and_run(kb: KnowledgeBase, alice: User) -> None:
    filters = SearchFilters(sector=("welfare",), date_from=date(2025, 1, 1))
    entry = saved.create_saved_search(kb.db, alice.id, "  Welfare   algorithms ", "algorithm", filters)
    assert entry.name == "Welfare algorithms"
    assert entry.filters == filters
    assert saved.get_saved_search(kb.db, alice.id, entry.id) == entry
    results = saved.run_saved_search(kb, alice, entry.id)
    assert results.total == 1  # the hospital item is in another sector, the French one lacks "algorithm"


def test_names_are_unique_per_user(kb: KnowledgeBase, alice: User, bob: User) -> None:
    saved.create_saved_search(kb.db, alice.id, "Mine", "algorithm")
    with pytest.raises(Conflict):
        saved.create_saved_search(kb.db, alice.id, "Mine", "other")
    saved.create_saved_search(kb.db, bob.id, "Mine", "other")  # another user may use the name
    assert [s.name for s in saved.list_saved_searches(kb.db, alice.id)] == ["Mine"]


def test_users_only_see_their_own(kb: KnowledgeBase, alice: User, bob: User) -> None:
    entry = saved.create_saved_search(kb.db, alice.id, "Mine", "algorithm")
    assert saved.find_saved_search(kb.db, bob.id, entry.id) is None
    with pytest.raises(NotFound):
        saved.get_saved_search(kb.db, bob.id, entry.id)
    with pytest.raises(NotFound):
        saved.update_saved_search(kb.db, bob.id, entry.id, query="hacked")
    with pytest.raises(NotFound):
        saved.delete_saved_search(kb.db, bob.id, entry.id)
    with pytest.raises(NotFound):
        saved.run_saved_search(kb, bob, entry.id)
    assert saved.get_saved_search(kb.db, alice.id, entry.id).query == "algorithm"


def test_update(kb: KnowledgeBase, alice: User) -> None:
    first = saved.create_saved_search(kb.db, alice.id, "One", "algorithm")
    saved.create_saved_search(kb.db, alice.id, "Two", "hospital")
    changed = saved.update_saved_search(kb.db, alice.id, first.id, query="notation",
                                        filters=SearchFilters(language=("fr",)))
    assert (changed.name, changed.query, changed.filters.language) == ("One", "notation", ("fr",))
    assert saved.run_saved_search(kb, alice, first.id).total == 1
    with pytest.raises(Conflict):
        saved.update_saved_search(kb.db, alice.id, first.id, name="Two")
    renamed = saved.update_saved_search(kb.db, alice.id, first.id, name="Three")
    assert renamed.name == "Three" and renamed.query == "notation"


def test_delete(kb: KnowledgeBase, alice: User) -> None:
    entry = saved.create_saved_search(kb.db, alice.id, "Gone", "x")
    saved.delete_saved_search(kb.db, alice.id, entry.id)
    assert saved.list_saved_searches(kb.db, alice.id) == []
    with pytest.raises(NotFound):
        saved.delete_saved_search(kb.db, alice.id, entry.id)


@pytest.mark.parametrize(("name", "query"), [("", "x"), ("   ", "x"), ("n" * 201, "x"), ("ok", "q" * 1_001)])
def test_invalid_input(kb: KnowledgeBase, alice: User, name: str, query: str) -> None:
    with pytest.raises(InvalidInput):
        saved.create_saved_search(kb.db, alice.id, name, query)


def test_unknown_user(kb: KnowledgeBase) -> None:
    with pytest.raises(NotFound):
        saved.create_saved_search(kb.db, 999, "x", "y")


def test_filters_round_trip_through_json() -> None:
    filters = SearchFilters(language=("fr", "es"), case=("3",), date_to=date(2025, 12, 31))
    assert SearchFilters.from_json(json.loads(json.dumps(filters.as_json()))) == filters
    assert SearchFilters().as_json() == {}
    with pytest.raises(InvalidInput):
        SearchFilters.from_json({"colour": ["red"]})
    with pytest.raises(InvalidInput):
        SearchFilters.from_json({"date_from": "yesterday"})
    with pytest.raises(InvalidInput):
        SearchFilters.from_json({"language": [{"nested": 1}]})


# --- the command line ----------------------------------------------------------------------------


def invoke(kb: KnowledgeBase, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(kb_group, ["--data-dir", str(kb.settings.data_dir), *args],
                                catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_search_json(kb: KnowledgeBase) -> None:
    code, output = invoke(kb, "search", "algorithm", "--sector", "welfare", "--json")
    assert code == 0
    data = json.loads(output)
    assert set(data) == {"total", "results", "facets", "notes", "suggestion"}
    assert data["total"] == 1
    assert data["results"][0]["title"] == "Welfare algorithm"
    # A facet with a value chosen counts its other values too (they can be added: OR within a facet).
    assert data["facets"]["sector"] == {"sector/welfare": 1, "sector/health": 1}


def test_cli_search_text_and_notes(kb: KnowledgeBase) -> None:
    code, output = invoke(kb, "search", '"unclosed', "--from", "2025-01-01", "--to", "2025-12-31",
                          "--sort", "newest", "--page", "1")
    assert code == 0
    assert "Note:" in output and "result" in output
    code, output = invoke(kb, "search", "hospital")
    assert "Hospital algorithm" in output and "1 result" in output


def test_cli_saved_searches(kb: KnowledgeBase, alice: User) -> None:
    code, output = invoke(kb, "saved", "add", "Welfare", "algorithm", "--sector", "welfare",
                          "--user", alice.email)
    assert code == 0, output
    code, output = invoke(kb, "saved", "list", "--user", alice.email, "--json")
    assert [s["name"] for s in json.loads(output)] == ["Welfare"]
    code, output = invoke(kb, "saved", "run", "Welfare", "--user", alice.email, "--json")
    assert json.loads(output)["total"] == 1
    code, output = invoke(kb, "saved", "add", "Welfare", "hospital", "--user", alice.email)
    assert "Updated" in output
    code, output = invoke(kb, "saved", "run", "Welfare", "--user", alice.email, "--json")
    assert json.loads(output)["results"][0]["title"] == "Hospital algorithm"
    code, output = invoke(kb, "saved", "delete", "Welfare", "--user", alice.email)
    assert code == 0
    code, output = invoke(kb, "saved", "run", "Welfare", "--user", alice.email)
    assert code == 1 and "no saved search" in output


def test_cli_saved_needs_a_user(kb: KnowledgeBase) -> None:
    code, output = invoke(kb, "saved", "list")
    assert code == 2 and "--user" in output
    code, output = invoke(kb, "saved", "list", "--user", "nobody@example.org")
    assert code == 1 and "no active user" in output


def test_words_only_is_saved_and_runs_as_saved(kb: KnowledgeBase, alice: User) -> None:
    """"welfare" also finds the French item tagged welfare (expansion); "Words only" the item holding it."""
    expanded = saved.create_saved_search(kb.db, alice.id, "Concepts", "welfare")
    words = saved.create_saved_search(kb.db, alice.id, "Words", "welfare", words_only=True)
    assert (expanded.words_only, words.words_only) == (False, True)
    assert saved.get_saved_search(kb.db, alice.id, words.id).as_json()["words_only"] is True
    titles = {h.title for h in saved.run_saved_search(kb, alice, expanded.id).hits}
    assert titles == {"Welfare algorithm", "Notation"}
    assert {h.title for h in saved.run_saved_search(kb, alice, words.id).hits} == {"Welfare algorithm"}
    # Changed back and forth; left out of an update, it stays.
    assert saved.update_saved_search(kb.db, alice.id, words.id, words_only=False).words_only is False
    assert saved.update_saved_search(kb.db, alice.id, words.id, words_only=True).words_only is True
    assert saved.update_saved_search(kb.db, alice.id, words.id, name="Words again").words_only is True
    assert saved.run_saved_search(kb, alice, words.id).total == 1


def test_cli_saves_words_only(kb: KnowledgeBase, alice: User) -> None:
    code, output = invoke(kb, "saved", "add", "Words", "welfare", "--words-only", "--user", alice.email)
    assert code == 0, output
    code, output = invoke(kb, "saved", "list", "--user", alice.email, "--json")
    assert [s["words_only"] for s in json.loads(output)] == [True]
    code, output = invoke(kb, "saved", "run", "Words", "--user", alice.email, "--json")
    assert json.loads(output)["total"] == 1
    invoke(kb, "saved", "add", "Words", "welfare", "--user", alice.email)  # replaced without the flag
    code, output = invoke(kb, "saved", "run", "Words", "--user", alice.email, "--json")
    assert json.loads(output)["total"] == 2

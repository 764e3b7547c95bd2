"""`kb search --words-only`, run as a subprocess: it turns concept expansion off, as `=` and the web UI's
"Words only" box do.

The items are French and Dutch stories tagged "Welfare and social protection" whose words never say
"welfare": the expected hits are read from the stored items (their topics, their words), not from search.
"""

from __future__ import annotations

import json
from pathlib import Path

from kb import items as items_store
from kb.items import ItemDraft
from kb.text.normalize import tokenize
from kb.text.tagging import TopicEvidence
from tests.factories import make_kb
from tests.test_cli import run_kb

STORIES = [
    ("caf", "fr", "La CAF note les allocataires", "Un algorithme de notation des allocataires.",
     ("sector/welfare", "country/fr")),
    ("uwv", "nl", "UWV stopt met risicoprofielen", "Het UWV gebruikte een algoritme.",
     ("sector/welfare", "country/nl")),
    ("hospital", "en", "Hospital triage model", "A triage model ranks patients.", ("sector/health",)),
]


def _folder(data_dir: Path) -> dict[int, tuple[set[str], set[str]]]:
    """The stored items: id -> (topics, folded words of title and text)."""
    base = make_kb(data_dir)
    for name, language, title, text, topics in STORIES:
        items_store.store_item(base.db, ItemDraft(url=f"https://example.org/{name}", title=title, text=text,
                                                  language=language,
                                                  topics=tuple(TopicEvidence(t) for t in topics)))
    base.sync_index()
    stored = {item.id: (set(item.topics), set(tokenize(f"{item.title} {item.text}")))
              for item in items_store.iter_items(base.db)}
    base.close()
    return stored


def _search(data_dir: Path, *args: str) -> dict:
    found = run_kb(data_dir, "search", *args, "--json")
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def test_words_only_turns_concept_expansion_off(tmp_path: Path):
    data_dir = tmp_path / "data"
    stored = _folder(data_dir)
    tagged = {i for i, (topics, _) in stored.items() if "sector/welfare" in topics}
    assert len(tagged) == 2 and not any("welfare" in words for _, words in stored.values())

    # Without the flag the word finds the items tagged with the concept it names, with the note.
    expanded = _search(data_dir, "welfare")
    assert {hit["id"] for hit in expanded["results"]} == tagged
    assert any(note.startswith("Also matched: Welfare and social protection") for note in expanded["notes"])
    human = run_kb(data_dir, "search", "welfare")
    assert "2 results" in human.stdout and "Note: Also matched: Welfare and social protection" in human.stderr

    # With it, only the words count: no item holds "welfare", so nothing is found and nothing noted.
    words_only = _search(data_dir, "welfare", "--words-only")
    assert words_only["total"] == 0 and words_only["results"] == []
    assert not any("Also matched" in note for note in words_only["notes"])
    human = run_kb(data_dir, "search", "--words-only", "welfare")
    assert human.returncode == 0 and "0 results" in human.stdout and "Also matched" not in human.stderr
    assert _search(data_dir, "=welfare")["total"] == 0  # the same as the query's own switch

    # The flag still finds the words themselves.
    holding = {i for i, (_, words) in stored.items() if "allocataires" in words}
    assert {hit["id"] for hit in _search(data_dir, "allocataires", "--words-only")["results"]} == holding


def test_words_only_is_explained_in_the_help(tmp_path: Path):
    shown = run_kb(tmp_path / "data", "search", "--help")
    assert shown.returncode == 0
    assert "--words-only" in shown.stdout and "starting the query with =" in " ".join(shown.stdout.split())

"""The held-out sets of bench/language_bench.py stay measurable: every line parses, every item has what the
bench reads, and every sector it names is a sector topic of the taxonomy the tagger uses (a renamed topic
would otherwise count as a silent tagging miss). The v6 sets are the fresh test sets (the v2 to v5 sets
were, until terms and rules were written from their misses): they must also share no item with the
development sets or the labelled set the trained model learns from."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kb.text.language import normalize_language
from kb.text.taxonomy import load_taxonomy

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
SETS = ("heldout_core.jsonl", "heldout_further.jsonl", "heldout_v2_core.jsonl", "heldout_v2_further.jsonl",
        "heldout_v3_core.jsonl", "heldout_v3_further.jsonl", "heldout_v4_core.jsonl",
        "heldout_v4_further.jsonl", "heldout_v5_core.jsonl", "heldout_v5_further.jsonl")
FRESH = ("heldout_v6_core.jsonl", "heldout_v6_further.jsonl")
# The sets written after the first, as (core, further) pairs.
LATER_PAIRS = (SETS[2:4], SETS[4:6], SETS[6:8], SETS[8:10], FRESH)
# The eight taxonomy languages of the later core sets (v2, v3), each with at least this many items.
CORE_LANGUAGES = {"en": 6, "fr": 6, "es": 6, "de": 6, "nl": 6, "pt": 6, "it": 6, "ar": 7}
FURTHER_LANGUAGES = {"sv", "da", "no", "fi", "pl", "ro", "cs", "hu", "tr", "id", "sw", "hi"}


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    rows = []
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"{name} line {number} is blank"
        rows.append(json.loads(line))
    return rows


@pytest.mark.parametrize("name", SETS + FRESH)
def test_every_item_is_complete_and_names_real_sector_topics(name):
    sectors = {topic.id for topic in load_taxonomy().by_facet("sector")}
    assert sectors, "the taxonomy has no sector facet"
    rows = _rows(name)
    for row in rows:
        where = f"{name} {row.get('id')}"
        assert set(row) == {"id", "language", "relevant", "sectors", "title", "summary"}, where
        assert normalize_language(row["language"]) == row["language"], where
        assert isinstance(row["relevant"], bool), where
        assert row["title"].strip() and row["summary"].strip(), where
        assert isinstance(row["sectors"], list) and len(set(row["sectors"])) == len(row["sectors"]), where
        assert set(row["sectors"]) <= sectors, f"{where}: {set(row['sectors']) - sectors} not sector topics"
    assert len({row["id"] for row in rows}) == len(rows), "ids repeat"
    # The bench stores every item as new: a repeated title and text would be stored once.
    assert len({(row["title"], row["summary"]) for row in rows}) == len(rows)


def test_sizes_and_balance():
    core, further = _rows(SETS[0]), _rows(SETS[1])
    assert len(core) >= 80
    per_language = Counter(row["language"] for row in further)
    assert set(per_language) == FURTHER_LANGUAGES
    assert min(per_language.values()) >= 8
    for rows in (core, further):
        share = sum(row["relevant"] for row in rows) / len(rows)
        assert 0.55 <= share <= 0.75, share  # about two thirds relevant, the rest off-topic but tempting


@pytest.mark.parametrize("pair", LATER_PAIRS)
def test_later_sets_sizes_and_balance(pair):
    core, further = _rows(pair[0]), _rows(pair[1])
    assert len(core) >= 60 and len(further) >= 72
    per_language = Counter(row["language"] for row in core)
    for language, least in CORE_LANGUAGES.items():
        assert per_language[language] >= least, (language, per_language[language])
    assert set(per_language) - set(CORE_LANGUAGES), "no item in a language outside the eight"
    per_language = Counter(row["language"] for row in further)
    assert set(per_language) == FURTHER_LANGUAGES
    assert min(per_language.values()) >= 6
    for rows in (core, further):
        share = sum(row["relevant"] for row in rows) / len(rows)
        assert 0.55 <= share <= 0.75, share
        # Off-topic items must tempt: some name a public service (a sector), some are about none.
        off_topic = [row for row in rows if not row["relevant"]]
        assert any(row["sectors"] for row in off_topic) and any(not row["sectors"] for row in off_topic)


def test_fresh_sets_share_nothing_with_the_development_sets():
    """A fresh item that repeats a development or labelled item would measure the tuning, not the reach."""

    def key(text: str) -> str:
        return " ".join(text.lower().split())

    seen: set[str] = set()
    for name in (*SETS, "relevance_labelled.jsonl"):
        for row in _rows(name):
            seen |= {key(row["title"]), key(row.get("summary", row.get("text", "")))}
    fresh = [row for name in FRESH for row in _rows(name)]
    assert not {key(row["title"]) for row in fresh} & seen
    assert not {key(row["summary"]) for row in fresh} & seen
    assert len({row["id"] for row in fresh}) == len(fresh), "ids repeat across the fresh sets"

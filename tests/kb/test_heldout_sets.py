"""The held-out sets of bench/language_bench.py stay measurable: every line parses, every item has what the
bench reads, and every sector it names is a sector topic of the taxonomy the tagger uses (a renamed topic
would otherwise count as a silent tagging miss)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from kb.text.language import normalize_language
from kb.text.taxonomy import load_taxonomy

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
SETS = ("heldout_core.jsonl", "heldout_further.jsonl")
FURTHER_LANGUAGES = {"sv", "da", "no", "fi", "pl", "ro", "cs", "hu", "tr", "id", "sw", "hi"}


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    rows = []
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"{name} line {number} is blank"
        rows.append(json.loads(line))
    return rows


@pytest.mark.parametrize("name", SETS)
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

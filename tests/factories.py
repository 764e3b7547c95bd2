"""Test factories: build drafts and a knowledge base with one call, overriding only what a test cares
about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from kb.items import ItemDraft
from kb.knowledge import KnowledgeBase, open_kb
from kb.settings import Settings, load_settings
from kb.text.tagging import TopicEvidence

_counter = itertools.count(1)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings on a temporary folder, ignoring the caller's KB_* environment."""
    return load_settings(data_dir, environ={}, **overrides)


def make_kb(data_dir: Path, **overrides: object) -> KnowledgeBase:
    return open_kb(make_settings(data_dir, **overrides))


def make_draft(**overrides: object) -> ItemDraft:
    """A plausible English welfare article, unique per call unless url/title/text are given."""
    n = next(_counter)
    values: dict[str, object] = {
        "url": f"https://news.example.org/2026/welfare-algorithm-{n}",
        "title": f"Council pauses benefit fraud risk score {n}",
        "text": (f"Story {n}. The council used an algorithm to score benefit claimants for fraud risk. "
                 "Caseworkers saw the scores but claimants were never told how they were computed."),
        "summary": "A council's fraud risk score for benefit claimants is paused.",
        "published": datetime(2026, 11, 18, 9, 30, tzinfo=UTC),
        "language": "en",
        "language_prob": 0.99,
        "topics": (TopicEvidence("sector/welfare", ("benefit",)),
                   TopicEvidence("system/risk-scoring", ("risk score",))),
        "relevant": True,
        "relevance_score": 0.8,
    }
    values.update(overrides)
    return ItemDraft(**values)  # type: ignore[arg-type]

"""The digest and the register of systems: a section grouped by the systems its items are confirmed to be
about (never suggestions), kept through sending, audited; and the draft filtered to one system."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kb import curation, systems
from kb import users as users_store
from kb.digest import draft as digest
from kb.digest.draft import NO_REGISTERED_SYSTEM, DigestEdits, build_digest, only_system, render_text
from kb.errors import Conflict, InvalidInput
from kb.items import store_item
from kb.knowledge import KnowledgeBase
from kb.storage import audit
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft

WEEK = "2026-W47"
WELFARE = "sector/welfare"


def _item(kb: KnowledgeBase, title: str, day: int, *topics: str) -> int:
    draft = make_draft(title=title, summary=f"{title}. More.", language="en",
                       published=datetime(2026, 11, day, 9, 0, tzinfo=UTC),
                       topics=tuple(TopicEvidence(t, ("term",)) for t in topics))
    item_id = store_item(kb.db, draft).item_id
    curation.set_status(kb.db, item_id, "accepted", None, now=draft.published)
    return item_id


@pytest.fixture
def week(kb: KnowledgeBase) -> dict[str, int]:
    coordinator = users_store.add_user(kb.db, "coordinator@lab.example", "a long enough password",
                                       "coordinator")
    ids = {
        "syri": systems.create_system(kb.db, coordinator, {"name": "SyRI", "country": "nl"}).id,
        "caf": systems.create_system(kb.db, coordinator, {"name": "Score de risque CAF", "country": "fr"}).id,
        "coordinator": coordinator.id,
        "a": _item(kb, "Court halts the Dutch risk indicator", 17, WELFARE, "system/risk-scoring"),
        "b": _item(kb, "The family benefits score explained", 18, WELFARE),
        "c": _item(kb, "Welfare offices hire more staff", 19, WELFARE),  # about no registered system
        "d": _item(kb, "A second ruling on SyRI", 20, WELFARE),  # only suggested
        "other": _item(kb, "Face recognition at the job centre", 18),
    }
    systems.confirm_link(kb.db, coordinator, ids["syri"], ids["a"])
    systems.confirm_link(kb.db, coordinator, ids["caf"], ids["b"])
    assert {link.state for link in systems.links_for_items(kb.db, [ids["d"]])[ids["d"]]} == {"suggested"}
    return ids


def _groups(section: digest.DigestSection) -> list[tuple[str, int | None, list[int]]]:
    return [(g.label, g.system_id, [e.item_id for e in g.entries]) for g in section.groups]


def test_a_section_grouped_by_system_uses_confirmed_links_only(kb, week):
    digest.set_grouping(kb.db, WEEK, WELFARE, True, by=week["coordinator"])
    draft = build_digest(kb.db, kb.settings, WEEK)
    welfare, other = draft.sections
    assert welfare.by_system and not other.by_system
    assert _groups(welfare) == [
        ("SyRI", week["syri"], [week["a"]]),
        ("Score de risque CAF", week["caf"], [week["b"]]),
        (NO_REGISTERED_SYSTEM, None, [week["c"], week["d"]]),
    ]
    text = render_text(draft)
    assert "-- SyRI --" in text and f"-- {NO_REGISTERED_SYSTEM} --" in text
    # Back to system topics.
    digest.set_grouping(kb.db, WEEK, WELFARE, False, by=week["coordinator"])
    again = build_digest(kb.db, kb.settings, WEEK).sections[0]
    assert not again.by_system and all(g.system_id is None for g in again.groups)
    entries = [e for e in audit.entries(kb.db, entity="digest") if "group_by_system" in e.details]
    assert [(e.details["group_by_system"], e.details["on"]) for e in entries] == [(WELFARE, False),
                                                                                  (WELFARE, True)]


def test_the_coordinators_order_leads_the_system_groups(kb, week):
    digest.set_grouping(kb.db, WEEK, WELFARE, True)
    digest.set_grouping(kb.db, WEEK, "", True)  # "Other" too
    digest.set_order(kb.db, kb.settings, WEEK, [week["b"]])
    welfare, other = build_digest(kb.db, kb.settings, WEEK).sections
    assert [g.label for g in welfare.groups] == ["Score de risque CAF", "SyRI", NO_REGISTERED_SYSTEM]
    assert _groups(other) == [(NO_REGISTERED_SYSTEM, None, [week["other"]])]


def test_grouping_survives_other_edits_and_the_json_round_trip(kb, week):
    digest.set_grouping(kb.db, WEEK, WELFARE, True)
    digest.drop_item(kb.db, kb.settings, WEEK, week["c"])
    digest.set_summary(kb.db, kb.settings, WEEK, week["a"], "Edited.")
    row = kb.db.execute("SELECT edits FROM digests WHERE week = ?", [WEEK]).fetchone()
    edits = DigestEdits.from_json(row[0])
    assert edits.by_system == {WELFARE} and edits.dropped == {week["c"]}
    assert DigestEdits.from_json(edits.to_json()) == edits
    assert build_digest(kb.db, kb.settings, WEEK).sections[0].by_system


def test_an_unknown_section_is_refused_in_words_and_a_sent_digest_cannot_change(kb, week):
    with pytest.raises(InvalidInput, match="no sector 'sector/nowhere'"):
        digest.set_grouping(kb.db, WEEK, "sector/nowhere", True)
    with pytest.raises(InvalidInput, match="no sector"):
        digest.set_grouping(kb.db, WEEK, "country/nl", True)
    assert kb.db.execute("SELECT count(*) FROM digests").fetchone()[0] == 0
    kb.db.execute("INSERT INTO digests (week, created_at, edits) VALUES (?, '2026-11-23', ?)",
                  [WEEK, DigestEdits(sent_items=(week["a"],)).to_json()])
    with pytest.raises(Conflict):
        digest.set_grouping(kb.db, WEEK, WELFARE, True)


def test_the_draft_filtered_to_one_system_keeps_its_confirmed_items(kb, week):
    draft = build_digest(kb.db, kb.settings, WEEK)
    syri = only_system(draft, week["syri"])
    assert [e.item_id for e in syri.entries] == [week["a"]]
    assert [count for _, count in syri.sector_counts] == [1]
    assert syri.total == 1 and dict(syri.language_counts) == {"English": 1}
    assert only_system(draft, 999_999).entries == []
    assert [e.systems for e in draft.entries if e.item_id == week["a"]] == [((week["syri"], "SyRI"),)]

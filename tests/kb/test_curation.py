"""Curation decisions, the queue and the dashboard figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.curation import Change, QueueFilters
from kb.errors import InvalidInput, NotFound, PermissionDenied
from kb.knowledge import KnowledgeBase
from kb.storage import audit, outbox
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday


def _item(kb: KnowledgeBase, **overrides: object) -> int:
    return items_store.store_item(kb.db, make_draft(**overrides)).item_id


def _case(kb: KnowledgeBase, title: str = "Fraud scoring in Rotterdam", status: str = "open") -> int:
    return int(kb.db.execute(
        "INSERT INTO cases (title, status, created_at, updated_at) VALUES (?, ?, 'now', 'now')",
        [title, status],
    ).lastrowid)


@pytest.fixture
def coordinator(kb: KnowledgeBase) -> users_store.User:
    return users_store.add_user(kb.db, "coord@lab.example", "a long password", "coordinator", name="Cora")


def test_status_is_recorded_with_who_and_when_in_the_item_and_the_audit_log(kb, coordinator):
    item_id = _item(kb)
    kb.sync_index()
    curation.set_status(kb.db, item_id, "accepted", coordinator.id)

    decision = curation.decision(kb.db, item_id)
    assert (decision.status, decision.by_id, decision.by) == ("accepted", coordinator.id, "Cora")
    assert decision.at is not None and decision.at.startswith(str(datetime.now(UTC).year))
    [entry] = curation.history(kb.db, item_id)
    assert (entry.action, entry.user_email, entry.details["status"], entry.details["was"]) == (
        "set-status", "coord@lab.example", "accepted", "new")
    # What undo needs: the decision it belongs to and the item's state before it.
    assert entry.details["before"] == {"status": "new", "in_digest": 0, "status_by": None, "status_at": None,
                                       "digest_at": None}
    assert isinstance(entry.details["decision"], str)
    assert outbox.pending_count(kb.db) == 1  # the status is searchable: the index hears of it
    assert items_store.get_item(kb.db, item_id).status == "accepted"


def test_repeating_a_decision_changes_nothing(kb, coordinator):
    item_id = _item(kb)
    curation.set_status(kb.db, item_id, "rejected", coordinator.id)
    curation.set_status(kb.db, item_id, "rejected", coordinator.id)
    assert len(curation.history(kb.db, item_id)) == 1


@pytest.mark.parametrize("status", ["", "ACCEPTED", "deleted"])
def test_unknown_status_is_refused(kb, coordinator, status):
    item_id = _item(kb)
    with pytest.raises(InvalidInput):
        curation.set_status(kb.db, item_id, status, coordinator.id)


def test_unknown_item_is_not_found(kb, coordinator):
    with pytest.raises(NotFound):
        curation.set_status(kb.db, 999, "accepted", coordinator.id)
    with pytest.raises(NotFound):
        curation.add_note(kb.db, 999, coordinator.id, "hello")


def test_digest_mark(kb, coordinator):
    item_id = _item(kb)
    curation.set_in_digest(kb.db, item_id, True, coordinator.id)
    assert items_store.get_item(kb.db, item_id).in_digest
    curation.set_in_digest(kb.db, item_id, False, coordinator.id)
    assert not items_store.get_item(kb.db, item_id).in_digest
    assert [e.action for e in curation.history(kb.db, item_id)] == ["digest-remove", "digest-add"]


def test_notes_keep_author_and_time_and_refuse_empty_ones(kb, coordinator):
    item_id = _item(kb)
    note = curation.add_note(kb.db, item_id, coordinator.id, "  Ask the council for the model card.  ")
    assert (note.author, note.body) == ("Cora", "Ask the council for the model card.")
    assert curation.list_notes(kb.db, item_id) == [note]
    with pytest.raises(InvalidInput):
        curation.add_note(kb.db, item_id, coordinator.id, "   ")
    with pytest.raises(InvalidInput):
        curation.add_note(kb.db, item_id, coordinator.id, "x" * (curation.MAX_NOTE + 1))


def test_tags_set_by_a_person_are_kept_and_audited(kb, coordinator):
    item_id = _item(kb)
    change = Change(add_tags=("sector/health",), remove_tags=("system/risk-scoring",))
    curation.apply(kb.db, [item_id], change, coordinator.id)
    tags = {t.topic: t for t in items_store.get_item(kb.db, item_id).tags}
    assert tags["sector/health"].origin == "person" and tags["sector/health"].state == "active"
    assert tags["system/risk-scoring"].state == "removed"
    assert tags["sector/welfare"].origin == "tagger"
    actions = {(e.action, e.details["topic"]) for e in curation.history(kb.db, item_id)}
    assert actions == {("tag-add", "sector/health"), ("tag-remove", "system/risk-scoring")}


@pytest.mark.parametrize("change", [
    Change(),
    Change(add_tags=("sector/space-travel",)),
    Change(remove_tags=("<script>",)),
    Change(add_tags=("sector/health",), remove_tags=("sector/health",)),
    Change(note="   "),
])
def test_invalid_changes_are_refused(kb, coordinator, change):
    item_id = _item(kb)
    with pytest.raises(InvalidInput):
        curation.apply(kb.db, [item_id], change, coordinator.id)


def test_bulk_change_is_all_or_nothing(kb, coordinator):
    first, second = _item(kb), _item(kb)
    with pytest.raises(NotFound):
        curation.bulk_set_status(kb.db, [first, 12345, second], "accepted", coordinator.id)
    assert {items_store.get_item(kb.db, i).status for i in (first, second)} == {"new"}
    assert curation.history(kb.db, first) == []

    assert curation.apply(kb.db, [first, second], Change(status="accepted", in_digest=True, note="Batch"),
                          coordinator.id) == 2
    for item_id in (first, second):
        item = items_store.get_item(kb.db, item_id)
        assert (item.status, item.in_digest) == ("accepted", True)
        assert [n.body for n in curation.list_notes(kb.db, item_id)] == ["Batch"]


def test_bulk_size_is_bounded(kb, coordinator):
    with pytest.raises(InvalidInput):
        curation.bulk_set_status(kb.db, range(1, curation.MAX_BULK + 2), "accepted", coordinator.id)
    with pytest.raises(InvalidInput):
        curation.bulk_set_status(kb.db, [], "accepted", coordinator.id)


def test_link_case(kb, coordinator):
    item_id = _item(kb)
    case_id = _case(kb)
    curation.link_case(kb.db, item_id, case_id, coordinator.id)
    curation.link_case(kb.db, item_id, case_id, coordinator.id)  # twice: a no-op
    assert items_store.get_item(kb.db, item_id).case_ids == (case_id,)
    assert [e.action for e in curation.history(kb.db, item_id)] == ["link-case"]
    assert [e.action for e in audit.entries(kb.db, entity="case", entity_id=case_id)] == ["link-item"]
    with pytest.raises(NotFound):
        curation.link_case(kb.db, item_id, 777, coordinator.id)


def test_link_case_needs_a_right_on_the_case(kb):
    researcher = users_store.add_user(kb.db, "res@lab.example", "a long password", "researcher")
    item_id = _item(kb)
    case_id = _case(kb)
    with pytest.raises(PermissionDenied):
        curation.link_case(kb.db, item_id, case_id, researcher.id)
    assert items_store.get_item(kb.db, item_id).case_ids == ()
    kb.db.execute("INSERT INTO case_members (case_id, user_id) VALUES (?, ?)", [case_id, researcher.id])
    curation.link_case(kb.db, item_id, case_id, researcher.id)  # a member of the case may
    assert items_store.get_item(kb.db, item_id).case_ids == (case_id,)


def test_only_note():
    assert Change(note="hi").only_note
    assert not Change(note="hi", status="accepted").only_note
    assert not Change().only_note


def test_queue_puts_relevant_first_then_newest(kb, coordinator):
    old_relevant = _item(kb, relevant=True, published=NOW - timedelta(days=9))
    new_irrelevant = _item(kb, relevant=False, published=NOW)
    new_relevant = _item(kb, relevant=True, published=NOW - timedelta(days=1))
    decided = _item(kb, relevant=True, published=NOW)
    curation.set_status(kb.db, decided, "accepted", coordinator.id)

    page = curation.queue(kb.db)
    assert [i.id for i in page.items] == [new_relevant, old_relevant, new_irrelevant]
    assert (page.total, page.pages) == (3, 1)
    assert curation.queue_size(kb.db) == 3

    second = curation.queue(kb.db, page=2, page_size=2)
    assert [i.id for i in second.items] == [new_irrelevant]
    assert second.pages == 2
    assert [i.id for i in curation.queue(kb.db, QueueFilters(status="accepted")).items] == [decided]


def test_queue_filters(kb):
    source = sources_store.add_source(kb.db, "https://feeds.example.org/rss")
    french = _item(kb, language="fr", topics=(TopicEvidence("sector/education", ("école",)),))
    sourced = items_store.store_item(kb.db, make_draft(relevant=False), source_id=source.id).item_id
    assert [i.id for i in curation.queue(kb.db, QueueFilters(language="fr")).items] == [french]
    assert [i.id for i in curation.queue(kb.db, QueueFilters(topic="sector/education")).items] == [french]
    assert [i.id for i in curation.queue(kb.db, QueueFilters(source=source.id)).items] == [sourced]
    assert sourced not in [i.id for i in curation.queue(kb.db, QueueFilters(relevant_only=True)).items]
    assert curation.queue_languages(kb.db) == ["en", "fr"]
    with pytest.raises(InvalidInput):
        curation.queue(kb.db, QueueFilters(status="maybe"))


def test_dashboard_counts_items_per_iso_week_by_sector_and_language(kb):
    health = (TopicEvidence("sector/health", ("hospital",)),)
    _item(kb, published=NOW)  # welfare, en, this week
    _item(kb, published=NOW - timedelta(days=7), language="fr", topics=health)
    _item(kb, published=NOW - timedelta(days=7), topics=())  # no sector
    _item(kb, published=NOW - timedelta(weeks=30))  # too old
    _item(kb, published=NOW + timedelta(days=10))  # in the future

    board = curation.dashboard(kb.db, tz="Europe/Amsterdam", now=NOW)
    assert len(board.weeks) == curation.DASHBOARD_WEEKS
    assert board.weeks[-1] == "2026-W47" and board.weeks[-2] == "2026-W46"
    assert board.week_starts[-1].isoformat() == "2026-11-16"
    sectors = {s.key: s.counts for s in board.by_sector}
    assert sectors["welfare"][-1] == 1 and sectors["health"][-2] == 1 and sectors[curation.NO_SECTOR][-2] == 1
    assert [s.key for s in board.by_sector][-1] == curation.NO_SECTOR
    languages = {s.key: s.counts for s in board.by_language}
    assert languages["en"][-1] == 1 and languages["en"][-2] == 1 and languages["fr"][-2] == 1
    assert board.totals[-2:] == (2, 1)
    assert board.queue_size == 5 and board.queue_relevant == 5


def test_dashboard_weeks_follow_the_lab_time_zone(kb):
    # Sunday 23:30 UTC is already Monday in Amsterdam: the next ISO week there.
    _item(kb, published=datetime(2026, 11, 15, 23, 30, tzinfo=UTC))
    utc = curation.dashboard(kb.db, tz="UTC", now=NOW)
    amsterdam = curation.dashboard(kb.db, tz="Europe/Amsterdam", now=NOW)
    assert utc.totals[-2:] == (1, 0)
    assert amsterdam.totals[-2:] == (0, 1)


def test_dashboard_groups_rare_languages_and_lists_failing_sources(kb):
    for language in ("en", "fr", "es", "de", "nl", "pt", "ar", "it"):
        _item(kb, published=NOW, language=language)
    failing = sources_store.add_source(kb.db, "https://broken.example.org/rss", name="Broken")
    sources_store.record_failure(kb.db, failing.id, "The server answered 500 Internal Server Error")
    paused = sources_store.add_source(kb.db, "https://paused.example.org/rss")
    sources_store.record_failure(kb.db, paused.id, "timeout")
    sources_store.set_paused(kb.db, paused.id, True)
    sources_store.add_source(kb.db, "https://fine.example.org/rss")

    board = curation.dashboard(kb.db, now=NOW)
    keys = [s.key for s in board.by_language]
    assert len(keys) == curation.DASHBOARD_LANGUAGES + 1 and keys[-1] == curation.OTHER_LANGUAGE
    assert sum(s.counts[-1] for s in board.by_language) == 8
    assert [s.name for s in board.failing_sources] == ["Broken"]


def test_audit_entries_are_written_in_the_same_transaction(kb, coordinator):
    item_id = _item(kb)
    before = len(audit.entries(kb.db))
    with pytest.raises(NotFound):  # the case is missing: the status set just before must be rolled back
        curation.apply(kb.db, [item_id], Change(status="accepted", case_id=777), coordinator.id)
    assert len(audit.entries(kb.db)) == before
    assert items_store.get_item(kb.db, item_id).status == "new"


def test_items_left_to_a_reader_come_after_relevant_ones_with_their_reason(kb):
    db = kb.db
    off = items_store.store_item(db, make_draft(title="Cup final", relevant=False,
                                                relevance_verdict="not relevant",
                                                relevance_reason="no terms")).item_id
    unsure = items_store.store_item(db, make_draft(title="Habari za mfumo", language="sw", relevant=False,
                                             relevance_verdict="needs a reader",
                                             relevance_reason="no terms for Swahili")).item_id
    sure = items_store.store_item(db, make_draft(title="Fraud score", relevant=True)).item_id
    order = [item.id for item in curation.queue(db).items]
    assert order.index(sure) < order.index(unsure) < order.index(off)
    only = curation.queue(db, QueueFilters(needs_reader_only=True)).items
    assert [item.id for item in only] == [unsure]
    assert only[0].needs_reader and only[0].relevance_reason == "no terms for Swahili"
    # Without a verdict given, the yes/no stands as the verdict.
    assert items_store.get_item(db, sure).relevance_verdict == "relevant"

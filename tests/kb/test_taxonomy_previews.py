"""Taxonomy previews as background jobs: a job's stored result equals the synchronous preview on the same
items (and what applying the change then changes), its progress reaches the total, a bad term is refused
at once, a failing job stores its error, a running job no longer updated reads as stopped, old jobs are
pruned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from kb import items as items_store
from kb import users as users_store
from kb.learning import retag, taxonomies
from kb.learning.taxonomies import TermChange, TermProblem
from kb.storage import previews
from kb.storage.db import transaction
from kb.text.tagging import tagger_of
from kb.text.taxonomy import bundled_taxonomy, dump_taxonomy, install_taxonomy
from tests.factories import make_draft

TOPIC = "sector/welfare"
FILLERS = 420  # more than two batches of the re-tag
RUZUKU = ("Ruzuku za mbolea zacheleweshwa", "Wakulima wanasubiri ruzuku za mbolea kwa wiki tatu sasa.")
LATE_RUZUKU = ("Ruzuku mpya kwa wavuvi", "Serikali imetangaza ruzuku kwa wavuvi wa ziwa Victoria.")


@pytest.fixture(autouse=True)
def _bundled_afterwards() -> Iterator[None]:
    yield
    install_taxonomy(None)


@pytest.fixture
def coordinator(kb):
    return users_store.add_user(kb.db, "coord@lab.example", "a long password 1", "coordinator")


def _store(db, title: str, text: str, n: int) -> int:
    found = tagger_of(bundled_taxonomy()).tag(title, text, "sw")
    draft = make_draft(url=f"https://habari.example.org/{n}", title=title, text=text, language="sw",
                       topics=found.topics, relevant=found.relevant, relevance_score=found.relevance_score,
                       relevance_verdict=found.verdict, relevance_reason=found.reason)
    return items_store.store_item(db, draft).item_id


@pytest.fixture
def stories(kb) -> list[int]:
    """Two stories mentioning "ruzuku" (one in the first batch, one in the last) among fillers."""
    ids = [_store(kb.db, *RUZUKU, 0)]
    ids += [_store(kb.db, f"Habari ya {n}", f"Mvua kubwa ilinyesha pwani siku ya {n}.", n)
            for n in range(1, FILLERS + 1)]
    ids.append(_store(kb.db, *LATE_RUZUKU, FILLERS + 1))
    return ids


def _wait(job_id: int) -> None:
    for thread in threading.enumerate():
        if thread.name == f"taxonomy-preview-{job_id}":
            thread.join(timeout=300)


def test_a_term_preview_job_stores_what_the_synchronous_preview_computes(kb, coordinator, stories):
    db = kb.db
    change = TermChange(TOPIC, "sw", "ruzuku")
    job_id = taxonomies.start_term_preview(db, kb.settings.db_path, change, user_id=coordinator.id)
    _wait(job_id)
    state = taxonomies.preview_state(db, job_id)
    assert state is not None and state.status == "done" and state.up_to_date
    assert state.change == change and state.job.created_by == coordinator.id
    assert state.job.digest == taxonomies.current_digest(db)
    # Progress reached the total: every stored item.
    assert state.job.examined == state.job.total == len(stories) == FILLERS + 2
    synchronous = taxonomies.preview_term(db, change)
    assert state.report == synchronous
    assert state.report is not None and state.report.tagged[TOPIC] == 2
    assert {example[0] for example in state.report.examples} == {stories[0], stories[-1]}
    # And it is what applying the change then changes.
    taxonomies.apply_term(db, change, user_id=coordinator.id, expected=state.job.digest)
    applied = taxonomies.retag_now(db)
    assert applied is not None and applied.tagged == state.report.tagged
    assert applied.untagged == state.report.untagged
    # The taxonomy changed since: the preview reads as out of date.
    after = taxonomies.preview_state(db, job_id)
    assert after is not None and not after.up_to_date


def test_the_retag_reports_progress_after_each_batch(kb, stories):
    seen: list[int] = []
    edited = taxonomies.with_term(bundled_taxonomy(), TOPIC, "sw", "ruzuku")
    retag.retag(kb.db, taxonomy=edited, dry_run=True, progress=seen.append)
    assert seen == [retag.BATCH, 2 * retag.BATCH, len(stories)]


def test_an_import_preview_job_stores_the_diff_and_the_counts(kb, coordinator, stories):
    db = kb.db
    edited = taxonomies.with_term(bundled_taxonomy(), TOPIC, "sw", "ruzuku")
    edited = taxonomies.with_term(edited, TOPIC, "en", "welfare", remove=True)
    text = dump_taxonomy(edited)
    job_id = taxonomies.start_import_preview(db, kb.settings.db_path, text, user_id=coordinator.id)
    _wait(job_id)
    state = taxonomies.preview_state(db, job_id)
    assert state is not None and state.status == "done" and state.job.subject == text
    _, changes, report = taxonomies.preview_import(db, text)
    assert state.changes == changes and state.report == report and state.topics == len(edited)
    assert changes.added == ((TOPIC, "sw", "ruzuku"),) and report.tagged[TOPIC] == 2


def test_a_bad_term_or_file_is_refused_at_once_without_a_job(kb, coordinator):
    db = kb.db
    with pytest.raises(TermProblem) as caught:
        taxonomies.start_term_preview(db, kb.settings.db_path, TermChange(TOPIC, "sw", "ab"),
                                      user_id=coordinator.id)
    assert caught.value.kind == "short"
    with pytest.raises(taxonomies.InvalidInput, match="not valid TOML"):
        taxonomies.start_import_preview(db, kb.settings.db_path, "[[topic]\nid = ", user_id=coordinator.id)
    assert previews.get(db, 1) is None


def test_a_failing_job_stores_its_error(kb, coordinator, stories):
    db = kb.db
    digest = taxonomies.current_digest(db)
    # A change that became impossible (its topic is gone) and a job against another taxonomy.
    gone = '{"language": "sw", "remove": false, "term": "ruzuku", "topic": "sector/gone"}'
    with transaction(db):
        first = previews.create(db, "term", gone, digest, coordinator.id, len(stories))
        second = previews.create(db, "import", dump_taxonomy(bundled_taxonomy()), "0" * 64, None, 1)
    assert taxonomies.run_preview(db, first) is None and taxonomies.run_preview(db, second) is None
    failed = taxonomies.preview_state(db, first)
    assert failed is not None and failed.status == "failed" and failed.report is None
    assert "sector/gone" in failed.job.error and failed.job.finished_at
    other = taxonomies.preview_state(db, second)
    assert other is not None and other.status == "failed" and "taxonomy changed" in other.job.error
    assert taxonomies.run_preview(db, first) is None  # a finished job is not run again


def test_a_running_job_not_updated_for_two_minutes_reads_as_stopped(kb, coordinator):
    db = kb.db
    subject = '{"language": "sw", "remove": false, "term": "ruzuku", "topic": "sector/welfare"}'
    with transaction(db):
        job_id = previews.create(db, "term", subject, taxonomies.current_digest(db), coordinator.id, 10)
        previews.progress(db, job_id, 4)
    job = previews.get(db, job_id)
    assert job is not None and job.examined == 4
    updated = datetime.fromisoformat(job.updated_at)
    soon = taxonomies.preview_state(db, job_id, now=updated + timedelta(seconds=90))
    late = taxonomies.preview_state(db, job_id, now=updated + timedelta(minutes=3))
    assert soon is not None and soon.status == "running"
    assert late is not None and late.status == "stopped"


def test_old_finished_jobs_are_pruned_as_new_ones_start(kb, coordinator):
    db = kb.db
    digest = taxonomies.current_digest(db)
    with transaction(db):
        ids = [previews.create(db, "import", f"file {n}", digest, None, 0) for n in range(60)]
        for job_id in ids[1:]:
            previews.finish(db, job_id, 0, {})
    job_id = taxonomies.start_term_preview(db, kb.settings.db_path, TermChange(TOPIC, "sw", "ruzuku"),
                                           user_id=coordinator.id)
    _wait(job_id)
    kept = [i for i in [*ids, job_id] if previews.get(db, i) is not None]
    # The newest 50 before it started, the one still running however old, and the new one.
    assert kept == [ids[0], *ids[10:], job_id]


def test_previews_beyond_the_slots_wait_their_turn(kb, coordinator, stories):
    db = kb.db
    slots = taxonomies._preview_slots  # noqa: SLF001 - taken here as running previews would take them
    held = [slots.acquire(blocking=False) for _ in range(taxonomies.PREVIEW_SLOTS)]
    try:
        assert all(held)
        job_id = taxonomies.start_term_preview(db, kb.settings.db_path, TermChange(TOPIC, "sw", "ruzuku"),
                                               user_id=coordinator.id)
        waiting = taxonomies.preview_state(db, job_id)
        assert waiting is not None and waiting.status == "running" and waiting.job.examined == 0
        # The same preview asked for again while it runs (a second click) is the same job.
        again = taxonomies.start_term_preview(db, kb.settings.db_path, TermChange(TOPIC, "sw", "ruzuku"),
                                              user_id=coordinator.id)
        other = taxonomies.start_term_preview(db, kb.settings.db_path, TermChange(TOPIC, "sw", "ruzuku ya"),
                                              user_id=coordinator.id)
        assert again == job_id and other != job_id
    finally:
        for _ in held:
            slots.release()
    _wait(job_id)
    _wait(other)
    done = taxonomies.preview_state(db, job_id)
    assert done is not None and done.status == "done" and done.job.examined == len(stories)

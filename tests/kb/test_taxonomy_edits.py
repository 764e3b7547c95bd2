"""The coordinator's taxonomy edits: a term added or removed (checked by the taxonomy's rules), its preview
equal to what applying it changes on real stored items, a person's decisions surviving the re-tag, export
and import as a file, and every process tagging with the current version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import tags as tags_store
from kb import users as users_store
from kb.errors import Conflict, InvalidInput
from kb.learning import taxonomies
from kb.learning.taxonomies import TermChange, TermProblem
from kb.storage import audit
from kb.text.tagging import Tagger
from kb.text.taxonomy import (
    RELEVANCE_KEYS,
    bundled_taxonomy,
    install_taxonomy,
    load_taxonomy,
    parse_taxonomy,
    taxonomy_data,
)
from tests.factories import make_draft, make_kb
from tests.httpserver import LocalHTTPServer

TOPIC = "sector/welfare"
# Swahili stories: "ruzuku" (a subsidy) is not a welfare term of the bundled taxonomy.
STORIES = [
    ("Ruzuku za mbolea zacheleweshwa", "Wakulima wanasubiri ruzuku za mbolea kwa wiki tatu sasa."),
    ("Ruzuku mpya kwa wavuvi", "Serikali imetangaza ruzuku kwa wavuvi wa ziwa Victoria."),
    ("Mvua kubwa pwani", "Mamlaka ya hali ya hewa imetabiri mvua nyingi wiki ijayo."),
]


@pytest.fixture(autouse=True)
def _bundled_afterwards() -> Iterator[None]:
    yield
    install_taxonomy(None)  # the process-wide taxonomy goes back to the bundled one for other tests


@pytest.fixture
def coordinator(kb):
    return users_store.add_user(kb.db, "coord@lab.example", "a long password 1", "coordinator")


def _store(db, title: str, text: str, n: int) -> int:
    """An item as ingest stores it: tagged with the bundled taxonomy."""
    found = Tagger(bundled_taxonomy()).tag(title, text, "sw")
    draft = make_draft(url=f"https://habari.example.org/{n}", title=title, text=text, language="sw",
                       topics=found.topics, relevant=found.relevant, relevance_score=found.relevance_score,
                       relevance_verdict=found.verdict, relevance_reason=found.reason)
    return items_store.store_item(db, draft).item_id


def _with_topic(db, ids: list[int], topic: str = TOPIC) -> set[int]:
    return {item.id for item in items_store.load_items(db, ids) if topic in item.topics}


def test_the_preview_of_an_added_term_is_what_the_background_retag_changes(kb, coordinator):
    db = kb.db
    ids = [_store(db, title, text, n) for n, (title, text) in enumerate(STORIES)]
    mentioning = {i for i, (title, text) in zip(ids, STORIES, strict=True)
                  if "ruzuku" in (title + text).lower()}
    assert _with_topic(db, ids) == set()
    change = TermChange(TOPIC, "sw", "ruzuku")

    preview = taxonomies.preview_term(db, change)
    assert preview.tagged[TOPIC] == len(mentioning) == 2 and preview.untagged[TOPIC] == 0
    assert {example[0] for example in preview.examples} == mentioning
    assert _with_topic(db, ids) == set()  # a preview writes nothing
    assert taxonomies.retag_state(db).version is None

    version = taxonomies.apply_term(db, change, user_id=coordinator.id,
                                    expected=taxonomies.current_digest(db))
    assert "ruzuku" in load_taxonomy().get(TOPIC).terms["sw"]
    assert taxonomies.retag_state(db).due
    thread = taxonomies.retag_in_background(db, kb.settings.db_path)
    assert thread is not None
    thread.join(60)
    assert _with_topic(db, ids) == mentioning
    state = taxonomies.retag_state(db)
    assert not state.due and state.version and state.version.id == version
    assert state.version.retag_report and state.version.retag_report["tagged"] == {TOPIC: 2}
    assert taxonomies.retag_in_background(db, kb.settings.db_path) is None  # nothing left to do

    # Removing it again: the preview untags what the re-tag untags.
    removal = TermChange(TOPIC, "sw", "ruzuku", remove=True)
    preview = taxonomies.preview_term(db, removal)
    assert (preview.tagged[TOPIC], preview.untagged[TOPIC]) == (0, 2)
    taxonomies.apply_term(db, removal, user_id=coordinator.id)
    report = taxonomies.retag_now(db)
    assert report is not None and report.untagged[TOPIC] == 2
    assert _with_topic(db, ids) == set()

    entries = audit.readable(db, audit.entries(db, entity="taxonomy"))
    assert [e.action for e in entries] == ["Removed a term", "Added a term"]
    assert entries[1].kind == "Taxonomy" and entries[1].who.startswith("coord@lab.example")
    assert "Term: ruzuku" in entries[1].details_text() and "Language: sw" in entries[1].details_text()


def test_a_persons_decisions_survive_the_retag_after_an_edit(kb, coordinator):
    db = kb.db
    rejected, accepted, untouched = (_store(db, title, text, n) for n, (title, text) in enumerate(STORIES))
    curation.set_status(db, rejected, "rejected", coordinator.id)
    curation.set_status(db, accepted, "accepted", coordinator.id)
    # A person removed the topic the new term would give; another set a topic by hand.
    tags_store.set_tag(db, rejected, TOPIC, coordinator.id)
    tags_store.remove_tag(db, rejected, TOPIC, coordinator.id)
    tags_store.set_tag(db, untouched, "sector/education", coordinator.id)
    before = {item.id: item for item in items_store.load_items(db, [rejected, accepted, untouched])}

    taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku"), user_id=coordinator.id)
    taxonomies.retag_now(db)

    after = {item.id: item for item in items_store.load_items(db, list(before))}
    for item_id in (rejected, accepted):
        old, new = before[item_id], after[item_id]
        assert (new.status, new.relevant, new.relevance_verdict, new.relevance_reason) == \
            (old.status, old.relevant, old.relevance_verdict, old.relevance_reason)
    assert TOPIC not in after[rejected].topics  # the person's removal stands
    assert {t.topic: t.state for t in after[rejected].tags}[TOPIC] == "removed"
    assert TOPIC in after[accepted].topics  # the new term tags the item nobody untagged
    assert "sector/education" in after[untouched].topics


@pytest.mark.parametrize(("language", "term", "kind"), [
    ("sw", "   ", "empty"),
    ("xx", "ruzuku", "language"),
    ("Swahili!", "ruzuku", "language"),
    ("en", "Welfare", "duplicate"),  # "welfare" is there: capitals do not make another term
    ("sw", "ru", "short"),
    ("en", "model", "general"),
    ("en", "!!!", "no-word"),
    ("en", "x" * 201, "long"),
])
def test_a_term_breaking_the_taxonomys_rules_is_refused_with_what_is_wrong(kb, language, term, kind):
    with pytest.raises(TermProblem) as caught:
        taxonomies.preview_term(kb.db, TermChange(TOPIC, language, term))
    assert caught.value.kind == kind
    assert taxonomies.retag_state(kb.db).version is None


def test_an_abbreviation_and_a_japanese_word_are_not_too_short(kb):
    assert taxonomies.check_term(bundled_taxonomy(), TOPIC, "sw", "KXQ") == "KXQ"
    assert taxonomies.check_term(bundled_taxonomy(), TOPIC, "ja", "給付金額") == "給付金額"
    with pytest.raises(TermProblem) as caught:
        taxonomies.check_term(bundled_taxonomy(), TOPIC, "sw", "ruzuku", remove=True)
    assert caught.value.kind == "missing"


def test_a_change_previewed_on_an_older_version_is_refused(kb, coordinator):
    db = kb.db
    seen = taxonomies.current_digest(db)
    taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku"), user_id=coordinator.id, expected=seen)
    with pytest.raises(Conflict):
        taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku ya mbolea"), user_id=coordinator.id,
                              expected=seen)
    assert len(taxonomies.history(db)) == 1


def test_export_then_import_gives_back_the_same_taxonomy(kb, coordinator, tmp_path):
    db = kb.db
    taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku"), user_id=coordinator.id)
    exported = taxonomies.export_text(db)
    assert exported.startswith("# Topic taxonomy of the knowledge base")
    assert "HOW TO ADD A TERM" in exported
    path = tmp_path / "taxonomy.toml"
    path.write_text(exported, encoding="utf-8")
    # What load_taxonomy reads from the file equals the lab's taxonomy, which equals the bundled one
    # plus the term (an independent reference: the bundled file's data, edited by hand here).
    expected = taxonomy_data(bundled_taxonomy())
    topic = next(t for t in expected["topics"] if t["id"] == TOPIC)  # type: ignore[union-attr]
    topic["terms"]["sw"].append("ruzuku")
    assert taxonomy_data(load_taxonomy(path)) == expected == taxonomy_data(taxonomies.current(db))

    other = make_kb(tmp_path / "other")
    try:
        taxonomies.import_taxonomy(other.db, path.read_bytes(), user_id=None)
        assert taxonomy_data(taxonomies.current(other.db)) == expected
        assert taxonomies.export_text(other.db) == exported
        with pytest.raises(InvalidInput, match="nothing to change"):  # the same file again
            taxonomies.import_taxonomy(other.db, exported, user_id=None)
    finally:
        other.close()


def test_a_bad_import_file_is_refused_naming_the_entry_and_nothing_changes(kb, coordinator):
    db = kb.db
    good = taxonomies.export_text(db)
    bad = good.replace('facet = "sector"', 'facet = "sectors"', 2)
    entries_before = audit.count(db)
    with pytest.raises(InvalidInput) as caught:
        taxonomies.import_taxonomy(db, bad, user_id=coordinator.id)
    message = str(caught.value)
    assert "sector/welfare" in message and "unknown facet 'sectors'" in message and "line" in message
    with pytest.raises(InvalidInput, match="not valid TOML"):
        taxonomies.preview_import(db, "[[topic]\nid = ")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        taxonomies.import_taxonomy(db, "id = \"caf\xe9\"".encode("latin-1"), user_id=coordinator.id)
    unknown = good.replace('[topic.terms]\nen = [', '[topic.terms]\nqq = ["uvw"]\nen = [', 1)
    with pytest.raises(InvalidInput, match="unknown language 'qq'"):
        taxonomies.import_taxonomy(db, unknown, user_id=coordinator.id)
    assert taxonomies.history(db) == [] and audit.count(db) == entries_before
    assert taxonomy_data(taxonomies.current(db)) == taxonomy_data(bundled_taxonomy())


def test_an_import_preview_says_what_changes_and_counts_what_it_would_tag(kb, coordinator):
    db = kb.db
    ids = [_store(db, title, text, n) for n, (title, text) in enumerate(STORIES)]
    edited = taxonomies.with_term(bundled_taxonomy(), TOPIC, "sw", "ruzuku")
    edited = taxonomies.with_term(edited, TOPIC, "en", "welfare", remove=True)
    from kb.text.taxonomy import dump_taxonomy

    imported, changes, report = taxonomies.preview_import(db, dump_taxonomy(edited))
    assert changes.added == ((TOPIC, "sw", "ruzuku"),) and changes.removed == ((TOPIC, "en", "welfare"),)
    assert report.tagged[TOPIC] == 2
    taxonomies.import_taxonomy(db, dump_taxonomy(edited), user_id=coordinator.id)
    taxonomies.retag_now(db)
    assert len(_with_topic(db, ids)) == 2
    [entry] = audit.entries(db, entity="taxonomy")
    assert entry.action == "import" and entry.details["terms_added"] == 1


def test_the_writer_tags_again_a_draft_a_worker_tagged_with_another_taxonomy(kb, coordinator):
    db = kb.db
    taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku"), user_id=coordinator.id)
    title, text = STORIES[0]
    stale = make_draft(title=title, text=text, language="sw", topics=(), taxonomy="")  # the bundled one
    [draft] = taxonomies.tag_drafts(db, [stale])
    assert TOPIC in {t.topic for t in draft.topics} and draft.taxonomy == taxonomies.current_digest(db)


def test_a_second_knowledge_base_sees_the_edit_made_through_another(kb, coordinator):
    db = kb.db
    install_taxonomy(None)
    other = make_kb(kb.settings.data_dir)  # another connection to the same database
    try:
        assert "ruzuku" not in taxonomies.current(other.db).get(TOPIC).terms.get("sw", ())
        taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku"), user_id=coordinator.id)
        install_taxonomy(None)  # as a process that has not seen the edit yet
        assert "ruzuku" in taxonomies.current(other.db).get(TOPIC).terms["sw"]
    finally:
        other.close()


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Habari</title><link>{base}/</link><description>Habari</description>
<item><title>Ruzuku za wakulima zacheleweshwa tena</title><link>{base}/ruzuku-1</link>
<guid>{base}/ruzuku-1</guid>
<description>Wakulima wa mahindi bado wanasubiri ruzuku ya serikali kwa msimu wa tatu mfululizo.</description>
</item></channel></rss>"""


def test_kb_ingest_in_another_process_tags_with_the_edited_taxonomy(kb, coordinator):
    db = kb.db
    taxonomies.apply_term(db, TermChange(TOPIC, "sw", "ruzuku"), user_id=coordinator.id)
    with LocalHTTPServer() as server:
        feed = RSS.format(base=server.url("")).encode()
        server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml"}, feed))
        sources_store.add_source(db, server.url("/feed.xml"), name="Habari")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        # Two extraction processes: they tag with the bundled file, and the writer tags again.
        environment |= {"KB_FETCH_ALLOW_PRIVATE": "127.0.0.0/8", "KB_FETCH_HOST_DELAY": "0",
                        "KB_EXTRACT_PROCESSES": "2"}
        kb_bin = str(Path(sys.executable).with_name("kb"))
        done = subprocess.run([kb_bin, "--data-dir", str(kb.settings.data_dir), "ingest", "--all"],
                              env=environment, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    [row] = db.execute("SELECT id FROM items").fetchall()
    item = items_store.get_item(db, row[0])
    assert item.language == "sw" and TOPIC in item.topics
    evidence = {t.topic: t.evidence for t in item.tags}[TOPIC]
    assert any("ruzuku" in word.lower() for word in evidence), evidence
    assert json.loads(json.dumps(taxonomy_data(parse_taxonomy(taxonomies.export_text(db)))))


@pytest.mark.parametrize("key", RELEVANCE_KEYS)
def test_a_change_to_any_relevance_list_alone_is_a_change(key: str):
    # An import that only edits, say, the automatic terms must still be stored and re-tag the items.
    before = parse_taxonomy('[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
                            '[topic.terms]\nen = ["benefits"]\n')
    after = parse_taxonomy('[[topic]]\nid = "sector/welfare"\nfacet = "sector"\nlabel = "Welfare"\n'
                           f'[topic.terms]\nen = ["benefits"]\n[relevance.{key}]\nen = ["a new term"]\n')
    changes = taxonomies.diff(before, after)
    assert (changes.added, changes.removed, changes.other) == ((), (), True)
    assert taxonomies.diff(before, before).other is False

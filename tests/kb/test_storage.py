"""Schema, migrations and deduplication in the storage of record."""

from __future__ import annotations

import sqlite3

import pytest

from kb import items as items_store
from kb import tags as tags_store
from kb.knowledge import KnowledgeBase
from kb.storage import db as storage
from kb.storage import outbox
from kb.systems.records import find_system_by_name
from kb.text.fingerprints import content_fingerprint
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_kb, make_settings


def test_fresh_database_has_every_table(tmp_path):
    database = storage.connect(tmp_path / "kb.sqlite3")
    storage.migrate(database)
    expected = {"items", "sources", "item_sources", "tags", "contacts", "cases", "case_items",
                "case_contacts", "users", "notes", "audit_log", "digests", "digest_deliveries",
                "saved_searches", "index_outbox", "page_versions", "api_tokens"}
    assert expected <= set(database.table_names())
    assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (storage.schema_version(database)
            == storage.MIGRATIONS.pending(storage.connect(":memory:"))[-1].name)
    database.close()


def test_migration_from_older_version_keeps_rows(tmp_path):
    path = tmp_path / "kb.sqlite3"
    old = storage.connect(path)
    storage.migrate(old, stop_before="0002_api_tokens")
    assert "api_tokens" not in old.table_names()
    old.execute("INSERT INTO users (email, role, password_hash, created_at) "
                "VALUES ('a@b.org', 'admin', 'x', 'now')")
    # Rows as the first version wrote them (today's code expects today's schema).
    old.execute("INSERT INTO items (url, canonical_url, fingerprint, title, created_at, updated_at) "
                "VALUES ('https://a.example/1', 'https://a.example/1', 'f1', "
                "'Kept across the migration', 'now', 'now')")
    old.execute("INSERT INTO index_outbox (item_id, queued_at) VALUES (1, 'now')")
    old.close()

    upgraded = storage.connect(path)
    applied = storage.migrate(upgraded, sql_functions={storage.CONTENT_FINGERPRINT: content_fingerprint})
    assert applied == ["0002_api_tokens", "0003_outbox_kinds", "0004_fingerprints_refolded",
                       "0005_task_queue", "0006_relevance_verdict", "0007_systems", "0008_digest_week",
                       "0009_user_language", "0010_relevance_model", "0011_sign_in_failures",
                       "0012_saved_search_words_only", "0013_taxonomy_versions", "0014_taxonomy_previews",
                       "0015_nukta_folded"]
    assert "api_tokens" in upgraded.table_names()
    assert outbox.pending(upgraded, 10) == [(1, "item", 1)]  # a waiting change survives, as an item
    assert upgraded.execute("SELECT email FROM users").fetchone()[0] == "a@b.org"
    assert upgraded.execute("SELECT title FROM items").fetchone()[0] == "Kept across the migration"
    assert storage.migrate(upgraded) == []  # idempotent
    upgraded.close()


def test_same_article_under_tracking_fragment_and_host_case_variants_is_one_item(kb: KnowledgeBase):
    first = items_store.store_item(kb.db, make_draft(url="https://News.Example.org/a/story?id=7"))
    variants = [
        "https://news.example.org/a/story?id=7&utm_source=rss&utm_medium=feed",
        "https://NEWS.EXAMPLE.ORG/a/story?fbclid=abc&id=7#comments",
        "https://news.example.org:443/a/story?id=7&gclid=xyz",
    ]
    for url in variants:
        again = items_store.store_item(kb.db, make_draft(url=url, title="Other title", text="Other text"))
        assert again == items_store.StoreResult(first.item_id, "updated") or again.item_id == first.item_id
    assert items_store.count_items(kb.db) == 1


def test_same_text_under_unrelated_urls_is_one_item_with_two_sources(kb: KnowledgeBase):
    database = kb.db
    for n in (1, 2):
        database.execute(
            "INSERT INTO sources (id, url, kind, name, created_at) VALUES (?, ?, 'feed', ?, 'now')",
            [n, f"https://feed{n}.example/rss", f"Feed {n}"],
        )
    draft = make_draft()
    first = items_store.store_item(database, draft, source_id=1)
    second = items_store.store_item(
        database, make_draft(url="https://mirror.example.net/copy", title=draft.title.upper(),
                             text="  " + draft.text.replace(" ", "  ")), source_id=2,
    )
    assert second == items_store.StoreResult(first.item_id, "duplicate")
    item = items_store.get_item(database, first.item_id)
    assert [s.source_id for s in item.sources] == [1, 2]


def test_different_articles_stay_apart(kb: KnowledgeBase):
    items_store.store_item(kb.db, make_draft())
    items_store.store_item(kb.db, make_draft())
    assert items_store.count_items(kb.db) == 2


def test_oversized_fields_are_clipped_not_refused(kb: KnowledgeBase):
    result = items_store.store_item(kb.db, make_draft(title="T" * 5_000_000))
    assert len(items_store.get_item(kb.db, result.item_id).title) == items_store.MAX_TITLE


def test_a_person_tag_decision_survives_retagging(kb: KnowledgeBase):
    draft = make_draft()
    item_id = items_store.store_item(kb.db, draft).item_id
    tags_store.remove_tag(kb.db, item_id, "system/risk-scoring", None)
    tags_store.set_tag(kb.db, item_id, "right/discrimination", None)
    # The text changes and the tagger proposes again, including the topic the person removed.
    items_store.store_item(kb.db, make_draft(url=draft.url, text=draft.text + " More.",
                                             topics=(TopicEvidence("system/risk-scoring", ("score",)),)))
    item = items_store.get_item(kb.db, item_id)
    states = {t.topic: (t.state, t.origin, t.decided_by_person) for t in item.tags}
    # proposed by the tagger, removed by a person
    assert states["system/risk-scoring"] == ("removed", "tagger", True)
    assert states["right/discrimination"] == ("active", "person", True)
    assert "sector/welfare" not in states  # the tagger's old proposal is replaced
    assert item.topics == ["right/discrimination"]


def test_watched_page_keeps_each_version(kb: KnowledgeBase):
    url = "https://ministry.example.gov/risk-model"
    first = items_store.store_item(
        kb.db, make_draft(url=url, title="Risk model", text="Version one of the page."), watched=True
    )
    same = items_store.store_item(
        kb.db, make_draft(url=url, title="Risk model", text="Version one of the page."), watched=True
    )
    changed = items_store.store_item(
        kb.db, make_draft(url=url, title="Risk model", text="Version two of the page."), watched=True
    )
    assert (first.outcome, same.outcome, changed.outcome) == ("new", "duplicate", "updated")
    versions = items_store.page_versions(kb.db, first.item_id)
    assert [v.text for v in versions] == ["Version one of the page.", "Version two of the page."]



def test_folding_of_fingerprints_is_the_search_folding():
    # "ø" and "o", "æ" and "ae" are one letter to search and to deduplication alike; one-letter words count.
    assert content_fingerprint("Søren på Ærø", "Kærlighed") == content_fingerprint("Soren pa Aero",
                                                                                  "Kaerlighed")
    assert content_fingerprint("Plan A", "") != content_fingerprint("Plan B", "")


# Articles as the storage held them before migration 0004, with the fingerprints the earlier folding gave
# them (it kept "ø" and "æ" as they are): (url, title, text, summary, fingerprint then).
_STORED_BEFORE_0004 = [
    ("https://news.example.dk/aero", "Kommunernes algoritme på Ærø",
     "Udbetaling Danmark bruger en algoritme til at udpege borgere på Ærø, der skal kontrolleres for "
     "socialt bedrageri.", "", "e1c6aad4d07ebf5d0e1546b6cc4c4482"),
    ("https://news.example.dk/soby", "Algoritmen i Søby", "", "Kommunen i Søby stopper sin algoritme.",
     "deb18121cbd0100eadb8508621795c83"),
    ("https://ministry.example.gov/risk-model", "Risikomodel for Ærø", "Første udgave af siden.", "",
     "2b3ad705438419b84921e2485e597fe6"),
]


def test_the_refolding_migration_stays_pending_without_the_fingerprint_rule(tmp_path):
    path = tmp_path / "kb.sqlite3"
    old = storage.connect(path)
    storage.migrate(old, stop_before="0004_fingerprints_refolded")
    old.execute("INSERT INTO items (url, canonical_url, fingerprint, title, created_at, updated_at) "
                "VALUES ('https://a.example/1', 'https://a.example/1', 'f1', 'Title', 'now', 'now')")
    with pytest.raises(sqlite3.OperationalError, match=storage.CONTENT_FINGERPRINT):
        storage.migrate(old)
    pending = [m.name for m in storage.MIGRATIONS.pending(old)]
    assert pending == ["0004_fingerprints_refolded", "0005_task_queue", "0006_relevance_verdict",
                       "0007_systems", "0008_digest_week", "0009_user_language", "0010_relevance_model",
                       "0011_sign_in_failures", "0012_saved_search_words_only",
                       "0013_taxonomy_versions", "0014_taxonomy_previews", "0015_nukta_folded"]
    assert old.execute("SELECT fingerprint FROM items").fetchone()[0] == "f1"
    old.close()


def test_items_stored_before_fingerprints_were_refolded_are_still_found_as_duplicates(tmp_path):
    settings = make_settings(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    old = storage.connect(settings.db_path)
    storage.migrate(old, stop_before="0004_fingerprints_refolded")
    for url, title, text, summary, fingerprint in _STORED_BEFORE_0004:
        old.execute("INSERT INTO items (url, canonical_url, fingerprint, title, text, summary, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, 'now', 'now')",
                    [url, url, fingerprint, title, text, summary])
        assert fingerprint != content_fingerprint(title, text or summary)  # the folding did change
    page_url, page_title, page_text, _, page_fingerprint = _STORED_BEFORE_0004[2]
    old.execute("INSERT INTO page_versions (item_id, fetched_at, fingerprint, title, text) "
                "VALUES (3, 'now', ?, ?, ?)", [page_fingerprint, page_title, page_text])
    old.close()

    kb = make_kb(settings.data_dir)  # opening migrates
    try:
        article = make_draft(url="https://mirror.example.net/aero", title=_STORED_BEFORE_0004[0][1],
                             text=_STORED_BEFORE_0004[0][2])
        assert items_store.store_item(kb.db, article) == items_store.StoreResult(1, "duplicate")
        summary_only = make_draft(url="https://mirror.example.net/soby", title=_STORED_BEFORE_0004[1][1],
                                  text="", summary=_STORED_BEFORE_0004[1][3])
        assert items_store.store_item(kb.db, summary_only) == items_store.StoreResult(2, "duplicate")
        # A watched page fetched unchanged is no new version.
        page = make_draft(url=page_url, title=page_title, text=page_text)
        assert items_store.store_item(kb.db, page, watched=True) == items_store.StoreResult(3, "duplicate")
        versions = items_store.page_versions(kb.db, 3)
        assert [v.fingerprint for v in versions] == [content_fingerprint(page_title, page_text)]
        assert items_store.count_items(kb.db) == 3
    finally:
        kb.close()


# Hindi articles as stored before migration 0015, with the fingerprints the folding then gave them (it kept
# the nukta): (url, title, text, summary, fingerprint then).
_STORED_BEFORE_0015 = [
    ("https://news.example.in/ration", "राशन कार्ड: फ़र्ज़ी लाभार्थियों की पहचान के लिए एल्गोरिदम",
     "ज़िला प्रशासन ने आधार से जुड़े आंकड़ों का मिलान किया।", "", "41b52982a51fd1d3bb7589990356c16b"),
    ("https://news.example.in/pension", "पेंशन ख़ारिज होने से बुज़ुर्ग परेशान", "",
     "सॉफ़्टवेयर ने सैकड़ों आवेदन ख़ारिज कर दिए।", "1ba63b8100dcf8e37d0fd8d86d4eaa49"),
    # Marathi writes ऱ, a letter that holds a nukta, as one character.
    ("https://news.example.in/marathi", "सरकारी अधिकाऱ्यांनी अर्ज फेटाळले",
     "सॉफ्टवेअरने शेकडो अर्ज आपोआप फेटाळले, असे कर्मचाऱ्यांनी सांगितले.", "",
     "cc63efe582aa687a0185ae28892607f5"),
]


def test_items_stored_before_the_nukta_was_folded_are_still_found_as_duplicates(tmp_path):
    settings = make_settings(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    old = storage.connect(settings.db_path)
    storage.migrate(old, stop_before="0015_nukta_folded",
                    sql_functions={storage.CONTENT_FINGERPRINT: content_fingerprint})
    for url, title, text, summary, fingerprint in _STORED_BEFORE_0015:
        old.execute("INSERT INTO items (url, canonical_url, fingerprint, title, text, summary, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, 'now', 'now')",
                    [url, url, fingerprint, title, text, summary])
        assert fingerprint != content_fingerprint(title, text or summary)  # the folding did change
    old.execute("INSERT INTO items (url, canonical_url, fingerprint, title, created_at, updated_at) VALUES "
                "('https://a.example/1', 'https://a.example/1', 'untouched', 'No nukta', 'now', 'now')")
    untouched = len(_STORED_BEFORE_0015) + 1
    # A registered system's alias, under the key the earlier folding gave it (the nukta kept).
    old.execute("INSERT INTO systems (id, name, created_at, updated_at) "
                "VALUES (1, 'Family ID', 'now', 'now')")
    old.execute("INSERT INTO system_aliases (system_id, alias, folded) "
                "VALUES (1, 'फ़ैमिली आईडी', 'फ़ैमिली आईडी')")
    _, page_title, page_text, _, page_fingerprint = _STORED_BEFORE_0015[0]
    old.execute("INSERT INTO page_versions (item_id, fetched_at, fingerprint, title, text) "
                "VALUES (1, 'now', ?, ?, ?)", [page_fingerprint, page_title, page_text])
    old.close()

    kb = make_kb(settings.data_dir)  # opening migrates
    try:
        # The same articles without the nukta (another site's spelling) are the stored ones.
        for number, (_, title, text, summary, _) in enumerate(_STORED_BEFORE_0015, 1):
            copy = make_draft(url=f"https://mirror.example.net/{number}", title=title.replace("\u093c", ""),
                              text=text.replace("\u093c", ""), summary=summary.replace("\u093c", ""))
            assert items_store.store_item(kb.db, copy) == items_store.StoreResult(number, "duplicate")
        # Only texts holding a nukta were recomputed.
        assert kb.db.execute("SELECT fingerprint FROM items WHERE id = ?", [untouched]).fetchone()[0] == (
            "untouched")
        found = find_system_by_name(kb.db, "फैमिली आईडी")  # written without the nukta
        assert found is not None and found.id == 1
        assert kb.db.execute("SELECT fingerprint FROM page_versions").fetchone()[0] == content_fingerprint(
            page_title.replace("\u093c", ""), page_text.replace("\u093c", ""))
    finally:
        kb.close()

"""What each page shows and does: search, export, saved searches, item page, curation queue, sources,
dashboard, users and profile."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.web import web_app
from ingest.queue import TaskQueue
from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.search import saved as saved_searches
from kb.storage import audit
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_kb
from tests.webui.conftest import PASSWORD, csrf_token, enter_session, sign_in
from webui.app import create_app
from webui.search import spreadsheet_cell

FEEDS = Path(__file__).parent.parent / "fixtures" / "feeds"


def _post(client, path: str, **data):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def _text(response) -> str:
    return response.get_data(as_text=True)


def _unescape(href: str) -> str:
    return href.replace("&amp;", "&")


# --- search -------------------------------------------------------------------------------------------

@pytest.fixture
def corpus(world):
    """Three more items: French health, English education, and an old one."""
    db = world.kb.db
    french = items_store.store_item(db, make_draft(
        title="L'algorithme de l'hôpital trie les patients", text="Un algorithme de triage à l'hôpital.",
        language="fr", topics=(TopicEvidence("sector/health", ("hôpital",)),),
        published=datetime(2026, 10, 1, tzinfo=UTC))).item_id
    english = items_store.store_item(db, make_draft(
        title="Exam grading algorithm downgrades pupils", text="The council's algorithm graded exams.",
        topics=(TopicEvidence("sector/education", ("exam",)),), published=datetime(2026, 9, 1, tzinfo=UTC),
    )).item_id
    world.kb.sync_index()
    return {"french": french, "english": english}


def test_search_page_shows_results_facets_and_badges(signed_in, world, corpus):
    page = _text(signed_in("researcher").get("/?q=algorithm"))
    assert "Exam grading algorithm downgrades pupils" in page
    assert "<mark>" in page  # the highlighted snippet is rendered as HTML
    assert 'data-facet="language"' in page and 'data-facet="sector"' in page
    assert re.search(r"English</span> <span class=\"count\">\d+</span>", page)
    assert "badge badge-language" in page and "Education" in page
    assert f'href="/items/{corpus["english"]}"' in page
    assert "Example News" in page  # the source of the first item


def test_facet_links_toggle_a_filter(signed_in, world, corpus):
    client = signed_in("researcher")
    page = _text(client.get("/?q=algorithm"))
    href = _unescape(re.search(r'<a href="([^"]*language=fr[^"]*)" class="facet-value', page).group(1))
    filtered = _text(client.get(href))
    assert "L&#39;algorithme de l&#39;hôpital" in filtered
    assert "Exam grading" not in filtered
    assert 'facet-value selected' in filtered
    undo = _unescape(re.search(r'<a href="([^"]*)" class="facet-value selected', filtered).group(1))
    assert "language=fr" not in undo and "Exam grading" in _text(client.get(undo))


def test_date_range_sort_and_bad_arguments(signed_in, world, corpus):
    client = signed_in("researcher")
    page = _text(client.get("/?q=algorithm&from=2026-09-15&to=2026-10-15&sort=newest"))
    assert "L&#39;algorithme" in page and "Exam grading" not in page
    assert client.get("/?from=15/09/2026").status_code == 400
    assert client.get("/?sort=random").status_code == 400


def test_pagination(signed_in, world):
    for n in range(25):
        items_store.store_item(world.kb.db, make_draft(title=f"Benefit algorithm story {n}"))
    world.kb.sync_index()
    client = signed_in("researcher")
    first = _text(client.get("/?q=benefit"))
    assert first.count('class="hit"') == 20 and 'rel="next"' in first
    second = _text(client.get("/?q=benefit&page=2"))
    assert 0 < second.count('class="hit"') <= 20 and 'rel="prev"' in second


def test_notes_and_did_you_mean_are_shown(signed_in, world):
    for n in range(3):
        items_store.store_item(world.kb.db, make_draft(title=f"The algorithm that scored claimants {n}",
                                                       language="en"))
    world.kb.sync_index()
    page = _text(signed_in("researcher").get('/?q=algoritm+"claimants&language=en'))
    assert "A quote was not closed" in page
    link = re.search(r'Did you mean <a href="([^"]*)">([^<]*)</a>', page)
    assert link and link.group(2).startswith("algorithm")
    assert "language=en" in link.group(1)


def test_export_csv_and_json(signed_in, world, corpus):
    items_store.store_item(world.kb.db, make_draft(title="=HYPERLINK(\"https://evil.example\") algorithm"))
    world.kb.sync_index()
    client = signed_in("researcher")
    response = client.get("/search/export.csv?q=algorithm")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_text(response))))
    titles = {row["title"] for row in rows}
    assert "Exam grading algorithm downgrades pupils" in titles
    assert "'=HYPERLINK(\"https://evil.example\") algorithm" in titles  # never a live formula
    as_json = json.loads(_text(client.get("/search/export.json?q=algorithm&language=fr")))
    assert [i["id"] for i in as_json["items"]] == [corpus["french"]]
    assert as_json["items"][0]["sectors"] == ["sector/health"]
    assert as_json["items"][0]["language_name"] == "French"
    assert as_json["items"][0]["topic_labels"] == ["Health"]
    evil = next(row for row in rows if row["title"].startswith("'=HYPERLINK"))
    assert evil["topics"] == "sector/welfare; system/risk-scoring"
    assert evil["topic_labels"] == "Welfare and social protection; Risk scoring and fraud detection"
    assert client.get("/search/export.xlsx").status_code == 404


@pytest.mark.parametrize("value, cell", [("=1+1", "'=1+1"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"),
                                         ("plain", "plain"), (["a", "b"], "a; b"), (None, ""), (3, "3")])
def test_spreadsheet_cells(value, cell):
    assert spreadsheet_cell(value) == cell


def test_save_run_and_delete_a_search(signed_in, world, corpus):
    client = signed_in("researcher")
    response = _post(client, "/saved-searches", name="French health", q="algorithm", language="fr")
    assert response.status_code == 302
    [saved] = saved_searches.list_saved_searches(world.kb.db, world.users["researcher"].id)
    page = _text(client.get("/"))
    link = re.search(r'<a href="([^"]+)">French health</a>', page).group(1).replace("&amp;", "&")
    assert "L&#39;algorithme" in _text(client.get(link)) and "Exam grading" not in _text(client.get(link))
    assert saved_searches.list_saved_searches(world.kb.db, world.users["coordinator"].id) == []  # per user
    _post(client, f"/saved-searches/{saved.id}/delete")
    assert saved_searches.list_saved_searches(world.kb.db, world.users["researcher"].id) == []


def test_the_search_page_has_one_h1_naming_the_query(signed_in, world):
    client = signed_in("researcher")
    headings = re.findall(r"<h1[^>]*>.*?</h1>", _text(client.get("/")))
    assert headings == ['<h1 class="visually-hidden">Search</h1>']
    page = _text(client.get("/?q=%3Cb%3Ewelfare"))  # escaped like every other output
    assert re.findall(r"<h1[^>]*>.*?</h1>", page) == [
        '<h1 class="visually-hidden">Search results for “&lt;b&gt;welfare”</h1>']


def test_a_saved_search_keeps_words_only(signed_in, world):
    client = signed_in("researcher")
    _post(client, "/saved-searches", name="Words", q="welfare", words_only="1")
    _post(client, "/saved-searches", name="Concepts", q="welfare")
    found = {s.name: s for s in saved_searches.list_saved_searches(world.kb.db, world.users["researcher"].id)}
    assert (found["Words"].words_only, found["Concepts"].words_only) == (True, False)
    assert found["Words"].query == "welfare"  # the toggle is kept as itself, not as a leading "="
    page = _text(client.get("/"))
    words = _unescape(re.search(r'<a href="([^"]+)">Words</a>', page).group(1))
    concepts = _unescape(re.search(r'<a href="([^"]+)">Concepts</a>', page).group(1))
    assert "words_only=1" in words and "words_only" not in concepts
    assert 'name="words_only" value="1" checked' in _text(client.get(words))
    assert 'name="words_only" value="1" checked' not in _text(client.get(concepts))


# --- item page ----------------------------------------------------------------------------------------

def test_item_page_shows_everything_about_the_item(signed_in, world):
    db = world.kb.db
    other = sources_store.add_source(db, "https://mirror.example.net/rss", name="Mirror")
    items_store.link_known(db, make_draft().url, other.id)  # not the same URL: no new link
    draft = items_store.get_item(db, world.item_id)
    items_store.link_known(db, draft.url, other.id)
    curation.add_note(db, world.item_id, world.users["researcher"].id, "First line\n\nSecond paragraph")
    curation.link_case(db, world.item_id, world.case_id, world.users["coordinator"].id)
    curation.apply(db, [world.item_id], curation.Change(status="accepted", add_tags=("right/privacy",)),
                   world.users["coordinator"].id)
    page = _text(signed_in("researcher").get(f"/items/{world.item_id}"))
    assert draft.title in page
    assert f'href="{draft.url}" rel="noopener noreferrer" target="_blank"' in page
    assert "Example News" in page and "Mirror" in page
    assert "Welfare and social protection" in page and "benefit" in page  # label and evidence
    # The tag table says who set a tag: the coordinator added "right/privacy" by hand.
    privacy_row = re.search(r'<tr class="tag-active">\s*<td>Privacy[^<]*</td>\s*<td>([^<]*)</td>', page)
    assert privacy_row is not None and privacy_row.group(1).startswith("Coordinator, ")
    assert "the tagger" in page and "a person" not in page
    assert "Last decision: <strong>Accepted</strong>" in page and "by Coordinator" in page
    assert "Researcher," in page and "<p>Second paragraph</p>" in page
    assert "Fraud scoring in Rotterdam" in page
    # The history reads as the audit log does (its readable entries), not as keys.
    history = re.search(r'<section id="history".*?</section>', page, re.S).group(0)
    assert "set-status" not in history and "link-case" not in history
    assert "<td>Changed the status</td>" in history and "<td>Linked to a case file</td>" in history
    assert re.search(r'<th scope="row">Status</th><td>New</td><td>Accepted</td>', history), history
    assert "<dt>Case file</dt><dd>“Fraud scoring in Rotterdam”</dd>" in history
    assert "<dt>Topic</dt><dd>Privacy" in history


def test_page_versions_show_what_changed(signed_in, world):
    db = world.kb.db
    url = "https://gov.example.org/policy/risk-model"
    before = make_draft(url=url, title="Policy", text="Line one\nLine two\nLine three")
    after = make_draft(url=url, title="Policy v2", text="Line one\nLine 2\nLine three\nLine four")
    item_id = items_store.store_item(db, before, watched=True).item_id
    items_store.store_item(db, after, watched=True)
    page = _text(signed_in("researcher").get(f"/items/{item_id}"))
    assert "Versions of this page" in page
    assert '<span class="diff-del">- Line two</span>' in page
    assert '<span class="diff-add">+ Line 2</span>' in page
    assert '<span class="diff-add">+ Line four</span>' in page
    assert "2 lines added, 1 removed" in page
    assert "Title changed from “Policy” to “Policy v2”" in page


def test_add_a_note(signed_in, world):
    client = signed_in("researcher")
    response = _post(client, f"/items/{world.item_id}/notes", note="Ask for the DPIA")
    assert response.status_code == 302 and response.headers["Location"].endswith("#notes")
    [note] = curation.list_notes(world.kb.db, world.item_id)
    assert (note.body, note.user_id) == ("Ask for the DPIA", world.users["researcher"].id)
    assert _post(client, f"/items/{world.item_id}/notes", note="  ").status_code == 400
    assert _post(client, "/items/999/notes", note="x").status_code == 404


def test_unknown_item_is_404(signed_in, world):
    response = signed_in("researcher").get("/items/999")
    assert response.status_code == 404 and "item 999 does not exist" in _text(response)


# --- curation -----------------------------------------------------------------------------------------

def test_queue_lists_new_items_relevant_first_then_newest(signed_in, world):
    db = world.kb.db
    newest_irrelevant = items_store.store_item(db, make_draft(title="Irrelevant", relevant=False,
                                                              published=datetime.now(UTC))).item_id
    # The world's item was published on 18 November.
    older = make_draft(title="Older relevant", published=datetime(2026, 11, 1, tzinfo=UTC))
    older_relevant = items_store.store_item(db, older).item_id
    page = _text(signed_in("coordinator").get("/curation"))
    order = [int(i) for i in re.findall(r'id="item-(\d+)" data-queue-item', page)]
    assert order.index(older_relevant) < order.index(newest_irrelevant)
    assert order.index(world.item_id) < order.index(older_relevant)  # newer, also relevant
    assert 'src="/static/curation.js"' in page
    filtered = _text(signed_in("coordinator").get("/curation?relevant=1&language=en"))
    assert "Irrelevant" not in filtered and "Older relevant" in filtered
    assert signed_in("coordinator").get("/curation?source=abc").status_code == 400


def test_accept_from_the_queue_is_recorded_and_shown(signed_in, world):
    client = signed_in("coordinator")
    response = _post(client, f"/items/{world.item_id}/curation", status="accepted", next="/curation")
    assert response.status_code == 302 and response.headers["Location"] == "/curation"
    queue_page = _text(client.get("/curation"))
    title = items_store.get_item(world.kb.db, world.item_id).title
    assert f'id="item-{world.item_id}"' not in queue_page
    assert f"Accepted: {html.escape(title)}" in queue_page
    decision = curation.decision(world.kb.db, world.item_id)
    assert (decision.status, decision.by_id) == ("accepted", world.users["coordinator"].id)
    [entry] = audit.entries(world.kb.db, entity="item", entity_id=world.item_id)
    assert entry.user_email == "coordinator@lab.example"
    assert "Last decision: <strong>Accepted</strong>" in _text(client.get(f"/items/{world.item_id}"))


def test_curation_redirect_stays_on_the_site(signed_in, world):
    client = signed_in("coordinator")
    response = _post(client, f"/items/{world.item_id}/curation", status="rejected", next="https://evil.example/")
    assert response.headers["Location"] == f"/items/{world.item_id}"


def test_edit_tags_digest_case_and_note_in_one_form(signed_in, world):
    client = signed_in("coordinator")
    response = _post(client, f"/items/{world.item_id}/curation", digest="1", add_tag="right/privacy",
                     remove_tag="system/risk-scoring", case_id=str(world.case_id), note="Filed")
    assert response.status_code == 302
    item = items_store.get_item(world.kb.db, world.item_id)
    assert item.in_digest and "right/privacy" in item.topics and "system/risk-scoring" not in item.topics
    assert item.case_ids == (world.case_id,)
    assert curation.list_notes(world.kb.db, world.item_id)[0].body == "Filed"
    assert _post(client, f"/items/{world.item_id}/curation", add_tag="sector/moon").status_code == 400
    assert _post(client, f"/items/{world.item_id}/curation").status_code == 400  # nothing to change
    assert _post(client, f"/items/{world.item_id}/curation", digest="maybe").status_code == 400


def test_bulk_decisions(signed_in, world):
    db = world.kb.db
    ids = [world.item_id] + [items_store.store_item(db, make_draft()).item_id for _ in range(3)]
    client = signed_in("coordinator")
    response = client.post("/curation/bulk", data={"item_id": [str(i) for i in ids[:3]], "status": "rejected",
                                                   "digest": "", "note": "Off topic",
                                                   "csrf_token": csrf_token(client)})
    assert response.status_code == 302
    statuses = [items_store.get_item(db, i).status for i in ids]
    assert statuses == ["rejected", "rejected", "rejected", "new"]
    assert all(curation.list_notes(db, i)[0].body == "Off topic" for i in ids[:3])
    missing = client.post("/curation/bulk", data={"item_id": [str(ids[3]), "999"], "status": "accepted",
                                                  "csrf_token": csrf_token(client)})
    assert missing.status_code == 404
    assert items_store.get_item(db, ids[3]).status == "new"  # all or nothing
    assert _post(client, "/curation/bulk", status="accepted").status_code == 400  # no item ticked


# --- sources ------------------------------------------------------------------------------------------

def test_sources_page_shows_health(signed_in, world):
    db = world.kb.db
    sources_store.record_failure(db, world.source_id, "The server answered 503 Service Unavailable")
    sources_store.record_failure(db, world.source_id, "The server answered 503 Service Unavailable")
    page = _text(signed_in("coordinator").get("/sources"))
    assert "Example News" in page and "Failing" in page and "503 Service Unavailable" in page
    row = re.search(rf'<tr id="source-{world.source_id}".*?</tr>', page, re.S).group(0)
    assert "<td>2</td>" in row and "<td>1</td>" in row  # failures in a row, items


def test_pause_resume_fetch_now(signed_in, world):
    client = signed_in("coordinator")
    db = world.kb.db
    _post(client, f"/sources/{world.source_id}/pause")
    assert sources_store.get_source(db, world.source_id).paused
    assert "Resume" in _text(client.get("/sources"))
    _post(client, f"/sources/{world.source_id}/resume")
    assert not sources_store.get_source(db, world.source_id).paused
    db.execute("UPDATE sources SET next_due = '2999-01-01T00:00:00+00:00' WHERE id = ?", [world.source_id])
    _post(client, f"/sources/{world.source_id}/fetch")
    assert sources_store.get_source(db, world.source_id).next_due < "2999"
    assert _post(client, "/sources/999/pause").status_code == 404


def test_add_a_page_and_refuse_bad_addresses(signed_in, world):
    client = signed_in("coordinator")
    response = _post(client, "/sources", url="https://gov.example.org/algorithms", kind="page",
                     name="Register")
    assert response.status_code == 302
    added = sources_store.find_source_by_url(world.kb.db, "https://gov.example.org/algorithms")
    assert added.kind == "page" and added.name == "Register"
    for bad in ("javascript:alert(1)", "ftp://example.org/x", "not a url", ""):
        assert _post(client, "/sources", url=bad, kind="page").status_code == 400, bad
    assert _post(client, "/sources", url="https://gov.example.org/algorithms", kind="page").status_code == 409
    assert _post(client, "/sources", url="https://x.example.org", kind="podcast").status_code == 400


@pytest.fixture
def local_app(tmp_path, http_server):
    """An app whose monitor runs (writer and fetching consumer, as in `kb serve`) and may reach the
    loopback test server."""
    kb = make_kb(tmp_path / "local", fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                 fetch_respect_robots=False, fetch_retries=0, extract_processes=1)
    coordinator = users_store.add_user(kb.db, "c@lab.example", PASSWORD, "coordinator")
    queue = TaskQueue(kb.settings)
    queue.start_storing(kb)
    queue.start_fetching()
    app = web_app(kb, queue, TESTING=True)
    client = app.test_client()
    enter_session(client, coordinator)
    try:
        yield kb, client
    finally:
        queue.stop()
        kb.close()


def _settled(kb, source_id: int, timeout: float = 15.0) -> sources_store.Source:
    """The source once its first fetch, queued when it was added, has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = sources_store.get_source(kb.db, source_id)
        if source.last_fetch:
            return source
        time.sleep(0.1)
    raise AssertionError(f"source {source_id} was not fetched within {timeout} s")


def test_add_a_feed_found_through_a_web_page(local_app, http_server):
    kb, client = local_app
    rss = (FEEDS / "rss20.xml").read_bytes()
    http_server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml"}, rss))
    page = (b'<html><head><title>Site</title><link rel="alternate" type="application/rss+xml" '
            b'href="/feed.xml"></head><body>Hi</body></html>')
    http_server.add("/", (200, {"Content-Type": "text/html"}, page))
    response = _post(client, "/sources", url=http_server.url("/"), kind="feed")
    assert response.status_code == 302, _text(response)  # answered at once; checked by the first fetch
    [added] = sources_store.list_sources(kb.db)
    source = _settled(kb, added.id)
    assert source.url == http_server.url("/feed.xml") and source.kind == "feed"
    assert source.failures == 0 and source.items > 0
    http_server.add("/plain", (200, {"Content-Type": "text/html"}, b"<html><body>No feed</body></html>"))
    plain = _post(client, "/sources", url=http_server.url("/plain"), kind="feed")
    assert plain.status_code == 302
    refused = _settled(kb, sources_store.find_source_by_url(kb.db, http_server.url("/plain")).id)
    assert refused.failures == 1 and "links to no feed" in (refused.last_error or "")
    assert "links to no feed" in _text(client.get("/sources"))


def test_opml_export_and_import(signed_in, world):
    client = signed_in("coordinator")
    exported = client.get("/sources/opml")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert b"https://news.example.org/feed.xml" in exported.data
    opml = (b'<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
            b'<outline text="New one" xmlUrl="https://new.example.org/rss"/>'
            b'<outline text="Known" xmlUrl="https://news.example.org/feed.xml"/></body></opml>')
    response = client.post("/sources/opml", data={"opml": (io.BytesIO(opml), "feeds.opml"),
                                                  "csrf_token": csrf_token(client)},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Imported 1 feed; 1 already followed." in _text(client.get("/sources"))
    assert sources_store.find_source_by_url(world.kb.db, "https://new.example.org/rss").name == "New one"
    broken = client.post("/sources/opml", data={"opml": (io.BytesIO(b"<opml><body>"), "x.opml"),
                                                "csrf_token": csrf_token(client)},
                         content_type="multipart/form-data")
    assert broken.status_code == 400


# --- dashboard ----------------------------------------------------------------------------------------

def test_dashboard_draws_charts_and_lists_failing_sources(signed_in, world):
    db = world.kb.db
    now = datetime.now(UTC)
    items_store.store_item(db, make_draft(published=now, language="fr",
                                          topics=(TopicEvidence("sector/health", ("hôpital",)),)))
    items_store.store_item(db, make_draft(published=now - timedelta(weeks=2)))
    sources_store.record_failure(db, world.source_id, "Connection refused by news.example.org")
    page = _text(signed_in("coordinator").get("/dashboard"))
    assert page.count("<svg viewBox") == 2
    assert page.count("<polyline") >= 4  # welfare, health; English, French
    assert "Health" in page and "French" in page
    assert "Connection refused by news.example.org" in page
    assert "<strong>3</strong> items wait in the curation queue" in page


# --- users and profile --------------------------------------------------------------------------------

def test_admin_adds_a_user_with_a_typed_or_generated_password(signed_in, world, app):
    admin = signed_in("admin")
    response = _post(admin, "/admin/users", email="new@lab.example", name="New", role="coordinator",
                     password="typed password 1")
    assert response.status_code == 302
    assert sign_in(app.test_client(), "new@lab.example", "typed password 1").status_code == 302
    shown = _post(admin, "/admin/users", email="gen@lab.example", role="researcher", password="")
    password = re.search(r'<code class="token">([^<]+)</code>', _text(shown)).group(1)
    assert sign_in(app.test_client(), "gen@lab.example", password).status_code == 302
    assert _post(admin, "/admin/users", email="new@lab.example", role="researcher",
                 password="typed password 1").status_code == 409
    for email, role in (("bad", "researcher"), ("x@lab.example", "root")):
        response = _post(admin, "/admin/users", email=email, role=role, password="typed password 1")
        assert response.status_code == 400


def test_admin_changes_role_deactivates_and_resets(signed_in, world, app):
    admin = signed_in("admin")
    target = world.users["researcher"]
    victim_session = signed_in("researcher")
    _post(admin, f"/admin/users/{target.id}", role="coordinator")
    assert users_store.get_user(world.kb.db, target.id).role == "coordinator"
    assert victim_session.get("/").status_code == 302  # the role change ended the session
    _post(admin, f"/admin/users/{target.id}", active="0")
    assert not users_store.get_user(world.kb.db, target.id).active
    assert sign_in(app.test_client(), target.email).status_code == 200  # refused
    _post(admin, f"/admin/users/{target.id}", active="1")
    _post(admin, f"/admin/users/{target.id}/password", password="brand new password")
    assert sign_in(app.test_client(), target.email, "brand new password").status_code == 302
    page = _text(_post(admin, f"/admin/users/{target.id}/password", password=""))
    assert "shown only this once" in page


def test_admin_cannot_lock_themselves_out(signed_in, world):
    admin = signed_in("admin")
    me = world.users["admin"]
    assert _post(admin, f"/admin/users/{me.id}", role="researcher").status_code == 400
    assert _post(admin, f"/admin/users/{me.id}", active="0").status_code == 400
    assert _post(admin, f"/admin/users/{me.id}", name="Still admin").status_code == 302
    _post(admin, f"/admin/users/{me.id}/password", password="my own new password")
    assert admin.get("/admin/users").status_code == 200  # this session goes on


def test_change_own_password(app, world):
    client, elsewhere = app.test_client(), app.test_client()
    sign_in(client, "researcher@lab.example")
    sign_in(elsewhere, "researcher@lab.example")
    assert _post(client, "/profile/password", current="wrong", new="new password 123",
                 confirm="new password 123").status_code == 400
    assert _post(client, "/profile/password", current=PASSWORD, new="new password 123",
                 confirm="other password 123").status_code == 400
    assert _post(client, "/profile/password", current=PASSWORD, new="new password 123",
                 confirm="new password 123").status_code == 302
    assert client.get("/profile").status_code == 200  # this session goes on
    assert elsewhere.get("/profile").status_code == 302  # the others end
    assert sign_in(app.test_client(), "researcher@lab.example", "new password 123").status_code == 302


def test_menu_follows_the_role(signed_in, world):
    researcher = _text(signed_in("researcher").get("/profile"))
    assert 'href="/curation"' not in researcher and 'href="/admin/users"' not in researcher
    coordinator = _text(signed_in("coordinator").get("/profile"))
    assert 'href="/curation"' in coordinator and 'href="/sources"' in coordinator
    assert 'href="/admin/users"' not in coordinator
    assert 'href="/admin/users"' in _text(signed_in("admin").get("/profile"))


@pytest.mark.parametrize("path", ["/items/99999999999999999999", "/items/9223372036854775808"])
def test_an_id_beyond_the_database_range_is_not_found(signed_in, path):
    assert signed_in("researcher").get(path).status_code == 404


def test_a_web_app_without_fetching_says_so_when_a_source_is_added(tmp_path: Path):
    # The web UI does not import ingest: only the `kb` command hands it the intake that checks sources.
    kb = make_kb(tmp_path / "plain")
    coordinator = users_store.add_user(kb.db, "c@lab.example", PASSWORD, "coordinator")
    client = create_app(kb.settings, kb=kb, TESTING=True).test_client()
    enter_session(client, coordinator)
    try:
        response = client.post("/sources", data={"url": "https://news.example.org/feed.xml", "kind": "feed",
                                                  "csrf_token": csrf_token(client)})
        assert response.status_code == 400
        assert "started without fetching" in response.get_data(as_text=True)
        assert sources_store.list_sources(kb.db) == []
    finally:
        kb.close()


def test_the_queue_shows_items_left_to_a_reader_with_the_reason(signed_in, world):
    items_store.store_item(world.kb.db, make_draft(
        title="Habari <b>mpya</b>", language="sw", relevant=False, relevance_verdict="needs a reader",
        relevance_reason="no terms for <Swahili>"))
    client = signed_in("coordinator")
    page = _text(client.get("/curation?reader=1"))
    assert "Needs a reader" in page
    assert "The tagger could not judge it: no terms for &lt;Swahili&gt;." in page
    assert "Habari &lt;b&gt;mpya&lt;/b&gt;" in page and "<b>mpya</b>" not in page
    assert "Council pauses" not in page  # the filter keeps only those left to a reader

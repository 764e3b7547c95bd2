"""The pages tell the truth about the monitor: the writer and the fetching workers from their heartbeats,
the tasks waiting in the queue (or that it is unreachable), the banner when nobody fetches, "Fetch now"
through the queue, each source's fetch in flight or its health, and the add form's mistakes on the form."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cli.web import web_app
from ingest.queue import TaskQueue
from kb import monitor
from kb import sources as sources_store
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.monitor import Heartbeat
from kb.sources import Source
from tests.factories import make_kb
from tests.httpserver import LocalHTTPServer
from tests.redisserver import REDIS_SERVER, LocalRedis, free_port
from tests.webui.conftest import PASSWORD, csrf_token, enter_session
from webui.app import create_app
from webui.server import start_in_background
from webui.templating import ago

NO_FETCHING = re.compile(r"No worker has fetched (?:for \d+ minutes?|yet): sources are not being monitored\. "
                         r"Start `kb serve` or `kb worker`\.")
LEASE = timedelta(minutes=10)


def _post(client: FlaskClient, path: str, **data: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def _text(response) -> str:
    return response.get_data(as_text=True)


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+" role="status">(.*?)</p>', page, re.S)


def _banner(page: str) -> str:
    found = re.search(r'<div class="banner banner-monitor" role="alert">(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def _monitor(page: str) -> str:
    found = re.search(r'<section class="monitor" id="monitor".*?</section>', page, re.S)
    assert found, "no monitor section on the page"
    return found.group(0)


def _row(page: str, source_id: int) -> str:
    found = re.search(rf'<tr id="source-{source_id}".*?</tr>', page, re.S)
    assert found, f"no row for source {source_id}"
    return found.group(0)


def beat(kb: KnowledgeBase, role: str, *, seen: timedelta = timedelta(0), host: str = "lab-server",
         pid: int = 4242, done: int = 0, failed: int = 0, last_failure: str | None = None) -> None:
    """A heartbeat as a worker would send it, seen `seen` ago."""
    moment = datetime.now(UTC) - seen
    monitor.record_heartbeat(kb.db, Heartbeat(
        id=f"{host}-{pid}-{role}", host=host, pid=pid, role=role,
        started_at=(moment - timedelta(hours=1)).isoformat(timespec="seconds"), tasks_done=done,
        tasks_failed=failed, last_failure=last_failure, seen_at=moment.isoformat(timespec="seconds")))


# --- the state of the monitor ----------------------------------------------------------------------------

def test_the_status_shows_the_writer_and_each_fetching_worker(signed_in, world):
    kb = world.kb
    beat(kb, "writer", seen=timedelta(seconds=3))
    beat(kb, "fetch", host="fetch-1.lab.example", seen=timedelta(seconds=12), done=40, failed=2,
         last_failure="The server answered 503 Service Unavailable")
    beat(kb, "fetch", host="fetch-2.lab.example", pid=77, done=5)
    beat(kb, "fetch", host="old-box.lab.example", seen=timedelta(hours=3))  # an earlier run, gone
    client = signed_in("coordinator")
    for path in ("/sources", "/dashboard"):
        response = client.get(path)
        assert response.status_code == 200
        page = _text(response)
        status = _monitor(page)
        assert "<strong>0</strong> tasks waiting in the queue." in status  # the app's queue is empty
        first = re.search(r'<tr data-worker="fetch-1.lab.example-4242-fetch".*?</tr>', status, re.S).group(0)
        assert "<td>Fetching</td>" in first and "fetch-1.lab.example" in first
        assert re.search(r">1[2-5] sec\. ago</time>", first), first  # the page takes a moment
        assert "<td>40</td><td>2</td><td>The server answered 503 Service Unavailable</td>" in first
        assert "fetch-2.lab.example" in status and "(process 77)" in status
        writer = re.search(r'<tr data-worker="lab-server-4242-writer".*?</tr>', status, re.S).group(0)
        assert "<td>Writer</td>" in writer and "silent" not in writer
        assert "1 earlier worker, silent for over 2 minutes" in status
        gone = re.search(r'<tr data-worker="old-box.lab.example-4242-fetch".*?</tr>', status, re.S).group(0)
        assert "3 hr. ago" in gone and "silent" in gone
        assert _banner(page) == ""  # a writer and fetching workers are alive


def test_a_stale_heartbeat_raises_the_banner_on_every_page_for_coordinators(signed_in, world):
    kb = world.kb
    beat(kb, "writer")
    beat(kb, "fetch", host="fetch-1.lab.example", seen=timedelta(minutes=5, seconds=10))
    for role in ("coordinator", "admin"):
        client = signed_in(role)
        for path in ("/", "/profile", "/sources", "/dashboard", "/items/999999"):
            banner = _banner(_text(client.get(path)))
            assert ("No worker has fetched for 5 minutes: sources are not being monitored. "
                    "Start `kb serve` or `kb worker`.") in banner, (role, path)
            assert "writer" not in banner
    # Researchers do not run the monitor: no banner for them.
    assert _banner(_text(signed_in("researcher").get("/"))) == ""
    beat(kb, "fetch", host="fetch-1.lab.example")  # the worker is back
    assert _banner(_text(signed_in("coordinator").get("/"))) == ""


def test_the_banner_names_a_missing_writer_and_a_monitor_never_started(signed_in, world):
    client = signed_in("coordinator")
    never = _banner(_text(client.get("/")))
    assert NO_FETCHING.search(never) and "No worker has fetched yet" in never
    assert "No writer has run yet: what workers fetch is not stored and no source is scheduled." in never
    beat(world.kb, "fetch")
    beat(world.kb, "writer", seen=timedelta(minutes=10, seconds=5))
    banner = _banner(_text(client.get("/")))
    assert "No writer has run for 10 minutes" in banner and "Start `kb serve`." in banner
    assert not NO_FETCHING.search(banner)


def test_the_status_of_a_running_monitor(tmp_path: Path, http_server: LocalHTTPServer):
    """`kb serve`'s parts in this process: the writer and a fetching consumer report themselves, and a
    fetch queued from the page is done by them."""
    kb = make_kb(tmp_path / "local", fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                 fetch_respect_robots=False, fetch_retries=0, extract_processes=1)
    coordinator = users_store.add_user(kb.db, "c@lab.example", PASSWORD, "coordinator")
    items = "".join(f"<item><title>Welfare risk score report {n}</title><link>/articles/{n}</link>"
                    f"<description>The council's benefit fraud algorithm, part {n}.</description></item>"
                    for n in range(3))
    feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Council watch</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>")
    http_server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml"}, feed.encode()))
    source = sources_store.add_source(kb.db, http_server.url("/feed.xml"), name="Council watch")
    sources_store.record_success(kb.db, source.id, etag=None, last_modified=None)  # not due: only Fetch now
    queue = TaskQueue(kb.settings)
    queue.start_storing(kb)
    queue.start_fetching()
    client = web_app(kb, queue, TESTING=True).test_client()
    enter_session(client, coordinator)
    try:
        deadline = time.monotonic() + 15
        while {w.role for w in monitor.workers(kb.db)} != {"writer", "fetch"}:
            assert time.monotonic() < deadline, "the workers did not report"
            time.sleep(0.1)
        page = _text(client.get("/sources"))
        status = _monitor(page)
        assert status.count("<td>Writer</td>") == 1 and status.count("<td>Fetching</td>") == 1
        assert "silent" not in status and _banner(page) == ""
        response = _post(client, f"/sources/{source.id}/fetch")
        assert response.status_code == 302
        assert _flashes(_text(client.get("/sources"))) == ["Queued a fetch of Council watch."]
        while sources_store.get_source(kb.db, source.id).items < 3 or monitor.runs(kb.db):
            assert time.monotonic() < deadline + 15, "the fetch was not done"
            time.sleep(0.1)
        row = _row(_text(client.get("/sources")), source.id)
        assert '<span class="health">Healthy</span>' in row and "3 new" in row and "in-flight" not in row
    finally:
        queue.stop()
        kb.close()


# --- the queue unreachable -------------------------------------------------------------------------------

@dataclass
class Unreachable:
    kb: KnowledgeBase
    client: FlaskClient
    source_id: int


@pytest.fixture
def unreachable(tmp_path: Path) -> Iterator[Unreachable]:
    """The web app of `kb serve` over a Redis queue that does not answer (nothing listens on its port)."""
    kb = make_kb(tmp_path / "data", queue_url=f"redis://127.0.0.1:{free_port()}/0")
    coordinator = users_store.add_user(kb.db, "c@lab.example", PASSWORD, "coordinator")
    source = sources_store.add_source(kb.db, "https://news.example.org/feed.xml", name="Example News")
    client = web_app(kb, TaskQueue(kb.settings), TESTING=True).test_client()
    enter_session(client, coordinator)
    try:
        yield Unreachable(kb, client, source.id)
    finally:
        kb.close()


def test_an_unreachable_queue_is_said_on_the_pages_not_a_500(unreachable):
    for path in ("/sources", "/dashboard"):
        response = unreachable.client.get(path)
        assert response.status_code == 200, path
        status = _monitor(_text(response))
        assert "The task queue is unreachable" in status and "waiting in the queue" not in status


def test_fetch_now_with_the_queue_unreachable_says_so(unreachable):
    client, db, source_id = unreachable.client, unreachable.kb.db, unreachable.source_id
    db.execute("UPDATE sources SET next_due = '2999-01-01T00:00:00+00:00' WHERE id = ?", [source_id])
    response = _post(client, f"/sources/{source_id}/fetch")
    assert response.status_code == 302
    [message] = _flashes(_text(client.get("/sources")))
    assert message.startswith("The task queue is unreachable, so no fetch of Example News was queued.")
    assert monitor.runs(db) == {}  # nothing shown as queued that nobody will fetch
    assert sources_store.get_source(db, source_id).next_due < "2999"  # due: fetched once it answers


def test_adding_a_source_with_the_queue_unreachable_adds_it_due(unreachable):
    kb, client = unreachable.kb, unreachable.client
    response = _post(client, "/sources", url="https://gov.example.org/register", kind="page", name="Register")
    assert response.status_code == 302
    added = sources_store.find_source_by_url(kb.db, "https://gov.example.org/register")
    assert added is not None and added.name == "Register" and not added.failures
    assert monitor.runs(kb.db) == {}
    page = _text(client.get("/sources"))
    assert _flashes(page)[0].startswith("Now following Register")
    assert "The task queue is unreachable" in _monitor(page)


@pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="Debian's redis-server is not installed")
def test_the_pages_follow_redis_going_down(tmp_path: Path):
    redis = LocalRedis(tmp_path / "redis").start()
    kb = make_kb(tmp_path / "data", queue_url=redis.url)
    try:
        coordinator = users_store.add_user(kb.db, "c@lab.example", PASSWORD, "coordinator")
        first = sources_store.add_source(kb.db, "https://one.example.org/feed.xml", name="One")
        second = sources_store.add_source(kb.db, "https://two.example.org/feed.xml", name="Two")
        client = web_app(kb, TaskQueue(kb.settings), TESTING=True).test_client()
        enter_session(client, coordinator)
        _post(client, f"/sources/{first.id}/fetch")
        page = _text(client.get("/sources"))
        assert _flashes(page) == ["Queued a fetch of One."]
        assert "<strong>1</strong> task waiting in the queue." in _monitor(page)
        redis.stop()
        page = _text(client.get("/sources"))
        assert "The task queue is unreachable" in _monitor(page)
        _post(client, f"/sources/{second.id}/fetch")
        assert _flashes(_text(client.get("/sources")))[0].startswith("The task queue is unreachable")
        assert set(monitor.runs(kb.db)) == {first.id}
    finally:
        redis.stop()
        kb.close()


# --- fetch now and the rows -------------------------------------------------------------------------------

def test_fetch_now_queues_exactly_one_run(signed_in, world):
    client = signed_in("coordinator")
    assert _post(client, f"/sources/{world.source_id}/fetch").status_code == 302
    page = _text(client.get("/sources"))
    assert _flashes(page) == ["Queued a fetch of Example News."]
    [run] = monitor.runs(world.kb.db).values()
    assert run.source_id == world.source_id and run.state == "queued"
    assert "<strong>1</strong> task waiting in the queue." in _monitor(page)
    row = _row(page, world.source_id)
    assert "in-flight" in row
    assert re.search(r"Fetch queued (just now|\d+ sec\. ago), waiting for a worker\.", row), row

    _post(client, f"/sources/{world.source_id}/fetch")
    page = _text(client.get("/sources"))
    assert _flashes(page) == ["A fetch of Example News is already under way."]
    assert list(monitor.runs(world.kb.db).values()) == [run]
    assert "<strong>1</strong> task waiting in the queue." in _monitor(page)
    assert _post(client, "/sources/999/fetch").status_code == 404


def test_each_row_shows_its_fetch_in_flight_or_its_health(signed_in, world):
    db = world.kb.db
    sources_store.record_success(db, world.source_id, etag=None, last_modified=None,
                                 counts={"new": 12, "duplicate": 30, "no http(s) link": 3},
                                 warning="The feed lists 1,500 entries; only the newest 1,000 were read.")
    reading = sources_store.add_source(db, "https://reading.example.org/rss", name="Reading")
    queued = sources_store.add_source(db, "https://queued.example.org/rss", name="Queued")
    failing = sources_store.add_source(db, "https://failing.example.org/rss", name="Failing one")
    paused = sources_store.add_source(db, "https://paused.example.org/rss", name="Paused one")
    for job in monitor.lease_due(db, LEASE, source_ids=[reading.id, queued.id]):
        if job.source_id == reading.id:
            monitor.fetch_read(db, reading.id, job.run_id, chunks=2, etag=None, last_modified=None,
                               counts={}, warning=None, lease=LEASE)
    for _ in range(2):
        sources_store.record_failure(db, failing.id, "The server answered 503 Service Unavailable")
    sources_store.set_paused(db, paused.id, True)

    page = _text(signed_in("coordinator").get("/sources"))
    healthy = _row(page, world.source_id)
    assert '<span class="health">Healthy</span>' in healthy
    assert "12 new, 30 duplicate, 3 without a usable link" in healthy
    assert ('<p class="source-warning"><strong>Warning:</strong> The feed lists 1,500 entries; only the '
            "newest 1,000 were read.</p>") in healthy
    assert "Reading entries: 2 chunks to store." in _row(page, reading.id)
    assert "waiting for a worker" in _row(page, queued.id)
    bad = _row(page, failing.id)
    assert '<span class="health">Failing</span>' in bad and "503 Service Unavailable" in bad
    assert "<td>2</td>" in bad and "in-flight" not in bad
    assert '<span class="health">Paused</span>' in _row(page, paused.id)
    assert page.count("1 source is failing.") == 1


def entry_counts(counts: dict[str, int]) -> str:
    return Source(id=1, url="https://example.org/feed", kind="feed", name="", interval_minutes=60,
                  full_text=False, paused=False, etag=None, last_modified=None, last_fetch=None,
                  last_success=None, last_error=None, failures=0, next_due=None, created_at="",
                  last_counts=counts).entries_summary()


def test_entry_counts_and_ago_in_words():
    assert entry_counts({"duplicate": 30, "no http(s) link": 3, "new": 12}) == \
        "12 new, 30 duplicate, 3 without a usable link"
    assert entry_counts({"over the entry cap": 2_000, "updated": 1, "refused by a rule": 0}) == \
        "1 updated, 2,000 over the cap"
    assert entry_counts({}) == ""


# How long ago, in the reader's language (CLDR's short forms, as Babel writes them).
@pytest.mark.parametrize(("language", "expected"), [
    ("en", ("12 sec. ago", "5 min. ago", "3 hr. ago", "3 days ago", "just now")),
    ("fr", ("il y a 12\xa0s", "il y a 5\xa0min", "il y a 3\xa0h", "il y a 3\xa0j", "à l’instant")),
    ("ar", ("قبل 12 ثانية", "قبل 5 دقائق", "قبل 3 ساعات", "قبل 3 أيام", "الآن")),
])
def test_ago_in_the_readers_language(app, language, expected):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with app.test_request_context(headers={"Accept-Language": language}):
        assert (ago("2026-11-23T11:59:48+00:00", now), ago("2026-11-23T11:55:00+00:00", now),
                ago("2026-11-23T09:00:00+00:00", now), ago("2026-11-20T12:00:00+00:00", now),
                ago("2026-11-23T12:00:30+00:00", now)) == expected  # the last: a clock a little ahead
        assert ago(None, now) == ""


# --- adding a source ---------------------------------------------------------------------------------------

def _field(page: str, name: str) -> str:
    found = re.search(rf'<div class="field">\s*<label for="{name}">.*?</div>', page, re.S)
    assert found, f"no field {name}"
    return found.group(0)


def _is_the_sources_page(page: str) -> None:
    assert "<h1>Sources" in page and 'class="sources-table"' in page and 'id="monitor"' in page
    assert 'class="error-message"' not in page  # not the error page
    assert "--" not in re.sub(r"<!--.*?-->|<[^>]*>", "", page)  # no command-line options in the words


def test_a_mistake_comes_back_on_the_form_with_what_was_typed_escaped(signed_in, world):
    client = signed_in("coordinator")
    response = _post(client, "/sources", url="javascript:<script>alert(1)</script>", kind="page",
                     name='<script>alert("name")</script>', interval="15", full_text="1")
    assert response.status_code == 400
    page = _text(response)
    _is_the_sources_page(page)
    assert "<script>alert" not in page
    url = _field(page, "url")
    assert 'value="javascript:&lt;script&gt;alert(1)&lt;/script&gt;"' in url
    assert 'aria-invalid="true" aria-describedby="url-error"' in url
    assert re.search(r'<span class="field-error" id="url-error">This is not a web address: enter one that '
                     r"starts with http:// or https://\.</span>", url)
    assert 'value="&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;"' in _field(page, "name")
    assert 'value="15"' in _field(page, "interval") and "field-error" not in _field(page, "interval")
    assert '<option value="page" selected>' in _field(page, "kind")
    assert re.search(r'name="full_text" value="1" checked', page)
    assert len(sources_store.list_sources(world.kb.db)) == 1  # nothing added


def test_each_mistake_is_named_next_to_its_field(signed_in, world):
    client = signed_in("coordinator")
    followed = _post(client, "/sources", url="https://news.example.org/feed.xml", name="Again")
    assert followed.status_code == 409
    page = _text(followed)
    _is_the_sources_page(page)
    assert "You already follow this address, as “Example News”." in _field(page, "url")
    assert 'value="https://news.example.org/feed.xml"' in _field(page, "url")
    assert 'value="Again"' in _field(page, "name")

    for interval in ("0", "abc", "-5", "99999999999999999999", "1.5"):
        response = _post(client, "/sources", url="https://new.example.org/rss", interval=interval)
        assert response.status_code == 400, interval
        page = _text(response)
        _is_the_sources_page(page)
        assert ('id="interval-error">Enter a whole number of minutes from 1 to 43,200'
                in _field(page, "interval"))
        assert 'value="https://new.example.org/rss"' in _field(page, "url")
        assert "field-error" not in _field(page, "url")

    unknown = _post(client, "/sources", url="https://new.example.org/rss", kind="podcast")
    assert unknown.status_code == 400
    _is_the_sources_page(_text(unknown))
    assert 'id="kind-error">Choose a feed, or a page to watch for changes.' in _field(_text(unknown), "kind")

    empty = _post(client, "/sources", url="", kind="feed")
    assert empty.status_code == 400
    assert "Enter the address of a feed, or of a web page to watch." in _field(_text(empty), "url")
    assert [s.url for s in sources_store.list_sources(world.kb.db)] == ["https://news.example.org/feed.xml"]


def test_a_web_app_without_fetching_says_so_on_the_status_the_form_and_fetch_now(tmp_path: Path):
    kb = make_kb(tmp_path / "plain")
    coordinator = users_store.add_user(kb.db, "c@lab.example", PASSWORD, "coordinator")
    source = sources_store.add_source(kb.db, "https://news.example.org/feed.xml", name="Example News")
    kb.db.execute("UPDATE sources SET next_due = '2999-01-01T00:00:00+00:00' WHERE id = ?", [source.id])
    client = create_app(kb.settings, kb=kb, TESTING=True).test_client()
    enter_session(client, coordinator)
    try:
        page = _text(client.get("/sources"))
        assert "Fetching is not configured in this web server" in _monitor(page)
        assert client.get("/dashboard").status_code == 200

        assert _post(client, f"/sources/{source.id}/fetch").status_code == 302
        [message] = _flashes(_text(client.get("/sources")))
        assert message.startswith("Example News is due now, but this web server was started without fetching")
        assert sources_store.get_source(kb.db, source.id).next_due < "2999" and monitor.runs(kb.db) == {}

        response = _post(client, "/sources", url="https://gov.example.org/register", kind="page", name="Reg")
        assert response.status_code == 400
        page = _text(response)
        _is_the_sources_page(page)
        assert 'role="alert">This web server was started without fetching' in page
        assert 'value="https://gov.example.org/register"' in _field(page, "url")
        assert 'value="Reg"' in _field(page, "name")
    finally:
        kb.close()


def test_researchers_see_neither_the_sources_nor_the_monitor(signed_in, world):
    client = signed_in("researcher")
    assert client.get("/sources").status_code == 403
    assert client.get("/dashboard").status_code == 403
    assert _post(client, f"/sources/{world.source_id}/fetch").status_code == 403
    assert _post(client, "/sources", url="https://new.example.org/rss").status_code == 403
    assert monitor.runs(world.kb.db) == {} and len(sources_store.list_sources(world.kb.db)) == 1
    assert _banner(_text(client.get("/"))) == ""


# --- in a browser ----------------------------------------------------------------------------------------

@pytest.mark.browser
def test_in_a_browser_the_banner_the_form_mistake_and_fetch_now(tmp_path: Path, browser_page):
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "cora@lab.example", PASSWORD, "coordinator", name="Cora")
    beat(kb, "writer")
    beat(kb, "fetch", seen=timedelta(minutes=7))
    server = start_in_background(web_app(kb))
    page, csp_violations = browser_page
    base = server.url.rstrip("/")
    try:
        page.goto(base + "/login")
        page.fill("#email", "cora@lab.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_url(base + "/")
        assert "No worker has fetched for 7 minutes" in page.inner_text(".banner-monitor")

        page.goto(base + "/sources")
        page.fill("#url", "news.example.org/feed")
        page.fill("#name", "<b>Our feed</b>")
        page.fill("#interval", "30")
        with page.expect_navigation():
            page.click("button[type=submit]:has-text('Add')")
        assert page.inner_text("#url-error").startswith("This is not a web address")
        assert page.get_attribute("#url", "aria-invalid") == "true"
        assert page.input_value("#url") == "news.example.org/feed"
        assert page.input_value("#name") == "<b>Our feed</b>" and page.input_value("#interval") == "30"

        page.fill("#url", "https://news.example.org/feed")
        with page.expect_navigation():
            page.click("button[type=submit]:has-text('Add')")
        assert "Now following <b>Our feed</b>" in page.inner_text("main")
        [added] = sources_store.list_sources(kb.db)
        assert added.interval_minutes == 30
        row = f"#source-{added.id}"
        assert "waiting for a worker" in page.inner_text(row)  # its first fetch, queued when it was added
        with page.expect_navigation():
            page.click(f"{row} button:has-text('Fetch now')")
        assert "A fetch of <b>Our feed</b> is already under way." in page.inner_text("main")
        assert csp_violations == []
    finally:
        server.stop()
        kb.close()

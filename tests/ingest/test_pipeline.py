"""The ingest pass end to end, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import pytest

from ingest.queue import IngestSummary, run_once
from kb import items as items_store
from kb import sources as sources_store
from kb.knowledge import KnowledgeBase
from tests.factories import make_kb

ARTICLE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="author" content="Ana Reporter"><meta property="og:site_name" content="Civic Ledger">
</head><body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>{title}</h1>{paragraphs}</article><footer>Copyright Civic Ledger. All rights reserved.</footer>
</body></html>"""

WELFARE_TEXT = [
    "The ministry of social affairs used an algorithm to give every benefit claimant a fraud risk score.",
    "Caseworkers were told to investigate the highest scores first, and people flagged by the model had "
    "their welfare payments suspended while the investigation ran.",
    "Lawyers say the risk scoring system discriminated against single mothers and people with a migration "
    "background, and that claimants could not appeal a score they were never shown.",
    "The government has promised an independent audit of the automated system and its data.",
]


def article(title: str, paragraphs: list[str], lang: str = "en") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return ARTICLE.format(title=title, paragraphs=body, lang=lang).encode("utf-8")


def rss(entries: list[tuple[str, str, str]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 feed; entries are (title, link, summary)."""
    items = "".join(
        f"<item><title>{t}</title><link>{escape(link)}</link><description>{s}</description>"
        f"<guid>{escape(link)}</guid><pubDate>Wed, 18 Nov 2026 09:00:00 GMT</pubDate></item>"
        for t, link, s in entries
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://example.org/</link><language>en</language>{items}</channel></rss>").encode()


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = make_kb(tmp_path / "data", fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                   fetch_read_timeout=2, fetch_retries=1, extract_processes=1)
    try:
        yield base
    finally:
        base.close()


def ingest(kb: KnowledgeBase, sources: list[sources_store.Source]) -> IngestSummary:
    """One `kb ingest` pass over these sources, in this process."""
    return run_once(kb, [source.id for source in sources])


def _feed_handler(body: bytes):
    return lambda request: (200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, body) \
        if request.headers.get("if-none-match") != '"v1"' else (304, {"ETag": '"v1"'}, b"")


def test_full_text_and_summary_sources_dedupe_and_record_health(kb, http_server):
    http_server.add("/articles/risk.html", (200, {"Content-Type": "text/html; charset=utf-8"},
                                            article("Welfare fraud risk scores under fire", WELFARE_TEXT)))
    http_server.add("/articles/other.html", (200, {"Content-Type": "text/html"},
                                             article("Cup final ends in a draw",
                                                     ["The match ended 1-1."] * 4)))
    full = rss([("Welfare fraud risk scores under fire", "articles/risk.html", "Short summary."),
                ("Cup final ends in a draw", "/articles/other.html", "Sport.")], title="Full text feed")
    second = rss([("Welfare fraud risk scores under fire",
                   http_server.url("/articles/risk.html?utm_source=newsletter&utm_medium=email#top"),
                   "Same story.")],
                 title="Second feed")
    http_server.add("/full.xml", _feed_handler(full))
    http_server.add("/second.xml", _feed_handler(second))
    http_server.add("/broken.xml", (500, {}, b"oops"))
    a = sources_store.add_source(kb.db, http_server.url("/full.xml"), full_text=True, name="Full")
    b = sources_store.add_source(kb.db, http_server.url("/second.xml"), name="Second")
    c = sources_store.add_source(kb.db, http_server.url("/broken.xml"), name="Broken")

    summary = ingest(kb, [a, c, b])
    assert (summary.fetched, summary.failed, summary.new) == (2, 1, 2)
    # Whichever feed is stored first, the article ends up once, with the full text and both sources.
    assert summary.updated + summary.duplicate == 1
    assert items_store.count_items(kb.db) == 2

    risk = next(i for i in items_store.iter_items(kb.db) if "risk" in i.title)
    assert "caseworkers were told" in risk.text.lower()  # the article page was extracted, not the summary
    assert "Copyright" not in risk.text
    assert risk.language == "en"
    assert {"sector/welfare", "system/risk-scoring"} <= set(risk.topics)
    assert risk.relevant
    assert sorted(s.name for s in risk.sources) == ["Full", "Second"]
    assert risk.url == http_server.url("/articles/risk.html")  # tracking parameters and fragment dropped
    sport = next(i for i in items_store.iter_items(kb.db) if "Cup" in i.title)
    assert not sport.relevant

    broken = sources_store.get_source(kb.db, c.id)
    assert broken.failures == 1 and "500" in (broken.last_error or "")
    healthy = sources_store.get_source(kb.db, a.id)
    assert healthy.failures == 0 and healthy.last_success and healthy.items == 2
    assert kb.status().index_in_sync  # searchable by the end of the pass

    again = ingest(kb, [sources_store.get_source(kb.db, s.id) for s in (a, b)])  # conditional GET: 304s
    assert (again.not_modified, again.new) == (2, 0)
    assert http_server.requests_for("/full.xml")[-1].headers["if-none-match"] == '"v1"'


def test_failing_source_backs_off_and_recovers(kb, http_server):
    state = {"down": True}
    http_server.add("/flaky.xml", lambda request: (500, {}, b"") if state["down"] else (
        200, {"Content-Type": "application/rss+xml"}, rss([("A story", "/a", "About welfare.")])))
    source = sources_store.add_source(kb.db, http_server.url("/flaky.xml"), interval_minutes=10)
    ingest(kb, [source])
    first = sources_store.get_source(kb.db, source.id)
    ingest(kb, [first])
    second = sources_store.get_source(kb.db, source.id)
    assert second.failures == 2
    wait_first = datetime.fromisoformat(first.next_due) - datetime.fromisoformat(first.last_fetch)
    wait_second = datetime.fromisoformat(second.next_due) - datetime.fromisoformat(second.last_fetch)
    assert wait_second > wait_first >= timedelta(minutes=8)
    assert sources_store.due_sources(kb.db) == []  # not due while backing off
    state["down"] = False
    recovered = ingest(kb, [second])
    assert recovered.new == 1
    assert sources_store.get_source(kb.db, source.id).failures == 0


def test_garbage_feed_fails_with_a_reason_and_others_continue(kb, http_server):
    http_server.add("/garbage.xml", (200, {"Content-Type": "application/rss+xml"},
                                     b"\x00\x01 not a feed at all"))
    http_server.add("/good.xml", (200, {"Content-Type": "application/rss+xml"},
                                  rss([("Fine", "/fine", "Text")])))
    bad = sources_store.add_source(kb.db, http_server.url("/garbage.xml"))
    good = sources_store.add_source(kb.db, http_server.url("/good.xml"))
    summary = ingest(kb, [bad, good])
    assert (summary.failed, summary.new) == (1, 1)
    assert sources_store.get_source(kb.db, bad.id).last_error


def test_watched_page_versions(kb, http_server):
    version = {"text": WELFARE_TEXT}
    http_server.add("/ministry.html", lambda request: (
        200, {"Content-Type": "text/html"}, article("How we use risk models", version["text"])))
    page = sources_store.add_source(kb.db, http_server.url("/ministry.html"), kind="page", name="Ministry")
    assert ingest(kb, [page]).new == 1
    assert ingest(kb, [page]).duplicate == 1
    version["text"] = [*WELFARE_TEXT[:2],
                       "Since 1 December the model no longer uses nationality as a criterion."]
    assert ingest(kb, [page]).updated == 1
    item_id = kb.db.execute("SELECT id FROM items").fetchone()[0]
    versions = items_store.page_versions(kb.db, item_id)
    assert len(versions) == 2
    assert "nationality" not in versions[0].text and "nationality" in versions[1].text


def _kb_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(data_dir), KB_FETCH_ALLOW_PRIVATE="127.0.0.0/8", KB_FETCH_HOST_DELAY="0",
               KB_EXTRACT_PROCESSES="1", KB_FETCH_READ_TIMEOUT="20")
    return env


def test_kill_9_during_a_run_loses_nothing_committed_and_duplicates_nothing(tmp_path, http_server):
    data_dir = tmp_path / "data"
    make_kb(data_dir).close()
    gate = {"slow": True}
    fast = rss([(f"Welfare algorithm story {n}", f"/fast/{n}", f"Benefit fraud scoring story number {n}.")
                for n in range(60)])
    slow = rss([(f"Exam grading story {n}", f"/slow/{n}", f"School exam algorithm story number {n}.")
                for n in range(40)])
    http_server.add("/fast.xml", (200, {"Content-Type": "application/rss+xml"}, fast))

    def slow_feed(request):
        if gate["slow"]:
            time.sleep(15)  # the run is killed while this feed is still in flight
        return 200, {"Content-Type": "application/rss+xml"}, slow

    http_server.add("/slow.xml", slow_feed)
    kb_bin = str(Path(sys.executable).with_name("kb"))
    env = _kb_env(data_dir)
    for path in ("/fast.xml", "/slow.xml"):
        subprocess.run([kb_bin, "sources", "add", "--no-check", http_server.url(path)], env=env, check=True,
                       capture_output=True)
    process = subprocess.Popen([kb_bin, "ingest", "--all"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    stored = 0
    while time.monotonic() < deadline and stored < 60:
        time.sleep(0.1)
        with sqlite3.connect(data_dir / "kb.sqlite3") as probe:
            stored = probe.execute("SELECT count(*) FROM items").fetchone()[0]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert stored == 60, "the fast feed should have been stored before the kill"

    gate["slow"] = False
    rerun = subprocess.run([kb_bin, "ingest", "--all"], env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "40 new" in rerun.stdout and "60 duplicate" in rerun.stdout
    base = make_kb(data_dir)
    try:
        assert items_store.count_items(base.db) == 100
        assert base.db.execute("SELECT count(DISTINCT canonical_url) FROM items").fetchone()[0] == 100
        assert base.index.document_count() == 100
        assert base.status().index_in_sync
    finally:
        base.close()


def test_a_story_in_a_language_without_terms_is_left_to_a_reader(kb, http_server):
    amharic = ("መንግስት አዲስ የዲጂታል ስርዓት በመጠቀም የማህበራዊ ድጋፍ ተጠቃሚዎችን እየመረጠ ነው። ብዙ ቤተሰቦች ከዝርዝሩ "
               "ተወግደዋል። ተቃዋሚዎች ስርዓቱ ግልጽ አይደለም ይላሉ።")
    feed = rss([("የማህበራዊ ድጋፍ ስርዓት", "/am/1", amharic)]).replace(b"<language>en</language>",
                                                                   b"<language>am</language>")
    http_server.add("/am.xml", (200, {"Content-Type": "application/rss+xml"}, feed))
    source = sources_store.add_source(kb.db, http_server.url("/am.xml"))
    assert ingest(kb, [source]).new == 1
    [item] = list(items_store.iter_items(kb.db))
    assert not item.relevant and item.needs_reader, item.relevance_reason
    assert "Amharic" in item.relevance_reason

"""The monitor on a shared task queue, with the real parts: Debian's redis-server on loopback, `kb serve`
as the writer, two `kb worker` processes as consumers, and feeds served by a real HTTP server."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

from kb import monitor
from kb import sources as sources_store
from tests.factories import make_kb
from tests.httpserver import LocalHTTPServer
from tests.redisserver import REDIS_SERVER, LocalRedis, free_port

KB = str(Path(sys.executable).with_name("kb"))
FEEDS, ENTRIES = 20, 100

pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(),
                                reason="Debian's redis-server is not installed: apt-get install redis-server")


def rss(feed: int) -> bytes:
    items = "".join(
        f"<item><title>Benefit fraud algorithm report {feed}-{n}</title>"
        f"<link>{escape(f'/articles/{feed}/{n}')}</link>"
        f"<description>Report {feed}-{n}: the council's welfare risk score flagged claimant group {n} "
        f"in district {feed}.</description><guid>urn:story:{feed}:{n}</guid></item>"
        for n in range(ENTRIES))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed}</title>'
            f"<link>https://example.org/</link><language>en</language>{items}</channel></rss>").encode()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def kb_env(data_dir: Path, queue_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(data_dir), KB_QUEUE_URL=queue_url, KB_FETCH_ALLOW_PRIVATE="127.0.0.0/8",
               KB_FETCH_HOST_DELAY="0", KB_EXTRACT_PROCESSES="1", KB_FETCH_LEASE_SECONDS="15",
               KB_SCHEDULE_SECONDS="2", KB_FETCH_RETRIES="0")
    return env


def item_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "kb.sqlite3") as probe:
        return int(probe.execute("SELECT count(*) FROM items").fetchone()[0])


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def answers(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback test server
        return int(response.status)


def test_two_workers_on_redis_store_every_item_once_though_one_is_killed(tmp_path, redis, processes):
    data_dir = tmp_path / "data"
    kb = make_kb(data_dir)
    with LocalHTTPServer() as feeds:
        for feed in range(FEEDS):
            feeds.add(f"/feed-{feed}.xml", (200, {"Content-Type": "application/rss+xml"}, rss(feed)))
            sources_store.add_source(kb.db, feeds.url(f"/feed-{feed}.xml"), name=f"Feed {feed}")
        env = kb_env(data_dir, redis.url)
        port = free_port()
        processes.append(subprocess.Popen([KB, "serve", "--no-worker", "--port", str(port)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        workers = [subprocess.Popen([KB, "worker", "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(2)]
        processes.extend(workers)

        wait_for(lambda: item_count(data_dir) >= 300, 120, "the first items")
        os.kill(workers[0].pid, signal.SIGKILL)  # in the middle: its tasks in hand are lost with it
        workers[0].wait(10)
        stored_at_kill = item_count(data_dir)
        assert stored_at_kill < FEEDS * ENTRIES, "the kill should land while work is left"

        wait_for(lambda: item_count(data_dir) >= FEEDS * ENTRIES, 180, "every item")
        wait_for(lambda: not monitor.runs(kb.db), 60, "every fetch run to finish")
        time.sleep(1)  # nothing arrives late as a second copy
        assert item_count(data_dir) == FEEDS * ENTRIES
        distinct = kb.db.execute("SELECT count(DISTINCT canonical_url) FROM items").fetchone()[0]
        assert distinct == FEEDS * ENTRIES
        assert kb.db.execute("SELECT count(*) FROM item_sources").fetchone()[0] == FEEDS * ENTRIES
        every = sources_store.list_sources(kb.db)
        assert all(s.failures == 0 and s.last_success and s.items == ENTRIES for s in every)
        # On a busy machine a task can wait in the queue past its 15 s lease, and its source is then
        # fetched a second time, finding its entries stored ("duplicate"). Either way, the last run
        # accounts for every entry of its feed exactly once.
        assert all(sum(s.last_counts.values()) == ENTRIES for s in every), [s.last_counts for s in every]
        alive = [w for w in monitor.workers(kb.db) if w.alive() and w.role == "fetch"]
        assert {w.pid for w in alive} >= {workers[1].pid}
        assert answers(f"http://127.0.0.1:{port}/login") == 200
    kb.close()


def test_serve_keeps_serving_while_redis_is_down(tmp_path, redis, processes):
    data_dir = tmp_path / "data"
    make_kb(data_dir).close()
    env = kb_env(data_dir, redis.url)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        serve = subprocess.Popen([KB, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=log_file)
    processes.append(serve)
    wait_for(lambda: _up(port), 30, "kb serve")
    redis.stop()
    time.sleep(3)  # consumers and the scheduler meet the closed queue
    assert serve.poll() is None, "kb serve must keep running without its queue"
    assert answers(f"http://127.0.0.1:{port}/login") == 200
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(30) == 0  # a clean shutdown, even with the queue gone
    said = log.read_text()
    assert "the task queue is unreachable" in said
    assert said.count("Traceback") <= 2, said[-3000:]  # one line a minute, not a traceback per poll


def _up(port: int) -> bool:
    try:
        return answers(f"http://127.0.0.1:{port}/login") == 200
    except OSError:
        return False

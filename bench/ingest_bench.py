"""End-to-end ingest benchmark: a 2,000-entry feed set served from loopback, summary and full-text mode.

    python bench/ingest_bench.py [--entries 2000] [--feeds 20] [--hosts 8]

Feeds and article pages are served by real HTTP servers on 127.0.0.2 ... (one per "site", so per-host
politeness applies as it would to real sites, with the delay set to 0). Prints items per second, the
time split by stage (summed over threads and processes), and how long after its feed was fetched an
item becomes searchable.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.queues import Queue
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import Article, article_page, make_articles, rss_feed  # noqa: E402
from ingest.queue import run_once  # noqa: E402
from kb import sources as sources_store  # noqa: E402
from kb.knowledge import open_kb  # noqa: E402
from kb.search.service import search  # noqa: E402
from kb.settings import load_settings  # noqa: E402

STAGES = ("fetch", "parse", "extract", "detect", "tag", "store", "index")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, routes: dict[str, bytes], *args, **kwargs) -> None:
        self.routes = routes
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.routes.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        kind = "application/rss+xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _serve_sites(articles: list[Article], feeds: int, hosts: int, urls: Queue) -> None:
    """In a child process: serve `feeds` feeds over `hosts` loopback addresses and report their URLs."""
    servers: list[ThreadingHTTPServer] = []
    routes_by_host: list[dict[str, bytes]] = [{} for _ in range(hosts)]
    for host_index in range(hosts):
        server = ThreadingHTTPServer((f"127.0.0.{host_index + 2}", 0),
                                     functools.partial(_Handler, routes_by_host[host_index]))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    per_feed = -(-len(articles) // feeds)
    feed_urls = []
    for feed_index in range(feeds):
        chunk = articles[feed_index * per_feed : (feed_index + 1) * per_feed]
        host_index = feed_index % hosts
        host, port = servers[host_index].server_address[:2]
        base = f"http://{host}:{port}/f{feed_index}/"
        routes = routes_by_host[host_index]
        routes[f"/f{feed_index}/feed.xml"] = rss_feed(f"Feed {feed_index}", base, chunk)
        for article in chunk:
            routes[f"/f{feed_index}/{article.slug}.html"] = article_page(article)
        feed_urls.append(base + "feed.xml")
    urls.put(feed_urls)
    threading.Event().wait()  # serve until the parent terminates this process


def start_sites(articles: list[Article], feeds: int, hosts: int) -> tuple[list[str], multiprocessing.Process]:
    """Serve the sites from another process, so serving does not share the measured process's GIL."""
    urls: Queue = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_sites, args=(articles, feeds, hosts, urls), daemon=True)
    process.start()
    return urls.get(timeout=120), process


def run_mode(feed_urls: list[str], full_text: bool, processes: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(folder, environ={}, fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                                 extract_processes=processes, fetch_respect_robots=False)
        kb = open_kb(settings)
        for url in feed_urls:
            sources_store.add_source(kb.db, url, full_text=full_text)
        started = time.perf_counter()
        summary = run_once(kb, [source.id for source in sources_store.list_sources(kb.db)])
        elapsed = time.perf_counter() - started
        items = summary.new + summary.updated
        status = kb.status()
        kb.close()
    return {"items": items, "seconds": elapsed, "per_second": items / elapsed,
            "stages": summary.stage_seconds, "in_sync": status.index_in_sync, "failed": summary.failed}


def searchable_delay(feed_url: str, marker_article: Article, processes: int) -> float:
    """Seconds from the start of a pass over one feed (its fetch) until its last article is found by
    search."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(folder, environ={}, fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                                 extract_processes=processes)
        kb = open_kb(settings)
        sources_store.add_source(kb.db, feed_url)
        found = threading.Event()
        started = time.perf_counter()
        moment: list[float] = []

        def poll() -> None:
            while not found.is_set():
                if search(kb, f'"{marker_article.title}"').total:
                    moment.append(time.perf_counter() - started)
                    found.set()
                time.sleep(0.05)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        run_once(kb, [source.id for source in sources_store.list_sources(kb.db)])
        found.wait(30)
        kb.close()
        return moment[0] if moment else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--modes", default="summary,full-text", help="Comma-separated: summary, full-text.")
    args = parser.parse_args()
    articles = make_articles(args.entries)
    feed_urls, sites = start_sites(articles, args.feeds, args.hosts)
    print(f"# ingest benchmark: {args.entries} entries in {args.feeds} feeds on {args.hosts} loopback hosts, "
          f"{args.processes} processes, {os.cpu_count()} cores")
    for label, full_text, target in (("summary", False, 100), ("full-text", True, 25)):
        if label not in args.modes.split(","):
            continue
        result = run_mode(feed_urls, full_text, args.processes)
        stages = result["stages"]
        print(f"{label:>9}: {result['items']} items in {result['seconds']:.1f} s = "
              f"{result['per_second']:.0f} items/s "
              f"(target >= {target}); failed sources {result['failed']}; index in sync: {result['in_sync']}")
        print("           stage seconds (summed over workers): "
              + ", ".join(f"{stage} {stages.get(stage, 0.0):.1f}" for stage in STAGES))
    per_feed = -(-args.entries // args.feeds)
    delay = searchable_delay(feed_urls[-1], articles[-1], args.processes)
    print(f"searchable: the last of {per_feed} new items of a feed was found {delay:.1f} s after the feed "
          "was fetched (target <= 10 s)")
    sites.terminate()
    sites.join()


if __name__ == "__main__":
    main()

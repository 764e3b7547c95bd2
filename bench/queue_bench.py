"""Task-queue benchmark (issue 14): ingest rate with a large base, one writer with one or two workers on
Redis, the searchable delay under `kb serve`, and the index's segment count while ingest runs.

    .venv/bin/python bench/queue_bench.py [--base 100000] [--new 10000] [--minutes 10] [--live-rate 20]
        [--reuse DIR] [--workdir DIR] [--json PATH] [--phases a,b,c,delay,long] [--after 60] [--py-spy PATH]
    smoke test: .venv/bin/python bench/queue_bench.py --base 2000 --new 1000 --minutes 1

Everything goes through the path users take: the `kb` executable next to sys.executable runs as real
subprocesses (`kb init`, `kb sources add --no-check`, `kb sources import-opml`, `kb ingest --all`,
`kb serve`, `kb serve --no-worker`, `kb worker`, `kb search`), fetching RSS feeds from loopback HTTP servers
(one per "site" on 127.0.0.2 ... 127.0.0.9, served by a process of their own, with ETag/If-None-Match as
real feed servers do). Words come from bench/corpus.py's NewsCorpus (Zipf-distributed vocabularies in
eight languages); by default half of the feeds carry whole articles in their descriptions and half carry
1-2 sentence teasers. Summary mode throughout (no article pages are fetched), KB_FETCH_HOST_DELAY=0.

1. Base: a data folder of --base items from `kb sources add --no-check` (one source per feed) and
   `kb ingest --all`; kept, and reused by later runs given `--reuse DIR` (built there when DIR is empty).
2. Ingest rate for --new items from 50 new feeds, with the base in the database, three ways, each on a
   fresh copy of the base: (a) `kb ingest --all`; (b) `kb serve --no-worker` + one `kb worker` on a Redis
   queue; (c) the same writer + two `kb worker`s. The clock starts when `kb sources import-opml` has made
   the new sources due and stops when the items table holds them all (also reported: until the outbox is
   drained, i.e. searchable). CPU of every process is read from /proc each second.
3. Searchable delay: with `kb serve` running, `kb sources add` one more feed; seconds from the feed's
   first request (the feed server's log) until its last item is found by kb.search.
4. Segment count: sampled every 10 s (the index's TOC, as kb/search/index/store.py reads it) during (b),
   (c) and a long run of --minutes under `kb serve` fed by feeds that keep publishing (--live-rate items/s).

Prints a compact report with the targets next to the figures and writes it as JSON with --json.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import Article, NewsCorpus, rss_feed_full  # noqa: E402
from tests.redisserver import LocalRedis, free_port  # noqa: E402 - the tests' Redis, reused

TARGET_RATE = 100.0  # summary-mode items per second with the base in the database
TARGET_SEARCHABLE = 10.0  # seconds from a feed's fetch until its last item is found
SEED = 2026
HOSTS = 8  # loopback "sites": 127.0.0.2 ... 127.0.0.9
NEW_FEEDS = 50
NEW_FIRST, DELAY_FIRST, LIVE_FIRST = 20_000_000, 30_000_000, 40_000_000  # article numbers per feed set
LIVE_WINDOW = 200  # entries listed by a live feed (the newest)
SEGMENT_EVERY = 10.0
MANIFEST = "queue-bench.json"
KB = str(Path(sys.executable).parent / "kb")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the loopback sites ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedSpec:
    """One feed: `count` articles from article number `first`, or (live >= 0) a feed that keeps publishing."""

    path: str
    host: int
    first: int = 0
    count: int = 0
    full: bool = False
    live: int = -1


@dataclass(frozen=True)
class LivePlan:
    feeds: int
    rate: float  # items per second over all live feeds


def _feed_specs(prefix: str, feeds: int, first: int, total: int, full_share: float,
                seed: int) -> list[FeedSpec]:
    """`total` articles over `feeds` feeds (their sizes differ by at most one), spread over the hosts."""
    specs, start = [], first
    for index in range(feeds):
        count = total // feeds + (1 if index < total % feeds else 0)
        full = random.Random(f"{seed}-{prefix}-{index}").random() < full_share
        specs.append(FeedSpec(f"/{prefix}/f{index}.xml", index % HOSTS, start, count, full))
        start += count
    return specs


class _Sites:
    """State of the feed server process: feed bodies, built lazily and kept, and the live clock."""

    def __init__(self, seed: int, specs: list[FeedSpec], live: LivePlan | None, log_path: str,
                 corpus_class: Any = NewsCorpus) -> None:
        self.corpus = corpus_class(seed)
        self.seed = seed
        self.routes = {(spec.host, spec.path): spec for spec in specs}
        self.live = live
        self.live_start: float | None = None
        self.bodies: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives with the process
        self.log_lock = threading.Lock()
        self.ports: list[int] = []

    def base_url(self, spec: FeedSpec) -> str:
        return f"http://127.0.0.{spec.host + 2}:{self.ports[spec.host]}{spec.path.rsplit('/', 1)[0]}/"

    def etag(self, spec: FeedSpec) -> str:
        if spec.live >= 0:
            return f'"live-{spec.live}-{self._live_total()}"'
        return f'"{self.seed}-{spec.first}-{spec.count}-{int(spec.full)}"'

    def body(self, spec: FeedSpec) -> bytes:
        if spec.live >= 0:
            return self._live_body(spec)
        with self.lock:
            body = self.bodies.get(spec.path)
        if body is None:
            articles = self.corpus.articles(spec.first, spec.count)
            body = rss_feed_full(f"Outlet {spec.path}", self.base_url(spec), articles, spec.full)
            with self.lock:
                self.bodies[spec.path] = body
        return body

    def _live_total(self) -> int:
        if self.live is None or self.live_start is None:
            return 0
        return int(self.live.rate * (time.time() - self.live_start))

    def _live_body(self, spec: FeedSpec) -> bytes:
        assert self.live is not None
        total, feeds = self._live_total(), self.live.feeds
        numbers = list(range(spec.live, total, feeds))[-LIVE_WINDOW:]
        start = datetime.fromtimestamp(self.live_start or time.time(), UTC)
        rate = self.live.rate
        articles = [self.corpus.article(LIVE_FIRST + n, published=start + timedelta(seconds=n / rate))
                    for n in reversed(numbers)]
        return rss_feed_full(f"Live outlet {spec.live}", self.base_url(spec), articles, spec.full)

    def record(self, host: int, path: str, status: int) -> None:
        with self.log_lock:
            self.log.write(f"{time.time():.3f} {host} {path} {status}\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, sites: _Sites, host: int, *args: Any, **kwargs: Any) -> None:
        self.sites, self.host = sites, host
        super().__init__(*args, **kwargs)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.sites.record(self.host, self.path, status)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/_live_start":
            self.sites.live_start = time.time()
            self._send(200, b"ok")
            return
        spec = self.sites.routes.get((self.host, self.path))
        if spec is None:
            self._send(404)
            return
        etag = self.sites.etag(spec)
        if self.headers.get("If-None-Match") == etag:
            self._send(304, headers={"ETag": etag})
            return
        self._send(200, self.sites.body(spec), {"Content-Type": "application/rss+xml; charset=utf-8",
                                                "ETag": etag})

    def log_message(self, *args: Any) -> None:
        pass


def _serve_sites(seed: int, ports: list[int], specs: list[FeedSpec], prebuild: list[str],
                 live: LivePlan | None, log_path: str, ready: Any, corpus_class: Any = NewsCorpus) -> None:
    """In a child process: serve every feed on its loopback host; report the ports once feeds are built."""
    os.nice(5)  # the sites stand for other machines: let the measured processes go first
    sites = _Sites(seed, specs, live, log_path, corpus_class)
    for host in range(HOSTS):
        server = ThreadingHTTPServer((f"127.0.0.{host + 2}", ports[host] if ports else 0),
                                     functools.partial(_Handler, sites, host))
        server.daemon_threads = True
        sites.ports.append(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
    for spec in specs:
        if any(spec.path.startswith(f"/{prefix}/") for prefix in prebuild) and spec.live < 0:
            sites.body(spec)
    ready.put(sites.ports)
    threading.Event().wait()


class FeedServer:
    """The sites, served from a process of their own so they do not share a measured process's GIL."""

    def __init__(self, folder: Path, seed: int, ports: list[int], specs: list[FeedSpec], prebuild: list[str],
                 live: LivePlan | None, corpus_class: Any = NewsCorpus) -> None:
        """`corpus_class(seed)` makes the articles (NewsCorpus, or bench/corpus.py's WordfreqCorpus)."""
        self.log_path = folder / "feed-requests.log"
        self.specs = specs
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        self.process = context.Process(target=_serve_sites, args=(seed, ports, specs, prebuild, live,
                                                                   str(self.log_path), ready, corpus_class),
                                               daemon=True)
        self.process.start()
        self.ports: list[int] = ready.get(timeout=1800)

    def url(self, spec: FeedSpec) -> str:
        return f"http://127.0.0.{spec.host + 2}:{self.ports[spec.host]}{spec.path}"

    def start_live(self) -> None:
        with socket.create_connection(("127.0.0.2", self.ports[0]), timeout=5) as conn:
            conn.sendall(b"GET /_live_start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            conn.recv(100)

    def requests(self, prefix: str, since: float = 0.0) -> list[tuple[float, str, int]]:
        """(time, path, status) of the requests for feeds under /prefix/ since `since`."""
        found = []
        with contextlib.suppress(FileNotFoundError), open(self.log_path, encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 4 and parts[2].startswith(f"/{prefix}/") and float(parts[0]) >= since:
                    found.append((float(parts[0]), parts[2], int(parts[3])))
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# --- processes ---------------------------------------------------------------------------------------------


def kb_env(queue_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of every kb process: the caller's, less its KB_* settings, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_FETCH_ALLOW_PRIVATE="127.0.0.0/8", KB_FETCH_HOST_DELAY="0", PYTHONUNBUFFERED="1")
    if queue_url:
        env["KB_QUEUE_URL"] = queue_url
    env.update(extra)
    return env


BENCH_ENV = "KB_FETCH_ALLOW_PRIVATE=127.0.0.0/8 KB_FETCH_HOST_DELAY=0"
BENCH_KEYS = ("KB_FETCH_ALLOW_PRIVATE", "KB_FETCH_HOST_DELAY")


class Runner:
    """Runs kb commands, keeps their command lines for the report and their output in the run folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.commands: list[str] = []
        self.counts: Counter[str] = Counter()
        self.started: list[subprocess.Popen[bytes]] = []
        self._logs = 0

    def _note(self, argv: list[str], env: dict[str, str]) -> None:
        """Keep the command line once, feed URLs and ports replaced, with how often it ran."""
        shown = [f"{k}={v}" for k, v in env.items() if k.startswith("KB_") and k not in BENCH_KEYS]
        words = ["<feed URL>" if a.startswith("http://127.") else "<port>" if a.isdigit() and len(a) >= 4
                 else a if " " not in a else repr(a) for a in argv]
        line = " ".join(["<KB_QUEUE_URL>" if s.startswith("KB_QUEUE_URL") else s for s in shown] + words)
        self.counts[line] += 1
        if line not in self.commands:
            self.commands.append(line)

    def command_lines(self) -> list[str]:
        return [f"{line}   (x{self.counts[line]})" if self.counts[line] > 1 else line
                for line in self.commands]

    def run(self, argv: list[str], env: dict[str, str],
            timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        self._note(argv, env)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
        return done

    def start(self, argv: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        self._note(argv, env)
        self._logs += 1
        out = open(self.folder / f"{self._logs:02d}-{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        process.log_path = out.name  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 120) -> int | None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        return process.returncode

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                self.stop(process, 30)


def log_problems(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Tracebacks and error lines in a kb process's output."""
    text = Path(process.log_path).read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
    lines = text.splitlines()
    errors = [line for line in lines if " ERROR " in line or line.startswith("ERROR") or "Traceback" in line]
    return {"tracebacks": text.count("Traceback"), "error_lines": len(errors), "first": errors[:3]}


# --- watching: CPU per process, items, segments -----------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int, int, str]]:
    """pid -> (ppid, CPU ticks, nice, kind) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        kind = ("resource tracker" if "resource_tracker" in cmdline
                else "spawned" if "spawn_main" in cmdline else "")
        table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[16]), kind)
    return table


def _machine_busy() -> tuple[int, int]:
    with open("/proc/stat", encoding="utf-8") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8])


class CpuWatch:
    """CPU seconds of each watched process tree, by role, sampled every second from /proc.

    A kb process's spawned children are its extraction pool, unless they run niced (the index merger); the
    resource tracker counts as "other". Everything not watched is "other load on the machine"."""

    def __init__(self, roots: dict[str, int], interval: float = 1.0) -> None:
        self.roots = roots
        self.interval = interval
        self.samples: list[tuple[float, dict[int, int], int]] = []  # (time, pid -> ticks delta, busy delta)
        self.roles: dict[int, str] = {}
        self.niced: set[int] = set()
        self.kinds: dict[int, str] = {}
        self._last: dict[int, int] = {}
        self._busy: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def add(self, label: str, pid: int) -> None:
        self.roots[label] = pid

    def __enter__(self) -> CpuWatch:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        table = _proc_table()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (ppid, _, _, _) in table.items():
            children[ppid].append(pid)
        deltas: dict[int, int] = {}
        for label, root in self.roots.items():
            todo = [root] if root in table else []
            while todo:
                pid = todo.pop()
                todo.extend(children.get(pid, ()))
                if pid != root and label == "bench (this script)":
                    continue  # the bench's children are watched under their own labels
                if pid in self.roles and self.roles[pid] != label and pid not in self.roots.values():
                    continue
                self.roles.setdefault(pid, label)
                _, ticks, nice, kind = table[pid]
                if nice > 0 and pid != root:
                    self.niced.add(pid)
                self.kinds[pid] = "root" if pid == root else kind
                deltas[pid] = ticks - self._last.get(pid, ticks)
                self._last[pid] = ticks
        busy, total = _machine_busy()
        busy_delta = busy - self._busy[0] if self._busy else 0
        self._busy = (busy, total)
        self.samples.append((time.monotonic(), deltas, busy_delta))

    def role(self, pid: int) -> str:
        label = self.roles[pid]
        kind = self.kinds.get(pid, "")
        if kind == "root":
            return label
        if pid in self.niced:
            return f"{label}: index merger"
        if kind == "spawned":
            return f"{label}: extraction pool"
        return f"{label}: other"

    def report(self, start: float | None = None, end: float | None = None) -> dict[str, Any]:
        """CPU by role between two monotonic times: seconds, average % of one core, peak over 5 s."""
        chosen = [s for s in self.samples[1:]
                  if (start is None or s[0] > start) and (end is None or s[0] <= end + 1)]
        if not chosen:
            return {}
        window = chosen[-1][0] - chosen[0][0] + self.interval
        by_role: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(chosen))
        for index, (_, deltas, _) in enumerate(chosen):
            for pid, ticks in deltas.items():
                by_role[self.role(pid)][index] += ticks / CLOCK_TICKS
        busy = sum(s[2] for s in chosen) / CLOCK_TICKS
        ours = sum(sum(v) for v in by_role.values())
        roles = {}
        for role, seconds in sorted(by_role.items(), key=lambda kv: -sum(kv[1])):
            total = sum(seconds)
            if total < 0.05:
                continue
            peak = max(sum(seconds[i:i + 5]) / (5 * self.interval) for i in range(max(1, len(seconds) - 4)))
            roles[role] = {"cpu_s": round(total, 1), "avg_pct": round(100 * total / window),
                           "peak5s_pct": round(100 * peak)}
        return {"window_s": round(window, 1), "cores": os.cpu_count(), "roles": roles,
                "machine_busy_pct": round(100 * busy / window), "ours_pct": round(100 * ours / window),
                "other_load_pct": round(100 * max(0.0, busy - ours) / window)}


def count_rows(db_path: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as conn:
        return int(conn.execute(sql).fetchone()[0])


def segments(data_dir: Path) -> list[int] | None:
    """Live documents of each segment of the current index generation, read from its TOC as
    kb/search/index/store.py does (`FileIndex._read_toc().segments`); None when it cannot be read now."""
    from whoosh import index as whoosh_index

    root = data_dir / "index"
    for _ in range(5):
        try:
            name = (root / "CURRENT").read_text(encoding="utf-8").strip()
            ix = whoosh_index.open_dir(str(root / name), indexname="items", readonly=True)
            try:
                return [segment.doc_count() for segment in ix._read_toc().segments]  # noqa: SLF001
            finally:
                ix.close()
        except Exception:  # noqa: BLE001 - a commit or a swap in between: read again
            time.sleep(0.2)
    return None


class SegmentWatch:
    """The index's segment count every SEGMENT_EVERY seconds, with the items and the outbox backlog."""

    def __init__(self, data_dir: Path, every: float = SEGMENT_EVERY) -> None:
        self.data_dir, self.every = data_dir, every
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = 0.0

    def __enter__(self) -> SegmentWatch:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _loop(self) -> None:
        self.sample()
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        sizes = segments(self.data_dir)
        db = self.data_dir / "kb.sqlite3"
        self.samples.append({
            "t": round(time.monotonic() - self._started, 1),
            "segments": len(sizes) if sizes is not None else None,
            "largest": max(sizes) if sizes else 0, "under_1000": sum(1 for s in sizes or () if s < 1000),
            "items": count_rows(db, "SELECT count(*) FROM items"),
            "outbox": count_rows(db, "SELECT count(*) FROM index_outbox")})

    def summary(self) -> dict[str, Any]:
        counts = [s["segments"] for s in self.samples if s["segments"] is not None]
        return {"samples": len(counts), "max": max(counts, default=None),
                "final": counts[-1] if counts else None,
                "median": statistics.median(counts) if counts else None, "timeline": self.samples}


def wait_for_items(db: Path, target: int, timeout: float, process: subprocess.Popen[bytes] | None = None,
                   every: float = 0.25) -> tuple[float | None, int]:
    """Monotonic time at which the items table holds `target` rows (None on timeout or process exit)."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = count_rows(db, "SELECT count(*) FROM items")
        if count >= target:
            return time.monotonic(), count
        if process is not None and process.poll() is not None:
            count = count_rows(db, "SELECT count(*) FROM items")
            return (time.monotonic() if count >= target else None), count
        time.sleep(every)
    return None, count


def wait_until(check: Any, timeout: float, every: float = 0.25) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(every)
    return None


def wait_for_http(port: int, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"kb exited {process.returncode}; see {process.log_path}")  # type: ignore[attr-defined]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        return False

    if wait_until(up, timeout) is None:
        raise RuntimeError(f"kb serve did not answer on port {port}")


def wait_for_log(process: subprocess.Popen[bytes], text: str, timeout: float = 300) -> None:
    def seen() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"kb exited {process.returncode}; see {process.log_path}")  # type: ignore[attr-defined]
        return text in Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]

    if wait_until(seen, timeout) is None:
        raise RuntimeError(f"{text!r} not seen in {process.log_path}")  # type: ignore[attr-defined]


def settle(db: Path, timeout: float = 600) -> float:
    """Wait until the monitor is idle (no fetch in flight, outbox drained, a tick ran); returns seconds."""
    started = time.monotonic()

    def idle() -> bool:
        ticked = count_rows(db, "SELECT count(*) FROM meta WHERE key = 'monitor_tick'")
        return (ticked > 0 and count_rows(db, "SELECT count(*) FROM fetch_runs") == 0
                and count_rows(db, "SELECT count(*) FROM index_outbox") == 0)

    quiet = 0
    while time.monotonic() - started < timeout and quiet < 3:
        quiet = quiet + 1 if idle() else 0
        time.sleep(1.0)
    return time.monotonic() - started


class PySpy:
    """Optional: py-spy record of a process (and its children) while a phase runs, summarised by function."""

    def __init__(self, binary: str | None, folder: Path) -> None:
        self.binary, self.folder = binary, folder
        self.running: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, label: str, pid: int, children: bool = False) -> None:
        if not self.binary:
            return
        output = self.folder / f"py-spy-{label}.txt"
        argv = [self.binary, "record", "--pid", str(pid), "--format", "raw", "--output", str(output),
                "--rate", "50", "--nonblocking", "--threads"] + (["--subprocesses"] if children else [])
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running.append((label, process, output))

    def stop(self) -> dict[str, Any]:
        found = {}
        for label, process, output in self.running:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(60)
            if output.exists():
                found[label] = summarise_profile(output)
        self.running.clear()
        return found


def summarise_profile(path: Path, top: int = 14) -> dict[str, Any]:
    """Share of the active samples in which each function is on the stack (py-spy raw format)."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rstrip(")") + ")"
                  for f in stack.split(";")[2:] if " (" in f]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            leaf[frames[-1]] += count
    return {"samples": total,
            "on_stack": {f: round(c / total, 3) for f, c in inclusive.most_common(top)} if total else {},
            "leaf": {f: round(c / total, 3) for f, c in leaf.most_common(top)} if total else {}}


# --- the steps ---------------------------------------------------------------------------------------------


def write_opml(path: Path, urls: list[str]) -> None:
    outlines = "".join(f'<outline type="rss" text="Outlet {i}" xmlUrl="{xml_escape(u)}"/>'
                       for i, u in enumerate(urls))
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?><opml version="2.0"><head><title>bench</title>'
                    f"</head><body>{outlines}</body></opml>", encoding="utf-8")


def copy_base(base: Path, target: Path) -> float:
    started = time.perf_counter()
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(base, target, ignore=shutil.ignore_patterns("queue.sqlite3*", MANIFEST, "*.log"))
    return time.perf_counter() - started


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6, 1)


def build_base(runner: Runner, base: Path, server: FeedServer, specs: list[FeedSpec],
               expected: int) -> dict[str, Any]:
    """`kb init`, one `kb sources add --no-check` per feed, then `kb ingest --all` until every item is in."""
    env = kb_env()
    db = base / "kb.sqlite3"
    result: dict[str, Any] = {"items_expected": expected, "feeds": len(specs)}
    started = time.perf_counter()
    runner.run([KB, "--data-dir", str(base), "init"], env)
    urls = [server.url(spec) for spec in specs]
    adding = time.perf_counter()

    def add(url: str) -> None:
        runner.run([KB, "--data-dir", str(base), "sources", "add", "--no-check", url], env)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # two at a time: each is a ~0.8 s process start
        list(pool.map(add, urls))
    result["sources_add_s"] = round(time.perf_counter() - adding, 1)
    log(f"base: {len(urls)} sources added in {result['sources_add_s']} s; kb ingest --all")
    passes: list[dict[str, Any]] = []
    for attempt in range(3):
        before = count_rows(db, "SELECT count(*) FROM items")
        pass_started = time.monotonic()
        process = runner.start([KB, "--data-dir", str(base), "ingest", "--all"], env,
                               f"base-ingest-{attempt + 1}")
        with CpuWatch({"kb ingest": process.pid, "bench (this script)": os.getpid(),
                       "feed server": server.process.pid or 0}) as cpu:
            stored_at, count = wait_for_items(db, expected, 6 * 3600, process)
            process.wait()
        finished = time.monotonic()
        output = Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]
        summary = [line for line in output.splitlines() if line.startswith("Sources:")]
        after = count_rows(db, "SELECT count(*) FROM items")
        passes.append({
            "seconds": round(finished - pass_started, 1),
            "until_all_stored_s": round(stored_at - pass_started, 1) if stored_at else None,
            "new_items": after - before,
            "items_per_s": round((after - before) / (finished - pass_started), 1),
            "exit": process.returncode, "summary": summary[-1] if summary else output[-500:],
            "failed_sources": output.count("  source "), "problems": log_problems(process),
            "cpu": cpu.report()})
        log(f"base pass {attempt + 1}: {after - before} items in {finished - pass_started:.0f} s; "
            f"{summary[-1] if summary else ''}")
        if after >= expected:
            break
    result["passes"] = passes
    result["items"] = count_rows(db, "SELECT count(*) FROM items")
    result["seconds"] = round(time.perf_counter() - started, 1)
    ingest_seconds = sum(p["seconds"] for p in passes)
    result["ingest_s"] = round(ingest_seconds, 1)
    result["items_per_s"] = round(result["items"] / ingest_seconds, 1)
    sizes = segments(base) or []
    result["index_segments"], result["index_largest_segment"] = len(sizes), max(sizes, default=0)
    result["folder_mb"] = folder_mb(base)
    return result


def measure_once(runner: Runner, folder: Path, server: FeedServer, opml: Path, expected_new: int,
                 base_items: int) -> dict[str, Any]:
    """(a): `kb sources import-opml` the new feeds, then one `kb ingest --all`."""
    env = kb_env()
    db = folder / "kb.sqlite3"
    runner.run([KB, "--data-dir", str(folder), "sources", "import-opml", str(opml)], env)
    target = base_items + expected_new
    wall = time.time()
    t0 = time.monotonic()
    process = runner.start([KB, "--data-dir", str(folder), "ingest", "--all"], env, "a-ingest")
    with CpuWatch({"kb ingest": process.pid, "bench (this script)": os.getpid(),
                   "feed server": server.process.pid or 0}) as cpu, SegmentWatch(folder) as seg:
        stored_at, count = wait_for_items(db, target, max(900, expected_new / 5), process)
        indexed_at = wait_until(lambda: count_rows(db, "SELECT count(*) FROM index_outbox") == 0
                                or process.poll() is not None, 3600)
        process.wait()
        done = time.monotonic()
    output = Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]
    summary = [line for line in output.splitlines() if line.startswith("Sources:")]
    first = server.requests("new", wall)
    stored = (stored_at - t0) if stored_at else None
    sizes = segments(folder) or []
    return {
        "how": "kb ingest --all (in-process fetch, extraction pool, writer, index sync, merges at the end)",
        "items": count - base_items, "seconds_until_stored": round(stored, 1) if stored else None,
        "items_per_s": round(expected_new / stored, 1) if stored else None,
        "seconds_until_searchable": round(indexed_at - t0, 1) if indexed_at else None,
        "seconds_until_exit": round(done - t0, 1),
        "items_per_s_until_exit": round(expected_new / (done - t0), 1),
        "first_feed_request_s": round(first[0][0] - wall, 1) if first else None,
        "exit": process.returncode, "summary": summary[-1] if summary else output[-500:],
        "segments": seg.summary(), "segments_after": len(sizes),
        "largest_segment_after": max(sizes, default=0),
        "problems": log_problems(process), "cpu": cpu.report(t0, stored_at or done),
        "cpu_until_exit": cpu.report(t0, done)}


def measure_queue(runner: Runner, folder: Path, server: FeedServer, opml: Path, expected_new: int,
                  base_items: int, workers: int, spy: PySpy, after: float) -> dict[str, Any]:
    """(b)/(c): `kb serve --no-worker` + `workers` x `kb worker` on one Redis; import the new feeds while
    they run."""
    redis = LocalRedis(folder.parent / f"redis-{folder.name}").start()
    env = kb_env(redis.url)
    db = folder / "kb.sqlite3"
    port = free_port()
    serve = runner.start([KB, "--data-dir", str(folder), "serve", "--no-worker", "--port", str(port)], env,
                         f"{folder.name}-serve")
    fetchers = [runner.start([KB, "--data-dir", str(folder), "worker"], env, f"{folder.name}-worker{n + 1}")
                for n in range(workers)]
    result: dict[str, Any] = {"how": f"kb serve --no-worker + {workers} x kb worker, KB_QUEUE_URL=redis"}
    try:
        wait_for_http(port, serve)
        for fetcher in fetchers:
            wait_for_log(fetcher, "Worker started")
        result["settle_s"] = round(settle(db), 1)
        assert redis.process is not None  # started above
        roots = {"kb serve --no-worker (writer)": serve.pid, "redis-server": redis.process.pid,
                 "feed server": server.process.pid or 0, "bench (this script)": os.getpid()}
        for n, fetcher in enumerate(fetchers):
            roots[f"kb worker {n + 1}"] = fetcher.pid
        target = base_items + expected_new
        with CpuWatch(roots) as cpu, SegmentWatch(folder) as seg:
            spy.start(f"{folder.name}-writer", serve.pid)
            spy.start(f"{folder.name}-worker1", fetchers[0].pid, children=True)
            importing = time.monotonic()
            runner.run([KB, "--data-dir", str(folder), "sources", "import-opml", str(opml)], env)
            wall, t0 = time.time(), time.monotonic()
            result["import_opml_s"] = round(t0 - importing, 2)
            stored_at, count = wait_for_items(db, target, max(900, expected_new / 5), serve)
            result["profiles"] = spy.stop()
            indexed_at = wait_until(lambda: count_rows(db, "SELECT count(*) FROM index_outbox") == 0, 600)
            seg.sample()
            at_searchable = seg.samples[-1]["segments"]
            time.sleep(after)  # does the merger catch up once the burst is over?
        first = server.requests("new", wall - 2)
        stored = (stored_at - t0) if stored_at else None
        result.update({
            "items": count - base_items, "seconds_until_stored": round(stored, 1) if stored else None,
            "items_per_s": round(expected_new / stored, 1) if stored else None,
            "seconds_until_searchable": round(indexed_at - t0, 1) if indexed_at else None,
            "first_feed_request_s": round(first[0][0] - wall, 1) if first else None,
            "items_per_s_from_first_request": (
                round(expected_new / (stored_at - t0 - (first[0][0] - wall)), 1)
                if stored_at and first else None),
            "failed_new_sources": count_rows(db, "SELECT count(*) FROM sources WHERE last_error IS NOT NULL"),
            "segments_when_searchable": at_searchable, "watched_after_s": after,
            "segments": seg.summary(), "cpu": cpu.report(t0, stored_at)})
    finally:
        codes = [runner.stop(p) for p in [*fetchers, serve]]
        redis.stop()
    result["exit_codes"] = codes
    result["problems"] = {Path(p.log_path).name: log_problems(p) for p in [serve, *fetchers]}  # type: ignore[attr-defined]
    return result


def searchable_delay(runner: Runner, folder: Path, server: FeedServer, spec: FeedSpec, corpus: NewsCorpus,
                     serve: subprocess.Popen[bytes]) -> dict[str, Any]:
    """(3): with `kb serve` running, `kb sources add` one feed; from its first request until its last item is
    found."""
    from kb.knowledge import KnowledgeBase
    from kb.search.service import search
    from kb.settings import load_settings

    env = kb_env()
    marker: Article = corpus.article(spec.first + spec.count - 1)
    marker_url = server.url(spec).rsplit("/", 1)[0] + f"/{marker.slug}.html"
    reader = KnowledgeBase(load_settings(folder, environ={}))  # reads only: no migration, no index writer
    warm = time.perf_counter()
    search(reader, marker.title)
    result: dict[str, Any] = {"feed_items": spec.count,
                              "first_search_s": round(time.perf_counter() - warm, 2)}
    wall = time.time()
    t0 = time.monotonic()
    runner.run([KB, "--data-dir", str(folder), "sources", "add", "--no-check", server.url(spec)], env)
    added = time.monotonic()
    searches: list[float] = []
    stored: list[float] = []
    db = folder / "kb.sqlite3"

    def found() -> bool:
        if not stored and count_rows(db, f"SELECT count(*) FROM items WHERE url = '{marker_url}'"):
            stored.append(time.monotonic())
        started = time.perf_counter()
        results = search(reader, f'"{marker.title}"')
        searches.append(time.perf_counter() - started)
        return any(hit.url == marker_url for hit in results.hits)

    found_at = wait_until(found, 120, every=0.2)
    first = server.requests("delay", wall)
    fetched = first[0][0] - wall + t0 if first else None
    reader.close()
    check = time.perf_counter()
    answer = json.loads(runner.run([KB, "--data-dir", str(folder), "search", "--json", f'"{marker.title}"'],
                                   env).stdout)
    result.update({
        "sources_add_s": round(added - t0, 2),
        "fetch_after_add_s": round(fetched - t0, 1) if fetched else None,
        "found_after_add_s": round(found_at - t0, 1) if found_at else None,
        "found_after_fetch_s": round(found_at - fetched, 1) if found_at and fetched else None,
        "stored_after_fetch_s": round(stored[0] - fetched, 1) if stored and fetched else None,
        "found_after_stored_s": round(found_at - stored[0], 1) if stored and found_at else None,
        "search_median_ms": round(1000 * statistics.median(searches), 1) if searches else None,
        "kb_search_cli": {"total": answer.get("total"), "found": any(r["url"] == marker_url
                                                                     for r in answer.get("results", [])),
                          "seconds": round(time.perf_counter() - check, 2)},
        "last_fetch_column": _last_fetch(folder, server.url(spec)), "serve_running": serve.poll() is None})
    return result


def _last_fetch(folder: Path, url: str) -> str | None:
    with contextlib.closing(sqlite3.connect(f"file:{folder / 'kb.sqlite3'}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT last_fetch FROM sources WHERE url = ?", [url]).fetchone()
    return row[0] if row else None


def long_run(runner: Runner, folder: Path, server: FeedServer, live_specs: list[FeedSpec], minutes: float,
             live: LivePlan, serve: subprocess.Popen[bytes]) -> dict[str, Any]:
    """(4): `kb serve` keeps ingesting feeds that keep publishing; the segment count every 10 s."""
    env = kb_env()
    db = folder / "kb.sqlite3"
    before = count_rows(db, "SELECT count(*) FROM items")
    server.start_live()
    published_from = time.monotonic()
    for spec in live_specs:
        runner.run([KB, "--data-dir", str(folder), "sources", "add", "--no-check", "--interval", "1",
                    server.url(spec)], env)
    with CpuWatch({"kb serve (writer + fetching)": serve.pid, "feed server": server.process.pid or 0,
                   "bench (this script)": os.getpid()}) as cpu, SegmentWatch(folder) as seg:
        time.sleep(minutes * 60)
    elapsed = time.monotonic() - published_from
    after = count_rows(db, "SELECT count(*) FROM items")
    return {"minutes": minutes, "live_feeds": live.feeds, "published_per_s": live.rate,
            "published": int(live.rate * elapsed), "stored": after - before,
            "stored_per_s": round((after - before) / elapsed, 1),
            "outbox_at_end": count_rows(db, "SELECT count(*) FROM index_outbox"),
            "segments": seg.summary(), "cpu": cpu.report(), "serve_running": serve.poll() is None}


# --- report ------------------------------------------------------------------------------------------------


def _cpu_lines(cpu: dict[str, Any], indent: str = "      ") -> list[str]:
    if not cpu:
        return []
    lines = [f"{indent}CPU over {cpu['window_s']} s on {cpu['cores']} cores (100% = one core): machine busy "
             f"{cpu['machine_busy_pct']}%, of which other load (not this bench) {cpu['other_load_pct']}%"]
    for role, figures in cpu["roles"].items():
        lines.append(f"{indent}  {role:<46} avg {figures['avg_pct']:>3}%  "
                     f"peak(5 s) {figures['peak5s_pct']:>3}%  ({figures['cpu_s']} s)")
    return lines


def print_report(report: dict[str, Any]) -> None:
    out = [f"# queue benchmark ({report['started']}; {report['cores']} cores; load average at start "
           f"{report['loadavg_start']})"]
    base = report["base"]
    out.append(f"1. base: {base['items']} items in {base['feeds']} feeds, data folder "
               f"{base.get('folder_mb')} MB, {base.get('index_segments')} index segments")
    if base.get("built_here"):
        out.append(f"   built in {base['seconds']} s (sources add {base['sources_add_s']} s; kb ingest "
                   f"{base['ingest_s']} s in {len(base['passes'])} pass(es)) = {base['items_per_s']} items/s")
        for n, p in enumerate(base["passes"], 1):
            out.append(f"   pass {n}: {p['new_items']} items in {p['seconds']} s; {p['summary']}")
            out.extend(_cpu_lines(p["cpu"]))
    else:
        out.append(f"   reused {base['folder']} (built earlier in {base.get('seconds')} s = "
                   f"{base.get('items_per_s')} items/s)")
    out.append(f"2. ingest of {report['new']} new items from {NEW_FEEDS} feeds with the base in the database "
               f"(target >= {TARGET_RATE:.0f} items/s)")
    for key in ("a", "b", "c"):
        phase = report.get(key)
        if not phase:
            continue
        if "error" in phase:
            out.append(f"   ({key}) {phase.get('how', '')}: FAILED {phase['error']}")
            continue
        rate = phase.get("items_per_s")
        verdict = "ok" if rate and rate >= TARGET_RATE else "BELOW TARGET"
        line = (f"   ({key}) {phase['how']}: {phase['items']} items stored in "
                f"{phase['seconds_until_stored']} s = {rate} items/s [{verdict}]")
        if phase.get("seconds_until_searchable") is not None:
            line += f"; all searchable after {phase['seconds_until_searchable']} s"
        if "seconds_until_exit" in phase:
            line += f"; process exited after {phase['seconds_until_exit']} s"
        out.append(line)
        out.append(f"       first feed request {phase.get('first_feed_request_s')} s after the sources were "
                   "due" + (f"; from it: {phase['items_per_s_from_first_request']} items/s"
                      if phase.get("items_per_s_from_first_request") else ""))
        if phase.get("segments"):
            first_count = phase["segments"]["timeline"][0]["segments"]
            line = (f"       index segments (every {SEGMENT_EVERY:.0f} s): {first_count} before, "
                    f"max {phase['segments']['max']}")
            if "segments_when_searchable" in phase:
                line += (f", {phase['segments_when_searchable']} when all was searchable, "
                         f"{phase['segments']['final']} {phase['watched_after_s']:.0f} s later")
            else:
                line += (f", {phase['segments_after']} at exit (largest {phase['largest_segment_after']} "
                         "documents)")
            out.append(line)
        if phase.get("cpu", {}).get("roles") and phase.get("items"):
            per_item = ", ".join(f"{role} {1000 * figures['cpu_s'] / phase['items']:.1f}"
                                 for role, figures in phase["cpu"]["roles"].items()
                                 if 1000 * figures["cpu_s"] / phase["items"] >= 0.1)
            out.append(f"       CPU ms per item (until stored): {per_item}")
        out.extend(_cpu_lines(phase.get("cpu", {})))
        if phase.get("cpu_until_exit", {}).get("roles"):
            roles = phase["cpu_until_exit"]["roles"]
            out.append("       until exit: " + ", ".join(
                f"{role} {figures['cpu_s']} s CPU"
                for role, figures in roles.items() if figures["cpu_s"] >= 1))
        for label, profile in (phase.get("profiles") or {}).items():
            top = ", ".join(f"{f.split(' (')[0]} {100 * s:.0f}%"
                            for f, s in list(profile["on_stack"].items())[:10])
            out.append(f"       py-spy {label} ({profile['samples']} active samples): {top}")
    delay = report.get("searchable")
    if delay:
        if "error" in delay:
            out.append(f"3. searchable delay: FAILED {delay['error']}")
        else:
            value = delay.get("found_after_fetch_s")
            verdict = "ok" if value is not None and value <= TARGET_SEARCHABLE else "ABOVE TARGET"
            out.append(f"3. searchable: last of {delay['feed_items']} items of a new feed found {value} s "
                       f"after the feed's first fetch (target <= {TARGET_SEARCHABLE:.0f} s) [{verdict}]; "
                       f"fetched {delay.get('fetch_after_add_s')} s after `kb sources add` returned "
                       f"(scheduler tick), found {delay.get('found_after_add_s')} s after it; "
                       f"kb search --json found it: "
                       f"{delay['kb_search_cli']['found']}")
            out.append(f"   split: fetch -> last item in the database {delay.get('stored_after_fetch_s')} s, "
                       f"-> found by search {delay.get('found_after_stored_s')} s; search median "
                       f"{delay.get('search_median_ms')} ms")
    run = report.get("long_run")
    if run:
        if "error" in run:
            out.append(f"4. long run: FAILED {run['error']}")
        else:
            out.append(f"4. segments over {run['minutes']} min of kb serve ingesting {run['live_feeds']} "
                       f"live feeds ({run['published_per_s']} items/s published, {run['stored_per_s']} "
                       "stored; each feed is fetched once a minute, so the last minute's items wait for the "
                       f"next fetch): max {run['segments']['max']}, final {run['segments']['final']} (median "
                       f"{run['segments']['median']}); outbox at end {run['outbox_at_end']}")
            out.extend(_cpu_lines(run.get("cpu", {})))
    steps = ", ".join(f"{key} {report[key]['step_s']} s" for key in ("a", "b", "c", "searchable", "long_run")
                      if isinstance(report.get(key), dict) and "step_s" in report[key])
    out.append(f"wall clock: {report.get('total_s')} s in all; steps: {steps}; copies of the base "
               f"{report.get('copy_base_s')} s each")
    out.append(f"folder: {report['workdir']}; other engineers' processes share this machine "
               "(other load above)")
    out.append(f"commands (every kb process with {report['env']}):")
    out.extend(f"   {command}" for command in report["commands"])
    print("\n".join(out), flush=True)


# --- main --------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=100_000, help="Items in the base (default 100000).")
    parser.add_argument("--base-feeds", type=int, help="Feeds of the base (default: one per 200 items).")
    parser.add_argument("--new", type=int, default=10_000, help="New items for the rate (default 10000).")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="Long run for the segment count (0: skip).")
    parser.add_argument("--live-rate", type=float, default=20.0, help="Items/s published in the long run.")
    parser.add_argument("--live-feeds", type=int, default=20)
    parser.add_argument("--delay-items", type=int, default=50,
                        help="Items of the feed for the searchable delay.")
    parser.add_argument("--full-share", type=float, default=0.5,
                        help="Share of feeds whose descriptions hold the whole article (default 0.5).")
    parser.add_argument("--after", type=float, default=60.0,
                        help="Seconds to keep counting segments after the burst of (b), (c) is searchable.")
    parser.add_argument("--phases", default="a,b,c,delay,long", help="Which of a,b,c,delay,long to run.")
    parser.add_argument("--reuse", type=Path,
                        help="Base folder: reused if it holds a base, else built there.")
    parser.add_argument("--workdir", type=Path, help="Folder for this run's copies (default: a temp folder).")
    parser.add_argument("--keep", action="store_true", help="Keep the run's copies of the base (a, b, c).")
    parser.add_argument("--json", type=Path, help="Also write the report as JSON here.")
    parser.add_argument("--py-spy",
                        help="Path of a py-spy binary: profile the writer and a worker in (b), (c).")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    began = time.monotonic()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-queue-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base = args.reuse or workdir / "base"
    manifest_path = base / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    base_items = manifest["base"] if manifest else args.base
    base_feeds = manifest["base_feeds"] if manifest else (args.base_feeds or max(1, round(args.base / 200)))
    full_share = manifest["full_share"] if manifest else args.full_share
    report: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3], "workdir": str(workdir),
        "argv": sys.argv, "new": args.new, "full_share": full_share, "seed": SEED,
        "env": BENCH_ENV + " (every kb process; KB_* of the caller removed)"}

    base_specs = _feed_specs("base", base_feeds, 0, base_items, full_share, SEED)
    new_specs = _feed_specs("new", NEW_FEEDS, NEW_FIRST, args.new, full_share, SEED)
    delay_spec = _feed_specs("delay", 1, DELAY_FIRST, args.delay_items, 1.0, SEED)[0]
    live = LivePlan(args.live_feeds, args.live_rate)
    live_specs = [FeedSpec(f"/live/f{k}.xml", k % HOSTS, full=k % 2 == 0, live=k) for k in range(live.feeds)]
    prebuild = ["new", "delay"] + ([] if manifest else ["base"])
    log(f"starting the feed server ({'reusing' if manifest else 'building'} a base of {base_items} items in "
        f"{base_feeds} feeds; building feed bodies first)")
    server = FeedServer(workdir, SEED, manifest["ports"] if manifest else [], [*base_specs, *new_specs,
                                                                              delay_spec, *live_specs],
                        prebuild, live)
    runner = Runner(workdir)
    corpus = NewsCorpus(SEED)
    try:
        if manifest:
            report["base"] = {**manifest["build"], "built_here": False, "folder": str(base),
                              "items": count_rows(base / "kb.sqlite3", "SELECT count(*) FROM items"),
                              "folder_mb": folder_mb(base), "index_segments": len(segments(base) or [])}
        else:
            if base.exists() and any(base.iterdir()):
                raise SystemExit(f"{base} is not empty and holds no {MANIFEST}; give an empty or new folder")
            base.mkdir(parents=True, exist_ok=True)
            log(f"building the base in {base}")
            build = build_base(runner, base, server, base_specs, base_items)
            manifest = {"base": base_items, "base_feeds": base_feeds, "full_share": full_share, "seed": SEED,
                        "ports": server.ports, "build": build}
            manifest_path.write_text(json.dumps(manifest, indent=1))
            report["base"] = {**build, "built_here": True, "folder": str(base)}
        items_in_base = report["base"]["items"]
        opml = workdir / "new-feeds.opml"
        write_opml(opml, [server.url(spec) for spec in new_specs])

        if "a" in phases or "delay" in phases or "long" in phases:
            folder = workdir / "a"
            report["copy_base_s"] = round(copy_base(base, folder), 1)
            log(f"copied the base in {report['copy_base_s']} s")
            if "a" in phases:
                log("(a) kb ingest --all")
                report["a"] = _guard(measure_once, runner, folder, server, opml, args.new, items_in_base)
                log(f"(a) {report['a'].get('items_per_s')} items/s")
        for key, workers in (("b", 1), ("c", 2)):
            if key in phases:
                folder = workdir / key
                report["copy_base_s"] = round(copy_base(base, folder), 1)
                log(f"({key}) kb serve --no-worker + {workers} kb worker on Redis")
                report[key] = _guard(measure_queue, runner, folder, server, opml, args.new, items_in_base,
                                     workers, PySpy(args.py_spy, workdir), args.after)
                report[key]["how"] = report[key].get("how", f"writer + {workers} worker(s)")
                log(f"({key}) {report[key].get('items_per_s')} items/s")
                if not args.keep:
                    shutil.rmtree(folder, ignore_errors=True)
        if "delay" in phases or "long" in phases:
            folder = workdir / "a"
            port = free_port()
            serve = runner.start([KB, "--data-dir", str(folder), "serve", "--port", str(port)], kb_env(),
                                 "serve-delay-long")
            try:
                wait_for_http(port, serve)
                report["settle_before_delay_s"] = round(settle(folder / "kb.sqlite3"), 1)
                if "delay" in phases:
                    log("(3) searchable delay under kb serve")
                    report["searchable"] = _guard(searchable_delay, runner, folder, server, delay_spec,
                                                  corpus, serve)
                if "long" in phases and args.minutes > 0:
                    log(f"(4) long run: {args.minutes} min")
                    report["long_run"] = _guard(long_run, runner, folder, server, live_specs, args.minutes,
                                                live, serve)
            finally:
                report["serve_exit"] = runner.stop(serve)
                report["serve_problems"] = log_problems(serve)
    finally:
        runner.stop_all()
        server.stop()
    report["commands"] = runner.command_lines()
    report["total_s"] = round(time.monotonic() - began, 1)
    report["finished"] = datetime.now().isoformat(timespec="seconds")
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    if not args.keep:  # the copies of the base (the base itself stays, for --reuse)
        for name in ("a", "b", "c", "redis-b", "redis-c"):
            shutil.rmtree(workdir / name, ignore_errors=True)


def _guard(step: Any, *args: Any) -> dict[str, Any]:
    """Run a measuring step; a failure is reported, not raised, so the other figures still come out."""
    try:
        loadavg = Path("/proc/loadavg").read_text().split()[:3]
        started = time.monotonic()
        result = step(*args)
        return {**result, "loadavg_before": loadavg, "step_s": round(time.monotonic() - started, 1)}
    except Exception as exc:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    main()

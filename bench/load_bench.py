"""Load benchmark of `kb serve` (issue 13): signed-in users working without pause while ingest runs.

    .venv/bin/python bench/load_bench.py [--items 20000] [--users 20] [--seconds 120] [--warmup 20]
        [--workers 1,2] [--threads N] [--live-feeds 10] [--live-rate 10] [--reuse DIR] [--json PATH]
    smoke test: .venv/bin/python bench/load_bench.py --items 400 --users 2 --seconds 10 --warmup 3

The data is built the way users build it (bench/queue_bench.py's parts, reused): `kb init`, one
`kb sources add --no-check` per loopback feed and `kb ingest --all` until --items items are stored, words
from bench/corpus.py's NewsCorpus; then --users coordinators added with `kb users add`. The base is kept
and reused with --reuse DIR.

For each --workers value, in the same run and on a fresh copy of the base: `kb serve --workers N` (with its
monitor: writer, scheduler, fetching), --live-feeds feeds added that keep publishing --live-rate items/s
(so ingest and index sync run throughout), then --users threads, each signed in through the sign-in form,
repeat without pause: a search with facets (one or two query words, half the time with a language or
status filter), the item page of one hit, and a curation decision on that item (a form POST with its CSRF
token). Each request is real HTTP on a new connection, as `kb serve` closes each after its answer.
Requests that start after --warmup seconds and end within the --seconds window are measured.

Reported per --workers value: requests and requests/s, p50/p95/p99 latency per kind and overall, errors,
CPU-ms per request of the web processes, CPU of the writer, cores used (web processes, whole `kb serve`,
the machine), and items stored during the window. CPU is read from /proc.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import DOMAIN_WORDS, NEWS_LANGUAGES, NEWS_WORDS  # noqa: E402
from bench.queue_bench import (  # noqa: E402 - the task-queue bench's feeds, processes and CPU readings
    CLOCK_TICKS,
    KB,
    SEED,
    FeedServer,
    FeedSpec,
    LivePlan,
    Runner,
    _feed_specs,
    _machine_busy,
    _proc_table,
    build_base,
    copy_base,
    count_rows,
    kb_env,
    log,
    log_problems,
    settle,
    wait_for_http,
)
from tests.redisserver import free_port  # noqa: E402

MANIFEST = "load-bench.json"
PASSWORD = "load-bench-password-2026"
TARGET_P95_S = 1.0
STATUSES = ("new", "accepted", "rejected")
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
ITEM_LINK = re.compile(r'href="/items/(\d+)"')
# What each kind of request must answer; anything else (or no answer) is an error.
EXPECTED = {"search": 200, "item": 200, "curate": 302}


# --- a signed-in user ---------------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    ok: bool
    error: str = ""


class User:
    """A browser of sorts: its own cookies, redirects not followed, a new connection for every request."""

    def __init__(self, base: str, email: str, seed: int) -> None:
        self.base = base
        self.email = email
        self.rng = random.Random(seed)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def _open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def timed(self, kind: str, samples: list[Sample], path: str,
              form: dict[str, str] | None = None) -> tuple[int, str]:
        started = time.monotonic()
        try:
            status, page = self._open(path, form)
            error = "" if status == EXPECTED[kind] else f"HTTP {status}"
        except OSError as exc:
            status, page, error = 0, "", f"{type(exc).__name__}: {exc}"
        samples.append(Sample(kind, started, time.monotonic() - started, not error, error))
        return status, page

    def sign_in(self) -> None:
        for _ in range(10):
            status, page = self._open("/login")
            token = CSRF.search(page)
            if status == 200 and token:
                status, _ = self._open("/login", {"email": self.email, "password": PASSWORD,
                                                  "csrf_token": token.group(1)})
                if status == 302:
                    return
            time.sleep(1)
        raise RuntimeError(f"{self.email} could not sign in")

    def query(self) -> dict[str, str]:
        language = self.rng.choices(list(NEWS_LANGUAGES), weights=list(NEWS_LANGUAGES.values()))[0]
        words = DOMAIN_WORDS[language].split() + NEWS_WORDS[language].split()
        args = {"q": " ".join(self.rng.sample(words, self.rng.choice((1, 1, 2))))}
        roll = self.rng.random()
        if roll < 0.25:
            args["language"] = language
        elif roll < 0.5:
            args["status"] = self.rng.choice(STATUSES)
        return args

    def work(self, samples: list[Sample], item_ids: list[int], stop: threading.Event) -> None:
        """Search, open a hit, decide on it; again until `stop`."""
        while not stop.is_set():
            status, page = self.timed("search", samples, "/?" + urllib.parse.urlencode(self.query()))
            hits = ITEM_LINK.findall(page) if status == 200 else []
            item = int(self.rng.choice(hits)) if hits else self.rng.choice(item_ids)
            status, page = self.timed("item", samples, f"/items/{item}")
            token = CSRF.search(page) if status == 200 else None
            if token is None or stop.is_set():
                continue
            self.timed("curate", samples, f"/items/{item}/curation",
                       {"status": self.rng.choice(STATUSES), "next": f"/items/{item}",
                        "csrf_token": token.group(1)})


# --- CPU of the kb serve tree ------------------------------------------------------------------------------

def web_master(log_path: str) -> int | None:
    found = re.search(r"Listening at: \S+ \((\d+)\)", Path(log_path).read_text(errors="replace"))
    return int(found.group(1)) if found else None


@dataclass
class CpuSnapshot:
    at: float
    ticks: dict[int, int]  # pid -> CPU ticks, every process of the kb serve tree
    parents: dict[int, int]
    busy: int

    @classmethod
    def take(cls, root: int) -> CpuSnapshot:
        table = _proc_table()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (ppid, _, _, _) in table.items():
            children[ppid].append(pid)
        ticks, parents, todo = {}, {}, [root]
        while todo:
            pid = todo.pop()
            if pid in table:
                ticks[pid], parents[pid] = table[pid][1], table[pid][0]
                todo.extend(children.get(pid, ()))
        return cls(time.monotonic(), ticks, parents, _machine_busy()[0])


def cpu_between(first: CpuSnapshot, last: CpuSnapshot, serve: int, master: int | None) -> dict[str, Any]:
    """CPU seconds by part of kb serve: web (the gunicorn master and its workers), writer (kb serve's own
    process) and its other children (extraction pool, index merger)."""
    def web(pid: int) -> bool:
        while pid in last.parents or pid in first.parents:
            if pid == master:
                return True
            pid = last.parents.get(pid, first.parents.get(pid, 0))
        return False

    parts: dict[str, float] = defaultdict(float)
    per_web: dict[int, float] = {}
    for pid in set(first.ticks) | set(last.ticks):
        seconds = (last.ticks.get(pid, first.ticks.get(pid, 0)) - first.ticks.get(pid, 0)) / CLOCK_TICKS
        part = "writer" if pid == serve else "web" if web(pid) else "other children"
        parts[part] += seconds
        if part == "web" and pid != master:
            per_web[pid] = round(seconds, 1)
    window = last.at - first.at
    return {"window_s": round(window, 1), "cpu_s": {k: round(v, 1) for k, v in parts.items()},
            "web_workers_cpu_s": sorted(per_web.values(), reverse=True),
            "cores_web": round(parts["web"] / window, 2),
            "cores_kb_serve": round(sum(parts.values()) / window, 2),
            "cores_machine": round((last.busy - first.busy) / CLOCK_TICKS / window, 2)}


# --- one configuration -------------------------------------------------------------------------------------

def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50_ms": round(1000 * cut[49]), "p95_ms": round(1000 * cut[94]), "p99_ms": round(1000 * cut[98])}


@dataclass
class Config:
    users: list[str]
    seconds: float
    warmup: float
    threads: int | None
    live_specs: list[FeedSpec]
    item_ids: list[int] = field(default_factory=list)


def measure(runner: Runner, folder: Path, server: FeedServer, workers: int, config: Config) -> dict[str, Any]:
    env = kb_env()
    db = folder / "kb.sqlite3"
    port = free_port()
    argv = [KB, "--data-dir", str(folder), "serve", "--port", str(port), "--workers", str(workers)]
    if config.threads:
        argv += ["--threads", str(config.threads)]
    serve = runner.start(argv, env, f"serve-workers-{workers}")
    shown = " ".join(argv[1:]).replace(str(folder), "<copy>")
    result: dict[str, Any] = {"workers": workers, "command": shown}
    try:
        wait_for_http(port, serve)
        settle(db, timeout=300)
        server.start_live()  # the live feeds start publishing from zero for every configuration
        for spec in config.live_specs:
            runner.run([KB, "--data-dir", str(folder), "sources", "add", "--no-check", "--interval", "1",
                        server.url(spec)], env)
        base = f"http://127.0.0.1:{port}"
        people = [User(base, email, SEED + n) for n, email in enumerate(config.users)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(User.sign_in, people))
        samples: list[Sample] = []
        stop = threading.Event()
        threads = [threading.Thread(target=person.work, args=(samples, config.item_ids, stop), daemon=True)
                   for person in people]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(config.warmup)
        master = web_master(serve.log_path)  # type: ignore[attr-defined]
        items_before = count_rows(db, "SELECT count(*) FROM items")
        first = CpuSnapshot.take(serve.pid)
        bench_first = os.times()
        window_start = time.monotonic()
        time.sleep(config.seconds)
        window_end = time.monotonic()
        last = CpuSnapshot.take(serve.pid)
        bench_last = os.times()
        items_after = count_rows(db, "SELECT count(*) FROM items")
        stop.set()
        for thread in threads:
            thread.join(120)
        measured = [s for s in samples if s.started >= window_start and s.started + s.seconds <= window_end]
        errors = [s for s in samples if not s.ok and s.started >= started + config.warmup]
        cpu = cpu_between(first, last, serve.pid, master)
        web_ms = 1000 * cpu["cpu_s"].get("web", 0.0)
        result.update({
            "requests": len(measured),
            "requests_per_s": round(len(measured) / (window_end - window_start), 1),
            "all": percentiles([s.seconds for s in measured]),
            "by_kind": {kind: {"requests": len(chosen), **percentiles([s.seconds for s in chosen])}
                        for kind in EXPECTED for chosen in [[s for s in measured if s.kind == kind]]},
            "errors": len(errors),
            "error_kinds": dict(sorted({e: sum(1 for s in errors if s.error == e)
                                        for e in {s.error for s in errors}}.items())[:5]),
            "web_cpu_ms_per_request": round(web_ms / len(measured), 1) if measured else None,
            "kb_serve_cpu_ms_per_request": round(1000 * sum(cpu["cpu_s"].values()) / len(measured), 1)
            if measured else None,
            "cpu": cpu,
            "bench_client_cores": round((bench_last.user + bench_last.system - bench_first.user
                                         - bench_first.system) / (window_end - window_start), 2),
            "items_stored_in_window": items_after - items_before,
            "outbox_at_end": count_rows(db, "SELECT count(*) FROM index_outbox"),
            "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
        })
    finally:
        result["serve_exit"] = runner.stop(serve)
        result["serve_problems"] = log_problems(serve)
    return result


# --- the base ----------------------------------------------------------------------------------------------

def add_users(runner: Runner, base: Path, count: int) -> list[str]:
    emails = [f"coordinator{n:02d}@bench.example" for n in range(count)]
    env = kb_env()

    def add(email: str) -> None:
        import subprocess

        done = subprocess.run([KB, "--data-dir", str(base), "users", "add", email, "--role", "coordinator",
                               "--password-stdin"], input=PASSWORD + "\n", env=env, capture_output=True,
                              text=True, check=False)
        if done.returncode != 0 and "already" not in done.stderr:
            raise RuntimeError(done.stderr)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(add, emails))
    return emails


def print_report(report: dict[str, Any]) -> None:
    print(f"\nkb serve under load: {report['users']} signed-in users without pause, {report['items']} items "
          f"(real ingest), ingest running (live feeds: {report['live']}); {report['cores']} cores")
    print(f"window {report['seconds']} s after {report['warmup']} s warm-up; target: p95 < "
          f"{int(TARGET_P95_S * 1000)} ms and 0 errors\n")
    header = (f"{'workers':>7} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6} "
              f"{'web CPU-ms/req':>14} {'cores web':>9} {'cores kb serve':>14} {'machine':>7} "
              f"{'items in':>8}")
    print(header)
    for run in report["runs"]:
        if "all" not in run:
            print(f"{run.get('workers', '?'):>7} failed: {run.get('failed', '')[:200]}")
            continue
        cpu = run["cpu"]
        print(f"{run['workers']:>7} {run['requests_per_s']:>6} {run['all']['p50_ms']:>6} "
              f"{run['all']['p95_ms']:>6} {run['all']['p99_ms']:>6} {run['errors']:>6} "
              f"{run['web_cpu_ms_per_request']:>14} {cpu['cores_web']:>9} {cpu['cores_kb_serve']:>14} "
              f"{cpu['cores_machine']:>7} {run['items_stored_in_window']:>8}")
    for run in report["runs"]:
        if "all" not in run:
            continue
        print(f"\n--workers {run['workers']}: {run['requests']} requests; CPU s {run['cpu']['cpu_s']}; "
              f"per web worker {run['cpu']['web_workers_cpu_s']}; bench client {run['bench_client_cores']} "
              f"cores; outbox at end {run['outbox_at_end']}; errors {run['error_kinds'] or 'none'}")
        for kind, figures in run["by_kind"].items():
            print(f"    {kind:<7} {figures['requests']:>6} requests  p50 {figures['p50_ms']} ms  "
                  f"p95 {figures['p95_ms']} ms  p99 {figures['p99_ms']} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0, help="Measured window per configuration.")
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--workers", default="1,2", help="kb serve --workers values, in order (default 1,2).")
    parser.add_argument("--threads", type=int, help="kb serve --threads (default: KB_WEB_THREADS).")
    parser.add_argument("--live-feeds", type=int, default=10)
    parser.add_argument("--live-rate", type=float, default=10.0, help="Items/s the live feeds publish.")
    parser.add_argument("--reuse", type=Path,
                        help="Base folder: reused if it holds a base, else built there.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kb-load-bench-"))
    base = args.reuse or workdir / "base"
    manifest_path = base / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    items = manifest["items"] if manifest else args.items
    feeds = max(1, round(items / 200))
    specs = _feed_specs("base", feeds, 0, items, 0.5, SEED)
    live = LivePlan(args.live_feeds, args.live_rate)
    live_specs = [FeedSpec(f"/live/f{k}.xml", k % 8, full=k % 2 == 0, live=k) for k in range(live.feeds)]
    log(f"feed server ({'reusing' if manifest else 'building'} a base of {items} items in {feeds} feeds)")
    server = FeedServer(workdir, SEED, manifest["ports"] if manifest else [], [*specs, *live_specs],
                        [] if manifest else ["base"], live)
    runner = Runner(workdir)
    report: dict[str, Any] = {"started": datetime.now().isoformat(timespec="seconds"),
                              "cores": os.cpu_count(), "users": args.users, "seconds": args.seconds,
                              "warmup": args.warmup,
                              "live": f"{live.feeds} feeds, {live.rate} items/s", "argv": sys.argv,
                              "loadavg_start": Path("/proc/loadavg").read_text().split()[:3], "runs": []}
    try:
        if manifest is None:
            if base.exists() and any(base.iterdir()):
                raise SystemExit(f"{base} is not empty and holds no {MANIFEST}")
            base.mkdir(parents=True, exist_ok=True)
            log(f"building the base in {base}")
            build = build_base(runner, base, server, specs, items)
            users = add_users(runner, base, args.users)
            manifest = {"items": items, "ports": server.ports, "users": users, "build": build}
            manifest_path.write_text(json.dumps(manifest, indent=1, default=str))
        users = manifest["users"]
        if len(users) < args.users:
            users = add_users(runner, base, args.users)
            manifest["users"] = users
            manifest_path.write_text(json.dumps(manifest, indent=1, default=str))
        with sqlite3.connect(base / "kb.sqlite3") as probe:
            item_ids = [row[0] for row in probe.execute("SELECT id FROM items")]
        report["items"] = len(item_ids)
        config = Config(users[: args.users], args.seconds, args.warmup, args.threads, live_specs, item_ids)
        for workers in (int(w) for w in args.workers.split(",")):
            folder = workdir / f"workers-{workers}"
            copy_base(base, folder)
            log(f"kb serve --workers {workers}: {args.users} users for {args.warmup} + {args.seconds} s")
            try:
                run = measure(runner, folder, server, workers, config)
            except Exception as exc:  # noqa: BLE001 - report it and go on with the other configuration
                run = {"workers": workers, "failed": f"{type(exc).__name__}: {exc}"}
            report["runs"].append(run)
            log(f"--workers {workers}: p95 {run.get('all', {}).get('p95_ms')} ms, errors {run.get('errors')}")
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        runner.stop_all()
        server.stop()
    report["commands"] = runner.command_lines()
    report["finished"] = datetime.now().isoformat(timespec="seconds")
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()

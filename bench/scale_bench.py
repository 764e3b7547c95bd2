"""Search at scale (issue 13, "Figures to reach"): kb.search, /api/v1/search, SQLite FTS5 and tantivy on an
index built the way users build it, with words drawn from real frequencies in twelve languages.

Commands (the `bench` extra: `pip install -e '.[bench]'`, i.e. wordfreq and tantivy; --out keeps the kb
processes' logs and the feed server's request log, default a temporary folder):

    # build 100,000 items through kb sources add + kb ingest (8 passes), then measure (about 80 min of
    # building on a busy 2-core machine):
    .venv/bin/python bench/scale_bench.py --build 100000 --data ~/kb-bench/scale100k \\
        --out ~/kb-bench/out --json ~/kb-bench/out/scale100k.json
    # the same at 300,000 items (build only; measure later with --reuse):
    .venv/bin/python bench/scale_bench.py --build 300000 --opml --data ~/kb-bench/scale300k --no-measure \\
        --out ~/kb-bench/out
    # measure only, on a data folder built before (what to run on a quiet machine):
    .venv/bin/python bench/scale_bench.py --reuse --data ~/kb-bench/scale100k \\
        --out ~/kb-bench/out --json ~/kb-bench/out/scale100k-measure.json
    # both sizes measured, and how the figures grow between them (a folder not built yet is skipped):
    .venv/bin/python bench/scale_bench.py --sizes 100000,300000 --data-root ~/kb-bench --reuse \\
        --out ~/kb-bench/out --json ~/kb-bench/out/scale-sizes.json
    smoke test: .venv/bin/python bench/scale_bench.py --build 3000 --passes 4 --data /tmp/scale3k

1. Build (`--build N`, into an empty --data folder): a loopback feed server (bench/queue_bench.py's
   FeedServer, eight hosts on 127.0.0.2-9, ETags) serves N articles of bench/corpus.py's WordfreqCorpus
   (running words from the wordfreq package's frequency lists in en fr es de nl pt it ar sv pl tr id, mixed
   with the field's words and the taxonomy's terms) as RSS feeds of 200 articles each, half of them with
   whole articles in their descriptions and half with teasers; sources are summary-only (no pages
   fetched). `kb init`, one `kb sources add --no-check` per feed (or, with --opml, one
   `kb sources import-opml` of them all), then --passes runs of `kb ingest --all`
   as a cron job would run them: before each pass every feed publishes its next share of entries (a feed
   lists its newest 60), so the index is the one several ingest passes leave. Reported: ingest items/s per
   pass and overall, segments, index size on disk against the database's text (title + summary + text,
   bytes; target index <= 2x text).
2. Query mix: a fixed seeded mix of --queries (>= 200) queries: single words from each language's
   frequency ranks (frequent, common, rare), the field's words, two- and three-word AND queries, phrases
   cut from stored articles, concept queries ("welfare France", "aide sociale", "reconhecimento facial"),
   language, sector and date filters. Written to <data>/scale-queries.json.
3. Each engine runs the mix in a fresh process (cold: a new process opening the index, no warm-up; the
   OS page cache is whatever the machine left, not dropped), then once more in the same process (warm):
   kb.search (kb.search.service.search: facets and 20 highlighted hits); SQLite FTS5 on the same items
   (bench/search_bench.py's build_fts/run_fts: unicode61 remove_diacritics 2, bm25, snippet(), facet counts
   by GROUP BY over the matches); tantivy (index built from the same items, ASCII folding, top 20 with
   counts, facet counts by a terms aggregation, snippets). Median, p95, p99, ratios, and the resident
   memory (VmRSS, VmHWM from /proc) of each process after the mix; target kb.search median <= 40 ms,
   p95 <= 100 ms and <= FTS5's p95, memory <= 600 MB.
4. `/api/v1/search`: `kb serve --no-worker --workers 2` (gunicorn) on the data folder, a coordinator with a
   personal token (`kb users add`, `kb users token`), the same mix over HTTP one request at a time:
   median, p95, p99 (target p95 <= 150 ms) and the RSS of every process of kb serve after the mix.

The machine's load (share of both cores busy, from /proc/stat, and the load average) is recorded for every
phase: the machine is shared, so read the figures with it. Reports: printed, in <data>/scale-report.json,
and with --json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import NEWS_START, WORDFREQ_LANGUAGES, WordfreqCorpus  # noqa: E402
from bench.load_bench import web_master  # noqa: E402
from bench.queue_bench import (  # noqa: E402 - the task-queue bench's feeds, processes and readings
    KB,
    SEED,
    CpuWatch,
    FeedServer,
    FeedSpec,
    Runner,
    _feed_specs,
    _machine_busy,
    _proc_table,
    count_rows,
    kb_env,
    log,
    log_problems,
    segments,
    settle,
    wait_for_http,
)
from bench.search_bench import BenchQuery, build_fts, percentile, run_fts  # noqa: E402
from ingest.opml import OpmlOutline, build_opml  # noqa: E402
from tests.redisserver import free_port  # noqa: E402

PER_FEED = 200  # articles per feed over the whole build
WINDOW = 60  # entries a feed lists (its newest)
FULL_SHARE = 0.5  # feeds with whole articles in their descriptions
MANIFEST = "scale-bench.json"
REPORT = "scale-report.json"
QUERIES = "scale-queries.json"
FTS_FILE = "bench-fts5.sqlite3"
TANTIVY_DIR = "bench-tantivy"
ENGINES_VERSION = 2  # of the FTS5 and tantivy copies: a new version rebuilds them
EMAIL = "scale-bench@bench.example"
PASSWORD = "scale-bench-password-2026"
TARGETS = {"median_ms": 40, "p95_ms": 100, "api_p95_ms": 150, "rss_mb": 600, "index_to_text": 2.0}
CONCEPTS = (  # concept queries: taxonomy concepts named in several languages
    ("welfare France", None),
    ("welfare algorithm France", None),
    ("France", None),
    ("welfare", None),
    ("aide sociale", "fr"),
    ("Sozialleistungen", None),
    ("facial recognition", None),
    ("reconhecimento facial", None),
    ("Netherlands", None),
    ("Sverige", None),
    ("Nederland toeslagen", None),
    ("risk scoring", None),
    ("exam grading", None),
    ("discrimination algorithme", None),
    ("privacidad", "es"),
    ("Datenschutz Deutschland", None),
    ("triage hospital", None),
    ("biometric identity", None),
    ("prestazioni sociali", "it"),
    ("sağlık", None),
)


# --- machine load -------------------------------------------------------------------------------------------


class Load:
    """Share of the machine's CPU busy between start and stop (all processes), and the load average."""

    def __init__(self) -> None:
        self.first = _machine_busy()
        self.loadavg_start = Path("/proc/loadavg").read_text().split()[:3]

    def done(self) -> dict[str, Any]:
        busy, total = _machine_busy()
        span = max(1, total - self.first[1])
        return {
            "machine_busy_pct": round(100 * (busy - self.first[0]) / span),
            "cores": os.cpu_count(),
            "loadavg_start": self.loadavg_start,
            "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
        }


def memory(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB, and VmRSS split into RssAnon (the process's own memory)
    and RssFile (pages of mapped files, here mostly the index: shared with the page cache and with every
    other process mapping the same index, and given back under memory pressure)."""
    found = {}
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                found[key.lower() + "_mb"] = round(int(value.split()[0]) / 1024, 1)
    return found


def folder_bytes(path: Path) -> int:
    """Bytes of a folder's files, or of a SQLite file with its -wal and -shm."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return sum(f.stat().st_size for f in path.parent.glob(f"{path.name}*") if f.is_file())


def text_bytes(db: Path) -> int:
    return count_rows(
        db,
        "SELECT coalesce(sum(length(CAST(title AS BLOB)) + length(CAST(summary AS BLOB)) "
        "+ length(CAST(text AS BLOB))), 0) FROM items",
    )


def index_figures(data: Path) -> dict[str, Any]:
    sizes = segments(data) or []
    index, text = folder_bytes(data / "index"), text_bytes(data / "kb.sqlite3")
    return {
        "items": count_rows(data / "kb.sqlite3", "SELECT count(*) FROM items"),
        "segments": len(sizes),
        "largest_segment": max(sizes, default=0),
        "index_mb": round(index / 1e6, 1),
        "text_mb": round(text / 1e6, 1),
        "index_to_text": round(index / text, 2) if text else None,
        "db_mb": round(folder_bytes(data / "kb.sqlite3") / 1e6, 1),
    }


# --- 1. build through kb sources add + kb ingest ------------------------------------------------------------


def pass_specs(full: list[FeedSpec], passes: int, number: int) -> list[FeedSpec]:
    """What each feed lists before pass `number` (1-based): its first number/passes share, newest WINDOW."""
    listed = []
    for spec in full:
        published = round(spec.count * number / passes)
        shown = min(published, WINDOW)
        listed.append(replace(spec, first=spec.first + published - shown, count=shown))
    return listed


def build(data: Path, items: int, passes: int, out: Path, opml: bool = False) -> dict[str, Any]:
    if data.exists() and any(data.iterdir()):
        raise SystemExit(f"{data} is not empty: give an empty --data folder to --build, or --reuse it")
    data.mkdir(parents=True, exist_ok=True)
    runner = Runner(out)
    env = kb_env()
    feeds = max(1, round(items / PER_FEED))
    full = _feed_specs("scale", feeds, 0, items, FULL_SHARE, SEED)
    result: dict[str, Any] = {
        "items_planned": items,
        "feeds": feeds,
        "passes": [],
        "window": WINDOW,
        "full_share": FULL_SHARE,
        "seed": SEED,
    }
    load = Load()
    started = time.monotonic()
    runner.run([KB, "--data-dir", str(data), "init"], env)
    ports: list[int] = []
    db = data / "kb.sqlite3"
    for number in range(1, passes + 1):
        server = FeedServer(out, SEED, ports, pass_specs(full, passes, number), [], None, WordfreqCorpus)
        ports = server.ports
        try:
            if number == 1:
                adding = time.monotonic()
                if opml:  # one process for all the feeds, as a lab moving from a feed reader would
                    listing = out / "feeds.opml"
                    listing.write_bytes(build_opml([OpmlOutline(url=server.url(spec), title="", html_url="",
                                                                category="") for spec in full], "bench"))
                    runner.run([KB, "--data-dir", str(data), "sources", "import-opml", str(listing)], env)
                else:
                    argvs = [
                        [KB, "--data-dir", str(data), "sources", "add", "--no-check", server.url(spec)]
                        for spec in full
                    ]
                    with ThreadPoolExecutor(2) as pool:  # two at a time: each is a process start
                        list(pool.map(lambda argv: runner.run(argv, env), argvs))
                result["sources_add_s"] = round(time.monotonic() - adding, 1)
                log(f"{feeds} sources added in {result['sources_add_s']} s")
            before = count_rows(db, "SELECT count(*) FROM items")
            pass_load = Load()
            t0 = time.monotonic()
            process = runner.start([KB, "--data-dir", str(data), "ingest", "--all"], env, f"ingest-{number}")
            with CpuWatch(
                {
                    "kb ingest": process.pid,
                    "bench (this script)": os.getpid(),
                    "feed server": server.process.pid or 0,
                }
            ) as cpu:
                process.wait()
            seconds = time.monotonic() - t0
        finally:
            server.stop()
        after = count_rows(db, "SELECT count(*) FROM items")
        output = Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]
        summary = [line for line in output.splitlines() if line.startswith("Sources:")]
        sizes = segments(data) or []
        figures: dict[str, Any] = {
            "pass": number,
            "new_items": after - before,
            "seconds": round(seconds, 1),
            "items_per_s": round((after - before) / seconds, 1),
            "exit": process.returncode,
            "summary": summary[-1] if summary else output[-300:],
            "segments_after": len(sizes),
            "problems": log_problems(process),
            "cpu": cpu.report(),
            "load": pass_load.done(),
        }
        result["passes"].append(figures)
        log(
            f"pass {number}/{passes}: {after - before} new items in {seconds:.0f} s "
            f"({figures['items_per_s']}/s), {len(sizes)} segments, machine busy "
            f"{figures['load']['machine_busy_pct']}%"
        )
    ingest_s = sum(p["seconds"] for p in result["passes"])
    result.update(index_figures(data))
    result["ingest_s"] = round(ingest_s, 1)
    result["items_per_s"] = round(result["items"] / ingest_s, 1)
    result["build_s"] = round(time.monotonic() - started, 1)
    result["load"] = load.done()
    result["commands"] = runner.command_lines()
    (data / MANIFEST).write_text(
        json.dumps({"items": result["items"], "ports": ports, "build": result}, indent=1, default=str)
    )
    return result


# --- 2. the query mix ---------------------------------------------------------------------------------------


def query_json(q: BenchQuery) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(q).items()}


def query_from_json(data: dict[str, Any]) -> BenchQuery:
    values = dict(data, words=tuple(data["words"]))
    for key in ("date_from", "date_to"):
        if values.get(key):
            values[key] = date.fromisoformat(values[key])
    return BenchQuery(**values)


def make_queries(corpus: WordfreqCorpus, size: int, count: int, seed: int = SEED) -> list[BenchQuery]:
    """The fixed mix (see the module's docstring); the same for a given corpus, size, count and seed."""
    rng = random.Random(seed + 13)
    langs, weights = list(WORDFREQ_LANGUAGES), list(WORDFREQ_LANGUAGES.values())
    sectors = ("sector/welfare", "sector/education", "sector/health")

    def lang() -> str:
        return rng.choices(langs, weights=weights)[0]

    def domain(code: str) -> str:
        return rng.choice([w for w in corpus.domain[code] if re.fullmatch(r"\w+", w)]).lower()

    def ranked(code: str, low: int, high: int) -> str:
        return corpus.rank(code, low, high, rng)

    share = {
        "frequent word": 0.10,
        "common word": 0.10,
        "rare word": 0.12,
        "field word": 0.07,
        "two words": 0.12,
        "three words": 0.09,
        "phrase": 0.12,
        "concept": 0.09,
        "language filter": 0.07,
        "sector filter": 0.06,
        "date range": 0.06,
    }
    queries: list[BenchQuery] = []
    for kind, fraction in share.items():
        for n in range(max(1, round(count * fraction))):
            code = lang()
            if kind == "frequent word":
                queries.append(BenchQuery(kind, (ranked(code, 20, 300),)))
            elif kind == "common word":
                queries.append(BenchQuery(kind, (ranked(code, 300, 3_000),)))
            elif kind == "rare word":
                queries.append(BenchQuery(kind, (ranked(code, 3_000, 45_000),)))
            elif kind == "field word":
                queries.append(BenchQuery(kind, (domain(code),)))
            elif kind == "two words":
                queries.append(BenchQuery(kind, (domain(code), ranked(code, 100, 2_000))))
            elif kind == "three words":
                queries.append(
                    BenchQuery(kind, (domain(code), ranked(code, 50, 500), ranked(code, 50, 1_000)))
                )
            elif kind == "phrase":
                article = corpus.article(rng.randrange(size))
                words = re.findall(r"\w+", " ".join(article.body).lower())
                start = rng.randrange(max(1, len(words) - 3))
                queries.append(
                    BenchQuery(kind, tuple(words[start : start + rng.choice((2, 3))]), phrase=True)
                )
            elif kind == "concept":
                text, language = CONCEPTS[n % len(CONCEPTS)]
                queries.append(BenchQuery(kind, tuple(text.split()), language=language))
            elif kind == "language filter":
                queries.append(BenchQuery(kind, (domain(code),), language=code))
            elif kind == "sector filter":
                queries.append(BenchQuery(kind, (domain(code),), sector=rng.choice(sectors)))
            else:
                day = (NEWS_START - timedelta(days=rng.randrange(30, 365))).date()
                queries.append(
                    BenchQuery(kind, (domain(code),), date_from=day, date_to=day + timedelta(days=59))
                )
    return queries


def write_queries(data: Path, count: int) -> Path:
    size = count_rows(data / "kb.sqlite3", "SELECT count(*) FROM items")
    manifest = json.loads((data / MANIFEST).read_text()) if (data / MANIFEST).exists() else {}
    queries = make_queries(WordfreqCorpus(SEED), int(manifest.get("items", size)), count)
    path = data / QUERIES
    path.write_text(json.dumps([query_json(q) for q in queries], ensure_ascii=False, indent=0))
    return path


# --- 3. the engines, each in a fresh process ----------------------------------------------------------------


def run_kb(data: Path, queries: list[BenchQuery]) -> dict[str, Any]:
    from kb.knowledge import open_kb
    from kb.search import service as kb_search
    from kb.settings import load_settings

    started = time.perf_counter()
    kb = open_kb(load_settings(data), rebuild_index=False)
    opened = time.perf_counter() - started
    passes = []
    for _ in range(2):  # cold (the first searches of this process), then warm
        latencies, totals = [], []
        for q in queries:
            t0 = time.perf_counter()
            results = kb_search.search(kb, q.text, q.filters, page_size=20)
            latencies.append(time.perf_counter() - t0)
            totals.append(results.total)
        passes.append((latencies, totals))
    kb.close()
    return {"open_s": round(opened, 3), "cold": passes[0][0], "warm": passes[1][0], "totals": passes[0][1]}


def run_fts5(data: Path, queries: list[BenchQuery]) -> dict[str, Any]:
    path = data / FTS_FILE
    cold, _ = run_fts(path, queries)
    warm, empty = run_fts(path, queries)
    return {"cold": cold, "warm": warm, "empty": empty}


def _tantivy_index(path: Path) -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", stored=True, tokenizer_name="folded")
    builder.add_text_field("text", stored=True, tokenizer_name="folded")
    for name in ("language", "topic", "source", "status", "month"):
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    builder.add_date_field("published", indexed=True, fast=True)
    index = tantivy.Index(builder.build(), path=str(path))
    # The same folding as kb (and FTS5's remove_diacritics): lower case, accents removed.
    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )
    index.register_tokenizer("folded", analyzer)
    return index


def build_engines(data: Path) -> dict[str, Any]:
    """FTS5 and tantivy copies of the stored items (rebuilt when the item count changed)."""
    import tantivy

    from kb import items as items_store
    from kb.knowledge import open_kb
    from kb.settings import load_settings

    items = count_rows(data / "kb.sqlite3", "SELECT count(*) FROM items")
    stamp = data / "bench-engines.json"
    known = json.loads(stamp.read_text()) if stamp.exists() else {}
    fresh = known.get("items") == items and known.get("version") == ENGINES_VERSION
    if fresh and (data / FTS_FILE).exists() and (data / TANTIVY_DIR).exists():
        return known
    kb = open_kb(load_settings(data), rebuild_index=False)
    try:
        (data / FTS_FILE).unlink(missing_ok=True)
        log("building the FTS5 copy")
        fts_s = build_fts(kb, data / FTS_FILE)
        log("building the tantivy index")
        shutil.rmtree(data / TANTIVY_DIR, ignore_errors=True)
        (data / TANTIVY_DIR).mkdir()
        started = time.perf_counter()
        index = _tantivy_index(data / TANTIVY_DIR)
        writer = index.writer(heap_size=300_000_000, num_threads=1)
        for item in items_store.iter_items(kb.db):
            published = datetime.fromisoformat(item.published) if item.published else None
            fields: dict[str, Any] = {
                "id": item.id,
                "title": item.title,
                "text": item.text,
                "language": item.language,
                "status": item.status,
                "month": (item.published or "")[:7] or "none",
                "topic": list(item.topics) or ["none"],
                "source": [str(s.source_id) for s in item.sources] or ["none"],
            }
            if published:
                fields["published"] = published if published.tzinfo else published.replace(tzinfo=UTC)
            writer.add_document(tantivy.Document(**fields))
        writer.commit()
        writer.wait_merging_threads()
        tantivy_s = time.perf_counter() - started
    finally:
        kb.close()
    known = {
        "items": items,
        "version": ENGINES_VERSION,
        "fts_build_s": round(fts_s, 1),
        "fts_mb": round(folder_bytes(data / FTS_FILE) / 1e6, 1),
        "tantivy_build_s": round(tantivy_s, 1),
        "tantivy_mb": round(folder_bytes(data / TANTIVY_DIR) / 1e6, 1),
    }
    stamp.write_text(json.dumps(known))
    return known


def run_tantivy(data: Path, queries: list[BenchQuery]) -> dict[str, Any]:
    import tantivy

    started = time.perf_counter()
    index = _tantivy_index(data / TANTIVY_DIR)
    searcher = index.searcher()
    schema = index.schema
    opened = time.perf_counter() - started
    facets = {
        name: {"terms": {"field": name, "size": 100}} for name in ("language", "topic", "source", "month")
    }

    def query_of(q: BenchQuery) -> Any:
        words = [re.sub(r"\W+", " ", w).strip() for w in q.words]
        text = " ".join(w for w in words if w)
        parsed = index.parse_query(
            f'"{text}"' if q.phrase else text, ["title", "text"], conjunction_by_default=True
        )
        parts = [(tantivy.Occur.Must, parsed)]
        if q.language:
            parts.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "language", q.language)))
        if q.sector:
            parts.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "topic", q.sector)))
        if q.date_from and q.date_to:
            low = datetime.combine(q.date_from, datetime.min.time(), UTC)
            high = datetime.combine(q.date_to + timedelta(days=1), datetime.min.time(), UTC)
            parts.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        schema, "published", tantivy.FieldType.Date, low, high, include_upper=False
                    ),
                )
            )
        return tantivy.Query.boolean_query(parts)

    passes = []
    for _ in range(2):
        latencies, totals = [], []
        for q in queries:
            t0 = time.perf_counter()
            query = query_of(q)
            found = searcher.search(query, limit=20, count=True)
            searcher.aggregate(query, facets)
            snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "text")
            for _score, address in found.hits:
                doc = searcher.doc(address)
                doc.get_first("title")
                snippets.snippet_from_doc(doc).to_html()
            latencies.append(time.perf_counter() - t0)
            totals.append(found.count)
        passes.append((latencies, totals))
    return {"open_s": round(opened, 3), "cold": passes[0][0], "warm": passes[1][0], "totals": passes[0][1]}


ENGINES = {"kb.search": run_kb, "fts5": run_fts5, "tantivy": run_tantivy}


def engine_process(engine: str, data: Path) -> None:
    """In a fresh process (--engine): run the mix, print the figures as JSON on the last line."""
    queries = [query_from_json(q) for q in json.loads((data / QUERIES).read_text())]
    result = ENGINES[engine](data, queries)
    result["memory"] = memory()
    print(json.dumps(result))


def run_engine(engine: str, data: Path) -> dict[str, Any]:
    load = Load()
    done = subprocess.run(
        [sys.executable, __file__, "--engine", engine, "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{engine} exited {done.returncode}:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = load.done()
    return result


# --- 4. /api/v1/search under kb serve -----------------------------------------------------------------------


def api_params(q: BenchQuery) -> dict[str, str]:
    params = {"q": q.text, "page_size": "20"}
    if q.language:
        params["language"] = q.language
    if q.sector:
        params["sector"] = q.sector
    if q.date_from and q.date_to:
        params["from"], params["to"] = q.date_from.isoformat(), q.date_to.isoformat()
    return params


def serve_tree(root: int) -> list[int]:
    table = _proc_table()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            found.append(pid)
            todo.extend(p for p, row in table.items() if row[0] == pid)
    return found


def measure_api(data: Path, out: Path, queries: list[BenchQuery], workers: int) -> dict[str, Any]:
    runner = Runner(out)
    env = kb_env()
    done = subprocess.run(
        [KB, "--data-dir", str(data), "users", "add", EMAIL, "--role", "coordinator", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 and "already" not in done.stderr:
        raise RuntimeError(done.stderr)
    token = runner.run(
        [KB, "--data-dir", str(data), "users", "token", EMAIL, "--name", "scale-bench"], env
    ).stdout.strip()
    port = free_port()
    serve = runner.start(
        [KB, "--data-dir", str(data), "serve", "--no-worker", "--port", str(port), "--workers", str(workers)],
        env,
        "serve",
    )
    result: dict[str, Any] = {"command": f"kb serve --no-worker --workers {workers}"}
    try:
        wait_for_http(port, serve)
        settle(data / "kb.sqlite3", timeout=120)
        load = Load()
        latencies, errors = [], 0
        for q in queries:
            url = f"http://127.0.0.1:{port}/api/v1/search?{urllib.parse.urlencode(api_params(q))}"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    json.loads(response.read())
            except Exception:  # noqa: BLE001 - counted; the mix goes on
                errors += 1
            latencies.append(time.perf_counter() - t0)
        result.update({"latencies": latencies, "errors": errors, "load": load.done()})
        master = web_master(serve.log_path)  # type: ignore[attr-defined]
        result["processes"] = [
            {
                "pid": pid,
                "role": "kb serve (writer)"
                if pid == serve.pid
                else "gunicorn master"
                if pid == master
                else "web worker"
                if pid in serve_tree(master or -1)
                else "other child",
                "cmd": Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80],
                **memory(pid),
            }
            for pid in serve_tree(serve.pid)
        ]
    finally:
        result["exit"] = runner.stop(serve)
        result["problems"] = log_problems(serve)
    return result


# --- one data folder: measure -------------------------------------------------------------------------------


def lat(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(1000 * statistics.median(values), 1),
        "p95_ms": round(1000 * percentile(values, 0.95), 1),
        "p99_ms": round(1000 * percentile(values, 0.99), 1),
    }


def measure(data: Path, out: Path, query_count: int, workers: int, skip_api: bool) -> dict[str, Any]:
    report: dict[str, Any] = {"data": str(data), "started": datetime.now(UTC).isoformat(timespec="seconds")}
    manifest = json.loads((data / MANIFEST).read_text()) if (data / MANIFEST).exists() else {}
    report["build"] = {k: v for k, v in manifest.get("build", {}).items() if k != "commands"}
    report["index"] = index_figures(data)
    log(f"{data}: {report['index']['items']} items, {report['index']['segments']} segments; writing the mix")
    path = write_queries(data, query_count)
    queries = [query_from_json(q) for q in json.loads(path.read_text())]
    report["queries"] = len(queries)
    report["engines_built"] = build_engines(data)
    report["engines"] = {}
    for engine in ENGINES:
        log(f"{engine}: the mix in a fresh process")
        raw = run_engine(engine, data)
        figures: dict[str, Any] = {
            "cold": lat(raw["cold"]),
            "warm": lat(raw["warm"]),
            "memory": raw["memory"],
            "load": raw["load"],
            "open_s": raw.get("open_s"),
        }
        if "totals" in raw:
            figures["empty"] = sum(1 for t in raw["totals"] if t == 0)
        else:
            figures["empty"] = raw.get("empty")
        figures["by_kind"] = {
            kind: round(
                1000
                * statistics.median([t for q, t in zip(queries, raw["cold"], strict=True) if q.kind == kind]),
                1,
            )
            for kind in dict.fromkeys(q.kind for q in queries)
        }
        report["engines"][engine] = figures
        report.setdefault("raw", {})[engine] = raw["cold"]
    report["index_after"] = index_figures(data)
    if not skip_api:
        log("/api/v1/search under kb serve")
        api = measure_api(data, out, queries, workers)
        report["api"] = {
            **(lat(api["latencies"]) if api.get("latencies") else {}),
            **{k: v for k, v in api.items() if k != "latencies"},
        }
        report["index_after_api"] = index_figures(data)  # kb serve may have merged segments
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def summarise(report: dict[str, Any]) -> list[str]:
    index, engines = report["index"], report["engines"]
    lines = [f"## {index['items']:,} items ({report['data']})", ""]
    build_figures = report.get("build") or {}
    if build_figures.get("passes"):
        rates = ", ".join(f"{p['items_per_s']}" for p in build_figures["passes"])
        lines.append(
            f"ingest: {build_figures['items_per_s']} items/s over {len(build_figures['passes'])} passes "
            f"of kb ingest --all ({rates} items/s per pass), {build_figures['feeds']} feeds; machine busy "
            f"{build_figures['load']['machine_busy_pct']}% during the build"
        )
    lines.append(
        f"index: {index['segments']} segments, {index['index_mb']} MB on disk; text {index['text_mb']} MB "
        f"-> index/text {index['index_to_text']}x (target <= {TARGETS['index_to_text']}x); "
        f"database {index['db_mb']} MB"
    )
    built = report["engines_built"]
    lines.append(
        f"FTS5 copy {built['fts_mb']} MB (built in {built['fts_build_s']} s); "
        f"tantivy {built['tantivy_mb']} MB "
        f"({built['tantivy_build_s']} s)"
    )
    lines += [
        "",
        f"{report['queries']} queries, each engine in a fresh process (cold), then again (warm):",
        "",
        "| engine | cold median / p95 / p99 ms | warm median / p95 ms | empty | VmRSS / VmHWM MB "
        "| RssAnon / RssFile MB | machine busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, e in engines.items():
        c, w, m = e["cold"], e["warm"], e["memory"]
        lines.append(
            f"| {name} | {c['median_ms']} / {c['p95_ms']} / {c['p99_ms']} | {w['median_ms']} / "
            f"{w['p95_ms']} | {e['empty']} | {m.get('vmrss_mb')} / {m.get('vmhwm_mb')} | "
            f"{m.get('rssanon_mb')} / {m.get('rssfile_mb')} | {e['load']['machine_busy_pct']}% |"
        )
    kb_cold = engines["kb.search"]["cold"]
    for peer in ("fts5", "tantivy"):
        p = engines[peer]["cold"]
        lines.append(
            f"kb.search / {peer}: median {kb_cold['median_ms'] / max(p['median_ms'], 0.01):.1f}x, "
            f"p95 {kb_cold['p95_ms'] / max(p['p95_ms'], 0.01):.1f}x"
        )
    lines.append(
        f"targets: kb.search median <= {TARGETS['median_ms']} ms, p95 <= {TARGETS['p95_ms']} ms and <= "
        f"FTS5's p95 ({engines['fts5']['cold']['p95_ms']} ms), RSS <= {TARGETS['rss_mb']} MB"
    )
    lines += ["", "| query kind | " + " | ".join(engines) + " |", "|---|" + "---|" * len(engines)]
    for kind in engines["kb.search"]["by_kind"]:
        lines.append(f"| {kind} | " + " | ".join(str(e["by_kind"][kind]) for e in engines.values()) + " |")
    api = report.get("api")
    if api and "median_ms" in api:
        lines += [
            "",
            f"/api/v1/search ({api['command']}): median {api['median_ms']} ms, p95 {api['p95_ms']} ms "
            f"(target <= {TARGETS['api_p95_ms']}), p99 {api['p99_ms']} ms, errors {api['errors']}, "
            f"machine busy {api['load']['machine_busy_pct']}%",
        ]
        for proc in api.get("processes", []):
            lines.append(
                f"    {proc['role']:<18} pid {proc['pid']:>7}  VmRSS {proc.get('vmrss_mb')} MB  "
                f"VmHWM {proc.get('vmhwm_mb')} MB  RssAnon {proc.get('rssanon_mb')} MB  "
                f"RssFile {proc.get('rssfile_mb')} MB"
            )
    elif api:
        lines.append(f"/api/v1/search: failed {api}")
    return lines


def growth(reports: list[dict[str, Any]]) -> list[str]:
    """How the figures grow from the first size to each next one."""
    lines = ["", "## growth", ""]
    first = reports[0]

    def figures(r: dict[str, Any]) -> dict[str, float | None]:
        e = r["engines"]
        found: dict[str, float | None] = {
            "items": r["index"]["items"],
            "segments": r["index"]["segments"],
            "index MB": r["index"]["index_mb"],
            "index/text": r["index"]["index_to_text"],
            "ingest items/s": (r.get("build") or {}).get("items_per_s"),
        }
        for name in e:
            found[f"{name} median ms"] = e[name]["cold"]["median_ms"]
            found[f"{name} p95 ms"] = e[name]["cold"]["p95_ms"]
            found[f"{name} VmHWM MB"] = e[name]["memory"].get("vmhwm_mb")
        if r.get("api", {}).get("p95_ms") is not None:
            found["api p95 ms"] = r["api"]["p95_ms"]
            found["api max worker RSS MB"] = max((p.get("vmrss_mb") or 0) for p in r["api"]["processes"])
        return found

    base = figures(first)
    for other in reports[1:]:
        now = figures(other)
        lines += ["| figure | " + f"{base['items']:,} | {now['items']:,} | ratio |", "|---|---|---|---|"]
        for key, value in base.items():
            later = now.get(key)
            ratio = f"{later / value:.2f}x" if value and later is not None else "-"
            lines.append(f"| {key} | {value} | {later} | {ratio} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="The data folder (one size).")
    parser.add_argument("--build", type=int, help="Build this many items into --data (an empty folder).")
    parser.add_argument("--reuse", action="store_true", help="Measure data folders built before.")
    parser.add_argument(
        "--sizes", help="Several sizes, in --data-root/scale<k>k folders (e.g. 100000,300000)."
    )
    parser.add_argument("--data-root", type=Path, default=Path.home() / "kb-bench")
    parser.add_argument("--passes", type=int, default=8, help="kb ingest passes in a build (default 8).")
    parser.add_argument("--opml", action="store_true",
                        help="Add the feeds with one `kb sources import-opml`, not a `kb sources add` each.")
    parser.add_argument("--queries", type=int, default=215, help="Queries in the mix (at least 200).")
    parser.add_argument("--workers", type=int, default=2, help="kb serve --workers for the API measure.")
    parser.add_argument("--no-measure", action="store_true", help="Build only.")
    parser.add_argument("--no-api", action="store_true", help="Skip the /api/v1/search measure.")
    parser.add_argument("--json", type=Path, help="Also write the reports here.")
    parser.add_argument(
        "--out", type=Path, help="Where the kb processes' logs go (default: a temporary folder)."
    )
    parser.add_argument("--engine", choices=list(ENGINES), help=argparse.SUPPRESS)  # a fresh engine process
    args = parser.parse_args()
    if args.engine:
        engine_process(args.engine, args.data)
        return
    if args.sizes:
        folders = [(args.data_root / f"scale{int(s) // 1000}k", int(s)) for s in args.sizes.split(",")]
    elif args.data:
        folders = [(args.data, args.build or 0)]
    else:
        parser.error("give --data DIR (with --build N or --reuse) or --sizes")
    if not args.reuse and not all(size for _, size in folders):
        parser.error("--build N (or --sizes) to build, or --reuse to measure a folder built before")
    reports = []
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    for data, size in folders:
        out = Path(tempfile.mkdtemp(prefix=f"kb-scale-{data.name}-", dir=args.out))
        report: dict[str, Any] = {}
        if not args.reuse:
            log(f"building {size} items in {data} (logs in {out})")
            report["build"] = build(data, size, args.passes, out, opml=args.opml)
        elif not (data / MANIFEST).exists():
            if len(folders) == 1:
                raise SystemExit(f"{data} holds no {MANIFEST}: build it first with --build")
            log(f"{data} holds no {MANIFEST} (not built, or its build still runs): skipped")
            continue
        if not args.no_measure:
            report = measure(data, out, args.queries, args.workers, args.no_api)
            (data / REPORT).write_text(json.dumps(report, indent=1, default=str))
            print("\n".join(summarise(report)), flush=True)
        else:
            print(
                json.dumps(
                    {k: v for k, v in report["build"].items() if k != "commands"}, indent=1, default=str
                ),
                flush=True,
            )
        reports.append(report)
    if len(reports) > 1 and not args.no_measure:
        print("\n".join(growth(reports)), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(reports, indent=1, default=str))


if __name__ == "__main__":
    main()

"""Search benchmark: kb.search (Whoosh) against SQLite FTS5 on the same seeded multilingual corpus.

    .venv/bin/python bench/search_bench.py --sizes 10000,100000 [--queries 210] [--keep DIR]

For each size it generates the corpus (seeded: the same items every run), stores it through kb.items,
and measures:
- bulk indexing (SearchIndex.rebuild) in items per second, and the index size on disk;
- batched ingest through the outbox: batches of 100 items stored then synced, items per second, the
  longest single commit, and the time from committing a batch until a search finds it, with the
  background merger running as `kb serve` and `kb worker` run it;
- query latency (median, p95) of kb.search over a fixed mix of queries, each with facets and 20
  highlighted hits; then the same queries on SQLite FTS5 (unicode61 remove_diacritics 2, bm25,
  snippet(), facet counts with GROUP BY over the matches), reported as ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb import items as items_store  # noqa: E402
from kb import sources as sources_store  # noqa: E402
from kb.items import ItemDraft  # noqa: E402
from kb.knowledge import KnowledgeBase, open_kb  # noqa: E402
from kb.search import service as kb_search  # noqa: E402
from kb.settings import load_settings  # noqa: E402
from kb.storage.db import transaction  # noqa: E402
from kb.text.normalize import tokenize  # noqa: E402
from kb.text.tagging import TopicEvidence  # noqa: E402

SEED = 20_240_601
START = datetime(2024, 11, 1, tzinfo=UTC)
DAYS = 730
BATCH = 100

# Per-language vocabularies: the field's own words (frequent), everyday words, and function words.
DOMAIN = {
    "en": "algorithm algorithms automated decision welfare benefits fraud detection risk scoring school exam "
          "hospital health patients discrimination discriminated audit court ruling transparency appeal "
          "government agency system systems data privacy surveillance profiling children families housing "
          "unemployment predictive model models accountability citizens rights vendor contract ministry",
    "fr": "algorithme algorithmes automatisé décision aides sociales fraude détection risque notation école "
          "examen hôpital santé patients discrimination audit tribunal décision transparence recours "
          "gouvernement administration système données vie privée surveillance profilage enfants familles "
          "logement chômage prédictif modèle responsabilité citoyens droits prestataire contrat ministère",
    "es": "algoritmo algoritmos automatizado decisión prestaciones sociales fraude detección riesgo "
          "puntuación escuela examen hospital salud pacientes discriminación auditoría tribunal sentencia "
          "transparencia recurso gobierno agencia sistema datos privacidad vigilancia perfilado niños "
          "familias vivienda desempleo predictivo modelo protección ciudadanos derechos proveedor contrato "
          "ministerio",
    "de": "Algorithmus Algorithmen automatisiert Entscheidung Sozialleistungen Betrug Erkennung Risiko "
          "Bewertung Schule Prüfung Krankenhaus Gesundheit Patienten Diskriminierung Prüfbericht Gericht "
          "Urteil Höchstgericht Transparenz Beschwerde Regierung Behörde System Daten Datenschutz "
          "Überwachung Profilerstellung Kinder Familien Wohnung Arbeitslosigkeit Modell Bürger Rechte",
    "nl": "algoritme algoritmes geautomatiseerd besluit uitkeringen fraude opsporing risico score school "
          "examen ziekenhuis gezondheid patiënten discriminatie audit rechter uitspraak transparantie "
          "bezwaar overheid toeslagen systeem gegevens privacy toezicht profilering kinderen gezinnen "
          "huisvesting werkloosheid voorspellend model burgers rechten leverancier contract ministerie",
    "pt": "algoritmo algoritmos automatizado decisão benefícios sociais fraude detecção risco pontuação "
          "escola exame hospital saúde pacientes discriminação auditoria tribunal decisões transparência "
          "recurso governo agência sistema dados privacidade vigilância perfilamento crianças famílias "
          "habitação desemprego preditivo modelo proteção cidadãos direitos fornecedor contrato ministério",
    "it": "algoritmo algoritmi automatizzato decisione prestazioni sociali frode rilevamento rischio "
          "punteggio scuola esame ospedale salute pazienti discriminazione verifica tribunale sentenza "
          "trasparenza ricorso governo agenzia sistema dati riservatezza sorveglianza profilazione bambini "
          "famiglie alloggio disoccupazione predittivo modello cittadini diritti fornitore contratto",
    "ar": "خوارزمية الخوارزميات آلي قرار الإعانات الاجتماعية احتيال كشف مخاطر تقييم مدرسة امتحان مستشفى "
          "الصحة المرضى التمييز تدقيق المحكمة حكم الشفافية طعن الحكومة وكالة نظام البيانات الخصوصية "
          "المراقبة التنميط الأطفال الأسر السكن البطالة تنبؤي نموذج المواطنين الحقوق المورد عقد الوزارة",
}
COMMON = {
    "en": "the of and to in a is that for on with as by was it be are this from at has have not but which "
          "people year new said would will can after more also report public city new week local state",
    "fr": "le la les de des du et en un une est que pour dans sur par au aux avec ce qui pas plus a été "
          "selon ans nouvelle ville semaine public rapport personnes également après",
    "es": "el la los las de del y en un una es que por para con se su al como más pero sus fue ha "
          "según años nueva ciudad semana público informe personas también después",
    "de": "der die das und in den von zu mit ist des sich auf für im dem nicht ein eine als auch es an "
          "nach Jahr neue Stadt Woche öffentlich Bericht Menschen sagte wurde",
    "nl": "de het een en van in is dat op te met voor zijn niet aan er om ook als bij door maar naar "
          "jaar nieuwe stad week openbaar rapport mensen zei werd",
    "pt": "o a os as de do da e em um uma que para com por não mais se foi ao como mas dos das "
          "segundo anos nova cidade semana público relatório pessoas também depois",
    "it": "il la i le di del della e in un una che per con non più si è al come ma dei delle "
          "secondo anni nuova città settimana pubblico rapporto persone anche dopo",
    "ar": "في من على إلى أن عن مع هذا التي الذي كان قد لا ما هذه بين كما بعد عام جديدة المدينة الأسبوع",
}
LANGUAGE_SHARE = {"en": 40, "fr": 15, "es": 12, "de": 10, "nl": 8, "pt": 6, "it": 5, "ar": 4}
SECTORS = ("sector/welfare", "sector/education", "sector/health")
SYSTEMS = ("system/risk-scoring", "system/fraud-detection", "system/facial-recognition",
           "system/automated-decision", "system/chatbot", "system/predictive-analytics")
RIGHTS = ("right/privacy", "right/non-discrimination", "right/social-security", "right/education",
          "right/health", "right/fair-trial", "right/due-process")
COUNTRIES = tuple(f"country/{c}" for c in (
    "nl", "fr", "es", "de", "gb", "us", "it", "pt", "br", "ar", "mx", "co", "cl", "in", "au", "ca", "dk",
    "se", "pl", "at", "be", "ie", "za", "ke", "ng", "eg", "ma", "jo", "ph", "id"))
TAIL_WORDS = 6_000  # invented words per language, for a realistic long tail of rare terms
SYLLABLES = {
    "en": "ba be bi bo ter ing ment tion con pro ver der ly er al ous ive ate ist",
    "fr": "la re de ment tion eur eux ais ier ette on ons oi ou an en in que ble",
    "es": "ca de la ción mente dad ero era ado ida ito ita os as en es que gra",
    "de": "ge ver be ung keit heit lich ig er en sch st ach ein aus ter zu",
    "nl": "ge ver be ing heid lijk ig er en sch ij oe aa ee uit te re",
    "pt": "ca de ção mente dade eiro eira ado ida inho os as em es que ão",
    "it": "ca de zione mente tà ero era ato ita ino os as in es che gli",
    "ar": "ال مح سا ري تا كو لي نا فع مت قد ور بو",
}


@dataclass
class Corpus:
    """A seeded generator of items; the same seed gives the same items."""

    seed: int = SEED
    vocab: dict[str, list[str]] = field(default_factory=dict)
    weights: dict[str, list[float]] = field(default_factory=dict)
    source_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        for lang in LANGUAGE_SHARE:
            common = COMMON[lang].split()
            domain = DOMAIN[lang].split()
            syllables = SYLLABLES[lang].split()
            tail: set[str] = set()
            while len(tail) < TAIL_WORDS:
                tail.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
            words = common + domain + sorted(tail)
            self.vocab[lang] = words
            cumulative, total = [], 0.0
            for rank in range(len(words)):
                total += 1.0 / (rank + 1) ** 1.02
                cumulative.append(total)
            self.weights[lang] = cumulative

    def words(self, rng: random.Random, lang: str, count: int) -> list[str]:
        return rng.choices(self.vocab[lang], cum_weights=self.weights[lang], k=count)

    def item(self, number: int) -> tuple[ItemDraft, int]:
        """The draft of item `number` and the index of its source."""
        rng = random.Random(self.seed * 1_000_003 + number)
        lang = rng.choices(list(LANGUAGE_SHARE), weights=list(LANGUAGE_SHARE.values()))[0]
        domain = DOMAIN[lang].split()
        title_words = rng.sample(domain, 3) + self.words(rng, lang, rng.randint(3, 8))
        rng.shuffle(title_words)
        body: list[str] = []
        for _ in range(rng.randint(300, 600) // 15):
            sentence = self.words(rng, lang, 13) + rng.sample(domain, 2)
            rng.shuffle(sentence)
            sentence[0] = sentence[0].capitalize()
            body.append(" ".join(sentence) + ".")
        topics = []
        if rng.random() < 0.7:
            topics.append(rng.choice(SECTORS))
        topics += rng.sample(SYSTEMS, rng.randint(0, 2)) + rng.sample(RIGHTS, rng.randint(0, 2))
        if rng.random() < 0.8:
            topics.append(rng.choice(COUNTRIES))
        published = START + timedelta(days=rng.random() * DAYS)
        draft = ItemDraft(
            url=f"https://news{number % 97}.example.org/{lang}/{number}",
            title=" ".join(title_words).capitalize(),
            text="\n".join(" ".join(body[i:i + 5]) for i in range(0, len(body), 5)),
            published=published, language=lang, language_prob=0.99,
            topics=[TopicEvidence(t, ("bench",)) for t in topics], relevant=rng.random() < 0.6,
        )
        return draft, number % 60


def add_sources(kb: KnowledgeBase, count: int = 60) -> list[int]:
    return [sources_store.add_source(kb.db, f"https://feed{i}.example.org/rss", name=f"Outlet {i}").id
            for i in range(count)]


def store(kb: KnowledgeBase, corpus: Corpus, numbers: range, source_ids: list[int]) -> list[int]:
    ids = []
    for number in numbers:
        draft, source = corpus.item(number)
        ids.append(items_store.store_item(kb.db, draft, source_ids[source]).item_id)
    return ids


# --- the query mix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchQuery:
    kind: str
    words: tuple[str, ...]
    phrase: bool = False
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sector: str | None = None  # a facet filter: "sector/welfare"

    @property
    def text(self) -> str:
        joined = " ".join(self.words)
        return f'"{joined}"' if self.phrase else joined

    @property
    def filters(self) -> kb_search.SearchFilters:
        return kb_search.SearchFilters(language=(self.language,) if self.language else (),
                                       sector=(self.sector,) if self.sector else (),
                                       date_from=self.date_from, date_to=self.date_to)


def make_queries(corpus: Corpus, size: int, count: int) -> list[BenchQuery]:
    """A fixed mix: common and rare single words, two and three words, phrases, language and date filters."""
    rng = random.Random(corpus.seed + 1)
    langs = list(LANGUAGE_SHARE)
    weights = list(LANGUAGE_SHARE.values())

    def lang() -> str:
        return rng.choices(langs, weights=weights)[0]

    def domain(code: str, k: int = 1) -> list[str]:
        return [w.lower() for w in rng.sample(DOMAIN[code].split(), k)]

    def tail(code: str, low: int, high: int) -> str:
        return corpus.vocab[code][rng.randint(low, high)]

    share = {"common": 0.19, "rare": 0.14, "two words": 0.14, "three words": 0.14, "phrase": 0.15,
             "language filter": 0.12, "date range": 0.12}
    queries: list[BenchQuery] = []
    for kind, fraction in share.items():
        for _ in range(max(1, round(count * fraction))):
            code = lang()
            if kind == "common":
                queries.append(BenchQuery(kind, tuple(domain(code))))
            elif kind == "rare":
                queries.append(BenchQuery(kind, (tail(code, 1_500, len(corpus.vocab[code]) - 1),)))
            elif kind == "two words":
                queries.append(BenchQuery(kind, tuple(domain(code, 2))))
            elif kind == "three words":
                queries.append(BenchQuery(kind, (*domain(code, 2), tail(code, 100, 800))))
            elif kind == "phrase":
                draft, _ = corpus.item(rng.randrange(size))
                words = tokenize(draft.text)
                start = rng.randrange(max(1, len(words) - 3))
                queries.append(BenchQuery(kind, tuple(words[start : start + rng.choice((2, 3))]), phrase=True,
                                          language=None))
            elif kind == "language filter":
                queries.append(BenchQuery(kind, tuple(domain(code)), language=code))
            else:
                day = (START + timedelta(days=rng.randrange(DAYS - 60))).date()
                queries.append(BenchQuery(kind, tuple(domain(code)), date_from=day,
                                          date_to=day + timedelta(days=59)))
    return queries


# --- measuring kb.search -------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_whoosh(kb: KnowledgeBase, queries: list[BenchQuery]) -> tuple[list[float], int]:
    """Latency of each query through kb.search (20 hits, facets, snippets), and how many found nothing."""
    latencies, empty = [], 0
    for q in queries:
        started = time.perf_counter()
        results = kb_search.search(kb, q.text, q.filters, page_size=20)
        latencies.append(time.perf_counter() - started)
        empty += results.total == 0
    return latencies, empty


# --- the peer: SQLite FTS5 -----------------------------------------------------------------------


def build_fts(kb: KnowledgeBase, path: Path) -> float:
    """The same items in an FTS5 table with a facet table; returns the build time in seconds."""
    started = time.perf_counter()
    fts = sqlite3.connect(str(path), isolation_level=None)
    fts.executescript("""
        PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
        CREATE VIRTUAL TABLE docs USING fts5(title, text, tokenize="unicode61 remove_diacritics 2");
        CREATE TABLE meta (id INTEGER PRIMARY KEY, language TEXT, published TEXT);
        CREATE TABLE facets (id INTEGER NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL);
    """)
    fts.execute("BEGIN")
    for item in items_store.iter_items(kb.db):
        fts.execute("INSERT INTO docs (rowid, title, text) VALUES (?, ?, ?)",
                    [item.id, item.title, item.text])
        fts.execute("INSERT INTO meta VALUES (?, ?, ?)", [item.id, item.language, item.published])
        rows = [("language", item.language), ("status", item.status), ("month", (item.published or "")[:7])]
        rows += [("topic", t) for t in item.topics]
        rows += [(t.partition("/")[0], t) for t in item.topics
                 if t.partition("/")[0] in ("sector", "country")]
        rows += [("source", str(src.source_id)) for src in item.sources]
        rows += [("case", str(c)) for c in item.case_ids]
        fts.executemany("INSERT INTO facets VALUES (?, ?, ?)", [(item.id, f, v) for f, v in rows])
    fts.execute("COMMIT")
    fts.execute("CREATE INDEX facets_id ON facets (id)")
    fts.execute("CREATE INDEX facets_value ON facets (facet, value, id)")  # facet filters
    fts.execute("CREATE INDEX meta_language ON meta (language, id)")
    fts.execute("CREATE INDEX meta_published ON meta (published, id)")
    fts.close()
    return time.perf_counter() - started


def run_fts(path: Path, queries: list[BenchQuery]) -> tuple[list[float], int]:
    """The same searches on FTS5: count, facets (GROUP BY over the matches), 20 hits with snippet()."""
    fts = sqlite3.connect(str(path))
    latencies, empty = [], 0
    for q in queries:
        words = " ".join(q.words)
        match = f'"{words}"' if q.phrase else " ".join(f'"{w}"' for w in q.words)
        where, params = "docs MATCH ?", [match]
        if q.language:
            where += " AND meta.language = ?"
            params.append(q.language)
        if q.date_from and q.date_to:
            where += " AND meta.published >= ? AND meta.published < ?"
            params += [q.date_from.isoformat(), (q.date_to + timedelta(days=1)).isoformat()]
        if q.sector:
            # EXISTS, checked per match: an IN list of a sector's ids made FTS5 look each one up (seconds)
            where += (" AND EXISTS (SELECT 1 FROM facets f WHERE f.id = docs.rowid AND f.facet = 'sector'"
                      " AND f.value = ?)")
            params.append(q.sector)
        # CROSS JOIN: FTS drives the join (the planner chose the language index: a second a query).
        source = "docs CROSS JOIN meta ON meta.id = docs.rowid"
        started = time.perf_counter()
        matches = f"SELECT docs.rowid FROM {source} WHERE {where}"  # noqa: S608
        total = fts.execute(f"SELECT count(*) FROM ({matches})", params).fetchone()[0]  # noqa: S608
        fts.execute(f"SELECT facet, value, count(*) FROM facets WHERE id IN ({matches}) "  # noqa: S608
                    "GROUP BY facet, value", params).fetchall()
        fts.execute("SELECT docs.rowid, title, snippet(docs, 1, '<mark>', '</mark>', '…', 24), "
                    f"bm25(docs, 2.0, 1.0) AS rank FROM {source} WHERE {where} "  # noqa: S608
                    "ORDER BY rank LIMIT 20", params).fetchall()
        latencies.append(time.perf_counter() - started)
        empty += total == 0
    fts.close()
    return latencies, empty


# --- ingest through the outbox -------------------------------------------------------------------


def batched_ingest(kb: KnowledgeBase, corpus: Corpus, first: int, batches: int,
                   source_ids: list[int]) -> dict[str, float]:
    """Batches of 100 stored, then synced (one commit each): throughput, longest commit, time to search."""
    commits, visible = [], []
    run = f"{time.time_ns() % 10**9:x}"  # a word no earlier run has used
    for batch in range(batches):
        with transaction(kb.db):  # the batch's items commit together, as a worker's batch would
            for number in range(first + batch * BATCH, first + (batch + 1) * BATCH):
                draft, source = corpus.item(number)
                draft = replace(draft, title=f"{draft.title} batchmark{run}x{batch}")
                items_store.store_item(kb.db, draft, source_ids[source])
        committed = time.perf_counter()
        kb.sync_index()
        commits.append(time.perf_counter() - committed)
        while kb_search.search(kb, f"batchmark{run}x{batch}", page_size=1).total < BATCH:
            time.sleep(0.02)
        visible.append(time.perf_counter() - committed)
    return {"items_per_s": batches * BATCH / sum(commits), "longest_commit": max(commits),
            "median_commit": statistics.median(commits), "searchable_median": statistics.median(visible),
            "searchable_max": max(visible)}


# --- one size ------------------------------------------------------------------------------------


def segment_count(kb: KnowledgeBase) -> int:
    with kb.index.searcher(max_age=0) as searcher:
        return len(searcher.leaf_searchers())


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_size(size: int, workdir: Path, query_count: int, batches: int, reuse: bool,
               optimize: bool) -> dict[str, object]:
    folder = workdir / f"kb-{size}"
    report: dict[str, object] = {"size": size}
    corpus = Corpus()
    if reuse and (folder / "kb.sqlite3").exists():
        kb = open_kb(load_settings(folder), rebuild_index=False)
        source_ids = [s.id for s in sources_store.list_sources(kb.db)]
    else:
        shutil.rmtree(folder, ignore_errors=True)
        kb = open_kb(load_settings(folder))
        source_ids = add_sources(kb)
        started = time.perf_counter()
        store(kb, corpus, range(size), source_ids)
        report["store_s"] = time.perf_counter() - started
        print(f"[{size}] stored in {report['store_s']:.0f} s", file=sys.stderr, flush=True)
    kb.db.execute("DELETE FROM index_outbox")  # the outbox path is measured below, in batches
    print(f"[{size}] bulk indexing...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    indexed = kb.index.rebuild(kb.db)
    report["bulk_s"] = time.perf_counter() - started
    report["bulk_items_per_s"] = indexed / float(report["bulk_s"])  # type: ignore[arg-type]
    report["index_mb"] = folder_size(kb.settings.index_root) / 1e6
    report["segments"] = segment_count(kb)
    database = kb.settings.db_path
    # with -wal
    report["db_mb"] = sum(f.stat().st_size for f in database.parent.glob(f"{database.name}*")) / 1e6
    queries = make_queries(corpus, size, query_count)
    kb_search.search(kb, "", page_size=20)  # reads the per-segment facet tables and dates once
    started = time.perf_counter()
    latencies, empty = run_whoosh(kb, queries)
    report["whoosh"] = latencies
    report["whoosh_empty"] = empty
    report["whoosh_again"], _ = run_whoosh(kb, queries)  # the same mix once more: term bitmaps cached
    fts_path = folder / "fts5.sqlite3"
    fts_path.unlink(missing_ok=True)
    report["fts_build_s"] = build_fts(kb, fts_path)
    report["fts_mb"] = fts_path.stat().st_size / 1e6
    report["fts"], report["fts_empty"] = run_fts(fts_path, queries)
    report["by_kind"] = {
        kind: (statistics.median([t for q, t in zip(queries, latencies, strict=True) if q.kind == kind]),
               statistics.median([t for q, t in zip(queries, report["fts"], strict=True) if q.kind == kind]))  # type: ignore[call-overload]
        for kind in dict.fromkeys(q.kind for q in queries)
    }
    if batches:
        print(f"[{size}] batched ingest...", file=sys.stderr, flush=True)
        first = 1_000_000 + items_store.count_items(kb.db)  # new items on every run, also with --reuse
        stop_merging = kb.start_index_merging(interval=1.0)  # as `kb worker` and `kb serve` run it
        try:
            report["batched"] = batched_ingest(kb, corpus, first, batches, source_ids)
        finally:
            stop_merging.set()
        report["segments_after_batches"] = segment_count(kb)
        report["whoosh_after_batches"], _ = run_whoosh(kb, queries[::4])
    if optimize:
        started = time.perf_counter()
        kb.index.optimize()
        report["optimize_s"] = time.perf_counter() - started
    kb.close()
    return report


def summarise(report: dict[str, object]) -> list[str]:
    ms = 1000.0

    def lat(name: str) -> str:
        values = report.get(name)
        if not values:
            return "-"
        return f"{statistics.median(values) * ms:.1f} / {percentile(values, 0.95) * ms:.1f}"  # type: ignore[arg-type]

    lines = [f"## {report['size']:,} items", "", "| measure | value |", "|---|---|"]
    if "bulk_items_per_s" in report:
        lines.append(f"| bulk indexing (rebuild) | {report['bulk_items_per_s']:.0f} items/s "
                     f"({report['bulk_s']:.0f} s) |")
    lines.append(f"| index size on disk | {report['index_mb']:.0f} MB in {report['segments']} segments "
                 f"(database {report['db_mb']:.0f} MB) |")
    lines.append(f"| kb.search median / p95 (ms), {len(report['whoosh'])} queries | {lat('whoosh')} |")  # type: ignore[arg-type]
    lines.append(f"| same mix again (term bitmaps cached) | {lat('whoosh_again')} |")
    lines.append(f"| FTS5 median / p95 (ms) | {lat('fts')} |")
    w, f = report["whoosh"], report["fts"]
    ratio_median = statistics.median(w) / statistics.median(f)  # type: ignore[arg-type]
    ratio_p95 = percentile(w, 0.95) / percentile(f, 0.95)  # type: ignore[arg-type]
    lines.append(f"| ratio kb.search / FTS5, median / p95 | {ratio_median:.1f}x / {ratio_p95:.1f}x |")
    lines.append(f"| FTS5 build | {report['fts_build_s']:.0f} s, {report['fts_mb']:.0f} MB |")
    lines.append(f"| queries finding nothing (kb.search / FTS5) | {report['whoosh_empty']} / "
                 f"{report['fts_empty']} |")
    batched = report.get("batched")
    if isinstance(batched, dict):
        lines.append(f"| batched ingest, 100 per commit | {batched['items_per_s']:.0f} items/s, median "
                     f"commit {batched['median_commit']:.2f} s, longest {batched['longest_commit']:.2f} s |")
        lines.append(f"| batch of 100 searchable after commit | median {batched['searchable_median']:.2f} s, "
                     f"max {batched['searchable_max']:.2f} s |")
        lines.append(f"| kb.search after batches ({report['segments_after_batches']} segments, merged in the "
                     f"background meanwhile) | {lat('whoosh_after_batches')} |")
    if "optimize_s" in report:
        lines.append(f"| optimize() (merge, off the ingest path) | {report['optimize_s']:.0f} s |")
    lines += ["", "| query kind | kb.search median ms | FTS5 median ms |", "|---|---|---|"]
    for kind, (whoosh_ms, fts_ms) in report["by_kind"].items():  # type: ignore[attr-defined]
        lines.append(f"| {kind} | {whoosh_ms * ms:.1f} | {fts_ms * ms:.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="Comma-separated corpus sizes (default 10000).")
    parser.add_argument("--queries", type=int, default=210, help="Queries in the mix (at least 200).")
    parser.add_argument("--batches", type=int, default=30, help="Batches of 100 for the outbox measure.")
    parser.add_argument("--workdir", type=Path, help="Where to build (default: a temporary folder, removed).")
    parser.add_argument("--reuse", action="store_true", help="Reuse a corpus stored before in --workdir.")
    parser.add_argument("--optimize", action="store_true", help="Also time optimize() (minutes at 100,000).")
    parser.add_argument("--json", dest="json_out", type=Path, help="Also write the raw figures here.")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kb-search-bench-"))
    reports = []
    try:
        for size in sizes:
            report = bench_size(size, workdir, args.queries, args.batches, args.reuse, args.optimize)
            reports.append(report)
            print("\n".join(summarise(report)), flush=True)
            print(flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(reports, default=str, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

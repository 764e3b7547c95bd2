"""Cost of matching items against the register of systems: 5,000 systems with 4 aliases each (Latin, Cyrillic,
Arabic and CJK names, abbreviations), plus the demo's starter register.

Measures building the automaton once, matching each article (title, summary, body) with
kb.text.alias_matcher, and the whole per-item step that kb.items.store_item runs (kb.systems.suggest_for_item:
the matcher's version check, the match and writing the suggestions) in a real SQLite database.

    python bench/systems_bench.py [--systems 5000] [--aliases 4] [--items 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_articles  # noqa: E402
from kb import items as items_store  # noqa: E402
from kb import sample, systems  # noqa: E402
from kb.items import ItemDraft  # noqa: E402
from kb.storage import meta  # noqa: E402
from kb.storage.db import connect, migrate, transaction, utcnow  # noqa: E402
from kb.systems.records import MATCHER_VERSION_KEY  # noqa: E402
from kb.text.alias_matcher import AliasMatcher, alias_key, alias_problem  # noqa: E402

SYLLABLES = {
    "latin": "ka ro ven tal mi sor del qua bri fen lu gor ast pel nim tor",
    "cyrillic": "ка ро вен тал ми сор дел бри фен лу гор аст пел ним тор",
    "arabic": "كا رو فن تل مي سر دل بر فن لو غر است بل نم تر",
    "cjk": "社 会 信 用 体 系 评 分 算 法 管 理 平 台 数 据",
}


def _word(rng: random.Random, script: str, syllables: int) -> str:
    parts = SYLLABLES[script].split()
    return ("" if script == "cjk" else "").join(rng.choice(parts) for _ in range(syllables))


def make_aliases(rng: random.Random, systems_count: int, per_system: int) -> list[tuple[int, list[str]]]:
    """Unique, acceptable names: a multi-word Latin name, then aliases in other scripts and abbreviations."""
    seen: set[str] = set()
    register = []
    scripts = ("latin", "cyrillic", "arabic", "cjk")
    for system_id in range(1, systems_count + 1):
        names: list[str] = []
        while len(names) < per_system:
            kind = len(names) % (len(scripts) + 1)
            if kind == len(scripts):  # an abbreviation such as "KVT3"
                alias = "".join(rng.choice("ABCDEFGHKLMNPRSTVZ") for _ in range(3)) + str(rng.randrange(10))
            elif scripts[kind] == "latin":
                alias = " ".join(_word(rng, "latin", 3).title() for _ in range(2))
            elif scripts[kind] == "cjk":
                alias = _word(rng, "cjk", 5)
            else:
                alias = " ".join(_word(rng, scripts[kind], 3) for _ in range(2))
            key = alias_key(alias)
            if key in seen or alias_problem(alias):
                continue
            seen.add(key)
            names.append(alias)
        register.append((system_id, names))
    return register


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=5000)
    parser.add_argument("--aliases", type=int, default=4)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(11)
    register = make_aliases(rng, args.systems, args.aliases)
    # The starter register too, so that real names are found in the sample-like articles.
    starter = [(args.systems + n + 1, [r["name"], *r["aliases"]])
               for n, r in enumerate(sample.load_systems())]
    entries = [(system_id, alias) for system_id, names in register + starter for alias in names]

    started = time.perf_counter()
    matcher = AliasMatcher(entries)
    build_seconds = time.perf_counter() - started

    articles = make_articles(args.items)
    # Some articles name systems: a starter name in the title, a synthetic alias in the body.
    texts = []
    for n, article in enumerate(articles):
        body = " ".join(article.body)
        if n % 3 == 0:
            body += " " + rng.choice(register)[1][rng.randrange(args.aliases)] + "."
        title = article.title + (f" ({starter[n % len(starter)][1][0]})" if n % 5 == 0 else "")
        texts.append((title, article.summary, body))
    matcher.match("warm", "up", "the automaton")
    per_item, found = [], 0
    for title, summary, body in texts:
        started = time.perf_counter()
        found += len(matcher.match(title, summary, body))
        per_item.append(time.perf_counter() - started)
    words = statistics.mean(len(" ".join(t).split()) for t in texts)

    # The step store_item runs, in a real database holding the register (suggestions written).
    with tempfile.TemporaryDirectory() as folder:
        db = connect(Path(folder) / "bench.sqlite3")
        migrate(db)
        with transaction(db):
            now = utcnow()
            db.conn.executemany(
                "INSERT INTO systems (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                [(system_id, names[0], now, now) for system_id, names in register + starter])
            db.conn.executemany(
                "INSERT INTO system_aliases (system_id, alias, folded, is_name) VALUES (?, ?, ?, ?)",
                [(system_id, alias, alias_key(alias), int(i == 0))
                 for system_id, names in register + starter for i, alias in enumerate(names)])
            meta.set_meta(db, MATCHER_VERSION_KEY, "1")
        ids = [items_store.store_item(db, ItemDraft(url=f"https://bench.example/{n}", title=t, summary=s,
                                                    text=b)).item_id
               for n, (t, s, b) in enumerate(texts)]
        store_step = []
        for item_id, (title, summary, body) in zip(ids, texts, strict=True):
            started = time.perf_counter()
            with transaction(db):
                systems.suggest_for_item(db, item_id, title, summary, body)
            store_step.append(time.perf_counter() - started)
        suggestions = db.execute("SELECT count(*) FROM system_items").fetchone()[0]
        db.conn.close()

    print("# python bench/systems_bench.py " + " ".join(sys.argv[1:]))
    print(f"register: {args.systems} systems x {args.aliases} aliases + {len(starter)} starter systems "
          f"= {matcher.size} names and aliases; automaton built in {build_seconds * 1000:.0f} ms")
    print(f"items: {len(texts)} articles, {words:.0f} words on average; {found} system mentions found")
    print(f"match per item (kb.text.alias_matcher): mean {statistics.mean(per_item) * 1000:.3f} ms, "
          f"median {statistics.median(per_item) * 1000:.3f} ms, max {max(per_item) * 1000:.2f} ms")
    mean_step, median_step = statistics.mean(store_step) * 1000, statistics.median(store_step) * 1000
    print(f"suggest per item in SQLite (kb.systems.suggest_for_item, own transaction): "
          f"mean {mean_step:.3f} ms, "
          f"median {median_step:.3f} ms; {suggestions} suggestions written")
    verdict = "met" if statistics.mean(per_item) <= 0.002 else "MISSED"
    print(f"target: <= 2 ms per item on average -> {verdict}")


if __name__ == "__main__":
    main()

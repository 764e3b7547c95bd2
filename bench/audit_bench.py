"""Audit log benchmark: the admin page's queries on a large log.

    .venv/bin/python bench/audit_bench.py [--entries 500000] [--repeat 3]

Seeds a migrated database (in a temporary folder) with 20 users and N entries spread over a year
(seeded: the same entries every run), then times what one page of /admin/audit does for each kind of
filter: the count, the first page of 50, the last page (the deepest OFFSET) and the readable form of a
page (names looked up). Prints the median of `--repeat` runs in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kb.storage import audit
from kb.storage.db import connect, migrate

PAGE = 50


def seed(db, entries: int) -> list[int]:
    rng = random.Random(16)
    with db.conn:
        db.conn.executemany("INSERT INTO users (email, name, role, password_hash, created_at) "
                            "VALUES (?, ?, 'researcher', 'x', '2026-01-01T00:00:00+00:00')",
                            [(f"u{i}@lab.example", f"User {i}") for i in range(20)])
    users = [row[0] for row in db.execute("SELECT id FROM users").fetchall()]
    rows = []
    for n in range(entries):
        second = n * (365 * 86400 // entries)
        at = datetime.fromtimestamp(datetime(2026, 1, 1, tzinfo=UTC).timestamp() + second, UTC)
        rows.append((at.isoformat(timespec="seconds"), rng.choice(users),
                     rng.choice(["update", "set-status", "sign-in"]),
                     rng.choice(["item", "item", "case", "sign_in", "source", "contact", "api_token"]),
                     rng.randint(1, 5000), json.dumps({"status": "accepted", "was": "new"})))
    with db.conn:
        db.conn.executemany("INSERT INTO audit_log (at, user_id, action, entity, entity_id, details) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
    return users


def one_page(db, where: audit.AuditFilter) -> tuple[int, float]:
    started = time.perf_counter()
    total = audit.count(db, where)
    first = audit.entries(db, where=where, limit=PAGE)
    audit.entries(db, where=where, limit=PAGE, offset=max(0, total - PAGE))
    audit.readable(db, first)
    return total, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = connect(Path(folder) / "kb.db")
        migrate(db)
        users = seed(db, args.entries)
        may, june = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
        filters = {
            "no filter": audit.AuditFilter(),
            "person": audit.AuditFilter(person_id=users[3]),
            "kind (common)": audit.AuditFilter(entity="item"),
            "kind (rare)": audit.AuditFilter(entity="api_token"),
            "one week": audit.AuditFilter(since=may, before=datetime(2026, 5, 8, tzinfo=UTC)),
            "person+kind+month": audit.AuditFilter(person_id=users[3], entity="case", since=may, before=june),
        }
        print(f"{args.entries:,} audit entries; per filter: count + first page + last page + readable page")
        for name, where in filters.items():
            runs = [one_page(db, where) for _ in range(args.repeat)]
            print(f"  {name:<20} {runs[0][0]:>9,} match  {statistics.median(ms for _, ms in runs):>7.0f} ms")
        db.conn.close()


if __name__ == "__main__":
    main()

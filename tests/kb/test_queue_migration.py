"""Migration 0008_digest_week: items decided before it get the digest week of their last decision (else of
when they were found); undecided and rejected ones get none."""

from __future__ import annotations

from kb.storage import db as storage
from kb.text.fingerprints import content_fingerprint


def test_decided_items_keep_their_digest_week_across_the_migration(tmp_path):
    path = tmp_path / "kb.sqlite3"
    old = storage.connect(path)
    storage.migrate(old, stop_before="0008_digest_week",
                    sql_functions={storage.CONTENT_FINGERPRINT: content_fingerprint})
    rows = [  # (title, status, in_digest, status_at, created_at)
        ("accepted", "accepted", 0, "2026-11-18T09:00:00+00:00", "2026-06-01T00:00:00+00:00"),
        ("marked", "new", 1, "2026-11-19T09:00:00+00:00", "2026-06-01T00:00:00+00:00"),
        ("accepted long ago", "accepted", 0, None, "2026-06-02T00:00:00+00:00"),
        ("rejected", "rejected", 1, "2026-11-18T09:00:00+00:00", "2026-06-01T00:00:00+00:00"),
        ("new", "new", 0, None, "2026-06-01T00:00:00+00:00"),
    ]
    for n, (title, status, in_digest, status_at, created_at) in enumerate(rows):
        old.execute("INSERT INTO items (url, canonical_url, fingerprint, title, status, in_digest, "
                    "status_at, created_at, updated_at) VALUES (?, ?, 'f', ?, ?, ?, ?, ?, ?)",
                    [f"https://a.example/{n}", f"https://a.example/{n}", title, status, in_digest, status_at,
                     created_at, created_at])
    old.close()

    upgraded = storage.connect(path)
    assert storage.migrate(upgraded)[0] == "0008_digest_week"  # later migrations follow it
    found = dict(upgraded.execute("SELECT title, digest_at FROM items").fetchall())
    assert found == {"accepted": "2026-11-18T09:00:00+00:00", "marked": "2026-11-19T09:00:00+00:00",
                     "accepted long ago": "2026-06-02T00:00:00+00:00", "rejected": None, "new": None}
    upgraded.close()

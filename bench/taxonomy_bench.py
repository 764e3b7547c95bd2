"""The coordinator's taxonomy edits: what they cost. On a knowledge base of N stored items (the labelled
relevance set, repeated with distinct addresses), the time of

- the per-request / per-batch version check (`taxonomies.current`, nothing changed),
- picking up a new version in another process (read, parse and validate the stored text, first call),
- the preview of a term (a dry run of re-tagging every stored item),
- the same preview as the web UI runs it, a background job: the request that starts it (checks the term,
  stores the job, starts its thread) and the time from starting it to its stored result,
- the background re-tag that applies it,
- the writer tagging again a draft a worker tagged with the bundled file (`tag_drafts`), per item,
- export and import of the file.

    PYTHONPATH=$PWD .venv/bin/python bench/taxonomy_bench.py [--items 2000]

Wall-clock seconds on this machine (shared; figures vary by some tens of per cent).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from kb import items as items_store
from kb.knowledge import open_kb
from kb.learning import taxonomies
from kb.learning.taxonomies import TermChange
from kb.settings import load_settings
from kb.text.tagging import Tagger
from kb.text.taxonomy import BUNDLED, bundled_taxonomy, install_taxonomy

DATA = Path(__file__).with_name("data") / "relevance_labelled.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    tagger = Tagger(bundled_taxonomy())
    with tempfile.TemporaryDirectory() as folder:
        kb = open_kb(load_settings(Path(folder), environ={}))
        db = kb.db
        drafts = []
        for n in range(args.items):
            row = rows[n % len(rows)]
            # A distinct number per copy: the same text twice would be stored once (content fingerprint).
            title, text = f"{row['title']} {n}", f"{row['text']} {n}"
            found = tagger.tag(title, text, row["lang"])
            drafts.append(items_store.ItemDraft(
                url=f"https://bench.example.org/{n}", title=title, text=text,
                language=row["lang"], topics=found.topics, relevant=found.relevant,
                relevance_score=found.relevance_score, relevance_verdict=found.verdict,
                relevance_reason=found.reason))
        for draft in drafts:
            items_store.store_item(db, draft)
        stored = items_store.count_items(db)
        print(f"{stored} stored items ({len(rows)} texts in "
              f"{len({r['lang'] for r in rows})} languages)")

        started = time.perf_counter()
        for _ in range(1000):
            taxonomies.current(db)
        print(f"  version check (nothing changed), per request:  {(time.perf_counter() - started):.3f} ms")

        change = TermChange("sector/welfare", "sw", "ruzuku")
        started = time.perf_counter()
        preview = taxonomies.preview_term(db, change)
        preview_s = time.perf_counter() - started
        print(f"  preview of a term:                  {preview_s:.2f} s  "
              f"({preview_s / stored * 1000:.2f} ms per item; would tag {preview.tagged['sector/welfare']})")

        started = time.perf_counter()
        job_id = taxonomies.start_term_preview(db, kb.settings.db_path, change, user_id=None)
        request_s = time.perf_counter() - started
        while (state := taxonomies.preview_state(db, job_id)) is not None and state.status == "running":
            time.sleep(0.05)
        job_s = time.perf_counter() - started
        assert state is not None and state.report == preview, "the job's result differs from the preview"
        print(f"  preview as a background job: the request starting it {request_s * 1000:.0f} ms; "
              f"from start to its result {job_s:.2f} s at {state.job.total} items "
              f"(examined {state.job.examined}; same counts as the synchronous preview)")

        taxonomies.apply_term(db, change, user_id=None)
        install_taxonomy(None)  # as another process that has not seen the edit
        taxonomies._cache.clear()  # noqa: SLF001 - nor parsed it
        started = time.perf_counter()
        taxonomies.current(db)
        picked = time.perf_counter() - started
        print(f"  picking up a new version (first call in a process): {picked * 1000:.0f} ms")

        started = time.perf_counter()
        report = taxonomies.retag_now(db)
        retag_s = time.perf_counter() - started
        assert report is not None
        print(f"  background re-tag applying it:      {retag_s:.2f} s  "
              f"({retag_s / stored * 1000:.2f} ms per item; tagged {report.tagged['sector/welfare']})")

        stale = drafts[:500]
        assert all(draft.taxonomy == BUNDLED for draft in stale)
        started = time.perf_counter()
        taxonomies.tag_drafts(db, stale)
        again = (time.perf_counter() - started) / len(stale)
        print(f"  writer tagging again a worker's draft: {again * 1000:.2f} ms "
              "per item (only while the lab's taxonomy differs from the bundled file, for drafts a "
              "worker process without the database tagged)")

        started = time.perf_counter()
        text = taxonomies.export_text(db)
        exported = time.perf_counter() - started
        started = time.perf_counter()
        taxonomies.preview_import(db, text.replace('"ruzuku"', '"ruzuku", "ruzuku ya mbolea"'))
        print(f"  export: {exported * 1000:.0f} ms ({len(text.encode()) // 1024} KiB); import preview "
              f"(parse, diff, dry run): {time.perf_counter() - started:.2f} s")
        kb.close()
        install_taxonomy(None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

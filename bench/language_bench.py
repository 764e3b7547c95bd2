"""Issue 17's held-out figures on sets written for this bench: language, relevance and sector F1.

    PYTHONPATH=$PWD .venv/bin/python bench/language_bench.py [--set core|further|all] [--repeat 5]
    PYTHONPATH=$PWD .venv/bin/python bench/language_bench.py --sets bench/data/heldout_v2_core.jsonl,...

The sets (bench/data/heldout_core.jsonl: the eight taxonomy languages and a few others;
bench/data/heldout_further.jsonl: twelve further languages) hold short news items written for this, each
with its language, whether the lab would want it (`relevant`) and its sector topics (`sectors`, ids of the
taxonomy's "sector" facet). Every item goes the product's way: `ingest.prepare.prepare` (language detection
without a declared language, tagging), the writer's `kb.learning.training.judge_drafts` (the learned model
and the verdict rule) and `kb.items.store_item`, into a fresh temporary knowledge base; the figures are read
back from the stored items. Twice:
- cold start: no labels, so the terms alone judge;
- trained: the same knowledge base first receives the labelled set (bench/data/relevance_labelled.jsonl,
  written apart from these sets) through the same path, a coordinator accepts or rejects each item, and
  `kb.learning.training.train` trains the model on those decisions, as the monitor would.

Relevance is "correct" when the stored verdict is "relevant" for a relevant item and "not relevant" for an
off-topic one. "Needs a reader" is neither correct nor silently wrong: it is counted apart. "Wrong" is the
other verdict (a relevant item judged not relevant is silently lost; an off-topic one judged relevant
is noise). "Yes/no" counts as the issue's first measurement did, before "needs a reader" existed: right
when the item is marked relevant exactly when it is relevant (so "needs a reader" is right for an off-topic
item and a miss for a relevant one). Sector precision, recall and F1 are micro-averaged over (item, sector
topic) pairs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.relevance_bench import DATA as LABELLED  # noqa: E402
from bench.relevance_bench import load, time_tagging  # noqa: E402
from ingest.prepare import RawEntry, prepare, warm_up  # noqa: E402
from kb import curation  # noqa: E402
from kb import items as items_store  # noqa: E402
from kb import users as users_store  # noqa: E402
from kb.knowledge import KnowledgeBase, open_kb  # noqa: E402
from kb.learning import training  # noqa: E402
from kb.settings import load_settings  # noqa: E402
from kb.text.relevance import RelevanceModel, model_text  # noqa: E402
from kb.text.tagging import NEEDS_READER, NOT_RELEVANT, RELEVANT, Tagger  # noqa: E402
from kb.text.taxonomy import load_taxonomy  # noqa: E402

SETS = {
    "core": LABELLED.with_name("heldout_core.jsonl"),
    "further": LABELLED.with_name("heldout_further.jsonl"),
}
SECTOR = "sector/"
FIELDS = ("id", "language", "relevant", "sectors", "title", "summary")


def load_set(path: Path) -> list[dict]:
    """The items of a held-out set; ValueError naming the line of an item that lacks a field."""
    rows = load(path)
    for number, row in enumerate(rows, 1):
        missing = [name for name in FIELDS if name not in row]
        if missing:
            raise ValueError(f"{path.name} item {number}: missing {', '.join(missing)}")
    return rows


@dataclass(frozen=True)
class Outcome:
    """One held-out item as the product stored it, next to what was written for it."""

    row: dict
    language: str
    verdict: str
    reason: str
    judge: str
    model_score: float | None
    sectors: frozenset[str]
    sector_evidence: dict[str, tuple[str, ...]]
    relevance_evidence: tuple[str, ...]  # the system and public-service terms the tagger found

    @property
    def expected_sectors(self) -> frozenset[str]:
        return frozenset(self.row["sectors"])

    @property
    def language_ok(self) -> bool:
        return self.language == self.row["language"]

    @property
    def relevance(self) -> str:
        """"correct", "needs a reader" or "wrong"."""
        if self.verdict == NEEDS_READER:
            return NEEDS_READER
        return "correct" if (self.verdict == RELEVANT) == bool(self.row["relevant"]) else "wrong"


def store(kb: KnowledgeBase, rows: list[dict], prefix: str) -> list[int]:
    """Prepare, judge and store rows of (title, summary) as a summary-mode feed's entries would be."""
    drafts = [prepare(RawEntry(url=f"https://{prefix}.example.org/{n}", title=row["title"],
                               summary=row.get("summary", row.get("text", ""))))
              for n, row in enumerate(rows)]
    ids = []
    for start in range(0, len(drafts), 25):  # chunks of 25, as the writer stores them (ingest.pipeline.CHUNK)
        for draft in training.judge_drafts(kb.db, drafts[start : start + 25]):
            result = items_store.store_item(kb.db, draft)
            assert result.outcome == "new", f"{draft.url} was stored as {result.outcome}: a duplicate?"
            ids.append(result.item_id)
    return ids


def teach(kb: KnowledgeBase) -> str:
    """The labelled set stored and decided by a coordinator, and the model trained on her decisions;
    returns the model's line (labels, cross-validated precision and recall)."""
    user = users_store.add_user(kb.db, "coordinator@bench.example", "a long bench password", "coordinator")
    labelled = load(LABELLED)
    for row, item_id in zip(labelled, store(kb, labelled, "labels"), strict=True):
        curation.set_status(kb.db, item_id, "accepted" if row["relevant"] else "rejected", user.id)
    record = training.train(kb.db, force=True)
    assert record is not None, "no model was trained on the labelled set"
    return training.training_state(kb.db).line()


def judge_sets(kb: KnowledgeBase, sets: dict[str, list[dict]]) -> dict[str, list[Outcome]]:
    # Items do not store the relevance evidence apart from topics: the misses list asks the tagger again
    # (the same one ingest uses) with the stored language.
    tagger = Tagger(load_taxonomy())
    outcomes: dict[str, list[Outcome]] = {}
    for name, rows in sets.items():
        ids = store(kb, rows, f"heldout-{name}")
        items = {item.id: item for item in items_store.load_items(kb.db, ids)}
        outcomes[name] = []
        for row, item_id in zip(rows, ids, strict=True):
            item = items[item_id]
            active = [tag for tag in item.tags if tag.state == "active" and tag.topic.startswith(SECTOR)]
            outcomes[name].append(Outcome(
                row=row, language=item.language, verdict=item.relevance_verdict,
                reason=item.relevance_reason, judge=item.relevance_judge, model_score=item.model_score,
                sectors=frozenset(tag.topic for tag in active),
                sector_evidence={tag.topic: tag.evidence for tag in active},
                relevance_evidence=tagger.tag(item.title, item.text, item.language).relevance_evidence))
    return outcomes


def fresh_kb(folder: str) -> KnowledgeBase:
    return open_kb(load_settings(folder, environ={}))


def f1(outcomes: Iterable[Outcome]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of the sector topics over (item, topic) pairs."""
    hits = said = true = 0
    for outcome in outcomes:
        hits += len(outcome.sectors & outcome.expected_sectors)
        said += len(outcome.sectors)
        true += len(outcome.expected_sectors)
    precision = hits / said if said else 0.0
    recall = hits / true if true else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def table_row(label: str, outcomes: list[Outcome]) -> str:
    n = len(outcomes)
    language = sum(o.language_ok for o in outcomes)
    counts = {kind: sum(o.relevance == kind for o in outcomes) for kind in ("correct", NEEDS_READER, "wrong")}
    lost = sum(o.row["relevant"] and o.verdict == NOT_RELEVANT for o in outcomes)
    yes_no = sum((o.verdict == RELEVANT) == bool(o.row["relevant"]) for o in outcomes)
    precision, recall, score = f1(outcomes)
    sectors = f"{precision:5.2f} {recall:5.2f} {score:5.2f}"
    if not any(o.sectors or o.expected_sectors for o in outcomes):
        sectors = f"{'-':>5} {'-':>5} {'-':>5}"  # no sector written nor found: nothing to score
    read_relevant = sum(o.row["relevant"] and o.verdict == NEEDS_READER for o in outcomes)
    split = f"{read_relevant}/{counts[NEEDS_READER] - read_relevant}"
    return (f"  {label:<18} {n:>4}  {language:>3}/{n:<4} {counts['correct']:>3}/{n:<4} "
            f"{counts[NEEDS_READER]:>6} {split:>9} {counts['wrong']:>6} {lost:>5}  {yes_no:>3}/{n:<4} "
            f"{sectors}")


HEADER = (f"  {'':<18} {'n':>4}  {'language':<8} {'relevance':<9} {'reader':>6} {'(rel/off)':>9} "
          f"{'wrong':>6} {'lost':>5}  {'yes/no':<8} {'sector P':>5} {'R':>5} {'F1':>5}")


def report(title: str, outcomes: dict[str, list[Outcome]]) -> None:
    print(f"\n=== {title} ===")
    print("  (relevance: correct/n; reader: needs a reader, of which relevant/off-topic items; wrong: the "
          "other verdict;\n   lost: relevant items judged not relevant; yes/no: marked relevant exactly when "
          "relevant)")
    print(HEADER)
    for name, rows in outcomes.items():
        print(table_row(name, rows))
    everything = [o for rows in outcomes.values() for o in rows]
    if len(outcomes) > 1:
        print(table_row("all", everything))
    for name, rows in outcomes.items():
        print(f"\n  {name}, per language:")
        print(HEADER)
        by_language: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in rows:
            by_language[outcome.row["language"]].append(outcome)
        for language in sorted(by_language, key=lambda code: (-len(by_language[code]), code)):
            print(table_row(language, by_language[language]))
    print("\n  Misses (language, relevance or sectors not as written):")
    for outcome in everything:
        problems = []
        if not outcome.language_ok:
            problems.append(f"language {outcome.language}")
        if outcome.relevance != "correct":
            wanted = RELEVANT if outcome.row["relevant"] else NOT_RELEVANT
            problems.append(f"relevance {outcome.verdict!r} (wanted {wanted!r})")
        if outcome.sectors != outcome.expected_sectors:
            found = ", ".join(f"{topic.removeprefix(SECTOR)}[{'/'.join(outcome.sector_evidence[topic][:3])}]"
                              for topic in sorted(outcome.sectors)) or "none"
            wanted_sectors = ", ".join(sorted(s.removeprefix(SECTOR) for s in outcome.expected_sectors))
            problems.append(f"sectors {found} (wanted {wanted_sectors or 'none'})")
        if problems:
            score = f", model {outcome.model_score:.2f}" if outcome.model_score is not None else ""
            print(f"  - {outcome.row['id']} ({outcome.row['language']}): {'; '.join(problems)}")
            print(f"      reason: {outcome.reason} [judged by {outcome.judge or 'terms'}{score}]")
            if outcome.relevance != "correct":
                print(f"      relevance terms: {', '.join(outcome.relevance_evidence) or 'none'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    parser.add_argument("--sets", help="comma-separated set files to run instead of --set "
                        "(each named by its file name without .jsonl)")
    parser.add_argument("--repeat", type=int, default=5, help="timing passes over the sets")
    args = parser.parse_args()
    if args.sets:
        paths = {Path(part.strip()).stem: Path(part.strip()) for part in args.sets.split(",") if part.strip()}
        missing = [str(path) for path in paths.values() if not path.is_file()]
        if missing or not paths:
            parser.error(f"no such set file: {', '.join(missing)}" if missing else "--sets names no file")
    else:
        paths = {name: SETS[name] for name in (list(SETS) if args.set == "all" else [args.set])}
    sets = {name: load_set(path) for name, path in paths.items()}
    for name, rows in sets.items():
        relevant = sum(bool(row["relevant"]) for row in rows)
        languages = sorted({row["language"] for row in rows})
        print(f"{name}: {len(rows)} items ({relevant} relevant) in {len(languages)} languages: "
              f"{' '.join(languages)}")
    warm_up()
    with tempfile.TemporaryDirectory() as folder:
        kb = fresh_kb(folder)
        try:
            report("Cold start (no labels: the terms alone)", judge_sets(kb, sets))
        finally:
            kb.close()
    with tempfile.TemporaryDirectory() as folder:
        kb = fresh_kb(folder)
        try:
            line = teach(kb)
            print(f"\n{line}")
            report("Trained on bench/data/relevance_labelled.jsonl (a coordinator's decisions)",
                   judge_sets(kb, sets))
        finally:
            kb.close()

    labelled = load(LABELLED)
    model = RelevanceModel.fit([model_text(row["title"], row["text"]) for row in labelled],
                               [bool(row["relevant"]) for row in labelled])
    articles = [(row["title"], row["summary"], row["language"]) for rows in sets.values() for row in rows]
    timing = time_tagging(Tagger(load_taxonomy()), model, articles, args.repeat)
    print()
    print("\n".join(timing.lines(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

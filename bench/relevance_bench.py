"""Relevance: cross-validated precision and recall of the learned model, of the terms alone and of the two
combined by the verdict rule, on a labelled set written for this (bench/data/relevance_labelled.jsonl:
short items in 14 languages, relevant and off-topic, no copied articles); and the time of tagging plus
relevance per item (CPU time of this process, steadier than the wall clock on a shared machine).

    PYTHONPATH=$PWD .venv/bin/python bench/relevance_bench.py [--folds 5] [--repeat 20]

"Relevant" for the terms and the combination means the verdict "relevant"; an item left to a reader counts
as not predicted relevant (its share is printed apart: a reader sees it, so it is not lost). The model's
figures are at P >= 0.5. The leave-one-language-out line trains on the other 13 languages only: what the
model brings to a language it never saw labels in.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.text.language import detect_language
from kb.text.relevance import (
    NGRAM_RANGE,
    ModelScore,
    RelevanceModel,
    cross_validate,
    judge,
    model_text,
    precision_recall,
)
from kb.text.tagging import NEEDS_READER, RELEVANT, Tagger
from kb.text.taxonomy import load_taxonomy

DATA = Path(__file__).with_name("data") / "relevance_labelled.jsonl"


def load(path: Path = DATA) -> list[dict]:
    """The rows of a JSONL file (blank lines skipped); by default the labelled set."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class Timing:
    """Milliseconds per item of tagging and of the model's score plus the verdict (CPU time)."""

    tag_ms: list[float]
    single_ms: list[float]  # model score + verdict one item at a time
    chunk_ms: list[float]  # the same per item, scored in chunks of 25 as the writer stores them

    def lines(self, repeat: int) -> list[str]:
        tag, single = statistics.mean(self.tag_ms), statistics.mean(self.single_ms)
        chunked = statistics.mean(self.chunk_ms)
        return [
            f"Time per item over {len(self.tag_ms)} items ({repeat} passes): tagging {tag:.2f} ms "
            f"(p95 {np.percentile(self.tag_ms, 95):.2f}); model score + verdict {chunked:.2f} ms in chunks "
            f"of 25 as the writer stores them ({single:.2f} ms one at a time)",
            f"  tagging + relevance: {tag + chunked:.2f} ms per item on average (one at a time: "
            f"{tag + single:.2f} ms; target < 5 ms)",
        ]


def time_tagging(tagger: Tagger, model: RelevanceModel, articles: list[tuple[str, str, str]],
                 repeat: int) -> Timing:
    """What ingest does per article (tagging) plus what the writer does (model score and verdict), timed
    `repeat` times over (title, text, language) triples after a warm-up pass."""
    for title, text, language in articles[:5]:  # warm up: matchers compile on first use of a language
        detect_language(title, text, language)
    for title, text, language in articles:
        tagger.tag(title, text, language)
        model.score(title, text)
    timing = Timing([], [], [])
    for _ in range(repeat):
        results = []
        for title, text, language in articles:
            started = time.process_time()
            results.append(tagger.tag(title, text, language))
            middle = time.process_time()
            judge(results[-1].verdict, results[-1].reason, model.score(title, text))
            timing.tag_ms.append((middle - started) * 1000)
            timing.single_ms.append((time.process_time() - middle) * 1000)
        # The writer scores a stored chunk (25 entries, ingest.pipeline.CHUNK) at once.
        for start in range(0, len(articles), 25):
            chunk = articles[start : start + 25]
            started = time.process_time()
            scores = model.score_many([(title, text) for title, text, _ in chunk])
            for result, score in zip(results[start : start + 25], scores, strict=True):
                judge(result.verdict, result.reason, score)
            timing.chunk_ms.append((time.process_time() - started) * 1000 / len(chunk))
    return timing


def line(name: str, predicted: list[bool], actual: list[bool], extra: str = "") -> str:
    precision, recall = precision_recall(predicted, actual)
    return f"  {name:<34} precision {precision:.2f}  recall {recall:.2f}{extra}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over the set")
    args = parser.parse_args()
    rows = load()
    actual = [bool(row["relevant"]) for row in rows]
    languages = Counter(row["lang"] for row in rows)
    print(f"Labelled set: {len(rows)} items ({sum(actual)} relevant) in {len(languages)} languages: "
          f"{', '.join(sorted(languages))}")
    print(f"Model: char_wb n-grams {NGRAM_RANGE[0]}-{NGRAM_RANGE[1]}, TF-IDF, logistic regression; "
          f"{args.folds}-fold stratified cross-validation")
    tagger = Tagger(load_taxonomy())
    texts = [model_text(row["title"], row["text"]) for row in rows]
    tagged = [tagger.tag(row["title"], row["text"], row["lang"]) for row in rows]

    checked = cross_validate(texts, actual, args.folds)
    assert checked is not None
    model_p = list(checked.probabilities)
    terms = [t.verdict == RELEVANT for t in tagged]
    combined = [judge(t.verdict, t.reason, ModelScore(p, ())) for t, p in zip(tagged, model_p, strict=True)]
    cold = [judge(t.verdict, t.reason, None) for t in tagged]

    def readers(verdicts: list[str]) -> str:
        share = sum(v == NEEDS_READER for v in verdicts) / len(verdicts)
        return f"  (left to a reader: {share:.0%})"

    print("\nHeld-out figures (each item judged by a model trained without it):")
    print(line("model alone (P >= 0.5)", [p >= 0.5 for p in model_p], actual))
    print(line("terms alone", terms, actual, readers([t.verdict for t in tagged])))
    print(line("terms + model (verdict rule)", [j.relevant for j in combined], actual,
               readers([j.verdict for j in combined])))
    print(line("cold start (no model: terms)", [j.relevant for j in cold], actual,
               readers([j.verdict for j in cold])))
    def kept(verdicts: list[str]) -> int:
        return sum(a and v in (RELEVANT, NEEDS_READER) for v, a in zip(verdicts, actual, strict=True))

    print(f"  relevant items judged relevant or left to a reader (not silently lost): "
          f"terms alone {kept([t.verdict for t in tagged])}/{sum(actual)}, "
          f"terms + model {kept([j.verdict for j in combined])}/{sum(actual)}")

    print("\nLeave one language out (model trained on the other languages only):")
    per_language = []
    for language in sorted(languages):
        train = [i for i, row in enumerate(rows) if row["lang"] != language]
        test = [i for i, row in enumerate(rows) if row["lang"] == language]
        model = RelevanceModel.fit([texts[i] for i in train], [actual[i] for i in train])
        probabilities = model.probabilities([texts[i] for i in test])
        right = sum((p >= 0.5) == actual[i] for p, i in zip(probabilities, test, strict=True))
        per_language.append((language, right, len(test)))
    print("  " + ", ".join(f"{lang} {right}/{n}" for lang, right, n in per_language))
    total_right = sum(right for _, right, _ in per_language)
    print(f"  accuracy {total_right}/{len(rows)} = {total_right / len(rows):.2f} (chance: 0.50)")

    model = RelevanceModel.fit(texts, actual)
    articles = [(row["title"], row["text"], row["lang"]) for row in rows]
    timing = time_tagging(tagger, model, articles, args.repeat)
    print()
    print("\n".join(timing.lines(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

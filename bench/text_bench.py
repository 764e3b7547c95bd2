"""Per-text costs of the CPU stages: language detection and tagging of a 400-word article per language.

    python bench/text_bench.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import make_articles  # noqa: E402
from kb.text.language import detect_language  # noqa: E402
from kb.text.tagging import Tagger  # noqa: E402
from kb.text.taxonomy import load_taxonomy  # noqa: E402

ROUNDS = 30


def main() -> None:
    tagger = Tagger(load_taxonomy())
    by_language: dict[str, str] = {}
    for article in make_articles(200):
        by_language.setdefault(article.language, " ".join(" ".join(article.body).split()[:400]))
    detect_language("warm up", "warm up the language profiles before measuring anything at all here")
    print(f"# per 400-word article, median of {ROUNDS} runs (ms)")
    print("language  detect  tag")
    for language, text in sorted(by_language.items()):
        detect, tag = [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            detect_language("A title", text)
            middle = time.perf_counter()
            tagger.tag("A title", text, language)
            detect.append(middle - started)
            tag.append(time.perf_counter() - middle)
        print(f"{language:>8}  {statistics.median(detect) * 1000:6.1f}  {statistics.median(tag) * 1000:5.2f}")


if __name__ == "__main__":
    main()

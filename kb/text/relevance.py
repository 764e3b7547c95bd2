"""The relevance model learned from the coordinator's decisions, and the rule that joins it to the terms.

The model: character n-grams (2 to 5 characters, within words, of the folded text) weighted by TF-IDF, and a
logistic regression on them. Character n-grams carry across related languages ("algoritm" in Swedish,
Danish and Norwegian; "velfærd"/"välfärd" fold to close forms), where word terms need a list per language.
It learns from labels a person gave (accepted: relevant, rejected: not relevant); `kb.learning` gathers them
and stores the model. Pure: no database here, and scikit-learn is imported only to train or to load.

A stored model is data, not a pickle: its vocabulary, IDF weights, coefficients and intercept as compressed
JSON, so loading it runs no code and survives a scikit-learn upgrade.

The verdict rule (`judge`), in order; the terms' verdict comes from `kb.text.tagging`:
1. No model (cold start: too few labels, or only accepts or only rejects): the terms alone, and the reason
   says so.
2. The model gives at least `MODEL_RELEVANT`: relevant. Judged by the model when the terms did not say
   relevant ("model 0.91: relevant (terms: no terms for Tamil)"), else by the terms, the model agreeing.
3. The terms say relevant but the model gives below `MODEL_DOUBTS`: they disagree, a person reads it.
4. The terms do not say relevant but the model gives at least `MODEL_LEANS`: a person reads it.
5. Otherwise the terms' verdict stands, with the model's score in the reason. The model never turns an item
   the terms left to a reader (a language without terms, thin evidence) into "not relevant": a model that
   never saw a language gives a low score out of ignorance, not knowledge.
A person's decision (accept, reject) always wins over all of this: `kb.learning` never re-judges an item a
person decided.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.errors import InvalidInput
from kb.text.normalize import fold
from kb.text.tagging import NEEDS_READER, RELEVANT

# Only the opening of a long text is read by the model: it says what the article is about, and keeps
# scoring fast (n-grams grow with the text).
MODEL_TEXT_CHARS = 3_000
NGRAM_RANGE = (2, 5)
MAX_FEATURES = 40_000
# Enough labels to learn from: in all, and of each class.
MIN_LABELS = 20
MIN_PER_CLASS = 5
# How many new labels (decisions since the last training) make the model due for retraining.
RETRAIN_AFTER = 20
# Thresholds of the verdict rule above (probabilities of "relevant").
MODEL_RELEVANT = 0.7
MODEL_LEANS = 0.6
MODEL_DOUBTS = 0.2
TOP_FEATURES = 5
MIN_SHOWN = 4  # letters of an n-gram that count as evidence a person can read
_PUNCTUATION = ".,;:!?\"'()[]{}«»“”‘’—–-/"
FORMAT = 1  # of the stored model (to_bytes); a model of another format is not loaded
# Who judged an item's relevance.
BY_TERMS, BY_MODEL, BY_READER = "terms", "model", "reader"
JUDGES = (BY_TERMS, BY_MODEL, BY_READER)
COLD_START = "terms alone: no learned model yet"


def model_text(title: str, text: str) -> str:
    """What the model reads of an article: its folded title and the opening of its text."""
    return fold(f"{title or ''}\n{(text or '')[:MODEL_TEXT_CHARS]}")


def readiness(labels: int, relevant: int) -> str | None:
    """Why a model cannot be trained on these labels yet (in words), or None when it can."""
    rejected = labels - relevant
    if labels < MIN_LABELS:
        return f"{labels} decision{'s' if labels != 1 else ''} so far; {MIN_LABELS} needed"
    if min(relevant, rejected) < MIN_PER_CLASS:
        return (f"{relevant} accepted and {rejected} rejected so far; "
                f"at least {MIN_PER_CLASS} of each needed")
    return None


@dataclass(frozen=True)
class ModelScore:
    """The model's probability that an article is relevant, and the words of the article holding the
    n-grams that pushed it most toward the side it fell on (strongest first)."""

    probability: float
    features: tuple[str, ...]


def _vectorizer(vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, lowercase=False, sublinear_tf=True,
                           max_features=None if vocabulary else MAX_FEATURES, vocabulary=vocabulary,
                           dtype=np.float32)


def _words_of(grams: Sequence[str], text: str) -> tuple[str, ...]:
    """The words of the (folded) text that hold the strongest n-grams, up to TOP_FEATURES: "algoritm" says
    more to a person than "orit". N-grams of fewer than MIN_SHOWN letters say too little to be shown."""
    words: list[str] | None = None
    found: list[str] = []
    for gram in grams:
        core = gram.strip().strip(_PUNCTUATION)
        if len(core) < MIN_SHOWN:
            continue
        if words is None:
            words = [word.strip(_PUNCTUATION) for word in text.split()]
        # The vectorizer marks word edges with a space: " algo" starts a word, "ritm " ends one.
        starts, ends = gram[0] == " ", gram[-1] == " "
        word = next((w for w in words if core in w and (not starts or w.startswith(core))
                     and (not ends or w.endswith(core))), core)
        if word not in found:
            found.append(word)
            if len(found) >= TOP_FEATURES:
                break
    return tuple(found)


class RelevanceModel:
    """A trained model: `score` an article, `to_bytes`/`from_bytes` to store it. Safe to share between
    threads (scoring only reads)."""

    def __init__(self, vectorizer: Any, coef: np.ndarray, intercept: float, labels: int,
                 relevant: int) -> None:
        self._vectorizer = vectorizer
        self._coef = coef.astype(np.float64)
        self._intercept = float(intercept)
        self.labels = labels
        self.relevant = relevant
        # A vectorizer rebuilt from a stored vocabulary has it as a parameter until its first use.
        vocabulary = getattr(vectorizer, "vocabulary_", None) or vectorizer.vocabulary
        names = [""] * len(vocabulary)
        for ngram, index in vocabulary.items():
            names[index] = ngram
        self._names = names

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[bool]) -> RelevanceModel:
        """Learn from model texts (`model_text`) and their labels; InvalidInput when there are too few."""
        why = readiness(len(labels), sum(1 for label in labels if label))
        if why is not None:
            raise InvalidInput(f"too few labels to train on: {why}")
        return cls.fit(texts, labels)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[bool]) -> RelevanceModel:
        """Learn from any labels with both classes (cross-validation folds, benchmarks): `train` is the
        product's way, which asks for enough labels first."""
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(labels):
            raise InvalidInput("as many labels as texts are needed")
        positives = sum(1 for label in labels if label)
        if not 0 < positives < len(labels):
            raise InvalidInput("labels of both kinds (accepted and rejected) are needed")
        vectorizer = _vectorizer()
        matrix = vectorizer.fit_transform(texts)
        # Balanced: the coordinator rejects far more than she accepts; both kinds of error count.
        classifier = LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear", max_iter=1000)
        classifier.fit(matrix, [1 if label else 0 for label in labels])
        return cls(vectorizer, classifier.coef_[0], float(classifier.intercept_[0]), len(labels), positives)

    @property
    def vocabulary(self) -> frozenset[str]:
        """The n-grams the model knows (as the vectorizer cut them, spaces marking word edges)."""
        return frozenset(self._names)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(relevant) of each model text."""
        if not texts:
            return np.zeros(0)
        margins = self._vectorizer.transform(texts) @ self._coef + self._intercept
        return 1.0 / (1.0 + np.exp(-np.asarray(margins, dtype=np.float64)))

    def score(self, title: str, text: str) -> ModelScore:
        """The probability that the article is relevant and the words behind it."""
        return self.score_many([(title, text)])[0]

    def score_many(self, articles: Sequence[tuple[str, str]]) -> list[ModelScore]:
        """`score` of each (title, text), vectorized at once (several times faster than one by one)."""
        if not articles:
            return []
        texts = [model_text(title, text) for title, text in articles]
        matrix = self._vectorizer.transform(texts)
        scores = []
        for row, text in enumerate(texts):
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            indices = matrix.indices[start:end]
            contributions = matrix.data[start:end] * self._coef[indices]
            margin = float(contributions.sum()) + self._intercept
            probability = 1.0 / (1.0 + math.exp(-margin)) if margin > -700 else 0.0
            side = 1.0 if probability >= 0.5 else -1.0
            signed = side * contributions
            order = np.argsort(-signed)[:10 * TOP_FEATURES]
            grams = [self._names[index] for index, value in zip(indices[order].tolist(),
                                                                  signed[order].tolist(), strict=True)
                     if value > 0]
            scores.append(ModelScore(round(probability, 4), _words_of(grams, text)))
        return scores

    def to_bytes(self) -> bytes:
        """The model as compressed JSON (see the module docstring)."""
        payload = {
            "format": FORMAT,
            "vocabulary": self._names,
            "idf": [round(float(v), 6) for v in self._vectorizer.idf_],
            "coef": [round(float(v), 6) for v in self._coef],
            "intercept": self._intercept,
            "labels": self.labels,
            "relevant": self.relevant,
        }
        return zlib.compress(json.dumps(payload, ensure_ascii=False).encode("utf-8"), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> RelevanceModel:
        """A model stored by `to_bytes`; InvalidInput when the bytes are not one."""
        try:
            payload = json.loads(zlib.decompress(data).decode("utf-8"))
            if payload.get("format") != FORMAT:
                raise InvalidInput(f"a stored relevance model of format {payload.get('format')!r}, "
                                   f"not {FORMAT}: train it again")
            names = payload["vocabulary"]
            vectorizer = _vectorizer({name: index for index, name in enumerate(names)})
            vectorizer.idf_ = np.asarray(payload["idf"], dtype=np.float32)
            return cls(vectorizer, np.asarray(payload["coef"]), float(payload["intercept"]),
                       int(payload["labels"]), int(payload["relevant"]))
        except (zlib.error, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"the stored relevance model is damaged ({exc}): train it again") from exc


@dataclass(frozen=True)
class Judgement:
    """The final relevance of an article: verdict, whether it is relevant, who judged, and why."""

    verdict: str
    reason: str
    judge: str  # BY_TERMS, BY_MODEL or BY_READER

    @property
    def relevant(self) -> bool:
        return self.verdict == RELEVANT


def judge(terms_verdict: str, terms_reason: str, score: ModelScore | None) -> Judgement:
    """The verdict rule of the module docstring, from the terms' verdict and reason and the model's score
    (None: no model)."""
    terms_reason = terms_reason or terms_verdict
    terms_judge = BY_READER if terms_verdict == NEEDS_READER else BY_TERMS
    if score is None:
        return Judgement(terms_verdict, f"{terms_reason}; {COLD_START}", terms_judge)
    p = score.probability
    if p >= MODEL_RELEVANT:
        if terms_verdict == RELEVANT:
            return Judgement(RELEVANT, f"{terms_reason}; model {p:.2f} agrees", BY_TERMS)
        return Judgement(RELEVANT, f"model {p:.2f}: relevant (terms: {terms_reason})", BY_MODEL)
    if terms_verdict == RELEVANT and p < MODEL_DOUBTS:
        return Judgement(NEEDS_READER, f"terms and model disagree: {terms_reason}, but model {p:.2f}: "
                         "not relevant", BY_READER)
    if terms_verdict != RELEVANT and p >= MODEL_LEANS:
        return Judgement(NEEDS_READER, f"model {p:.2f} leans relevant, the terms do not: {terms_reason}",
                         BY_READER)
    return Judgement(terms_verdict, f"{terms_reason}; model {p:.2f}", terms_judge)


@dataclass(frozen=True)
class CrossValidation:
    """Held-out figures of the model on labels: each label predicted by a model trained without it."""

    precision: float  # of the items predicted relevant (P >= 0.5), the share that were
    recall: float  # of the relevant items, the share predicted relevant
    folds: int
    probabilities: tuple[float, ...]  # each label's held-out P(relevant), in the order given


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of `predicted` against `actual` (0 when nothing was predicted or relevant)."""
    hits = sum(1 for p, a in zip(predicted, actual, strict=True) if p and a)
    said, true = sum(map(bool, predicted)), sum(map(bool, actual))
    return (hits / said if said else 0.0, hits / true if true else 0.0)


def cross_validate(texts: Sequence[str], labels: Sequence[bool], folds: int = 5,
                   seed: int = 0) -> CrossValidation | None:
    """Stratified k-fold cross-validation (fewer folds when a class is small); None with fewer than two
    labels of a class."""
    from sklearn.model_selection import StratifiedKFold

    positives = sum(1 for label in labels if label)
    folds = min(folds, positives, len(labels) - positives)
    if folds < 2:
        return None
    targets = np.asarray([1 if label else 0 for label in labels])
    held_out = np.zeros(len(labels))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(np.zeros(len(labels)), targets):
        model = RelevanceModel.fit([texts[i] for i in train_rows], [bool(targets[i]) for i in train_rows])
        held_out[test_rows] = model.probabilities([texts[i] for i in test_rows])
    precision, recall = precision_recall([bool(p >= 0.5) for p in held_out], [bool(t) for t in targets])
    return CrossValidation(round(precision, 4), round(recall, 4), folds,
                           tuple(round(float(p), 4) for p in held_out))

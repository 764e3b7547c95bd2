"""Training the relevance model on a person's decisions, retraining it in the background, and judging
items at store time with the newest model (`kb.text.relevance` holds the model and the verdict rule)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from kb.errors import InvalidInput
from kb.items import ItemDraft
from kb.learning import records
from kb.learning.background import run_in_background
from kb.learning.records import ModelRecord
from kb.text.relevance import (
    RETRAIN_AFTER,
    Judgement,
    ModelScore,
    RelevanceModel,
    cross_validate,
    judge,
    model_text,
    readiness,
)
from kb.text.tagging import NOT_RELEVANT, RELEVANT

LOGGER = logging.getLogger(__name__)

# The newest labels a model learns from at most (training time grows with them).
MAX_LABELS = 20_000
CV_FOLDS = 5
_CACHE_SIZE = 2
_cache: OrderedDict[str, RelevanceModel] = OrderedDict()
_cache_lock = threading.Lock()
_training = threading.Lock()  # one training at a time in a process


@dataclass(frozen=True)
class TrainingState:
    """Where the model stands: the newest one (None in a cold start), the labels, and what comes next."""

    model: ModelRecord | None
    labels: int
    relevant: int
    new_labels: int  # decisions since the newest model's labels
    not_ready: str | None  # why no model can be trained yet, in words; None when one can

    @property
    def due(self) -> bool:
        """A (re)training is due: enough labels, and no model yet or `RETRAIN_AFTER` new ones."""
        return self.not_ready is None and (self.model is None or self.new_labels >= RETRAIN_AFTER)

    def line(self) -> str:
        """The state in words, for the dashboard and the command line."""
        if self.model is None:
            why = self.not_ready or "enough decisions: the monitor trains it at its next tick"
            return f"No learned model yet: relevance is judged by the terms alone ({why})."
        model = self.model
        figures = ""
        if model.cv_precision is not None and model.cv_recall is not None:
            figures = (f"; {model.cv_folds}-fold cross-validated precision {model.cv_precision:.2f}, "
                       f"recall {model.cv_recall:.2f}")
        return (f"Learned model trained {model.trained_at} on {model.labels} decisions "
                f"({model.relevant} accepted, {model.labels - model.relevant} rejected){figures}. "
                f"{self.new_labels} new decisions since; it is trained again after {RETRAIN_AFTER}.")


def training_state(db: Database) -> TrainingState:
    model = records.latest_model(db)
    counts = records.label_counts(db, model.decisions_mark if model else None)
    return TrainingState(model, counts.total, counts.relevant, counts.new,
                         readiness(counts.total, counts.relevant))


def train(db: Database, *, force: bool = False) -> ModelRecord | None:
    """Train a model on the labels now when due (or, with `force`, whenever enough labels exist), with its
    cross-validated figures; returns the stored model, or None when nothing was trained."""
    state = training_state(db)
    if not (state.due or (force and state.not_ready is None)):
        return None
    mark = records.decisions_mark(db)  # read first: a decision made meanwhile counts for the next training
    labels = records.labels(db, MAX_LABELS)
    texts = [model_text(label.title, label.text) for label in labels]
    targets = [label.relevant for label in labels]
    try:
        model = RelevanceModel.train(texts, targets)
    except InvalidInput as exc:  # the labels changed since the state was read
        LOGGER.info("relevance model not trained: %s", exc)
        return None
    checked = cross_validate(texts, targets, CV_FOLDS)
    record = records.save_model(
        db, model.to_bytes(), labels=model.labels, relevant=model.relevant,
        last_label_at=max(label.decided_at for label in labels), mark=mark,
        cv_precision=checked.precision if checked else None, cv_recall=checked.recall if checked else None,
        cv_folds=checked.folds if checked else 0)
    with _cache_lock:
        _cache[record.model_key] = model
    LOGGER.warning("relevance model trained on %s decisions (%s accepted); cross-validated precision %s, "
                   "recall %s", record.labels, record.relevant, record.cv_precision, record.cv_recall)
    return record


def train_in_background(db: Database, db_path: Path | str) -> threading.Thread | None:
    """Retrain in a thread of its own (with its own connection to `db_path`) when due and no training is
    running in this process; returns the thread, or None when nothing was started. Called by the monitor's
    scheduler at each tick."""
    if not training_state(db).due:
        return None
    return run_in_background(_training, db_path, train, "relevance-training",
                             "training the relevance model failed (the terms keep judging); will retry")


def current_model(db: Database) -> RelevanceModel | None:
    """The newest stored model, loaded once per process (None in a cold start)."""
    key = records.latest_model_key(db)
    if key is None:
        return None
    with _cache_lock:
        model = _cache.get(key)
        if model is not None:
            _cache.move_to_end(key)
            return model
    data = records.model_bytes(db, key)
    if data is None:  # replaced in between: the next call loads the newer one
        return None
    try:
        model = RelevanceModel.from_bytes(data)
    except InvalidInput:
        LOGGER.exception("the stored relevance model %s cannot be loaded; judging by the terms alone", key)
        return None
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def judge_article(model: RelevanceModel | None, title: str, text: str, terms_verdict: str,
                  terms_reason: str) -> tuple[Judgement, ModelScore | None]:
    """The final judgement of an article from the terms' verdict and the model (None: cold start)."""
    score = model.score(title, text) if model is not None else None
    return judge(terms_verdict, terms_reason, score), score


def score_all(model: RelevanceModel | None, articles: Sequence[tuple[str, str]]) -> list[ModelScore | None]:
    """The model's scores of (title, text) pairs, vectorized at once; all None in a cold start."""
    if model is None:
        return [None] * len(articles)
    return list(model.score_many(articles))


def judge_drafts(db: Database, drafts: Sequence[ItemDraft]) -> list[ItemDraft]:
    """The drafts with the model's score and the final verdict (kb.text.relevance.judge), as stored."""
    scores = score_all(current_model(db), [(draft.title, draft.text or draft.summary) for draft in drafts])
    judged = []
    for draft, score in zip(drafts, scores, strict=True):
        verdict = draft.relevance_verdict or (RELEVANT if draft.relevant else NOT_RELEVANT)
        judgement = judge(verdict, draft.relevance_reason, score)
        judged.append(dataclasses.replace(
            draft, relevant=judgement.relevant, relevance_verdict=judgement.verdict,
            relevance_reason=judgement.reason, relevance_judge=judgement.judge,
            model_score=score.probability if score else None, model_features=score.features if score else ()))
    return judged

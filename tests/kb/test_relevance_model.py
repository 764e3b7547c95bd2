"""The relevance model learned from the coordinator's decisions: what it learns from (only what a person
decided), the cold start, the verdict rule, its reach into a related language, its storage, retraining,
re-tagging (a person's decision always wins) and the preview of a taxonomy edit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kb import curation
from kb import items as items_store
from kb import tags as tags_store
from kb import users as users_store
from kb.errors import InvalidInput
from kb.learning import records, training
from kb.learning.retag import judge_shares, preview_term, retag, with_term
from kb.text.relevance import (
    COLD_START,
    MIN_LABELS,
    RETRAIN_AFTER,
    ModelScore,
    RelevanceModel,
    judge,
    model_text,
)
from kb.text.tagging import NEEDS_READER, NOT_RELEVANT, RELEVANT, Tagger
from kb.text.taxonomy import load_taxonomy
from tests.factories import make_draft

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "relevance_labelled.jsonl"
TAGGER = Tagger(load_taxonomy())
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def _store(db, row: dict, n: int, **overrides) -> int:
    """Store one labelled row as ingest would: tagged by the terms, judged with the current model."""
    result = TAGGER.tag(row["title"], row["text"], row["lang"])
    draft = make_draft(url=f"https://news.example.org/{row['lang']}/{n}", title=row["title"],
                       text=row["text"], language=row["lang"], topics=result.topics, relevant=result.relevant,
                       relevance_score=result.relevance_score, relevance_verdict=result.verdict,
                       relevance_reason=result.reason, **overrides)
    [judged] = training.judge_drafts(db, [draft])
    return items_store.store_item(db, judged).item_id


@pytest.fixture
def coordinator(kb):
    return users_store.add_user(kb.db, "coord@lab.example", "a long password 1", "coordinator")


def _decide(db, item_id: int, relevant: bool, user_id: int | None) -> None:
    curation.set_status(db, item_id, "accepted" if relevant else "rejected", user_id)


def _snapshot(db) -> dict[str, list]:
    return {table: [tuple(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in ("items", "tags", "audit_log", "index_outbox", "relevance_models")}


# --- what the model learns from ---------------------------------------------------------------------------

def test_the_model_never_trains_on_items_no_person_decided(kb, coordinator):
    db = kb.db
    decided = 0
    for n, row in enumerate(ROWS[:40]):
        _decide(db, _store(db, row, n), row["relevant"], coordinator.id)
        decided += 1
    # Marker words only in items a person did not decide: left in the queue, or accepted by a system action.
    undecided = make_draft(title="Xqxqxq welfare algorithm", text="Xqxqxq xqxqxq benefits algorithm.")
    items_store.store_item(db, undecided)
    by_system = items_store.store_item(db, make_draft(title="Jwjwjw exam algorithm", text="Jwjwjw jwjwjw."))
    _decide(db, by_system.item_id, True, None)
    # And one in an item a person decided, so that the check below can fail.
    control = items_store.store_item(db, make_draft(title="Vzvzvz benefits algorithm", text="Vzvzvz vzvzvz."))
    _decide(db, control.item_id, True, coordinator.id)
    decided += 1

    record = training.train(db)
    assert record is not None and record.labels == decided
    model = training.current_model(db)
    assert model is not None and model.labels == decided
    grams = model.vocabulary
    assert any("vz" in gram for gram in grams)  # the decided marker was learned from
    assert not any("xq" in gram or "qx" in gram for gram in grams)
    assert not any("jw" in gram or "wj" in gram for gram in grams)


def test_cold_start_judges_by_the_terms_alone_and_says_so(kb, coordinator):
    db = kb.db
    assert training.current_model(db) is None
    tagger = TAGGER
    ids = [_store(db, row, n) for n, row in enumerate(ROWS[:10])]
    for item_id, row in zip(ids, ROWS[:10], strict=True):
        item = items_store.get_item(db, item_id)
        expected = tagger.tag(row["title"], row["text"], row["lang"])
        assert item.relevance_verdict == expected.verdict
        assert item.relevance_reason == f"{expected.reason}; {COLD_START}"
        assert item.model_score is None and item.model_features == ()
        assert item.relevance_judge == ("reader" if expected.verdict == NEEDS_READER else "terms")
    # Labels of one class only: still a cold start, and the state says why.
    for item_id in ids:
        _decide(db, item_id, True, coordinator.id)
    for n, row in enumerate(ROWS[10:10 + MIN_LABELS]):
        _decide(db, _store(db, row, 100 + n), True, coordinator.id)
    state = training.training_state(db)
    assert state.labels == 10 + MIN_LABELS and not state.due
    assert "0 rejected" in state.not_ready and "terms alone" in state.line()
    assert training.train(db, force=True) is None
    assert training.current_model(db) is None


# --- the verdict rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("terms", "probability", "verdict", "judged_by"), [
    (RELEVANT, None, RELEVANT, "terms"),
    (NEEDS_READER, None, NEEDS_READER, "reader"),
    (RELEVANT, 0.95, RELEVANT, "terms"),
    (NOT_RELEVANT, 0.91, RELEVANT, "model"),
    (NEEDS_READER, 0.85, RELEVANT, "model"),
    (RELEVANT, 0.1, NEEDS_READER, "reader"),
    (NOT_RELEVANT, 0.6, NEEDS_READER, "reader"),
    (NOT_RELEVANT, 0.3, NOT_RELEVANT, "terms"),
    (NEEDS_READER, 0.01, NEEDS_READER, "reader"),  # the model never makes an item silently irrelevant
    (RELEVANT, 0.5, RELEVANT, "terms"),
])
def test_the_verdict_rule(terms, probability, verdict, judged_by):
    score = None if probability is None else ModelScore(probability, ("algor",))
    judgement = judge(terms, "3 welfare terms, 1 system term", score)
    assert (judgement.verdict, judgement.judge) == (verdict, judged_by)
    assert judgement.relevant == (verdict == RELEVANT)
    if probability is None:
        assert judgement.reason.endswith(COLD_START)
    else:
        assert f"model {probability:.2f}" in judgement.reason
    if judged_by == "model":
        assert judgement.reason.startswith(f"model {probability:.2f}: relevant")


# --- what the model can do ---------------------------------------------------------------------------------

def _binomial_threshold(n: int, alpha: float) -> int:
    """The least number right out of n that a coin (p = 0.5) reaches with probability below alpha."""
    for k in range(n + 1):
        if sum(math.comb(n, j) for j in range(k, n + 1)) / 2**n < alpha:
            return k
    return n + 1


@pytest.mark.parametrize(("train_on", "held_out"), [(("sv", "no"), "da"), (("da", "no"), "sv")])
def test_a_small_model_carries_into_a_related_language(train_on, held_out):
    train = [row for row in ROWS if row["lang"] in train_on]
    test = [row for row in ROWS if row["lang"] == held_out]
    model = RelevanceModel.fit([model_text(r["title"], r["text"]) for r in train],
                               [r["relevant"] for r in train])
    probabilities = model.probabilities([model_text(r["title"], r["text"]) for r in test])
    right = sum((p >= 0.5) == r["relevant"] for p, r in zip(probabilities, test, strict=True))
    majority = max(sum(r["relevant"] for r in test), sum(not r["relevant"] for r in test))
    # Better than chance: more right than a coin reaches 1 time in 20, and more than the majority class.
    threshold = max(_binomial_threshold(len(test), 0.05), majority + 1)
    assert right >= threshold, (right, len(test), [round(float(p), 2) for p in probabilities])


def test_a_stored_model_scores_as_the_trained_one_and_damage_is_reported():
    texts = [model_text(r["title"], r["text"]) for r in ROWS]
    model = RelevanceModel.train(texts, [r["relevant"] for r in ROWS])
    loaded = RelevanceModel.from_bytes(model.to_bytes())
    assert list(loaded.probabilities(texts[:20])) == pytest.approx(list(model.probabilities(texts[:20])),
                                                                    abs=1e-4)
    score = loaded.score(ROWS[0]["title"], ROWS[0]["text"])
    assert score.probability > 0.5 and score.features
    assert all(feature in texts[0] for feature in score.features)  # n-grams of the text itself
    with pytest.raises(InvalidInput, match="damaged"):
        RelevanceModel.from_bytes(b"not a model")
    with pytest.raises(InvalidInput, match="too few labels"):
        RelevanceModel.train(texts[:5], [True, False, True, False, True])


# --- retraining, storing, and a person's decision -------------------------------------------------------

def _labelled_kb(db, user_id: int, count: int = 60) -> list[int]:
    ids = []
    for n, row in enumerate(ROWS[:count]):
        item_id = _store(db, row, n)
        _decide(db, item_id, row["relevant"], user_id)
        ids.append(item_id)
    return ids


def test_retraining_happens_in_the_background_once_enough_new_decisions_exist(kb, coordinator):
    db = kb.db
    _labelled_kb(db, coordinator.id, 40)
    thread = training.train_in_background(db, kb.settings.db_path)
    assert thread is not None
    thread.join(120)
    first = records.latest_model(db)
    assert first is not None and first.labels == 40 and first.cv_folds == 5
    assert first.cv_precision is not None and first.cv_recall is not None
    assert training.train_in_background(db, kb.settings.db_path) is None  # no new decisions
    fresh = [_store(db, row, 1000 + n) for n, row in enumerate(ROWS[40:40 + RETRAIN_AFTER - 1])]
    for item_id, row in zip(fresh, ROWS[40:], strict=False):
        _decide(db, item_id, row["relevant"], coordinator.id)
    assert training.training_state(db).new_labels == RETRAIN_AFTER - 1
    assert training.train_in_background(db, kb.settings.db_path) is None
    _decide(db, _store(db, ROWS[100], 2000), ROWS[100]["relevant"], coordinator.id)
    thread = training.train_in_background(db, kb.settings.db_path)
    assert thread is not None
    thread.join(120)
    second = records.latest_model(db)
    assert second.id != first.id and second.labels == 40 + RETRAIN_AFTER
    # A new item is scored at store time by the newest model, its n-grams kept.
    new = {"lang": "en", "title": "Council algorithm scores benefit claimants for fraud risk",
           "text": "Auditors found the welfare risk scoring algorithm flagged claimants unfairly."}
    item = items_store.get_item(db, _store(db, new, 3000))
    assert item.model_score is not None and item.model_features
    assert "model" in item.relevance_reason and COLD_START not in item.relevance_reason


def test_a_persons_decision_survives_retraining_and_retagging(kb, coordinator):
    db = kb.db
    ids = _labelled_kb(db, coordinator.id, 60)
    # Against the terms: accept an off-topic item, reject a relevant one; and decide tags by hand.
    off_topic = _store(db, {"lang": "en", "title": "Harbour Rovers sign a new striker",
                            "text": "The club paid a record fee for the forward from the bottom side."}, 900)
    on_topic = _store(db, {"lang": "en", "title": "Welfare fraud algorithm flags claimants",
                           "text": "The benefits agency's risk scoring algorithm flagged thousands of "
                                   "claimants for fraud investigations."}, 901)
    _decide(db, off_topic, True, coordinator.id)
    _decide(db, on_topic, False, coordinator.id)
    welfare_tags = [t.topic for t in items_store.get_item(db, on_topic).tags]
    assert "sector/welfare" in welfare_tags
    tags_store.remove_tag(db, on_topic, "sector/welfare", coordinator.id)
    tags_store.set_tag(db, off_topic, "sector/education", coordinator.id)
    before = {item.id: item for item in items_store.load_items(db, [*ids, off_topic, on_topic])}

    assert training.train(db, force=True) is not None
    report = retag(db)
    assert report.decided == len(before) and report.model
    training.train(db, force=True)
    # A longer text of a decided item arriving from a feed does not re-judge it either.
    items_store.store_item(db, make_draft(url="https://news.example.org/en/901", title="Welfare algorithm",
                                          text="Much longer text about the risk scoring algorithm " * 10,
                                          relevant=True, relevance_verdict=RELEVANT))
    for item in items_store.load_items(db, list(before)):
        old = before[item.id]
        assert (item.status, item.relevant, item.relevance_verdict, item.relevance_reason, item.model_score) \
            == (old.status, old.relevant, old.relevance_verdict, old.relevance_reason, old.model_score)
    on = {t.topic: t for t in items_store.get_item(db, on_topic).tags}
    assert on["sector/welfare"].state == "removed"
    assert "sector/education" in items_store.get_item(db, off_topic).topics
    assert items_store.get_item(db, on_topic).status == "rejected"
    assert items_store.get_item(db, off_topic).status == "accepted"


# --- re-tagging and the preview of a taxonomy edit --------------------------------------------------------

def _stale_items(db) -> list[int]:
    """Items stored with an outdated judgement: no topics, and "not relevant" without a reason."""
    ids = []
    for n, row in enumerate(ROWS[::7]):
        draft = make_draft(url=f"https://old.example.org/{n}", title=row["title"], text=row["text"],
                           language=row["lang"], topics=(), relevant=False, relevance_score=0.0,
                           relevance_verdict=NOT_RELEVANT, relevance_reason="")
        ids.append(items_store.store_item(db, draft).item_id)
    return ids


def test_a_retag_dry_run_changes_nothing_and_counts_what_the_real_run_changes(kb):
    db = kb.db
    ids = _stale_items(db)
    snapshot = _snapshot(db)
    dry = retag(db, dry_run=True)
    assert _snapshot(db) == snapshot
    assert dry.examined == len(ids) and dry.retopiced > 0 and dry.verdict_changes > 0
    assert any("would change" in line for line in dry.lines())

    tagger = TAGGER
    expected_topics = sum(
        1 for item in items_store.load_items(db, ids)
        if tagger.tag(item.title, item.text, item.language).topics)
    expected_verdicts = sum(
        1 for item in items_store.load_items(db, ids)
        if tagger.tag(item.title, item.text, item.language).verdict != NOT_RELEVANT)
    assert (dry.retopiced, dry.verdict_changes) == (expected_topics, expected_verdicts)

    real = retag(db)
    assert real.as_json() | {"dry_run": True} == dry.as_json()
    after = items_store.load_items(db, ids)
    assert sum(1 for item in after if item.topics) == expected_topics
    assert sum(1 for item in after if item.relevance_verdict != NOT_RELEVANT) == expected_verdicts
    assert all(COLD_START in item.relevance_reason for item in after)
    assert retag(db, dry_run=True).retopiced == 0  # nothing left to change
    entry = db.execute("SELECT details FROM audit_log WHERE action = 'retag'").fetchall()
    assert len(entry) == 1 and json.loads(entry[0][0])["retopiced"] == expected_topics


def test_the_preview_of_a_term_addition_is_what_applying_it_changes(kb):
    db = kb.db
    texts = [("sw", "Ruzuku za mbolea zacheleweshwa", "Wakulima wanasubiri ruzuku za mbolea kwa wiki tatu."),
             ("sw", "Ruzuku mpya kwa wavuvi", "Serikali imetangaza ruzuku kwa wavuvi wa ziwa."),
             ("sw", "Mvua kubwa pwani", "Mamlaka imetabiri mvua nyingi wiki ijayo.")]
    ids = [_store(db, {"lang": lang, "title": title, "text": text}, 500 + n)
           for n, (lang, title, text) in enumerate(texts)]
    topic = "sector/welfare"  # "ruzuku": a subsidy
    assert "ruzuku" not in load_taxonomy().get(topic).terms.get("sw", ())

    def having(topic_id: str) -> set[int]:
        return {item.id for item in items_store.load_items(db, ids) if topic_id in item.topics}

    before = having(topic)
    snapshot = _snapshot(db)
    preview = preview_term(db, topic, "sw", "ruzuku")
    assert _snapshot(db) == snapshot
    applied = retag(db, taxonomy=with_term(load_taxonomy(), topic, "sw", "ruzuku"))
    gained = having(topic) - before
    assert preview.tagged[topic] == applied.tagged[topic] == len(gained) == 2
    assert preview.as_json() | {"dry_run": False} == applied.as_json()
    with pytest.raises(InvalidInput, match="already"):
        with_term(with_term(load_taxonomy(), topic, "sw", "ruzuku"), topic, "sw", "ruzuku")
    with pytest.raises(InvalidInput, match="language code"):
        with_term(load_taxonomy(), topic, "Swahili!", "ruzuku")


def test_judge_shares_count_items_per_language_and_judge(kb):
    db = kb.db
    for n, (language, judged_by) in enumerate([("sv", "terms"), ("sv", "model"), ("sv", "reader"),
                                               ("sv", "terms"), ("ta", "reader")]):
        items_store.store_item(db, make_draft(url=f"https://x.example.org/{n}", language=language,
                                              relevance_judge=judged_by))
    shares = {row.language: row for row in judge_shares(db)}
    assert shares["sv"].items == 4 and shares["sv"].by_judge == {"terms": 2, "model": 1, "reader": 1}
    assert shares["sv"].share("terms") == 0.5
    assert shares["ta"].share("reader") == 1.0
    assert shares["all"].items == 5 and list(shares)[-1] == "all"

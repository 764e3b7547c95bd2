"""Re-tagging stored items with the current taxonomy and relevance model, the preview of a taxonomy edit
(what re-tagging with it would change), and the shares of items judged by terms, model or reader.

A person's decision always wins: the tags a person set, confirmed or removed stay (`kb.tags`), and the
relevance of an item a person accepted or rejected is never re-judged.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from kb import tags as tags_store
from kb.errors import InvalidInput
from kb.learning import records, training
from kb.learning.records import StoredItem
from kb.storage import audit, outbox
from kb.storage.db import transaction
from kb.text.relevance import BY_MODEL, BY_READER, BY_TERMS, JUDGES, ModelScore, judge
from kb.text.tagging import Tagger, TopicEvidence, tagger_of
from kb.text.taxonomy import ANY_LANGUAGE, Taxonomy, load_taxonomy

BATCH = 200
MAX_TERM = 200
MAX_EXAMPLES = 5


@dataclass
class RetagReport:
    """What re-tagging changed (or, in a dry run, would change)."""

    dry_run: bool
    model: bool  # a learned model judged alongside the terms (False: the terms alone)
    examined: int = 0
    retopiced: int = 0  # items whose tagger topics changed
    tagged: Counter[str] = field(default_factory=Counter)  # topic -> items that gain it
    untagged: Counter[str] = field(default_factory=Counter)  # topic -> items that lose it
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (before, after) -> items
    rescored: int = 0  # items whose judgement changed (verdict, score, reason or judge)
    decided: int = 0  # items a person decided: relevance left as it is
    # A few items whose topics change: (id, title, topics gained, topics lost), for a preview to show.
    examples: list[tuple[int, str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    @property
    def verdict_changes(self) -> int:
        return sum(self.verdicts.values())

    def lines(self) -> list[str]:
        """The report in words, one line per kind of change."""
        would = "would change" if self.dry_run else "changed"
        judged = "terms and the learned model" if self.model else "terms alone (no learned model yet)"
        lines = [f"{self.examined} items examined with the current taxonomy and the {judged}.",
                 f"Topics {would} on {self.retopiced} items: {sum(self.tagged.values())} added, "
                 f"{sum(self.untagged.values())} removed.",
                 f"Relevance {would} on {self.rescored} items, the verdict on {self.verdict_changes}."]
        lines += [f"  {before or '(none)'} -> {after}: {count}"
                  for (before, after), count in sorted(self.verdicts.items())]
        lines.append(f"{self.decided} items a person decided keep their relevance and the tags a person set.")
        return lines

    def as_json(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "model": self.model, "examined": self.examined,
                "retopiced": self.retopiced, "tagged": dict(self.tagged), "untagged": dict(self.untagged),
                "verdicts": {f"{b} -> {a}": n for (b, a), n in sorted(self.verdicts.items())},
                "rescored": self.rescored, "decided": self.decided}


_Proposals = tuple[dict[str, tuple[str, ...]], set[str]]


def _proposals(db: Database, item_ids: Sequence[int]) -> dict[int, _Proposals]:
    """Per item: the tagger's active proposals (topic -> evidence), and the topics a person decided."""
    found: dict[int, _Proposals] = {i: ({}, set()) for i in item_ids}
    for item_id, item_tags in tags_store.tags_for(db, list(item_ids)).items():
        proposals, decided = found[item_id]
        for tag in item_tags:
            if tag.origin == "person" or tag.confirmed or tag.state == "removed":
                decided.add(tag.topic)
            else:
                proposals[tag.topic] = tag.evidence
    return found


def _judgement(item: StoredItem, tagger: Tagger, score: ModelScore | None) -> tuple[
        tuple[TopicEvidence, ...], dict[str, object]]:
    result = tagger.tag(item.title, item.text, item.language)
    judgement = judge(result.verdict, result.reason, score)
    return result.topics, {
        "relevant": judgement.relevant, "relevance_score": result.relevance_score,
        "relevance_verdict": judgement.verdict, "relevance_reason": judgement.reason[:300],
        "model_score": score.probability if score else None,
        "model_features": score.features if score else (), "relevance_judge": judgement.judge,
    }


def retag(db: Database, *, taxonomy: Taxonomy | None = None, dry_run: bool = False,
          user_id: int | None = None, progress: Callable[[int], None] | None = None) -> RetagReport:
    """Tag and judge every stored item again with `taxonomy` (default: the current one) and the newest
    model; with `dry_run`, count what would change and write nothing. Each batch is one transaction; the
    run is written to the audit log. `progress` is called after each batch with the items examined so far."""
    tagger = tagger_of(taxonomy if taxonomy is not None else load_taxonomy())
    model = training.current_model(db)
    report = RetagReport(dry_run=dry_run, model=model is not None)
    after = 0
    while batch := records.items_after(db, after, BATCH):
        after = batch[-1].id
        proposals = _proposals(db, [item.id for item in batch])
        writes: list[tuple[StoredItem, tuple[TopicEvidence, ...] | None, dict[str, object] | None]] = []
        scores = training.score_all(model, [(item.title, item.text) for item in batch])
        for item, score in zip(batch, scores, strict=True):
            report.examined += 1
            topics, judgement = _judgement(item, tagger, score)
            current, decided = proposals[item.id]
            wanted = {match.topic: match.evidence for match in topics if match.topic not in decided}
            new_topics = topics if wanted != current else None
            if new_topics is not None and set(wanted) != set(current):
                report.retopiced += 1
                report.tagged.update(set(wanted) - set(current))
                report.untagged.update(set(current) - set(wanted))
                if len(report.examples) < MAX_EXAMPLES:
                    report.examples.append((item.id, item.title, tuple(sorted(set(wanted) - set(current))),
                                            tuple(sorted(set(current) - set(wanted)))))
            new_judgement = None
            if item.decided:
                report.decided += 1
            elif judgement != dict(item.judgement):
                new_judgement = judgement
                report.rescored += 1
                before, now = str(item.judgement["relevance_verdict"]), str(judgement["relevance_verdict"])
                if before != now:
                    report.verdicts[(before, now)] += 1
            if new_topics is not None or new_judgement is not None:
                writes.append((item, new_topics, new_judgement))
        if not dry_run and writes:
            with transaction(db):
                for item, new_topics, new_judgement in writes:
                    if new_topics is not None:
                        tags_store.apply_tagger_tags(db, item.id, new_topics)
                    if new_judgement is not None:
                        records.save_judgement(db, item.id, new_judgement)
                outbox.enqueue(db, [item.id for item, _, _ in writes])
        if progress is not None:
            progress(report.examined)
    if not dry_run:
        with transaction(db):
            audit.record(db, user_id, "retag", "items", None, report.as_json())
    return report


# --- the preview of a taxonomy edit -----------------------------------------------------------------------

def with_term(taxonomy: Taxonomy, topic_id: str, language: str, term: str, *,
              remove: bool = False) -> Taxonomy:
    """The taxonomy with `term` added to (or removed from) a topic's terms in `language`."""
    topic = taxonomy.get(topic_id)
    term = " ".join(term.split())
    language = language.strip().lower()
    if not term:
        raise InvalidInput("the term is empty")
    if len(term) > MAX_TERM:
        raise InvalidInput(f"a term has at most {MAX_TERM} characters")
    code = language.isascii() and language.isalpha() and 2 <= len(language) <= 3
    if not (language == ANY_LANGUAGE or code):
        raise InvalidInput(f"{language[:20]!r} is not a language code such as sv or fil")
    terms = dict(topic.terms)
    present = terms.get(language, ())
    if remove:
        if term not in present:
            raise InvalidInput(f"{topic_id} has no term {term!r} in {language}")
        terms[language] = tuple(t for t in present if t != term)
    else:
        if term in present:
            raise InvalidInput(f"{topic_id} has the term {term!r} in {language} already")
        terms[language] = (*present, term)
    changed = dataclasses.replace(topic, terms={k: v for k, v in terms.items() if v})
    return taxonomy.with_topics([changed if t.id == topic_id else t for t in taxonomy.topics])


def preview_term(db: Database, topic_id: str, language: str, term: str, *, remove: bool = False,
                 taxonomy: Taxonomy | None = None) -> RetagReport:
    """What adding (or removing) a term would change on the stored items: a dry run of re-tagging with
    the edited taxonomy (applying it is `retag(db, taxonomy=...)` with the same taxonomy)."""
    edited = with_term(taxonomy or load_taxonomy(), topic_id, language, term, remove=remove)
    return retag(db, taxonomy=edited, dry_run=True)


# --- who judged, for the dashboard ---------------------------------------------------------------------

@dataclass(frozen=True)
class LanguageShares:
    """Items of one language and how their relevance was judged."""

    language: str
    items: int
    by_judge: dict[str, int]  # "terms", "model", "reader" -> items
    decided: int  # items a person has accepted or rejected since

    def share(self, judge: str) -> float:
        return self.by_judge.get(judge, 0) / self.items if self.items else 0.0


def judge_shares(db: Database) -> list[LanguageShares]:
    """Per language (most items first) and in all (last, language "all"): items and who judged them."""
    per: dict[str, dict[str, int]] = {}
    decided: Counter[str] = Counter()
    for count in records.judge_counts(db):
        judge = count.judge if count.judge in JUDGES else BY_TERMS
        for key in (count.language, ANY_LANGUAGE):
            per.setdefault(key, {}).setdefault(judge, 0)
            per[key][judge] += count.count
            if count.decided:
                decided[key] += count.count
    shares = [LanguageShares(language, sum(judges.values()),
                             {j: judges.get(j, 0) for j in (BY_TERMS, BY_MODEL, BY_READER)},
                             decided[language])
              for language, judges in per.items()]
    shares.sort(key=lambda s: (s.language == ANY_LANGUAGE, -s.items, s.language))
    return shares

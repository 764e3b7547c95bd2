"""The lab's taxonomy as the coordinator edits it: the current version (stored, else the bundled file),
checking a term to add or remove against the taxonomy's rules, recording a change (audited), export and
import as a TOML file.

Every process tags with the current version: `current(db)` reads the newest version's digest (one read
of the last row) and, when it differs from what the process has installed, reads, validates and
installs it (`kb.text.taxonomy.install_taxonomy`). The web app calls it at each request, the writer at
each batch of items it stores, re-tagging at its start. Applying a change to the stored items is
`kb.learning.retag` (in the background, from the monitor's scheduler, never over a person's decision).

Previewing a change is a dry run of that re-tag over every stored item: about half a millisecond an item,
so minutes at a year of monitoring, longer than a web request may take. The web UI therefore starts it
as a job (`start_term_preview`, `start_import_preview`) that runs in a thread of the web process, stores
its progress and result (`kb.storage.previews`), and reads it back (`preview_state`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from kb.errors import Conflict, InvalidInput, NotFound
from kb.items import ItemDraft
from kb.learning import retag
from kb.learning.background import run_in_background
from kb.storage import audit, previews
from kb.storage import taxonomy as store
from kb.storage.db import transaction
from kb.text.language import LANGUAGE_NAMES
from kb.text.normalize import tokenize
from kb.text.tagging import tagger_of
from kb.text.taxonomy import (
    ANY_LANGUAGE,
    BUNDLED,
    RELEVANCE_KEYS,
    Taxonomy,
    bundled_taxonomy,
    dump_taxonomy,
    install_taxonomy,
    installed_digest,
    is_abbreviation,
    parse_taxonomy,
    taxonomy_data,
    taxonomy_digest,
)

LOGGER = logging.getLogger(__name__)

MAX_TERM = 200
MIN_LETTERS = 3  # a one-word term shorter than this matches too much (abbreviations aside)
MIN_LETTERS_NO_SPACES = 2  # Japanese, Korean, Chinese: matched inside words
NO_SPACES = frozenset({"ja", "ko", "zh"})
# Single words too general to tag a topic by themselves (the taxonomy file's header says: use a phrase).
GENERAL_WORDS = frozenset({
    "model", "models", "health", "score", "scores", "scoring", "system", "systems", "data", "service",
    "services", "public", "state", "government", "program", "programme", "tool", "tools", "technology",
    "digital", "computer", "risk", "app", "apps", "people", "work", "money", "school", "police", "law",
})
_CACHE_SIZE = 4
_cache: OrderedDict[str, Taxonomy] = OrderedDict()
_cache_lock = threading.Lock()


class TermProblem(InvalidInput):
    """A term that cannot be added or removed, with what is wrong as a key (for a translated message):
    topic, empty, long, language, duplicate, missing, short, general, no-word."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def current(db: Database) -> Taxonomy:
    """The lab's taxonomy now (installed as this process's `load_taxonomy()`): the newest stored version,
    or the bundled file when none is stored."""
    latest = store.latest_digest(db)
    digest = latest[1] if latest else BUNDLED
    if digest == installed_digest():
        return _installed_or_bundled(digest)
    if latest is None:
        install_taxonomy(None)
        return bundled_taxonomy()
    with _cache_lock:
        taxonomy = _cache.get(digest)
    if taxonomy is None:
        text = store.version_text(db, latest[0])
        if text is None:  # cannot happen: versions are never deleted
            raise NotFound(f"taxonomy version {latest[0]} is gone")
        taxonomy = parse_taxonomy(text, source=f"taxonomy version {latest[0]}")
        with _cache_lock:
            _cache[digest] = taxonomy
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    install_taxonomy(taxonomy, digest)
    return taxonomy


def _installed_or_bundled(digest: str) -> Taxonomy:
    if digest == BUNDLED:
        return bundled_taxonomy()
    with _cache_lock:
        found = _cache.get(digest)
    return found if found is not None else bundled_taxonomy()


def current_digest(db: Database) -> str:
    """The digest of the current version ("" for the bundled file): what a preview was made against."""
    latest = store.latest_digest(db)
    return latest[1] if latest else BUNDLED


def language_known(language: str) -> bool:
    return language == ANY_LANGUAGE or language in LANGUAGE_NAMES


def check_term(taxonomy: Taxonomy, topic_id: str, language: str, term: str, *, remove: bool = False) -> str:
    """The term, cleaned, when it can be added to (or removed from) the topic in `language`; raises
    TermProblem saying what is wrong."""
    term = " ".join(term.split())
    language = language.strip().lower()
    topic = taxonomy.find(topic_id)
    if topic is None:
        raise TermProblem("topic", f"choose a topic: {topic_id[:80]!r} is not one")
    if not language_known(language):
        raise TermProblem("language", f"unknown language {language[:20]!r}: choose one from the list")
    if not term:
        raise TermProblem("empty", "the term is empty: type a word or a phrase")
    present = topic.terms.get(language, ())
    if remove:
        if term not in present:
            raise TermProblem("missing", f"{topic_id} has no term {term!r} in {language}")
        return term
    if len(term) > MAX_TERM:
        raise TermProblem("long", f"a term has at most {MAX_TERM} characters")
    same = term if is_abbreviation(term) else term.casefold()
    if any((t if is_abbreviation(t) else t.casefold()) == same for t in present):
        raise TermProblem("duplicate", f"{topic_id} has the term {term!r} in {language} already")
    words = tokenize(term)
    if not is_abbreviation(term) and not words:
        raise TermProblem("no-word", f"the term {term!r} has no word to match")
    if not is_abbreviation(term) and len(words) == 1:
        letters = sum(ch.isalnum() for ch in term)
        if letters < (MIN_LETTERS_NO_SPACES if language in NO_SPACES else MIN_LETTERS):
            raise TermProblem("short", f"the term {term!r} is too short: it would match inside many words")
        if term.casefold() in GENERAL_WORDS:
            raise TermProblem("general", f"the term {term!r} is too general: use a longer phrase")
    return term


def with_term(taxonomy: Taxonomy, topic_id: str, language: str, term: str, *,
              remove: bool = False) -> Taxonomy:
    """The taxonomy with the term added (or removed), checked by the taxonomy's rules; raises TermProblem.
    A topic left with no term at all cannot be: its last term cannot be removed."""
    term = check_term(taxonomy, topic_id, language, term, remove=remove)
    language = language.strip().lower()
    if remove and sum(len(terms) for terms in taxonomy.get(topic_id).terms.values()) <= 1:
        raise TermProblem("last", f"{term!r} is the last term of {topic_id}: a topic needs at least one")
    return retag.with_term(taxonomy, topic_id, language, term, remove=remove)


@dataclass(frozen=True)
class TermChange:
    """A term to add or remove, as a person asked for it."""

    topic: str
    language: str
    term: str
    remove: bool = False

    @property
    def action(self) -> str:
        return "remove-term" if self.remove else "add-term"


def save(db: Database, taxonomy: Taxonomy, *, user_id: int | None, action: str, change: str,
         details: dict[str, object], expected: str | None = None) -> int:
    """Store `taxonomy` as the current version and audit it; `expected` (the digest a preview was made
    against) refuses the change when someone changed the taxonomy since. Returns the version's id."""
    text = dump_taxonomy(taxonomy)
    digest = taxonomy_digest(text)
    with transaction(db):
        before = current_digest(db)
        if expected is not None and before != expected:
            raise Conflict("the taxonomy changed since this preview: look at the preview again")
        if digest == before or taxonomy_data(taxonomy) == taxonomy_data(current(db)):
            raise InvalidInput("this is the taxonomy in use already: nothing to change")
        version = store.save_version(db, text, digest, user_id, change)
        audit.record(db, user_id, action, "taxonomy", version, details)
    current(db)
    return version


def apply_term(db: Database, change: TermChange, *, user_id: int | None, expected: str | None = None,
               tagged: int | None = None, untagged: int | None = None) -> int:
    """Add or remove a term in the current taxonomy and store the result; returns the version's id. The
    stored items are re-tagged in the background (`retag_in_background` below)."""
    edited = with_term(current(db), change.topic, change.language, change.term, remove=change.remove)
    verb = "removed from" if change.remove else "added to"
    details: dict[str, object] = {"topic": change.topic, "language": change.language.strip().lower(),
                                  "term": " ".join(change.term.split())}
    if tagged is not None and untagged is not None:
        details.update(previewed_tagged=tagged, previewed_untagged=untagged)
    return save(db, edited, user_id=user_id, action=change.action, details=details, expected=expected,
                change=f"{details['term']!r} ({details['language']}) {verb} {change.topic}")


# --- export and import -----------------------------------------------------------------------------------

def export_text(db: Database) -> str:
    """The current taxonomy as a TOML file (with the coordinator's header) that `load_taxonomy` reads."""
    latest = store.latest(db)
    if latest is None:
        return dump_taxonomy(bundled_taxonomy())
    return store.version_text(db, latest.id) or dump_taxonomy(current(db))


def parse_import(data: bytes | str, source: str = "the file") -> Taxonomy:
    """A taxonomy file's content, validated; raises InvalidInput naming the bad entry."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{source} is not UTF-8 text (save it as UTF-8): {exc}") from exc
    if not data.strip():
        raise InvalidInput(f"{source} is empty")
    taxonomy = parse_taxonomy(data, source=source)
    for topic in taxonomy.topics:
        for language in topic.terms:
            if not language_known(language):
                raise InvalidInput(f"{source}: topic {topic.id!r}: unknown language {language!r}")
    return taxonomy


@dataclass(frozen=True)
class TermDiff:
    """What an imported taxonomy changes against the current one: terms added and removed per topic and
    language, topics added and removed."""

    added: tuple[tuple[str, str, str], ...]  # (topic, language, term)
    removed: tuple[tuple[str, str, str], ...]
    topics_added: tuple[str, ...]
    topics_removed: tuple[str, ...]
    other: bool  # labels or relevance terms changed too

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.topics_added or self.topics_removed or self.other)


def diff(old: Taxonomy, new: Taxonomy) -> TermDiff:
    added: list[tuple[str, str, str]] = []
    removed: list[tuple[str, str, str]] = []
    old_ids, new_ids = {t.id for t in old}, {t.id for t in new}
    for topic in new:
        before = old.find(topic.id)
        for language in dict.fromkeys([*topic.terms, *(before.terms if before else {})]):
            now = set(topic.terms.get(language, ()))
            was = set(before.terms.get(language, ())) if before else set()
            added += [(topic.id, language, t) for t in topic.terms.get(language, ()) if t not in was]
            if before:
                removed += [(topic.id, language, t) for t in before.terms.get(language, ()) if t not in now]
    for topic in old:
        if topic.id not in new_ids:
            removed += [(topic.id, language, t) for language, terms in topic.terms.items() for t in terms]
    old_data, new_data = taxonomy_data(old), taxonomy_data(new)
    other = (any(old_data[key] != new_data[key] for key in RELEVANCE_KEYS)
             or any(dict(t.labels) != dict(o.labels) for t in new if (o := old.find(t.id)) is not None))
    return TermDiff(tuple(added), tuple(removed), tuple(t.id for t in new if t.id not in old_ids),
                    tuple(t.id for t in old if t.id not in new_ids), other)


def import_taxonomy(db: Database, data: bytes | str, *, user_id: int | None,
                    expected: str | None = None, source: str = "the file") -> int:
    """Validate a taxonomy file and make it the current version (audited); returns the version's id.
    A bad file raises InvalidInput naming the entry and changes nothing."""
    taxonomy = parse_import(data, source)
    changes = diff(current(db), taxonomy)
    details: dict[str, object] = {"terms_added": len(changes.added), "terms_removed": len(changes.removed),
                                  "topics_added": list(changes.topics_added),
                                  "topics_removed": list(changes.topics_removed)}
    return save(db, taxonomy, user_id=user_id, action="import", details=details, expected=expected,
                change=f"imported: {len(changes.added)} terms added, {len(changes.removed)} removed")


# --- the background re-tag's state -----------------------------------------------------------------------

@dataclass(frozen=True)
class RetagState:
    """Where re-tagging the stored items with the current version stands."""

    version: store.TaxonomyVersion | None  # None: the bundled file, nothing to re-tag

    @property
    def due(self) -> bool:
        return self.version is not None and self.version.retagged_at is None

    @property
    def running(self) -> bool:
        return self.due and self.version is not None and self.version.retag_started_at is not None


def retag_state(db: Database) -> RetagState:
    return RetagState(store.latest(db))


def history(db: Database, limit: int = 20) -> list[store.TaxonomyVersion]:
    """The latest versions, newest first."""
    return store.versions(db, limit)


# --- previews and the background re-tag --------------------------------------------------------------------

def preview_term(db: Database, change: TermChange) -> retag.RetagReport:
    """What adding or removing the term would change on the stored items (a dry run of the re-tag that
    applying it queues; raises TermProblem when the term cannot be)."""
    edited = with_term(current(db), change.topic, change.language, change.term, remove=change.remove)
    return retag.retag(db, taxonomy=edited, dry_run=True)


def preview_import(db: Database, data: bytes | str,
                   source: str = "the file") -> tuple[Taxonomy, TermDiff, retag.RetagReport]:
    """A taxonomy file checked, what it changes against the current one, and what re-tagging with it would
    change on the stored items; raises InvalidInput naming the bad entry (nothing is written)."""
    taxonomy = parse_import(data, source)
    return taxonomy, diff(current(db), taxonomy), retag.retag(db, taxonomy=taxonomy, dry_run=True)


# --- previews as background jobs --------------------------------------------------------------------------

PREVIEW_KEEP = 50  # finished jobs kept (older ones are deleted as new ones start)
STALE_AFTER = timedelta(minutes=2)  # a running job not updated for this long ended with its process
PROGRESS_EVERY = 1.0  # seconds between two progress writes (each batch is ~0.1 s)
STOPPED = "stopped"
# Previews computed at once in a process: more wait their turn (a request no longer bounds them, and each
# holds a core for its length), keeping their heartbeat so they do not read as stopped.
PREVIEW_SLOTS = 2
_preview_slots = threading.BoundedSemaphore(PREVIEW_SLOTS)


@dataclass(frozen=True)
class PreviewState:
    """A preview job as the page shows it."""

    job: previews.PreviewJob
    status: str  # running, done, failed, or stopped (was running when its process ended)
    report: retag.RetagReport | None  # when done
    change: TermChange | None  # a term preview: the change as typed
    changes: TermDiff | None  # an import preview, when done: what the file changes
    topics: int  # an import preview, when done: topics in the file
    up_to_date: bool  # the taxonomy is still the one it was computed against


def report_json(report: retag.RetagReport) -> dict[str, object]:
    """A report as JSON, all of it (`report_from_json` reads it back)."""
    return {"dry_run": report.dry_run, "model": report.model, "examined": report.examined,
            "retopiced": report.retopiced, "tagged": dict(report.tagged), "untagged": dict(report.untagged),
            "verdicts": [[b, a, n] for (b, a), n in sorted(report.verdicts.items())],
            "rescored": report.rescored, "decided": report.decided,
            "examples": [[i, title, list(gained), list(lost)] for i, title, gained, lost in report.examples]}


def report_from_json(data: Mapping[str, object]) -> retag.RetagReport:
    def counter(key: str) -> Counter[str]:
        return Counter({str(k): int(v) for k, v in dict(data[key]).items()})  # type: ignore[call-overload]

    verdicts: list[list[object]] = list(data["verdicts"])  # type: ignore[call-overload]
    examples: list[list[object]] = list(data["examples"])  # type: ignore[call-overload]
    return retag.RetagReport(
        dry_run=bool(data["dry_run"]), model=bool(data["model"]), examined=int(str(data["examined"])),
        retopiced=int(str(data["retopiced"])), tagged=counter("tagged"), untagged=counter("untagged"),
        verdicts=Counter({(str(b), str(a)): int(str(n)) for b, a, n in verdicts}),
        rescored=int(str(data["rescored"])), decided=int(str(data["decided"])),
        examples=[(int(str(i)), str(title), tuple(map(str, gained)), tuple(map(str, lost)))  # type: ignore[call-overload]
                  for i, title, gained, lost in examples])


def _diff_json(changes: TermDiff) -> dict[str, object]:
    return {"added": [list(t) for t in changes.added], "removed": [list(t) for t in changes.removed],
            "topics_added": list(changes.topics_added), "topics_removed": list(changes.topics_removed),
            "other": changes.other}


def _diff_from_json(data: Mapping[str, object]) -> TermDiff:
    def terms(key: str) -> tuple[tuple[str, str, str], ...]:
        return tuple((str(t), str(lang), str(term)) for t, lang, term in data[key])  # type: ignore[attr-defined]

    return TermDiff(terms("added"), terms("removed"), tuple(map(str, data["topics_added"])),  # type: ignore[call-overload]
                    tuple(map(str, data["topics_removed"])), bool(data["other"]))  # type: ignore[call-overload]


def _change_json(change: TermChange) -> str:
    return json.dumps({"topic": change.topic, "language": change.language, "term": change.term,
                       "remove": change.remove}, ensure_ascii=False, sort_keys=True)


def _change_from_json(text: str) -> TermChange:
    data = json.loads(text)
    return TermChange(str(data["topic"]), str(data["language"]), str(data["term"]), bool(data["remove"]))


def start_term_preview(db: Database, db_path: Path | str, change: TermChange, *,
                       user_id: int | None) -> int:
    """Check the change (raises TermProblem at once, as `preview_term`) and start previewing it in the
    background; returns the job's id (that of the same preview already running, if one is)."""
    with_term(current(db), change.topic, change.language, change.term, remove=change.remove)
    return _start(db, db_path, "term", _change_json(change), user_id)


def start_import_preview(db: Database, db_path: Path | str, text: str, *, user_id: int | None,
                         source: str = "the file") -> int:
    """Check a taxonomy file (raises InvalidInput naming the bad entry) and start previewing it in the
    background; returns the job's id."""
    parse_import(text, source)
    return _start(db, db_path, "import", text, user_id)


def _start(db: Database, db_path: Path | str, kind: str, subject: str, user_id: int | None) -> int:
    digest = current_digest(db)
    now = datetime.now(UTC)
    with transaction(db):
        running = previews.running_like(db, kind, subject, digest)
        if running is not None and not _stopped(running, now):
            return running.id  # a second click joins the first preview instead of doubling the work
        previews.prune(db, PREVIEW_KEEP, (now - STALE_AFTER).isoformat(timespec="seconds"))
        job_id = previews.create(db, kind, subject, digest, user_id, previews.item_count(db))
    # A lock of its own: previews of different changes may run side by side.
    run_in_background(threading.Lock(), db_path, functools.partial(_run_in_turn, job_id=job_id),
                      f"taxonomy-preview-{job_id}", f"taxonomy preview {job_id} failed")
    return job_id


def _run_in_turn(db: Database, job_id: int) -> retag.RetagReport | None:
    while not _preview_slots.acquire(timeout=STALE_AFTER.total_seconds() / 4):
        with transaction(db):
            previews.progress(db, job_id, 0)  # waiting, not stopped
    try:
        return run_preview(db, job_id)
    finally:
        _preview_slots.release()


def run_preview(db: Database, job_id: int) -> retag.RetagReport | None:
    """Compute a stored preview job (the dry run of the re-tag, writing its progress as it goes) and store
    its result, or its error in words; returns the report, or None when it failed or is not running."""
    job = previews.get(db, job_id)
    if job is None or job.status != previews.RUNNING:
        return None
    written = [time.monotonic()]

    def progress(examined: int) -> None:
        if time.monotonic() - written[0] >= PROGRESS_EVERY:
            with transaction(db):
                previews.progress(db, job_id, examined)
            written[0] = time.monotonic()

    extra: dict[str, object] = {}
    try:
        taxonomy = current(db)
        if current_digest(db) != job.digest:
            raise Conflict("the taxonomy changed before this preview started: preview the change again")
        if job.kind == "term":
            change = _change_from_json(job.subject)
            edited = with_term(taxonomy, change.topic, change.language, change.term, remove=change.remove)
        else:
            edited = parse_import(job.subject)
            extra = {"diff": _diff_json(diff(taxonomy, edited)), "topics": len(edited)}
        report = retag.retag(db, taxonomy=edited, dry_run=True, progress=progress)
    except Exception as exc:  # noqa: BLE001 - the page shows the error; the web process goes on
        LOGGER.exception("taxonomy preview %s failed", job_id)
        with transaction(db):
            previews.fail(db, job_id, str(exc) or type(exc).__name__)
        return None
    with transaction(db):
        previews.finish(db, job_id, report.examined, {"report": report_json(report), **extra})
    return report


def _stopped(job: previews.PreviewJob, now: datetime) -> bool:
    return job.status == previews.RUNNING and datetime.fromisoformat(job.updated_at) < now - STALE_AFTER


def preview_state(db: Database, job_id: int, *, now: datetime | None = None) -> PreviewState | None:
    """A preview job as the page shows it, or None when there is no such job."""
    job = previews.get(db, job_id)
    if job is None:
        return None
    status = STOPPED if _stopped(job, now or datetime.now(UTC)) else job.status
    result = job.result if job.status == previews.DONE else None
    report = report_from_json(result["report"]) if result else None  # type: ignore[arg-type]
    changes = _diff_from_json(result["diff"]) if result and "diff" in result else None  # type: ignore[arg-type]
    return PreviewState(job, status, report, _change_from_json(job.subject) if job.kind == "term" else None,
                        changes, int(str(result.get("topics", 0))) if result else 0,
                        current_digest(db) == job.digest)


_retagging = threading.Lock()  # one re-tag at a time in a process


def retag_in_background(db: Database, db_path: Path | str) -> threading.Thread | None:
    """Re-tag the stored items with the current version in a thread of its own (with its own connection
    to `db_path`) when a version is not applied yet and no re-tag runs in this process; returns the
    thread, or None. Called by the monitor's scheduler at each tick, as the relevance model's training is;
    a change made while it runs is applied by the next one."""
    if not retag_state(db).due:
        return None
    return run_in_background(_retagging, db_path, retag_now, "taxonomy-retag",
                             "re-tagging with the edited taxonomy failed (items keep their tags); will retry")


def retag_now(db: Database) -> retag.RetagReport | None:
    """Re-tag the stored items with the newest version if it is not applied yet (its report), else None."""
    version = store.latest(db)
    if version is None or version.retagged_at is not None:
        return None
    with transaction(db):
        store.retag_started(db, version.id)
    taxonomy = current(db)
    if current_digest(db) != version.digest:  # a newer version came in: the next run applies it
        return None
    report = retag.retag(db, taxonomy=taxonomy, user_id=None)
    with transaction(db):
        store.retag_finished(db, version.id, report.as_json())
    LOGGER.warning("re-tagged the stored items with taxonomy version %s: %s", version.id,
                   " ".join(report.lines()))
    return report


def tag_drafts(db: Database, drafts: Sequence[ItemDraft]) -> list[ItemDraft]:
    """The drafts, those a worker tagged with another taxonomy than the current one tagged again with it
    (a worker process that cannot read the database tags with the bundled file)."""
    taxonomy = current(db)
    digest = installed_digest()
    if all(draft.taxonomy == digest for draft in drafts):
        return list(drafts)
    tagger = tagger_of(taxonomy)
    tagged = []
    for draft in drafts:
        if draft.taxonomy != digest:
            found = tagger.tag(draft.title, draft.text, draft.language)
            draft = dataclasses.replace(
                draft, topics=found.topics, relevant=found.relevant, relevance_score=found.relevance_score,
                relevance_verdict=found.verdict, relevance_reason=found.reason, taxonomy=digest)
        tagged.append(draft)
    return tagged

"""The lab's taxonomy as the coordinator edits it: the current version (stored, else the bundled file),
checking a term to add or remove against the taxonomy's rules, recording a change (audited), export and
import as a TOML file.

Every process tags with the current version: `current(db)` reads the newest version's digest (one read
of the last row) and, when it differs from what the process has installed, reads, validates and
installs it (`kb.text.taxonomy.install_taxonomy`). The web app calls it at each request, the writer at
each batch of items it stores, re-tagging at its start. Applying a change to the stored items is
`kb.learning.retag` (in the background, from the monitor's scheduler, never over a person's decision).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from kb.errors import Conflict, InvalidInput, NotFound
from kb.items import ItemDraft
from kb.learning import retag
from kb.learning.background import run_in_background
from kb.storage import audit
from kb.storage import taxonomy as store
from kb.storage.db import transaction
from kb.text.language import LANGUAGE_NAMES
from kb.text.normalize import tokenize
from kb.text.taxonomy import (
    ANY_LANGUAGE,
    BUNDLED,
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
    lists = ("system_terms", "public_terms", "automation_terms")
    other = (any(old_data[key] != new_data[key] for key in lists)
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
    tagger = retag.tagger_of(taxonomy)
    tagged = []
    for draft in drafts:
        if draft.taxonomy != digest:
            found = tagger.tag(draft.title, draft.text, draft.language)
            draft = dataclasses.replace(
                draft, topics=found.topics, relevant=found.relevant, relevance_score=found.relevance_score,
                relevance_verdict=found.verdict, relevance_reason=found.reason, taxonomy=digest)
        tagged.append(draft)
    return tagged

"""The weekly digest: the draft of a week, the coordinator's edits, and its rendering as text and HTML.

A week is an ISO week counted in the lab's time zone ("2026-W47"). Its draft holds the items accepted or
marked for the digest during that week (`items.digest_at`, set by kb.curation; items decided before it
existed count from their last decision, else from when they were found), whatever their publication date:
a story published months ago and found today is news for this week's readers. Items are grouped by sector
then by system topic; an item without a sector goes to "Other", and a section without items is left out.
The coordinator can group a section by the systems of the register instead (`set_grouping`): each item
under the first, by name, of the systems it is confirmed to be about (kb.systems; never suggestions).
`only_system(digest, id)` keeps the items confirmed to be about one system (the draft page's filter).
Items in every language stay, each labelled with its language.

The coordinator's changes (intro, order, dropped items, edited summaries) live in the `digests` row. At
the first delivery (see `kb.deliveries`) the list of items is frozen there and edits are refused.
Rendering is pure: the HTML comes from `templates/digest/` with autoescaping, so item text cannot add markup.
"""

from __future__ import annotations

import json
import logging
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from sqlite_utils import Database

from kb.digest.headings import DEFAULT_LANGUAGE, Headings, headings
from kb.errors import Conflict, InvalidInput, KbError, NotFound
from kb.items import Item, load_items
from kb.settings import Settings
from kb.storage import audit
from kb.storage.db import transaction, utcnow
from kb.storage.meta import get_meta
from kb.systems import confirmed_system_ids, systems_for_index
from kb.text.cleaning import clean_text, one_line
from kb.text.language import language_name
from kb.text.taxonomy import load_taxonomy
from kb.text.urls import is_http_url

LOGGER = logging.getLogger(__name__)

SUMMARY_SENTENCES = 2
MAX_SUMMARY_CHARS = 600
MAX_EDITED_SUMMARY = 2_000
MAX_INTRO = 10_000
OTHER_SECTOR = "Other"
OTHER_SYSTEMS = "Other topics"
NO_REGISTERED_SYSTEM = "No system in the register"
LABEL_LANGUAGE = "en"
# A send run holds the week for this long at most (a crashed run frees it after that).
SEND_LOCK = timedelta(minutes=30)
SEND_STATE_KEY = "digest_send:{}"  # the `meta` row of a week's last send run
_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
# Words before a full stop that do not end a sentence (lower case, without the final dot).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st no nr vs etc e.g i.e art arts fig ca cf approx dept gov jan feb mar apr jun jul "
    "aug sep sept oct nov dec inc ltd co corp u.s u.k u.n e.u mme mlle sr sra dra z.b bzw vgl dh d.h ggf "
    "usw resp p pp vol op".split()
)
_SENTENCE_END = re.compile(r"[.!?…؟]+[\"'”’»)\]]*(?=\s|$)|[。！？]")


class DigestError(KbError):
    """The digest cannot be sent or changed as asked; the message says why."""


class EmptyDigest(DigestError):
    """The week has no item accepted or marked for the digest: nothing is sent."""


# --- weeks ---------------------------------------------------------------------------------------------


def parse_week(text: str) -> str:
    """The canonical form of an ISO week ("2026-w47" -> "2026-W47"); raises InvalidInput."""
    match = _WEEK_RE.match(text or "")
    if match:
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            pass
        else:
            return f"{year:04d}-W{number:02d}"
    raise InvalidInput(f"{(text or '')[:40]!r} is not an ISO week such as 2026-W47")


def week_of(moment: datetime, settings: Settings) -> str:
    """The ISO week (lab time zone) a moment falls in."""
    year, number, _ = moment.astimezone(settings.tz).isocalendar()
    return f"{year:04d}-W{number:02d}"


def current_week(settings: Settings, now: datetime | None = None) -> str:
    """The ISO week under way, in the lab's time zone."""
    return week_of(now or datetime.now(UTC), settings)


def last_completed_week(settings: Settings, now: datetime | None = None) -> str:
    """The last ISO week that has ended, in the lab's time zone."""
    return week_of((now or datetime.now(UTC)).astimezone(settings.tz) - timedelta(days=7), settings)


def week_dates(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week."""
    year, number = (int(part) for part in parse_week(week).split("-W"))
    monday = date.fromisocalendar(year, number, 1)
    return monday, monday + timedelta(days=6)


def _week_bounds_utc(week: str, settings: Settings) -> tuple[str, str]:
    """The week as [start, end) in the stored UTC text form, from lab midnight to lab midnight."""
    monday, _ = week_dates(week)
    start, end = (datetime.combine(day, datetime.min.time(), tzinfo=settings.tz).astimezone(UTC)
                  for day in (monday, monday + timedelta(days=7)))
    return start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")


# --- the draft -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestEdits:
    """The coordinator's changes to a week's draft, stored as JSON in `digests.edits`."""

    order: tuple[int, ...] = ()
    dropped: frozenset[int] = frozenset()
    summaries: dict[int, str] = field(default_factory=dict)
    sent_items: tuple[int, ...] | None = None  # the frozen list, set at the first delivery
    # Sections grouped by the systems of the register: their sector topic ids, "" for "Other".
    by_system: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, text: str | None) -> DigestEdits:
        data = json.loads(text or "{}")
        sent = data.get("sent_items")
        return cls(
            order=tuple(int(i) for i in data.get("order", ())),
            dropped=frozenset(int(i) for i in data.get("dropped", ())),
            summaries={int(k): str(v) for k, v in data.get("summaries", {}).items()},
            sent_items=None if sent is None else tuple(int(i) for i in sent),
            by_system=frozenset(str(s) for s in data.get("by_system", ())),
        )

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "order": list(self.order), "dropped": sorted(self.dropped),
            "summaries": {str(k): v for k, v in sorted(self.summaries.items())},
        }
        if self.sent_items is not None:
            data["sent_items"] = list(self.sent_items)
        if self.by_system:
            data["by_system"] = sorted(self.by_system)
        return json.dumps(data, ensure_ascii=False)


@dataclass(frozen=True)
class DigestEntry:
    """One item as the digest shows it."""

    item_id: int
    title: str
    source: str
    date: str
    language: str
    language_label: str
    summary: str
    summary_edited: bool
    url: str | None  # the original, None when it is not an http(s) address
    kb_url: str
    sector: str | None
    system: str | None
    also: tuple[str, ...] = ()  # labels of the item's other sectors and systems
    systems: tuple[tuple[int, str], ...] = ()  # (id, name) of the register's systems it is confirmed about


@dataclass(frozen=True)
class DigestGroup:
    topic: str | None  # a system topic id, None for items without one
    label: str
    entries: tuple[DigestEntry, ...]
    system_id: int | None = None  # in a section grouped by the register's systems: the system


@dataclass(frozen=True)
class DigestSection:
    sector: str | None  # a sector topic id, None for the "Other" section
    label: str
    groups: tuple[DigestGroup, ...]
    by_system: bool = False  # grouped by the register's systems rather than by system topics

    @property
    def key(self) -> str:
        """How `set_grouping` names the section: its sector topic id, "" for "Other"."""
        return self.sector or ""

    @property
    def entries(self) -> list[DigestEntry]:
        return [entry for group in self.groups for entry in group.entries]


@dataclass(frozen=True)
class Digest:
    """A week's digest as it would be (or was) sent, with the coordinator's edits applied."""

    week: str
    start: date
    end: date
    intro: str
    sections: tuple[DigestSection, ...]
    dropped: tuple[DigestEntry, ...]
    sector_counts: tuple[tuple[str, int], ...]
    language_counts: tuple[tuple[str, int], ...]
    created_at: str | None
    sent_at: str | None
    frozen: bool  # True once delivered to someone: no more edits
    late_item_ids: tuple[int, ...] = ()  # accepted for the week after it was frozen, so not in it

    @property
    def entries(self) -> list[DigestEntry]:
        """Every item kept, in the order the digest shows them."""
        return [entry for section in self.sections for entry in section.entries]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.sector_counts)

    @property
    def number(self) -> int:
        return int(self.week.split("-W")[1])

    @property
    def year(self) -> int:
        return int(self.week.split("-W")[0])

    @property
    def subject(self) -> str:
        return self.subject_in(DEFAULT_LANGUAGE)

    def subject_in(self, language: str) -> str:
        """The e-mail's subject in a recipient's language."""
        words = headings(language)
        return f"{words.title.format(number=self.number, year=self.year)} ({words.count(self.total)})"

    @property
    def period(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def first_sentences(text: str, count: int = SUMMARY_SENTENCES, limit: int = MAX_SUMMARY_CHARS) -> str:
    """The first `count` sentences of a text on one line, cut at a word boundary past `limit` characters."""
    text = one_line(text)
    found, end = 0, len(text)
    for match in _SENTENCE_END.finditer(text):
        if text[match.start()] == ".":
            word = text[: match.start()].rsplit(" ", 1)[-1].lower().lstrip("(\"'“‘«")
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        following = text[match.end():].lstrip()
        if following and following[0].islower():
            continue
        found += 1
        if found == count:
            end = match.end()
            break
    result = text[:end].strip()
    if len(result) > limit:
        result = result[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return result


def default_summary(item: Item) -> str:
    """Two sentences from the item's summary, or from its text when the summary is empty or just the title."""
    summary = one_line(item.summary)
    if not summary or summary == one_line(item.title):
        summary = item.text
    return first_sentences(summary)


def language_label(code: str) -> str:
    """An English name for a language code, "Language unknown" for "und"."""
    code = (code or "und").strip().lower()
    if code in ("", "und"):
        return "Language unknown"
    return language_name(code)


@lru_cache(maxsize=256)
def topic_label(topic_id: str) -> str:
    """The topic's English label; for a topic no longer in the taxonomy, one derived from its id."""
    try:
        return load_taxonomy().label(topic_id, LABEL_LANGUAGE)
    except NotFound:
        return topic_id.partition("/")[2].replace("-", " ").capitalize() or topic_id


def _topic_rank(facet: str) -> dict[str, int]:
    return {topic.id: index for index, topic in enumerate(load_taxonomy().by_facet(facet))}


def _primary(topics: Sequence[str], facet: str, rank: dict[str, int]) -> str | None:
    """The item's first topic of a facet, in taxonomy order (unknown topics after, by id)."""
    candidates = [t for t in topics if t.partition("/")[0] == facet]
    return min(candidates, key=lambda t: (rank.get(t, len(rank)), t)) if candidates else None


def _local_date(stamp: str | None, settings: Settings) -> str:
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp[:10]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(settings.tz).date().isoformat()


def _source_name(item: Item) -> str:
    for source in item.sources:
        if source.name.strip():
            return one_line(source.name)
    if item.site_name.strip():
        return one_line(item.site_name)
    return urlsplit(item.url).hostname or ""


def _entry(item: Item, settings: Settings, summaries: dict[int, str],
           ranks: dict[str, dict[str, int]], systems: tuple[tuple[int, str], ...] = ()) -> DigestEntry:
    topics = item.topics
    sector = _primary(topics, "sector", ranks["sector"])
    system = _primary(topics, "system", ranks["system"])
    also = tuple(topic_label(t) for t in topics
                 if t.partition("/")[0] in ("sector", "system") and t not in (sector, system))
    edited = summaries.get(item.id)
    return DigestEntry(
        item_id=item.id,
        title=one_line(item.title) or "(untitled)",
        source=_source_name(item),
        date=_local_date(item.published or item.created_at, settings),
        language=item.language or "und",
        language_label=language_label(item.language),
        summary=clean_text(edited, multiline=True) if edited else default_summary(item),
        summary_edited=bool(edited),
        url=item.url if is_http_url(item.url) else None,
        kb_url=f"{settings.base_url.rstrip('/')}/items/{item.id}",
        sector=sector,
        system=system,
        also=also,
        systems=systems,
    )


def candidate_ids(db: Database, settings: Settings, week: str) -> list[int]:
    """Items accepted or marked for the digest during the week (rejected ones never), in the order they
    were published (else found)."""
    start, end = _week_bounds_utc(parse_week(week), settings)
    return [row[0] for row in db.execute(
        "SELECT id FROM items WHERE (status = 'accepted' OR in_digest = 1) AND status != 'rejected' "
        "AND digest_at >= ? AND digest_at < ? "
        "ORDER BY COALESCE(published, created_at), id",
        [start, end],
    )]


def _digest_row(db: Database, week: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM digests WHERE week = ?", [week]))
    return rows[0] if rows else None


def build_digest(db: Database, settings: Settings, week: str | None = None, *,
                 now: datetime | None = None) -> Digest:
    """The week's digest (default: the last completed week) with the coordinator's edits applied."""
    week = parse_week(week) if week else last_completed_week(settings, now)
    row = _digest_row(db, week)
    edits = DigestEdits.from_json(row["edits"] if row else None)
    candidates = candidate_ids(db, settings, week)
    if edits.sent_items is not None:
        ids, order, dropped_ids = list(edits.sent_items), edits.sent_items, frozenset[int]()
        sent = set(edits.sent_items)
        late = tuple(i for i in candidates if i not in sent)
    else:
        ids, order, dropped_ids, late = candidates, edits.order, edits.dropped, ()
    ranks = {"sector": _topic_rank("sector"), "system": _topic_rank("system")}
    registered = _registered_systems(db, ids)
    entries = [_entry(item, settings, edits.summaries, ranks, registered.get(item.id, ()))
               for item in load_items(db, ids)]
    kept = [e for e in entries if e.item_id not in dropped_ids]
    dropped = tuple(e for e in entries if e.item_id in dropped_ids)
    sections = _sections(kept, order, ranks, edits.by_system)
    languages: dict[str, int] = {}
    for entry in kept:
        languages[entry.language_label] = languages.get(entry.language_label, 0) + 1
    monday, sunday = week_dates(week)
    return Digest(
        week=week, start=monday, end=sunday, intro=clean_text(row["intro"], multiline=True) if row else "",
        sections=sections, dropped=dropped,
        sector_counts=tuple((s.label, len(s.entries)) for s in sections),
        language_counts=tuple(sorted(languages.items(), key=lambda pair: (-pair[1], pair[0]))),
        created_at=row["created_at"] if row else None, sent_at=row["sent_at"] if row else None,
        frozen=edits.sent_items is not None, late_item_ids=late,
    )


def _registered_systems(db: Database, item_ids: Sequence[int]) -> dict[int, tuple[tuple[int, str], ...]]:
    """(id, name) of the systems of the register each item is confirmed to be about, by name."""
    links = confirmed_system_ids(db, item_ids)
    names = {s.id: s.name for s in systems_for_index(db, sorted({i for ids in links.values() for i in ids}))}
    return {item_id: tuple(sorted(((i, names[i]) for i in ids if i in names),
                                  key=lambda pair: (pair[1].casefold(), pair[0])))
            for item_id, ids in links.items()}


def only_system(digest: Digest, system_id: int) -> Digest:
    """The digest with only the items confirmed to be about this system (sections and groups left empty
    dropped, counts recounted): what the draft page shows when filtered by a system."""
    sections = []
    for section in digest.sections:
        groups = tuple(replace(g, entries=tuple(e for e in g.entries if system_id in dict(e.systems)))
                       for g in section.groups)
        groups = tuple(g for g in groups if g.entries)
        if groups:
            sections.append(replace(section, groups=groups))
    languages: dict[str, int] = {}
    for section in sections:
        for entry in section.entries:
            languages[entry.language_label] = languages.get(entry.language_label, 0) + 1
    return replace(digest, sections=tuple(sections),
                   sector_counts=tuple((s.label, len(s.entries)) for s in sections),
                   language_counts=tuple(sorted(languages.items(), key=lambda pair: (-pair[1], pair[0]))))


def _by_register(members: list[DigestEntry]) -> tuple[DigestGroup, ...]:
    """A section's entries (in the digest's order) grouped by the first of their registered systems, the
    groups in the order of their first entries; entries without one last."""
    groups: dict[tuple[int, str] | None, list[DigestEntry]] = {}
    for entry in members:
        groups.setdefault(entry.systems[0] if entry.systems else None, []).append(entry)
    ordered = sorted(groups.items(), key=lambda pair: pair[0] is None)  # stable: first entries' order
    return tuple(DigestGroup(None, system[1] if system else NO_REGISTERED_SYSTEM, tuple(entries),
                             system_id=system[0] if system else None)
                 for system, entries in ordered)


def _sections(entries: list[DigestEntry], order: Sequence[int],
              ranks: dict[str, dict[str, int]],
              by_system: frozenset[str] = frozenset()) -> tuple[DigestSection, ...]:
    """Entries grouped by sector then system topic (or, in the sections of `by_system`, by the register's
    systems); no empty section.

    Without an order from the coordinator, sections and groups follow the taxonomy ("Other" last) and
    items their date. Her order comes first: an item she moved up takes its group and section up with it.
    """
    position = {item_id: index for index, item_id in enumerate(order)}
    entries = sorted(entries, key=lambda e: position.get(e.item_id, len(position)))  # stable: dates kept

    def rank(topic: str | None, facet: str, members: list[DigestEntry]) -> tuple[int, int, int, str]:
        first = min(position.get(e.item_id, len(position)) for e in members)
        if topic is None:
            return (first, 1, 0, "")
        return (first, 0, ranks[facet].get(topic, len(ranks[facet])), topic)

    by_sector: dict[str | None, dict[str | None, list[DigestEntry]]] = {}
    for entry in entries:
        by_sector.setdefault(entry.sector, {}).setdefault(entry.system, []).append(entry)
    sections = []
    for sector, groups in sorted(
        by_sector.items(),
        key=lambda pair: rank(pair[0], "sector", [e for members in pair[1].values() for e in members]),
    ):
        label = topic_label(sector) if sector else OTHER_SECTOR
        if (sector or "") in by_system:
            members = sorted((e for group in groups.values() for e in group),
                             key=lambda e: position.get(e.item_id, len(position)))
            sections.append(DigestSection(sector, label, _by_register(members), by_system=True))
            continue
        sections.append(DigestSection(
            sector=sector,
            label=label,
            groups=tuple(
                DigestGroup(system, topic_label(system) if system else OTHER_SYSTEMS, tuple(members))
                for system, members in sorted(groups.items(),
                                              key=lambda pair: rank(pair[0], "system", pair[1]))
            ),
        ))
    return tuple(sections)


# --- edits ---------------------------------------------------------------------------------------------
# A draft cannot change while a run sends it (kb.deliveries holds the week in `meta`) nor after.


def send_state(db: Database, week: str) -> dict[str, Any]:
    """The last send run of a week: {"running": bool, "started": ISO time}, or {} if none ran."""
    value = get_meta(db, SEND_STATE_KEY.format(week))
    return json.loads(value) if value else {}


def is_sending(state: dict[str, Any], now: datetime) -> bool:
    """True while a send run holds the week (a crashed run lets go after SEND_LOCK)."""
    started = state.get("started")
    return bool(state.get("running")) and started is not None and (
        now - datetime.fromisoformat(started) < SEND_LOCK)


def _edit(db: Database, week: str, change: Callable[[DigestEdits, dict[str, Any]], DigestEdits],
          by: int | None, what: dict[str, object]) -> None:
    """Apply one change to the stored draft, creating it if need be; refused once the digest went out."""
    week = parse_week(week)
    with transaction(db):
        row = _digest_row(db, week)
        if row is None:
            db.execute("INSERT INTO digests (week, created_at) VALUES (?, ?)", [week, utcnow()])
            row = _digest_row(db, week)
            assert row is not None
        edits = DigestEdits.from_json(row["edits"])
        if edits.sent_items is not None:
            raise Conflict(f"the digest of {week} has been sent; it can no longer be changed")
        if is_sending(send_state(db, week), datetime.now(UTC)):
            raise Conflict(f"the digest of {week} is being sent right now; try again when it is done")
        fields: dict[str, Any] = {"intro": row["intro"]}
        edits = change(edits, fields)
        db.execute("UPDATE digests SET intro = ?, edits = ? WHERE id = ?",
                   [fields["intro"], edits.to_json(), row["id"]])
        audit.record(db, by, "edit", "digest", row["id"], {"week": week, **what})


def _check_in_week(db: Database, settings: Settings, week: str, item_ids: Sequence[int]) -> None:
    candidates = set(candidate_ids(db, settings, week))
    stray = [i for i in item_ids if i not in candidates]
    if stray:
        listed = ", ".join(map(str, stray))
        raise InvalidInput(f"item(s) {listed} are not in the digest of {parse_week(week)}")


def set_intro(db: Database, week: str, intro: str, *, by: int | None = None) -> None:
    """The coordinator's introduction at the top of the digest."""
    text = clean_text(intro, multiline=True)
    if len(text) > MAX_INTRO:
        raise InvalidInput(f"the introduction is longer than {MAX_INTRO} characters")

    def change(edits: DigestEdits, fields: dict[str, Any]) -> DigestEdits:
        fields["intro"] = text
        return edits

    _edit(db, week, change, by, {"intro": True})


def drop_item(db: Database, settings: Settings, week: str, item_id: int, *, by: int | None = None) -> None:
    """Leave an item out of the week's digest (it stays accepted in the knowledge base)."""
    _check_in_week(db, settings, week, [item_id])
    _edit(db, week, lambda e, _: replace(e, dropped=e.dropped | {item_id}), by,
          {"drop": item_id})


def restore_item(db: Database, week: str, item_id: int, *, by: int | None = None) -> None:
    """Put a dropped item back in the digest."""
    _edit(db, week, lambda e, _: replace(e, dropped=e.dropped - {item_id}), by,
          {"restore": item_id})


def set_order(db: Database, settings: Settings, week: str, item_ids: Sequence[int], *,
              by: int | None = None) -> None:
    """The order of items within their sections; items not listed follow in their default order."""
    order = tuple(dict.fromkeys(int(i) for i in item_ids))
    _check_in_week(db, settings, week, order)
    _edit(db, week, lambda e, _: replace(e, order=order), by, {"order": list(order)})


def set_summary(db: Database, settings: Settings, week: str, item_id: int, summary: str, *,
                by: int | None = None) -> None:
    """The coordinator's summary of one item; an empty text brings back the default summary."""
    _check_in_week(db, settings, week, [item_id])
    text = clean_text(summary, multiline=True)
    if len(text) > MAX_EDITED_SUMMARY:
        raise InvalidInput(f"a summary may have at most {MAX_EDITED_SUMMARY} characters")

    def change(edits: DigestEdits, fields: dict[str, Any]) -> DigestEdits:
        summaries = dict(edits.summaries)
        if text:
            summaries[item_id] = text
        else:
            summaries.pop(item_id, None)
        return replace(edits, summaries=summaries)

    _edit(db, week, change, by, {"summary": item_id})


def set_grouping(db: Database, week: str, section: str, by_system: bool, *, by: int | None = None) -> None:
    """Group one section (its sector topic id, "" for "Other") by the systems of the register, or back
    by system topics."""
    key = section.strip()
    if key and (not key.startswith("sector/") or key not in _topic_rank("sector")):
        raise InvalidInput(f"there is no sector {key[:60]!r}: name a section by its sector, such as "
                           "sector/welfare, or leave it empty for Other")
    _edit(db, week, lambda e, _: replace(e, by_system=(e.by_system | {key}) if by_system else
                                         (e.by_system - {key})),
          by, {"group_by_system": key or OTHER_SECTOR, "on": by_system})


# --- rendering -----------------------------------------------------------------------------------------

# Styles of the e-mail, written inline on each element (mail clients drop <style> blocks and links).
# The web UI renders the same template with class="digest-<name>" instead and styles those classes.
STYLES = {
    "body": "margin:0;padding:16px;background:#ffffff;",
    "wrap": "max-width:680px;margin:0 auto;font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;"
            "line-height:1.5;",
    "h1": "font-size:22px;line-height:1.3;margin:0 0 4px 0;color:#1a1a1a;",
    "period": "font-size:13px;color:#555555;margin:0 0 16px 0;",
    "intro": "font-size:15px;margin:0 0 12px 0;",
    "counts": "font-size:13px;color:#333333;background:#f2f4f7;padding:8px 12px;margin:0 0 20px 0;",
    "count-line": "margin:0;",
    "h2": "font-size:18px;color:#1f4e79;border-bottom:2px solid #1f4e79;margin:28px 0 8px 0;"
          "padding:0 0 4px 0;",
    "h3": "font-size:15px;color:#333333;margin:16px 0 6px 0;",
    "item": "margin:0 0 16px 0;",
    "title": "font-size:15px;font-weight:bold;margin:0;",
    "lang": "display:inline-block;font-size:11px;font-weight:bold;color:#ffffff;background:#1f4e79;"
            "padding:0 5px;border-radius:3px;margin:0 6px 0 0;",
    "meta": "font-size:12px;color:#555555;margin:2px 0;",
    "summary": "font-size:14px;margin:4px 0;",
    "links": "font-size:13px;margin:2px 0;",
    "a": "color:#1f4e79;text-decoration:underline;",
    "footer": "font-size:12px;color:#666666;border-top:1px solid #dddddd;margin:28px 0 0 0;"
              "padding:8px 0 0 0;",
}


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kb.digest", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["paragraphs"] = lambda text: [p for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    env.tests["headed"] = lambda group, section: _group_heading(section, group)
    return env


def web_stylesheet() -> str:
    """CSS for the classes of `render_html_body(digest)`, for the web UI to serve with its own styles."""
    return "".join(f".digest-{name} {{ {css} }}\n" for name, css in STYLES.items() if name != "body")


def _style(inline: bool) -> Callable[[str], Markup]:
    if inline:
        return lambda name: Markup(' style="{}"').format(STYLES[name])
    return lambda name: Markup(' class="digest-{}"').format(name)


def _labeller(words: Headings) -> Callable[[str | None, str], str]:
    """A section's or group's label in the reader's language: its topic's label there, else the words for
    "Other"; in English the label the digest was built with."""
    def label(topic: str | None, english: str) -> str:
        if words.language == DEFAULT_LANGUAGE:
            return english
        if topic is None:
            return words.other_sector if english == OTHER_SECTOR else words.other_topics
        try:
            return load_taxonomy().label(topic, words.language)
        except NotFound:
            return english
    return label


def render_html_body(digest: Digest, *, inline_css: bool = False, language: str = DEFAULT_LANGUAGE) -> str:
    """The digest as an HTML fragment: with classes for a web page, or with inline styles for e-mail;
    its headings in `language` (see kb.digest.headings)."""
    words = headings(language)
    return _templates().get_template("body.html").render(digest=digest, st=_style(inline_css), h=words,
                                                         label=_labeller(words))


def render_email_html(digest: Digest, unsubscribe_link: str | None = None,
                      language: str = DEFAULT_LANGUAGE) -> str:
    """The whole HTML document of the e-mail: inline styles only, nothing loaded from outside."""
    body = render_html_body(digest, inline_css=True, language=language)
    return _templates().get_template("email.html").render(
        # The body was rendered by the autoescaping template just above: it is markup already.
        digest=digest, st=_style(True), body=Markup(body), h=headings(language),  # noqa: S704
        subject=digest.subject_in(language), unsubscribe_link=unsubscribe_link,
    )


def _period(digest: Digest, words: Headings) -> str:
    return words.period.format(start=digest.start.isoformat(), end=digest.end.isoformat())


def _group_heading(section: DigestSection, group: DigestGroup) -> bool:
    """A group is headed unless it is the section's only group and has no system topic (a section
    grouped by the register's systems always heads its groups)."""
    return group.topic is not None or section.by_system or len(section.groups) > 1


def _wrapped(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width=76, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def render_text(digest: Digest, unsubscribe_link: str | None = None, language: str = DEFAULT_LANGUAGE) -> str:
    """The digest as plain text (the text/plain part and `kb digest preview`), its headings in `language`."""
    words = headings(language)
    label = _labeller(words)
    lines = [one_line(digest.subject_in(language)), _period(digest, words), ""]
    for paragraph in re.split(r"\n\s*\n", digest.intro):
        if paragraph.strip():
            lines += [*_wrapped(one_line(paragraph), ""), ""]
    lines.append(f"{words.by_sector} " + ", ".join(f"{label(s.sector, s.label)} {len(s.entries)}"
                                                   for s in digest.sections))
    lines.append(f"{words.by_language} " + ", ".join(f"{name} {count}"
                                                     for name, count in digest.language_counts))
    for section in digest.sections:
        lines += ["", "", f"== {label(section.sector, section.label)} ({len(section.entries)}) ==".upper()]
        for group in section.groups:
            heading = ["", f"-- {label(group.topic, group.label)} --", ""]
            lines += heading if _group_heading(section, group) else [""]
            for entry in group.entries:
                lines.append(f"* {entry.title} [{entry.language_label}]")
                lines.append("  " + " | ".join(part for part in (entry.source, entry.date) if part))
                if entry.also:
                    lines.append(f"  {words.also} " + ", ".join(entry.also))
                if entry.summary:
                    lines += _wrapped(one_line(entry.summary))
                if entry.url:
                    lines.append(f"  {words.original} {entry.url}")
                lines.append(f"  {words.in_kb}: {entry.kb_url}")
                lines.append("")
    if unsubscribe_link:
        lines += ["", "-- ", words.footer, f"{words.unsubscribe}: {unsubscribe_link}"]
    text = "\n".join(line.rstrip() for line in lines).strip() + "\n"
    return re.sub(r"\n{4,}", "\n\n\n", text)

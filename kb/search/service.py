"""Search: the one function behind the web UI, the JSON API and `kb search`. Whoosh-free.

`search()` reads the query (kb.index.query does the Whoosh side), applies the filters and the access
rules of the user, and returns one page of hits with their highlighted snippets, facet counts over the
whole result set, notes on what was ignored or bounded, and a "did you mean" when little was found.

Words that name a taxonomy concept in any of its languages also find the items tagged with it
(kb.search.concepts), ranked below the items holding the words, with a note naming the concepts; a query
starting with `=` (or `expand=False`) searches the words only, and quoted words are never expanded. When
the words joined by AND find nothing, the items holding any of them are shown instead, with a note.

Access, the rules of kb.contacts and kb.cases: items are visible to everyone signed in. Which contacts a
user finds is kb.contacts.contact_scope: researchers and coordinators the ones that are not restricted,
admins all; coordinators also the restricted ones linked to a case file they lead or are a member of
(kb.contacts.visible_contact_ids, unless the caller passes `allowed_contacts`; ignored for anyone else).
Case files and systems (kb.systems.can_read_systems) are visible to every active user. Without a user,
only items are searched. Systems are found by name, alias (any script), organisation, supplier and
description; items can be filtered by the systems they are confirmed to be about (`system`). What a user may
not see never reaches a hit, a total, a facet count or a suggestion.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kb import contacts as contacts_store
from kb import items as items_store
from kb import sources as sources_store
from kb import systems as systems_store
from kb.errors import InvalidInput
from kb.knowledge import KnowledgeBase
from kb.search import concepts as concepts_of_query
from kb.search.documents import CASE, CONTACT, ITEM, KINDS, SYSTEM, item_document, parse_key
from kb.search.index import query as engine
from kb.search.index.parser import Leaf, Node, parse_query, query_words

# Words as kb.textnorm reads them (combining marks stay inside a word), found in the original text.
from kb.text.normalize import WORD_RE, fold, stem, stem_language
from kb.text.taxonomy import topic_facet
from kb.users import User

LOGGER = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100
SORTS = ("relevance", "newest")
SNIPPET_CHARS = 240
SNIPPET_LEAD = 60  # characters shown before the first highlighted word
SNIPPET_SCAN = 100_000  # characters of a text searched for the first highlighted word
# Stemmers that only change the end of a word, so a stem starts like its word (a cheap pre-check).
_SUFFIX_STEMMERS = frozenset({"en", "fr", "es", "de", "nl", "pt", "it", "da", "sv", "no", "nb", "nn", "ro",
                              "ca"})
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchFilters:
    """Narrowing a search: values within one filter are alternatives, filters combine."""

    language: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    sector: tuple[str, ...] = ()  # "sector/health" or just "health"
    country: tuple[str, ...] = ()  # "country/nl" or just "nl"
    source: tuple[str, ...] = ()  # source ids (a name or feed URL is looked up)
    status: tuple[str, ...] = ()
    case: tuple[str, ...] = ()  # case file ids
    date_from: date | None = None  # inclusive, in the lab's time zone
    date_to: date | None = None  # inclusive
    kind: tuple[str, ...] = ()  # "item", "contact", "case", "system" (empty: all the user may see)
    system: tuple[str, ...] = ()  # ids of systems items are confirmed to be about

    def as_json(self) -> dict[str, Any]:
        """Only what is set, dates as ISO text (how saved searches store filters)."""
        data: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if isinstance(value, date):
                data[name] = value.isoformat()
            elif value:
                data[name] = list(value)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchFilters:
        """The filters of `as_json()`; raises InvalidInput for unknown names or bad values."""
        if not isinstance(data, dict):
            raise InvalidInput("filters must be an object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"unknown filter(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("date_from", "date_to"):
                values[name] = _parse_date(value, name)
            elif isinstance(value, str):
                values[name] = (value,)
            elif isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
                values[name] = tuple(str(v) for v in value)
            else:
                raise InvalidInput(f"filter {name} must be a list of strings")
        return cls(**values)


def _parse_date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date like 2025-01-31, not {str(value)[:40]!r}") from exc


@dataclass(frozen=True)
class SearchHit:
    id: int
    kind: str  # "item", "contact", "case" or "system"
    title: str
    url: str
    language: str
    sectors: list[str]
    topics: list[str]
    published: str | None
    snippet: str  # safe HTML: the text is escaped, <mark> is the only markup
    score: float
    # Items whose snippet shows no matching word: the whole title as safe HTML, its matching words in <mark>
    # (so a hit always shows why it matched); "" otherwise.
    title_html: str = ""
    concepts: list[str] = field(default_factory=list)  # labels of the expanded concepts it is tagged with

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "url": self.url,
                "language": self.language, "sectors": self.sectors, "topics": self.topics,
                "published": self.published, "snippet": self.snippet, "title_html": self.title_html,
                "matched_concepts": self.concepts}


@dataclass
class SearchResults:
    total: int
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, engine.MAX_WINDOW) // self.page_size))

    def as_json(self) -> dict[str, Any]:
        """The object `kb search --json` prints and the JSON API returns."""
        return {"total": self.total, "results": [hit.as_json() for hit in self.hits], "facets": self.facets,
                "notes": self.notes, "suggestion": self.suggestion}


def access_for(user: User | None, allowed_contacts: Collection[int] = ()) -> engine.Access:
    """What beside items a user may find, by kb.contacts.contact_scope; `allowed_contacts`: restricted
    contacts a coordinator may see through their case files (ignored for users the rule gives none)."""
    if user is None or not user.active:
        return engine.Access()
    scope = contacts_store.contact_scope(user)
    allowed = frozenset(int(i) for i in allowed_contacts) if scope.through_cases else frozenset()
    return engine.Access(contacts=scope.contacts, allowed_contacts=allowed, cases=True,
                         systems=systems_store.can_read_systems(user))


def search(kb: KnowledgeBase, query: str, filters: SearchFilters | None = None, *, user: User | None = None,
           sort: str = "relevance", page: int = 1, page_size: int = 20,
           allowed_contacts: Collection[int] | None = None, expand: bool = True) -> SearchResults:
    """One page of results for a query; malformed or expensive queries give notes, never errors.

    `expand`: words naming a taxonomy concept also find the items tagged with it (a query starting with
    `=` is never expanded)."""
    filters = filters or SearchFilters()
    if allowed_contacts is None:
        allowed_contacts = _visible_contacts(kb, user)
    stripped = (query or "").lstrip()
    if stripped.startswith("="):
        expand = False
        query = stripped[1:]
    parsed = parse_query(query)
    notes = parsed.notes
    tree, concepts = concepts_of_query.expand(parsed.tree) if expand else (parsed.tree, {})
    if sort not in SORTS:
        notes.append(f"Unknown sort {sort[:20]!r}: sorted by relevance.")
        sort = "relevance"
    if page_size > MAX_PAGE_SIZE or page_size < 1:
        page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
        notes.append(f"Pages hold 1 to {MAX_PAGE_SIZE} results: {page_size} shown.")
    page = max(1, page)
    offset = (page - 1) * page_size
    if offset + page_size > engine.MAX_WINDOW:
        notes.append(f"Only the first {engine.MAX_WINDOW:,} results can be paged through; narrow the search.")
    request = engine.Request(
        tree=tree, filters=_filter_values(kb, filters, notes),
        access=access_for(user, allowed_contacts),
        sort=sort, offset=offset, limit=page_size, kinds=_kinds(filters.kind, notes),
        **_date_range(kb, filters, notes),
    )
    suggestion = None
    with kb.index.searcher() as searcher:
        answer = engine.run(searcher, request, notes)
        found = answer.total  # "did you mean" looks at what the query itself found
        loose = _any_of(tree)
        if answer.total == 0 and loose is not None:
            wider = engine.run(searcher, replace(request, tree=loose), [])
            if wider.total:
                answer = replace(wider, notes=notes)
                notes.append("No result holds all the words: showing the results that hold any of them.")
        if found < engine.SUGGEST_BELOW and parsed.tree is not None:
            suggestion = _suggest(searcher, query, parsed.tree, request, found)
    if concepts:
        tagged = [c for c in concepts if answer.facets.get("topic", {}).get(c)]
        if tagged:
            labels = ", ".join(concepts_of_query.concept_label(c) for c in tagged)
            notes.append(f"Also matched: {labels} (items tagged so, ranked after those holding the words; "
                         "start the query with = to search the words only).")
    hits = _hits(kb, answer.matches, answer.marks, answer.words, concepts)
    return SearchResults(total=answer.total, page=page, page_size=page_size, hits=hits, facets=answer.facets,
                         notes=answer.notes, suggestion=suggestion)


def _any_of(tree: Leaf | Node | None) -> Leaf | Node | None:
    """The query with its top-level AND made an OR (its NOT parts kept), or None when it has no such AND
    of two or more positive parts."""
    if not isinstance(tree, Node) or tree.op != "and":
        return None
    positive = [c for c in tree.children if not (isinstance(c, Node) and c.op == "not")]
    negative = [c for c in tree.children if isinstance(c, Node) and c.op == "not"]
    if len(positive) < 2:
        return None
    either = Node("or", tuple(positive))
    return Node("and", (either, *negative)) if negative else either


def _visible_contacts(kb: KnowledgeBase, user: User | None) -> Collection[int]:
    """The restricted contacts a user may see through case files (only those the rule lets in that way)."""
    if user is None or not contacts_store.contact_scope(user).through_cases:
        return ()
    return contacts_store.visible_contact_ids(kb.db, user) or ()


def similar_items(kb: KnowledgeBase, item_id: int, limit: int = 5) -> list[SearchHit]:
    """Items most like this one (shared distinctive words); raises NotFound for an unknown item."""
    document = item_document(items_store.get_item(kb.db, item_id))
    with kb.index.searcher() as searcher:
        matches = engine.similar(searcher, str(document["id"]), str(document["title"]), str(document["text"]),
                                 limit=max(1, min(limit, MAX_PAGE_SIZE)))
    return _hits(kb, matches, frozenset(), (), {})


# --- filters -------------------------------------------------------------------------------------


def _prefixed(values: Iterable[str], facet: str) -> tuple[str, ...]:
    return tuple(v if "/" in v else f"{facet}/{v}" for v in (fold(v.strip()) for v in values) if v)


def _filter_values(kb: KnowledgeBase, filters: SearchFilters, notes: list[str]) -> dict[str, tuple[str, ...]]:
    values = {
        "language": tuple(v.strip().lower() for v in filters.language if v.strip()),
        "topic": tuple(v.strip() for v in filters.topic if v.strip()),
        "sector": _prefixed(filters.sector, "sector"),
        "country": _prefixed(filters.country, "country"),
        "source": _source_ids(kb, filters.source, notes),
        "status": tuple(v.strip().lower() for v in filters.status if v.strip()),
        "case": tuple(v.strip() for v in filters.case if v.strip()),
        "system": _system_ids(filters.system, notes),
    }
    return {name: found for name, found in values.items() if found}


def _source_ids(kb: KnowledgeBase, wanted: Iterable[str], notes: list[str]) -> tuple[str, ...]:
    """Source ids for ids, names or feed URLs."""
    ids: list[str] = []
    named = [w.strip() for w in wanted if w.strip()]
    by_name: dict[str, list[str]] | None = None
    for value in named:
        if value.isdigit():
            ids.append(value)
            continue
        if by_name is None:
            by_name = {}
            for source in sources_store.list_sources(kb.db):
                by_name.setdefault(source.name.casefold(), []).append(str(source.id))
                by_name.setdefault(source.url.casefold(), []).append(str(source.id))
        found = by_name.get(value.casefold())
        if found:
            ids.extend(found)
        else:
            notes.append(f"No source is called {value[:60]!r}.")
    return tuple(dict.fromkeys(ids)) or (("none",) if named else ())


def _system_ids(wanted: Iterable[str], notes: list[str]) -> tuple[str, ...]:
    """System ids as the index holds them; other values are named in a note and match nothing."""
    named = [w.strip() for w in wanted if w.strip()]
    ids = tuple(dict.fromkeys(str(int(v)) for v in named if v.isdigit()))
    bad = [v for v in named if not v.isdigit()]
    if bad:
        notes.append(f"A system is chosen by its number, not {bad[0][:40]!r}.")
    return ids or (("none",) if named else ())


def _kinds(wanted: Iterable[str], notes: list[str]) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in wanted if k.strip()))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        notes.append(f"Unknown kind(s) {', '.join(unknown)[:60]} ignored: say item, contact, case or system.")
    return tuple(k for k in kinds if k in KINDS)


def _date_range(kb: KnowledgeBase, filters: SearchFilters, notes: list[str]) -> dict[str, datetime | None]:
    """The date filters as UTC datetimes: the first day's midnight to the next after the last (lab time)."""
    start, end = filters.date_from, filters.date_to
    if start and end and start > end:
        notes.append("The start date was after the end date: the two were swapped.")
        start, end = end, start
    tz = kb.settings.tz

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

    return {"date_from": midnight(start) if start else None,
            "date_to": midnight(end + timedelta(days=1)) if end else None}


# --- did you mean --------------------------------------------------------------------------------


def _suggest(searcher: Any, query: str, tree: Any, request: engine.Request, total: int) -> str | None:
    leaves = [leaf for leaf in query_words(tree) if leaf.kind in ("word", "phrase")]
    words = [w for leaf in leaves for w in leaf.words]
    fixes = engine.corrections(searcher, words)
    if not fixes:
        return None
    suggestion = query
    for leaf in leaves:
        fixed_raw = " ".join(fixes.get(w, w) for w in leaf.words)
        if fixed_raw != " ".join(leaf.words):
            suggestion = re.sub(re.escape(leaf.raw), _literal(fixed_raw), suggestion, count=1)
    if suggestion == query:
        return None
    parsed = parse_query(suggestion)
    better = engine.count(searcher, replace(request, tree=parsed.tree))
    return suggestion if better > total else None


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement that inserts `text` as it is (no backslash escapes)."""
    return lambda _: text


# --- hits and snippets ---------------------------------------------------------------------------


def marks_in(marks: frozenset[str], words: Iterable[str], language: str | None) -> frozenset[str]:
    """What a hit in `language` highlights: the marks, and the query's words stemmed in that language only
    (as the search matched them)."""
    code = stem_language(language)
    if code is None:
        return marks
    return marks | {stem(word, code) for word in words}


def _found_through(title: str, text: str, topics: list[str],
                   concepts: dict[str, tuple[str, ...]]) -> list[str]:
    """Labels of the query's concepts an item is tagged with and whose words it does not show (as a quick
    check: the folded words inside the folded title and start of the text): what it was found through."""
    wanted = [t for t in topics if t in concepts]
    if not wanted:
        return []
    folded = fold(f"{title}\n{text[:SNIPPET_SCAN]}")
    return [concepts_of_query.concept_label(t) for t in wanted
            if not all(word in folded for word in concepts[t])]


def _hits(kb: KnowledgeBase, matches: list[engine.Match], marks: frozenset[str], words: tuple[str, ...],
          concepts: dict[str, tuple[str, ...]]) -> list[SearchHit]:
    keys = [parse_key(m.key) for m in matches]
    items = {item.id: item for item in items_store.load_items(kb.db, [i for kind, i in keys if kind == ITEM])}
    hits = []
    for (kind, record_id), match in zip(keys, matches, strict=True):
        if kind == ITEM:
            item = items.get(record_id)
            if item is None:
                continue  # deleted a moment ago; the index forgets it at the next sync
            topics = item.topics
            own = marks_in(marks, words, item.language)
            body = snippet(item.text or item.summary, own, item.language)
            title = highlight(item.title, own, item.language) if "<mark>" not in body else ""
            hits.append(SearchHit(
                id=item.id, kind=ITEM, title=item.title, url=item.url, language=item.language,
                sectors=[t for t in topics if topic_facet(t) == "sector"], topics=topics,
                published=item.published, snippet=body, score=match.score,
                title_html=title if "<mark>" in title else "",
                concepts=_found_through(item.title, item.text or item.summary, topics, concepts),
            ))
        elif kind in (CONTACT, CASE, SYSTEM):
            # A system's page is readable by everyone who finds it; contacts and case files link nowhere here.
            url = f"/systems/{record_id}" if kind == SYSTEM else ""
            hits.append(SearchHit(
                id=record_id, kind=kind, title=match.heading, url=url, language="", sectors=[], topics=[],
                published=None, snippet=snippet(match.excerpt, marks, None), score=match.score,
            ))
    return hits


def _hint(text: str, marks: frozenset[str]) -> int | None:
    """Where the first highlighted word probably is, or None when no word can match.

    Stems are (nearly always) part of the folded words they come from, so a text whose folded form holds
    no mark has nothing to highlight, and the first mark found shows where to start looking; folding
    may change the length a little, hence the margin.
    """
    folded = fold(text)
    found = [at for at in (folded.find(mark) for mark in marks) if at >= 0]
    if not found:
        return None
    at = min(found) * len(text) // max(len(folded), 1)
    return max(0, at - 100)


def highlight(text: str, marks: frozenset[str], language: str | None) -> str:
    """The whole of a short text (a title) as safe HTML, the words matching `marks` in <mark>."""
    return snippet(text, marks, language, size=len(text) + 1)


def snippet(text: str, marks: frozenset[str], language: str | None, size: int = SNIPPET_CHARS) -> str:
    """About `size` characters of `text` around the first word matching `marks`, as safe HTML.

    The text is escaped; each word whose folded form or stem (in `language`) is among `marks` is wrapped in
    <mark>. Without a match, the snippet is the start of the text.
    """
    scanned = text[:SNIPPET_SCAN]
    code = stem_language(language)
    starts = {m[:2] for m in marks} if code is None or code in _SUFFIX_STEMMERS else None
    seen: dict[str, bool] = {}

    def matches(word: str) -> bool:
        hit = seen.get(word)
        if hit is None:
            folded = fold(word)
            hit = (starts is None or folded[:2] in starts) and (
                folded in marks or (code is not None and stem(folded, code) in marks))
            seen[word] = hit
        return hit

    first = None
    hint = _hint(scanned, marks) if marks else None
    if hint is not None:
        first = next((w for w in WORD_RE.finditer(scanned, hint) if matches(w.group())), None)
        if first is None and hint:
            first = next((w for w in WORD_RE.finditer(scanned, 0, hint + 1) if matches(w.group())), None)
    begin = 0
    if first is not None and first.start() > SNIPPET_LEAD:
        space = scanned.find(" ", first.start() - SNIPPET_LEAD, first.start())
        begin = space + 1 if space >= 0 else first.start() - SNIPPET_LEAD
    end = min(len(text), begin + size)
    if end < len(text):
        space = text.rfind(" ", begin + size // 2, end)
        end = space if space > 0 else end
    window = text[begin:end]
    parts = []
    last = 0
    if marks:
        for word in WORD_RE.finditer(window):
            if matches(word.group()):
                parts.append(html.escape(window[last : word.start()]))
                parts.append(f"<mark>{html.escape(word.group())}</mark>")
                last = word.end()
    parts.append(html.escape(window[last:]))
    body = _SPACES.sub(" ", "".join(parts)).strip()
    return ("…" if begin > 0 else "") + body + ("…" if end < len(text) else "")

"""The topic taxonomy: topics in four facets, their labels and terms, and the relevance term lists.

The product ships `kb/taxonomy.toml`; its header explains to a coordinator how to extend it. `load_taxonomy`
reads and validates a taxonomy file and reports the first mistake as `InvalidInput`, naming the entry;
`dump_taxonomy` writes one back (with the header), so what `load_taxonomy` reads equals what was dumped.

`load_taxonomy()` with no file is the taxonomy this process tags with: the bundled file until the lab's
own (edited in the web UI, stored in the database) is installed with `install_taxonomy`, which
`kb.learning.taxonomies.current` does at each request and each batch of items stored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kb.errors import InvalidInput, NotFound
from kb.text.normalize import tokenize

FACETS = ("sector", "system", "right", "country")
TAXONOMY_FILE = Path(__file__).with_name("taxonomy.toml")
# Term lists under this key are searched in texts of every language (names, acronyms).
ANY_LANGUAGE = "all"
# Term lists under this language are searched in texts of every language too (the lingua franca).
SHARED_LANGUAGE = "en"
MAX_ABBREVIATION_LENGTH = 6

_TOPIC_KEYS = frozenset({"id", "facet", "label", "labels", "terms"})
_TOP_KEYS = frozenset({"topic", "relevance"})
# The lists of the [relevance] table, in file order.
RELEVANCE_KEYS = ("system_terms", "public_terms", "automation_terms", "automatic_terms")
_ID_RE = re.compile(r"[a-z]+/[a-z0-9]+(?:-[a-z0-9]+)*")
_COUNTRY_ID_RE = re.compile(r"country/[a-z]{2}")
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}")
_TOPIC_HEADER_RE = re.compile(r"^\s*\[\[\s*topic\s*\]\]", re.MULTILINE)


@dataclass(frozen=True)
class Topic:
    """One topic: id "facet/name", English label, labels and terms by ISO-639-1 language (or "all")."""

    id: str
    facet: str
    label: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def all_terms(self) -> tuple[str, ...]:
        """Every term of the topic, in all languages, without duplicates."""
        return tuple(dict.fromkeys(term for terms in self.terms.values() for term in terms))


class Taxonomy:
    """The validated set of topics and the relevance term lists: system terms, public-service terms, and
    automation cues (words that hint at an automated system but are too general to count alone: "the
    platform", "the app"; and the words saying something happens automatically, "automatically",
    "electronically"; `kb.text.tagging` says how they count)."""

    def __init__(
        self,
        topics: Iterable[Topic],
        system_terms: Mapping[str, tuple[str, ...]] | None = None,
        public_terms: Mapping[str, tuple[str, ...]] | None = None,
        automation_terms: Mapping[str, tuple[str, ...]] | None = None,
        automatic_terms: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.topics: tuple[Topic, ...] = tuple(topics)
        self._by_id: dict[str, Topic] = {}
        for topic in self.topics:
            if topic.id in self._by_id:
                raise InvalidInput(f"duplicate topic id {topic.id!r}")
            self._by_id[topic.id] = topic
        self.system_terms: Mapping[str, tuple[str, ...]] = MappingProxyType(dict(system_terms or {}))
        self.public_terms: Mapping[str, tuple[str, ...]] = MappingProxyType(dict(public_terms or {}))
        self.automation_terms: Mapping[str, tuple[str, ...]] = MappingProxyType(dict(automation_terms or {}))
        self.automatic_terms: Mapping[str, tuple[str, ...]] = MappingProxyType(dict(automatic_terms or {}))

    def __len__(self) -> int:
        return len(self.topics)

    @property
    def relevance_lists(self) -> tuple[tuple[str, Mapping[str, tuple[str, ...]]], ...]:
        """The [relevance] lists by name (`RELEVANCE_KEYS`, in file order): language -> terms."""
        return tuple((key, getattr(self, key)) for key in RELEVANCE_KEYS)

    def with_topics(self, topics: Iterable[Topic]) -> Taxonomy:
        """A taxonomy with these topics and this one's relevance lists."""
        return Taxonomy(topics, **dict(self.relevance_lists))

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics)

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self._by_id

    def find(self, topic_id: str) -> Topic | None:
        """The topic with this id, or None."""
        return self._by_id.get(topic_id)

    def get(self, topic_id: str) -> Topic:
        """The topic with this id; raises NotFound for an unknown id."""
        topic = self._by_id.get(topic_id)
        if topic is None:
            raise NotFound(f"unknown topic {topic_id!r}")
        return topic

    def by_facet(self, facet: str) -> list[Topic]:
        """The topics of one facet, in file order; raises InvalidInput for an unknown facet."""
        if facet not in FACETS:
            raise InvalidInput(f"unknown facet {facet!r} (expected one of {', '.join(FACETS)})")
        return [topic for topic in self.topics if topic.facet == facet]

    def facet_of(self, topic_id: str) -> str:
        """The facet of a topic; raises NotFound for an unknown id."""
        return self.get(topic_id).facet

    def label(self, topic_id: str, language: str = "en") -> str:
        """The topic's label in `language` ("pt-BR" -> "pt"), falling back to English."""
        topic = self.get(topic_id)
        code = (language or "en").strip().lower().replace("_", "-").split("-", 1)[0]
        return topic.labels.get(code) or topic.label

    @property
    def languages(self) -> frozenset[str]:
        """Languages that have terms somewhere in the taxonomy ("all" excluded)."""
        lists = [topic.terms for topic in self.topics] + [terms for _, terms in self.relevance_lists]
        return frozenset(language for terms in lists for language in terms if language != ANY_LANGUAGE)


def topic_facet(topic_id: str) -> str:
    """The facet a topic id names ("sector/health": "sector"); a key without "/" is its own."""
    return topic_id.partition("/")[0]


def is_abbreviation(term: str) -> bool:
    """True for a term matched case-sensitively as a whole word: short, mostly capitals (AI, SyRI, U.S.)."""
    if len(term) > MAX_ABBREVIATION_LENGTH or not all(ch.isalnum() or ch == "." for ch in term):
        return False
    letters = [ch for ch in term if ch.isalpha()]
    capitals = sum(1 for ch in letters if ch.isupper())
    return capitals >= 2 and capitals * 2 >= len(letters)


def _where(source: str, index: int | None, topic_id: Any, lines: list[int]) -> str:
    """How an error names a topic entry: file, position, id and line."""
    place = f"topic #{index + 1}" if index is not None else "entry"
    if isinstance(topic_id, str) and topic_id:
        place += f" {topic_id!r}"
    if index is not None and index < len(lines):
        place += f" (line {lines[index]})"
    return f"{source}: {place}"


def _language_key(key: Any, allow_any: bool) -> str:
    """A validated language key of a labels or terms table."""
    if isinstance(key, str) and (_LANGUAGE_RE.fullmatch(key) or (allow_any and key == ANY_LANGUAGE)):
        return key
    raise ValueError(f"{key!r} is not a language code (two lower-case letters such as 'en', or 'all')")


def _term_lists(value: Any, what: str) -> dict[str, tuple[str, ...]]:
    """Validated `language -> terms` lists; raises ValueError saying what is wrong."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{what} must be a table of term lists by language, and not empty")
    lists: dict[str, tuple[str, ...]] = {}
    for key, terms in value.items():
        language = _language_key(key, allow_any=True)
        if not isinstance(terms, list) or not terms:
            raise ValueError(f"{what}.{language} is empty: give at least one term in quotes")
        clean = []
        for term in terms:
            if not isinstance(term, str) or not term.strip():
                raise ValueError(f"{what}.{language} has an empty or non-text term: {term!r}")
            term = term.strip()
            if not is_abbreviation(term) and not tokenize(term):
                raise ValueError(f"{what}.{language} term {term!r} has no word to match")
            clean.append(term)
        lists[language] = tuple(dict.fromkeys(clean))
    return lists


def _topic(entry: Any) -> Topic:
    """One validated topic from its TOML table; raises ValueError saying what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError("each [[topic]] must be a table")
    unknown = sorted(set(entry) - _TOPIC_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_TOPIC_KEYS))})")
    topic_id, facet, label = entry.get("id"), entry.get("facet"), entry.get("label")
    if not isinstance(topic_id, str) or not _ID_RE.fullmatch(topic_id):
        raise ValueError(f"id {topic_id!r} must look like 'facet/name' (lower case, digits and hyphens)")
    if facet not in FACETS:
        raise ValueError(f"unknown facet {facet!r} (expected one of {', '.join(FACETS)})")
    if topic_id.split("/", 1)[0] != facet:
        raise ValueError(f"id {topic_id!r} does not match facet {facet!r}: it must start with '{facet}/'")
    if facet == "country" and not _COUNTRY_ID_RE.fullmatch(topic_id):
        raise ValueError(f"country id {topic_id!r} must be 'country/' and a two-letter ISO code")
    if not isinstance(label, str) or not label.strip():
        raise ValueError("label (the English name) is missing or empty")
    labels_value = entry.get("labels", {})
    if not isinstance(labels_value, dict):
        raise ValueError("labels must be a table such as { fr = \"...\", es = \"...\" }")
    labels = {"en": label.strip()}
    for key, text in labels_value.items():
        language = _language_key(key, allow_any=False)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"labels.{language} is empty")
        labels[language] = text.strip()
    if "terms" not in entry:
        raise ValueError("has no [topic.terms]: every topic needs at least one term")
    terms = _term_lists(entry["terms"], "terms")
    return Topic(
        id=topic_id,
        facet=facet,
        label=labels["en"],
        labels=MappingProxyType(labels),
        terms=MappingProxyType(terms),
    )


def parse_taxonomy(text: str, source: str = "<taxonomy>", *, bundled: bool = False) -> Taxonomy:
    """A validated Taxonomy from TOML text; raises InvalidInput naming the bad entry and its line.
    `bundled`: the text is the packaged file itself (which a file written before automatic_terms borrows
    them from)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise InvalidInput(f"{source}: unknown section(s) {', '.join(unknown)} (allowed: topic, relevance)")
    entries = data.get("topic")
    if not isinstance(entries, list) or not entries:
        raise InvalidInput(f"{source}: no topics: the file needs at least one [[topic]] block")
    lines = [text.count("\n", 0, match.start()) + 1 for match in _TOPIC_HEADER_RE.finditer(text)]
    topics: list[Topic] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        topic_id = entry.get("id") if isinstance(entry, dict) else None
        try:
            topic = _topic(entry)
        except ValueError as exc:
            raise InvalidInput(f"{_where(source, index, topic_id, lines)}: {exc}") from exc
        if topic.id in seen:
            where = _where(source, index, topic_id, lines)
            raise InvalidInput(f"{where}: duplicate id, already used by topic #{seen[topic.id] + 1}")
        seen[topic.id] = index
        topics.append(topic)
    relevance = data.get("relevance", {})
    if not isinstance(relevance, dict) or set(relevance) - set(RELEVANCE_KEYS):
        raise InvalidInput(
            f"{source}: [relevance] may only hold {', '.join(RELEVANCE_KEYS[:-1])} "
            f"and {RELEVANCE_KEYS[-1]}")
    lists = {}
    for key in RELEVANCE_KEYS:
        try:
            lists[key] = _term_lists(relevance[key], f"relevance.{key}") if key in relevance else {}
        except ValueError as exc:
            raise InvalidInput(f"{source}: [relevance]: {exc}") from exc
    if "automatic_terms" not in relevance and lists["automation_terms"] and not bundled:
        lists["automation_terms"], lists["automatic_terms"] = _split_automatic(lists["automation_terms"])
    return Taxonomy(topics, **lists)


def _split_automatic(
    cues: dict[str, tuple[str, ...]],
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """A taxonomy written before automatic_terms existed (a lab's stored version, an exported file) listed
    "automatically" among its automation_terms; the bundled file's automatic terms move to that list, so
    the headline rule (`kb.text.tagging`) reads them as it reads the bundled file."""
    bundled = _default_taxonomy().automatic_terms
    automation, automatic = {}, {}
    for language, terms in cues.items():
        moving = set(bundled.get(language, ()))
        automation[language] = tuple(term for term in terms if term not in moving)
        if moved := tuple(term for term in terms if term in moving):
            automatic[language] = moved
    return automation, automatic


@functools.lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    """The packaged taxonomy, read and validated once per process."""
    return parse_taxonomy(TAXONOMY_FILE.read_text(encoding="utf-8"), source=TAXONOMY_FILE.name, bundled=True)


# The taxonomy this process uses when none is named, and its digest ("" : the bundled file). Swapped whole
# (one assignment of a tuple), so a thread reads either the old pair or the new one.
BUNDLED = ""
_installed: tuple[str, Taxonomy] | None = None


def install_taxonomy(taxonomy: Taxonomy | None, digest: str = BUNDLED) -> None:
    """Make `taxonomy` (None: the bundled one) what `load_taxonomy()` returns in this process."""
    global _installed
    _installed = (digest, taxonomy) if taxonomy is not None and digest != BUNDLED else None


def installed_digest() -> str:
    """The digest of the taxonomy `load_taxonomy()` returns ("" for the bundled file)."""
    found = _installed
    return found[0] if found else BUNDLED


def bundled_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the product (kb/text/taxonomy.toml)."""
    return _default_taxonomy()


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy in `path`, or the one this process uses (the lab's, or the bundled one, cached); raises
    InvalidInput for a bad file."""
    if path is None:
        found = _installed
        return found[1] if found else _default_taxonomy()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read the taxonomy file: {exc}") from exc
    return parse_taxonomy(text, source=str(path))


# --- writing a taxonomy back ---------------------------------------------------------------------------

_FACET_HEADINGS = {
    "sector": "Sectors", "system": "Systems", "right": "Rights",
    "country": 'Countries (id: "country/" and the two-letter ISO 3166 code in lower case)',
}
_RULE = "# " + "-" * 99


def taxonomy_digest(text: str) -> str:
    """A short fingerprint of a taxonomy's text, naming its version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def taxonomy_data(taxonomy: Taxonomy) -> dict[str, object]:
    """The taxonomy as plain data (lists and dicts in file order), to compare two taxonomies."""
    return {
        "topics": [{"id": t.id, "facet": t.facet, "label": t.label, "labels": dict(t.labels),
                    "terms": {k: list(v) for k, v in t.terms.items()}} for t in taxonomy.topics],
        **{key: {k: list(v) for k, v in lists.items()} for key, lists in taxonomy.relevance_lists},
    }


def file_header() -> str:
    """The bundled file's opening comments (how to add a term or a topic), for a coordinator."""
    lines = []
    for line in TAXONOMY_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ---") or not (line.startswith("#") or not line.strip()):
            break
        lines.append(line)
    return "\n".join(lines).rstrip() + "\n"


def _string(text: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _terms_lines(lists: Mapping[str, tuple[str, ...]]) -> list[str]:
    return [f"{language} = [{', '.join(_string(term) for term in terms)}]"
            for language, terms in lists.items()]


def dump_taxonomy(taxonomy: Taxonomy) -> str:
    """The taxonomy as a TOML file with the coordinator's header; `parse_taxonomy` reads it back equal."""
    out = [file_header()]
    facet = None
    for topic in taxonomy.topics:
        if topic.facet != facet:
            facet = topic.facet
            out += [_RULE, f"# {_FACET_HEADINGS[facet]}", _RULE, ""]
        labels = [f"{language} = {_string(text)}"
                  for language, text in topic.labels.items() if language != "en"]
        out += ["[[topic]]", f"id = {_string(topic.id)}", f"facet = {_string(topic.facet)}",
                f"label = {_string(topic.label)}"]
        if labels:
            out.append(f"labels = {{ {', '.join(labels)} }}")
        out += ["", "[topic.terms]", *_terms_lines(topic.terms), ""]
    relevance = taxonomy.relevance_lists
    if any(lists for _, lists in relevance):
        out += [_RULE, "# Relevance: an article is relevant when it mentions a system (system topic, "
                "system_terms, two", "# different automation_terms or automatic_terms, or an automation_term "
                "in the headline or", "# three times in the text) AND a public service (sector topic or "
                "public_terms).", _RULE, ""]
        for key, lists in relevance:
            if lists:
                out += [f"[relevance.{key}]", *_terms_lines(lists), ""]
    return "\n".join(out)

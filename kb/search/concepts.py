"""Concept expansion: query words that name a taxonomy concept, in any of its languages, also find the items
tagged with that concept.

"welfare", "aide sociale" and "Sozialleistungen" are terms of the topic `sector/welfare`; "Sverige" and
"Netherlands" of `country/se` and `country/nl`. When words of a query are such a term, the query tree is
rewritten so that those words, or the topic, match: `welfare France` becomes
`(welfare OR topic:sector/welfare) AND (france OR topic:country/fr)`. The topic is a metadata value, which
adds nothing to an item's score (kb.search.index.query): an item found through the words ranks above one
found only through its tags.

How query words meet a term (the terms of kb/text/taxonomy.toml, tokenized by kb.text.normalize):
- a run of consecutive unquoted words of an AND (or a lone word) equal to the term's folded words, or
- equal to them once both are stemmed in the term's language (Snowball; a term under "all" unstemmed),
  when every stem has at least MIN_STEM letters ("Sozialleistung" finds "Sozialleistungen"; the Spanish
  "renta" does not capture the English "rent");
- an abbreviation of the taxonomy ("AI", "CAF", "NAV") only when typed exactly so, in capitals.
Quoted words, fielded words (title:...), prefixes and the words under NOT are never expanded; a query
starting with `=` is not expanded at all (kb.search.service).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from kb.search.index.parser import Leaf, Node
from kb.text.normalize import STEM_LANGUAGES, stem_all, tokenize
from kb.text.taxonomy import ANY_LANGUAGE, Taxonomy, is_abbreviation, load_taxonomy

MIN_STEM = 4  # letters of each stem for a stemmed (not exact) match
MAX_TERM_WORDS = 6  # terms of more words are left out (none of the taxonomy's is that long)


@dataclass(frozen=True)
class _Lookup:
    """The taxonomy's terms as keys: exact folded words, stems per language, abbreviations as typed."""

    exact: dict[tuple[str, ...], frozenset[str]]
    stemmed: dict[str, dict[tuple[str, ...], frozenset[str]]]  # language -> stems -> topic ids
    abbreviations: dict[str, frozenset[str]]
    longest: int


def _add(table: dict[tuple[str, ...], set[str]], key: tuple[str, ...], topic_id: str) -> None:
    table.setdefault(key, set()).add(topic_id)


@functools.lru_cache(maxsize=4)
def _lookup(taxonomy: Taxonomy) -> _Lookup:
    exact: dict[tuple[str, ...], set[str]] = {}
    stemmed: dict[str, dict[tuple[str, ...], set[str]]] = {}
    abbreviations: dict[str, set[str]] = {}
    longest = 1
    for topic in taxonomy:
        for language, terms in topic.terms.items():
            code = language if language in STEM_LANGUAGES else None
            for term in terms:
                if is_abbreviation(term):
                    abbreviations.setdefault(term, set()).add(topic.id)
                    continue
                words = tuple(tokenize(term))
                if not words or len(words) > MAX_TERM_WORDS:
                    continue
                longest = max(longest, len(words))
                _add(exact, words, topic.id)
                if code is not None and language != ANY_LANGUAGE:
                    _add(stemmed.setdefault(code, {}), tuple(stem_all(words, code)), topic.id)
    return _Lookup(
        exact={k: frozenset(v) for k, v in exact.items()},
        stemmed={code: {k: frozenset(v) for k, v in table.items()} for code, table in stemmed.items()},
        abbreviations={k: frozenset(v) for k, v in abbreviations.items()},
        longest=longest,
    )


def concepts_of(words: Iterable[str], raw: str = "", taxonomy: Taxonomy | None = None) -> frozenset[str]:
    """The topic ids whose terms are exactly these folded words (in order); `raw`, the words as typed,
    for abbreviations. Empty when they name no concept."""
    lookup = _lookup(taxonomy or load_taxonomy())
    key = tuple(words)
    if not key:
        return frozenset()
    found = set(lookup.exact.get(key, ()))
    if raw.strip() in lookup.abbreviations:
        found |= lookup.abbreviations[raw.strip()]
    for code, table in lookup.stemmed.items():
        stems = tuple(stem_all(key, code))
        if all(len(s) >= MIN_STEM for s in stems) and sum(map(len, stems)) > MIN_STEM:
            found |= table.get(stems, frozenset())
    return frozenset(found)


def _expandable(node: object) -> bool:
    return isinstance(node, Leaf) and node.kind == "word" and node.field is None and not node.quoted


def _with_concepts(part: Leaf | Node, topics: frozenset[str]) -> Node:
    values = tuple(Leaf("value", (topic,), "topic", topic) for topic in sorted(topics))
    return Node("or", (part, *values))


def expand(tree: Leaf | Node | None,
           taxonomy: Taxonomy | None = None) -> tuple[Leaf | Node | None, dict[str, tuple[str, ...]]]:
    """The tree with concept terms OR-ed with their topics, and the topic ids used (in query order) with
    the words that named each."""
    taxonomy = taxonomy or load_taxonomy()
    longest = _lookup(taxonomy).longest
    used: dict[str, tuple[str, ...]] = {}

    def note(topics: frozenset[str], leaves: list[Leaf]) -> None:
        for topic in sorted(topics):
            used.setdefault(topic, tuple(leaf.words[0] for leaf in leaves))

    def run_of(leaves: list[Leaf]) -> frozenset[str]:
        words = [leaf.words[0] for leaf in leaves]
        return concepts_of(words, " ".join(leaf.raw for leaf in leaves), taxonomy)

    def children(parts: tuple[Leaf | Node, ...], op: str) -> tuple[Leaf | Node, ...]:
        out: list[Leaf | Node] = []
        i = 0
        while i < len(parts):
            part = parts[i]
            if not _expandable(part):
                out.append(walk(part))
                i += 1
                continue
            # The longest run of expandable words from here (AND only) that names a concept.
            end = i
            limit = min(len(parts), i + (longest if op == "and" else 1))
            while end < limit and _expandable(parts[end]):
                end += 1
            for stop in range(end, i, -1):
                run = [p for p in parts[i:stop] if isinstance(p, Leaf)]
                topics = run_of(run)
                if topics:
                    note(topics, run)
                    group: Leaf | Node = run[0] if len(run) == 1 else Node("and", tuple(run))
                    out.append(_with_concepts(group, topics))
                    i = stop
                    break
            else:
                out.append(part)
                i += 1
        return tuple(out)

    def walk(node: Leaf | Node) -> Leaf | Node:
        if isinstance(node, Leaf):
            if _expandable(node):
                topics = run_of([node])
                if topics:
                    note(topics, [node])
                    return _with_concepts(node, topics)
            return node
        if node.op == "not":
            return node
        return Node(node.op, children(node.children, node.op))

    if tree is None:
        return None, {}
    return walk(tree), used


def concept_label(topic_id: str, taxonomy: Taxonomy | None = None) -> str:
    """The English label of a topic ("Welfare and social protection"), never its raw key."""
    taxonomy = taxonomy or load_taxonomy()
    if topic_id in taxonomy:
        return taxonomy.label(topic_id)
    return readable_key(topic_id)


def readable_key(value: str) -> str:
    """A label for a topic id the taxonomy does not know (any more): "sector/road-safety" -> "Road safety",
    "country/xk" -> "XK"."""
    facet, _, name = value.partition("/")
    name = name or facet
    if facet == "country" and len(name) == 2:
        return name.upper()
    return name.replace("-", " ").capitalize()


__all__ = ["concept_label", "concepts_of", "expand", "readable_key"]

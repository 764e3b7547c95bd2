"""Topic tagging and relevance judgement of an article against the taxonomy.

How terms match:
- Text and terms are folded (case, accents), tokenised and stemmed with the stemmer of the article's language,
  so "algorithmes" matches the term "algorithme" and "detection de la fraude" matches "détection de la
  fraude". A term of several words matches the same consecutive stems.
- An article in language L is matched against the terms of L, the English terms and the "all" terms (English
  is the lingua franca of the field: "AI", "machine learning" in a French text). An article whose language
  has no terms in the taxonomy (or is unknown) is matched against the terms of every language.
- Short abbreviations (see `kb.text.taxonomy.is_abbreviation`: "AI", "KI", "UWV", "U.S.") match only as
  written, as a whole word, with an optional plural "s".

Relevance: an article is relevant when it has a system signal (a system/* topic or a relevance system term)
AND a public-service signal (a sector/* topic or a relevance public term). Title matches weigh
`TITLE_WEIGHT` times a match in the text. Relevant articles score in [0.25, 1], the others below 0.2.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from kb.text.language import normalize_language
from kb.text.normalize import stem_all, tokenize
from kb.text.taxonomy import ANY_LANGUAGE, FACETS, SHARED_LANGUAGE, Taxonomy, is_abbreviation

MAX_EVIDENCE = 10
TITLE_WEIGHT = 3
# Only the first characters of very long texts are tagged; a report's opening says what it is about.
MAX_TEXT_CHARS = 200_000
SYSTEM_KEY = "relevance:system"
PUBLIC_KEY = "relevance:public"
# Signal strength at which a side of the relevance judgement counts as about two-thirds certain.
SIGNAL_SCALE = 4.0
RELEVANT_FLOOR = 0.25
IRRELEVANT_CEILING = 0.2
RIGHTS_SHARE = 0.15
# A one-word term matches a text word with the same stem only if that word is not much shorter than the
# term's word: the stemmer joins "overheid" with "over", "danés" with "dan", "Parlamento" with "parla".
# Arabic is exempt: its prefixes and suffixes make the same word vary a lot in length.
MIN_LENGTH_RATIO = 0.7
_LENGTH_EXEMPT = frozenset({"ar"})
_UNKNOWN = "und"
_FACET_RANK = {facet: rank for rank, facet in enumerate(FACETS)}
# Which side of the relevance judgement each key feeds (topics feed the side of their facet).
_SIDES = {SYSTEM_KEY: "system", PUBLIC_KEY: "sector"}


@dataclass(frozen=True)
class TopicEvidence:
    """A topic proposed for an article and the terms that justified it (from the tagger: at most 10)."""

    topic: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagResult:
    """Topics of an article and whether it is relevant to the lab (about algorithms in public services)."""

    topics: tuple[TopicEvidence, ...]
    relevant: bool
    relevance_score: float
    relevance_evidence: tuple[str, ...]

    @property
    def topic_ids(self) -> tuple[str, ...]:
        """The ids of the matched topics."""
        return tuple(match.topic for match in self.topics)


# A compiled term: the key it counts for (topic id or relevance list), its text as in the taxonomy, the stems
# after the first, their number, and the least length of the text word for a one-word term (see above).
_Term = tuple[str, str, list[str], int, int]
# Matches found so far: key -> [weighted count, matched terms as an ordered set].
_Hits = dict[str, list]


@dataclass(frozen=True)
class _Matcher:
    """Compiled terms for one text language: stem sequences keyed by first stem, and abbreviations."""

    by_first: dict[str, tuple[_Term, ...]]
    abbreviations: re.Pattern[str] | None
    abbreviation_terms: dict[str, tuple[tuple[str, str], ...]]


def _saturation(signal: float) -> float:
    """Map a non-negative weighted count to [0, 1): more evidence, diminishing returns."""
    return 1.0 - math.exp(-signal / SIGNAL_SCALE)


class Tagger:
    """Tags articles with taxonomy topics and judges their relevance; safe to share between threads."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._facet = {topic.id: topic.facet for topic in taxonomy.topics}
        self._order = {topic.id: index for index, topic in enumerate(taxonomy.topics)}
        self._languages = taxonomy.languages
        self._relevance_lists = ((SYSTEM_KEY, taxonomy.system_terms), (PUBLIC_KEY, taxonomy.public_terms))
        self._matchers: dict[str, _Matcher] = {}
        self._lock = threading.Lock()
        for language in sorted(self._languages):
            self._matcher(language)
        self._matcher(_UNKNOWN)

    def _entries(self, language: str) -> Iterable[tuple[str, str, str]]:
        """(key, term language, term) for every term searched in texts of `language`."""
        if language in self._languages:
            wanted = [language, ANY_LANGUAGE, SHARED_LANGUAGE]
        else:
            wanted = [*sorted(self._languages), ANY_LANGUAGE]
        # The text's own language first, so that its terms are the evidence shown when several match.
        for term_language in dict.fromkeys(wanted):
            for topic in self.taxonomy.topics:
                yield from ((topic.id, term_language, term) for term in topic.terms.get(term_language, ()))
            for key, lists in self._relevance_lists:
                yield from ((key, term_language, term) for term in lists.get(term_language, ()))

    def _compile(self, language: str) -> _Matcher:
        """Compile the terms searched in texts of `language`, stemmed with that language's stemmer."""
        stem_code = None if language == _UNKNOWN else language
        grouped: dict[str, dict[tuple[str, ...], _Term]] = {}
        abbreviations: dict[str, dict[tuple[str, str], None]] = {}
        for key, _term_language, term in self._entries(language):
            if is_abbreviation(term):
                abbreviations.setdefault(term, {})[(key, term)] = None
                continue
            tokens = tokenize(term)
            stems = tuple(stem_all(tokens, stem_code))
            if not stems:
                continue
            exempt = len(tokens) > 1 or language in _LENGTH_EXEMPT
            min_length = 0 if exempt else math.ceil(len(tokens[0]) * MIN_LENGTH_RATIO)
            rest = list(stems[1:])
            compiled = (key, term, rest, len(rest), min_length)
            grouped.setdefault(stems[0], {}).setdefault((key, *stems), compiled)
        by_first = {
            first: tuple(sorted(terms.values(), key=lambda compiled: -compiled[3]))
            for first, terms in grouped.items()
        }
        pattern = None
        if abbreviations:
            alternatives = "|".join(re.escape(term) for term in sorted(abbreviations, key=len, reverse=True))
            # No look-behind: a pattern starting with the literals lets `re` skip ahead quickly; the character
            # before a match is checked in `_scan`.
            pattern = re.compile(rf"(?:{alternatives})(?:s\b)?(?![^\W_])")
        return _Matcher(by_first, pattern, {term: tuple(keys) for term, keys in abbreviations.items()})

    def _matcher(self, language: str) -> _Matcher:
        """The compiled matcher for a text language, built on first use."""
        matcher = self._matchers.get(language)
        if matcher is None:
            with self._lock:
                matcher = self._matchers.get(language)
                if matcher is None:
                    matcher = self._matchers[language] = self._compile(language)
        return matcher

    @staticmethod
    def _scan(field: str, language: str | None, matcher: _Matcher, weight: float, hits: _Hits) -> None:
        """Add the matches of one field (title or text) to `hits`."""
        tokens = tokenize(field)
        stems = stem_all(tokens, language)
        lookup = matcher.by_first.get
        for index, first in enumerate(stems):
            candidates = lookup(first)
            if candidates is None:
                continue
            done: set[str] = set()
            for key, text, rest, size, min_length in candidates:
                if key in done:
                    continue
                if size and stems[index + 1 : index + 1 + size] != rest:
                    continue
                if min_length and len(tokens[index]) < min_length:
                    continue
                done.add(key)
                entry = hits.setdefault(key, [0.0, {}])
                entry[0] += weight
                entry[1][text] = None
        if matcher.abbreviations is not None:
            for found in matcher.abbreviations.finditer(field):
                start = found.start()
                if start and (field[start - 1].isalnum() or field[start - 1] == "_"):
                    continue
                written = found.group()
                terms = matcher.abbreviation_terms
                for key, text in terms.get(written) or terms.get(written[:-1], ()):
                    entry = hits.setdefault(key, [0.0, {}])
                    entry[0] += weight
                    entry[1][text] = None

    def tag(self, title: str, text: str, language: str) -> TagResult:
        """Topics, relevance and evidence of an article in `language` (ISO-639-1; unknown: all languages)."""
        code = normalize_language(language) or _UNKNOWN
        matcher = self._matcher(code)
        stem_code = None if code == _UNKNOWN else code
        hits: _Hits = {}
        if title:
            self._scan(title, stem_code, matcher, TITLE_WEIGHT, hits)
        if text:
            self._scan(text[:MAX_TEXT_CHARS], stem_code, matcher, 1.0, hits)
        return self._result(hits)

    def _result(self, hits: _Hits) -> TagResult:
        """Build the TagResult from the weighted hits."""
        topic_ids = sorted(
            (key for key in hits if key in self._facet),
            key=lambda key: (_FACET_RANK[self._facet[key]], -hits[key][0], self._order[key]),
        )
        topics = tuple(TopicEvidence(key, tuple(hits[key][1])[:MAX_EVIDENCE]) for key in topic_ids)
        signal = {"system": 0.0, "sector": 0.0, "right": 0.0}
        evidence: dict[str, dict[str, None]] = {"system": {}, "sector": {}}
        for key, (count, terms) in hits.items():
            side = _SIDES.get(key) or self._facet.get(key)
            if side in signal:
                signal[side] += count
            if side in evidence:
                evidence[side].update(terms)
        relevant = signal["system"] > 0 and signal["sector"] > 0
        system, public = _saturation(signal["system"]), _saturation(signal["sector"])
        if relevant:
            rights = _saturation(signal["right"])
            strength = (1 - RIGHTS_SHARE) * math.sqrt(system * public) + RIGHTS_SHARE * rights
            score = RELEVANT_FLOOR + (1 - RELEVANT_FLOOR) * min(1.0, strength)
        else:
            score = IRRELEVANT_CEILING * max(system, public)
        return TagResult(
            topics=topics,
            relevant=relevant,
            relevance_score=round(score, 4),
            relevance_evidence=_balanced(list(evidence["system"]), list(evidence["sector"])),
        )


def _balanced(system: list[str], public: list[str]) -> tuple[str, ...]:
    """Up to MAX_EVIDENCE terms, half system and half public-service evidence when both have enough."""
    half = MAX_EVIDENCE // 2
    chosen = system[:half] + public[:half]
    rest = system[half:] + public[half:]
    return tuple(dict.fromkeys(chosen + rest))[:MAX_EVIDENCE]

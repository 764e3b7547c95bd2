"""Topic tagging and relevance judgement of an article against the taxonomy.

How terms match:
- Text and terms are folded (case, accents), tokenised and stemmed with the stemmer of the article's language,
  so "algorithmes" matches the term "algorithme" and "detection de la fraude" matches "détection de la
  fraude". A term of several words matches the same consecutive stems.
- An article in language L is matched against the terms of L, the English terms and the "all" terms (English
  is the lingua franca of the field: "AI", "machine learning" in a French text). English terms in a text of
  another language are loanwords there: they match as written, with at most a short ending of that language
  ("softwaren", "chatbots"), never through its stemmer (Spanish "automático" is not "automated"). An article
  whose language has no terms in the taxonomy (or is unknown) is matched against the terms of every
  language.
- Short abbreviations (see `kb.text.taxonomy.is_abbreviation`: "AI", "KI", "UWV", "U.S.") match only as
  written, as a whole word, with an optional plural "s".

- How a language's words are brought to a common form (`kb.text.normalize.match_method`): its Snowball
  stemmer; else simplemma's lemmatizer (Slovak, Bulgarian, Slovene, Ukrainian, Swahili, ...); else, for
  scripts without spaces (Japanese, Chinese, Thai) and for Korean, whose particles stick to the noun, a term
  is found as a substring of the folded text; for Bengali, whose case endings stick to the word, as the start
  of a word; otherwise as a whole word.

Relevance: an article is relevant when it has a system signal AND a public-service signal (a sector/* topic
or a relevance public term). The system signal is a system/* topic or a relevance system term, or at least
`AUTOMATION_CUES` distinct automation cues: words too general to count alone ("the platform", "the app",
"AI" named in passing, and the taxonomy's automatic terms, "automatically") that together describe a
system the way the press does when it does not say "algorithm" ("the Treasury's system automatically
rejected the claims"). A single cue naming a thing (not an automatic term) in the headline, or
`HEADLINE_CUE` times in the text, counts too: the story is then about that system ("Benefit portal cuts
off 3,000 families"), where "Pensions rise automatically in July" is not. A single cue only in passing
next to a sector term is too little evidence either way: the article needs a reader. Title matches weigh
`TITLE_WEIGHT` times a match in the text. Relevant articles score in [0.25, 1], the others below 0.2.
An article in a covered language that is not relevant in its own language's terms is tried against the
terms of every language (its language may be misdetected); a relevant result there is kept.

Verdict: besides `relevant`, every result says how relevance was judged, in words (`verdict`, `reason`).
Nothing is silently irrelevant: an article whose language has no terms in the taxonomy (or is unknown), or
whose evidence is too thin (at most `THIN_EVIDENCE` term, or fewer than `MIN_WORDS` words), "needs a
reader" rather than being "not relevant".
"""

from __future__ import annotations

import functools
import math
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from kb.text.language import language_name, normalize_language
from kb.text.normalize import PREFIX_LANGUAGES, SUBSTRING_LANGUAGES, fold, match_tokens
from kb.text.taxonomy import ANY_LANGUAGE, FACETS, SHARED_LANGUAGE, Taxonomy, is_abbreviation, topic_facet

MAX_EVIDENCE = 10
TITLE_WEIGHT = 3
# Only the first characters of very long texts are tagged; a report's opening says what it is about.
MAX_TEXT_CHARS = 200_000
SYSTEM_KEY = "relevance:system"
PUBLIC_KEY = "relevance:public"
AUTOMATION_KEY = "relevance:automation"
AUTOMATIC_KEY = "relevance:automatic"
CUE_KEYS = (AUTOMATION_KEY, AUTOMATIC_KEY)
# Distinct automation cues that together count as a system signal, and how much each weighs in the score
# against a system term. Cues are distinct when their folded forms start differently (`CUE_PREFIX` letters):
# "automatic" and "automatically" are one cue, whatever a stemmer makes of them.
AUTOMATION_CUES = 2
CUE_PREFIX = 5
AUTOMATION_WEIGHT = 0.5
# The weighted matches of a single cue naming a thing that make it a system signal: once in the title, or
# this many times in the text. Measured on the development sets: such a cue in the headline came with a
# relevant story 6 times in 6 (an automatic term 2 times in 5); a single cue mentioned once in the text,
# 8 times in 15 (a reader decides those).
HEADLINE_CUE = TITLE_WEIGHT
# Signal strength at which a side of the relevance judgement counts as about two-thirds certain.
SIGNAL_SCALE = 4.0
RELEVANT_FLOOR = 0.25
IRRELEVANT_CEILING = 0.2
RIGHTS_SHARE = 0.15
# A one-word term matches a text word with the same stem only if that word is not much shorter than the
# term's word: the stemmer joins "overheid" with "over", "danés" with "dan", "Parlamento" with "parla".
# Arabic is exempt: its prefixes and suffixes make the same word vary a lot in length.
MIN_LENGTH_RATIO = 0.7
# English terms in texts of other languages match as written; a word of at least `LOANWORD_MIN` letters
# also with an ending of up to `LOANWORD_ENDING` letters ("softwaren", "chatboty", "algorithms").
LOANWORD_MIN = 5
LOANWORD_ENDING = 3
_LENGTH_EXEMPT = frozenset({"ar"})
# Languages that write compounds as one word: a one-word term of the text's own language, written as in the
# taxonomy (not its stem: "politi" of "politiet" starts "politik", "kommun" of "Kommune" "Kommunikation")
# and at least `COMPOUND_MIN` letters long (shorter ones start unrelated words: "Schule", "Schulden"), also
# matches a word that begins with it and goes on for at least `PART_MIN` letters ("Sozialhilfe" in
# "Sozialhilfedaten", "toeslag" in "toeslagenaffaire"), or that ends with it after at least `PART_MIN`
# letters and before at most `ENDING_MAX` letters of inflection ("Bundesarbeitsministeriums",
# "akutsjukhuset"). Automation cues do not: they are too general inside words ("Geldautomat",
# "Systembolaget"). Not Finnish nor Hungarian: their derived words start like their compounds
# ("yliopistollinen", of a university, as in a university hospital; "vizsgálat", an inspection, not an
# exam), and they misled as often as compounds helped.
COMPOUND_LANGUAGES = frozenset({"de", "nl", "sv", "da", "no"})
COMPOUND_MIN = 6
PART_MIN = 3
ENDING_MAX = 4
LINKING_LETTERS = 2  # letters that may join a compound's parts ("Universität-s-klinikum", "sygehus-e-")
# What follows a term word in a derived word, not in a compound: Swedish "kommun" (municipality) begins
# "kommunikation", German "Klinik" begins "klinisch".
DERIVED_ENDINGS = ("ikation", "ikasjon", "isch", "isk", "ismus", "isme", "ism", "ist")
_UNKNOWN = "und"
RELEVANT = "relevant"
NOT_RELEVANT = "not relevant"
NEEDS_READER = "needs a reader"
VERDICTS = (RELEVANT, NOT_RELEVANT, NEEDS_READER)
# A not-relevant article with at most this many distinct system or public-service terms is too thin to judge.
THIN_EVIDENCE = 1
# A not-relevant article with fewer words than this (title and text) is too short to judge.
MIN_WORDS = 8
_FACET_RANK = {facet: rank for rank, facet in enumerate(FACETS)}
# Which side of the relevance judgement each key feeds (topics feed the side of their facet).
_SIDES = {SYSTEM_KEY: "system", PUBLIC_KEY: "sector", **{key: "automation" for key in CUE_KEYS}}


@dataclass(frozen=True)
class TopicEvidence:
    """A topic proposed for an article and the terms that justified it (from the tagger: at most 10)."""

    topic: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagResult:
    """Topics of an article and whether it is relevant to the lab (about algorithms in public services).

    `verdict` is one of `VERDICTS`: "relevant" (then `relevant` is True), "not relevant", or "needs a reader"
    when the tagger cannot judge (language without terms, unknown language, too little evidence or text);
    `reason` says why in words ("3 welfare terms, 1 system term", "no terms for Tamil"). Equality compares
    the topics and the relevance judgement, as before these two fields existed.
    """

    topics: tuple[TopicEvidence, ...]
    relevant: bool
    relevance_score: float
    relevance_evidence: tuple[str, ...]
    verdict: str = field(default=NOT_RELEVANT, compare=False)
    reason: str = field(default="", compare=False)

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
    # Terms of languages matched as substrings (or word starts) of the folded text, by folded form.
    pieces: re.Pattern[str] | None = None
    piece_terms: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # One-word terms of a compounding language by their folded word, which may begin or end a compound;
    # the same words by their first `COMPOUND_MIN` letters, longest first; the longest word's length.
    compound_words: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    compound_openings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    longest_compound_word: int = 0
    # English terms in a text of another language, as written (folded words), keyed by their first word;
    # the first `LOANWORD_MIN` letters of those words, to skip the other text words quickly.
    as_written: dict[str, tuple[_Term, ...]] = field(default_factory=dict)
    as_written_openings: frozenset[str] = frozenset()


def _compound_terms(token: str, language: str | None, matcher: _Matcher) -> Iterable[tuple[str, str]]:
    """The terms a compound word (folded `token`) names: the term words that begin it (the longest), and its
    last part's terms when that part is a term. The last part carries the meaning: where it names a topic
    of a facet, the first part's topics of that facet are dropped ("universitetssjukhus" is a hospital,
    not a university; "Sozialhilfedaten" stays welfare). Without such a first part, the term word that
    ends it ("Bundesarbeitsministerium")."""
    length = _opening_word(token, matcher, PART_MIN)
    if not length or token.startswith(DERIVED_ENDINGS, length):
        return _ending_word(token, matcher)
    first = matcher.compound_words[token[:length]]
    last = _last_part(token[length:], language, matcher)
    named = {topic_facet(key) for key, _ in last}
    return (*last, *(term for term in first if topic_facet(term[0]) not in named))


def _opening_word(token: str, matcher: _Matcher, rest_min: int) -> int:
    """The length of the longest term word that begins `token` with at least `rest_min` letters after it,
    or 0. Bounded by the longest term word, so a huge token costs no more than a short one."""
    for end in range(min(len(token) - rest_min, matcher.longest_compound_word), COMPOUND_MIN - 1, -1):
        if token[:end] in matcher.compound_words:
            return end
    return 0


def _ending_word(token: str, matcher: _Matcher) -> tuple[tuple[str, str], ...]:
    """The terms of the longest term word that ends `token` (before a short inflection), or ()."""
    for start in range(PART_MIN, len(token) - COMPOUND_MIN + 1):
        for word in matcher.compound_openings.get(token[start : start + COMPOUND_MIN], ()):
            if token.startswith(word, start) and len(token) - start - len(word) <= ENDING_MAX:
                return matcher.compound_words[word]
    return ()


def _last_part(rest: str, language: str | None, matcher: _Matcher) -> tuple[tuple[str, str], ...]:
    """The one-word terms the rest of a compound is (by its stem), or that begin it, after an optional
    linking letter or two ("-s-")."""
    for skip in range(LINKING_LETTERS + 1):
        part = rest[skip:]
        if len(part) < PART_MIN:
            break
        _, stems = match_tokens(part, language)
        if len(stems) == 1:
            candidates = matcher.by_first.get(stems[0], ())
            terms = tuple((key, text) for key, text, _, size, _ in candidates if not size)
            if terms:
                return terms
        length = _opening_word(part, matcher, 0)
        if length:
            return matcher.compound_words[part[:length]]
    return ()


def _by_opening(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Words by their first `COMPOUND_MIN` letters, the longest first."""
    grouped: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        grouped.setdefault(word[:COMPOUND_MIN], []).append(word)
    return {opening: tuple(group) for opening, group in grouped.items()}


def _add_hit(hits: _Hits, key: str, text: str, weight: float) -> None:
    """Count one match of a term (its text as written in the taxonomy) for `key`, with its weight."""
    entry = hits.setdefault(key, [0.0, {}])
    entry[0] += weight
    entry[1][text] = None


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
        self._relevance_lists = ((SYSTEM_KEY, taxonomy.system_terms), (PUBLIC_KEY, taxonomy.public_terms),
                                 (AUTOMATION_KEY, taxonomy.automation_terms),
                                 (AUTOMATIC_KEY, taxonomy.automatic_terms))
        self._matchers: dict[str, _Matcher] = {}
        self._lock = threading.Lock()
        # Matchers are compiled on first use of a language (simplemma loads a language's dictionary then).
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
                # Cues are common words: only the text's own language's (English "portal" is a doorway in
                # Spanish, and "robot" stems to "rob" in Hungarian), and those written the same in all.
                if key not in CUE_KEYS or term_language in (language, ANY_LANGUAGE):
                    yield from ((key, term_language, term) for term in lists.get(term_language, ()))

    def _compile(self, language: str) -> _Matcher:
        """Compile the terms searched in texts of `language`, stemmed with that language's stemmer."""
        stem_code = None if language == _UNKNOWN else language
        grouped: dict[str, dict[tuple[str, ...], _Term]] = {}
        abbreviations: dict[str, dict[tuple[str, str], None]] = {}
        pieces: dict[str, dict[tuple[str, str], None]] = {}
        prefixes: set[str] = set()
        compound_words: dict[str, dict[tuple[str, str], None]] = {}
        as_written: dict[str, dict[tuple[str, ...], _Term]] = {}
        compounding = language in COMPOUND_LANGUAGES
        for key, term_language, term in self._entries(language):
            if is_abbreviation(term):
                abbreviations.setdefault(term, {})[(key, term)] = None
                continue
            if term_language == SHARED_LANGUAGE and stem_code not in (None, SHARED_LANGUAGE):
                if any(is_abbreviation(word) for word in term.split()):
                    # "AI model" only with its capitals, as written ("ai modelli": "to the forms").
                    abbreviations.setdefault(term, {})[(key, term)] = None
                    continue
                # Stemmed with the text's stemmer, an English term meets unrelated words of the text's own
                # language (English "automated" and Spanish "automático" both become "automat", "Medicare"
                # and Italian "medici" "medic"): English words in other languages' texts are loanwords,
                # written as in English with at most an ending of the text's language ("softwaren").
                words = match_tokens(term, None)[0]
                if words:
                    as_written.setdefault(words[0], {}).setdefault(
                        (key, *words), (key, term, words[1:], len(words) - 1, 0))
                continue
            if term_language in SUBSTRING_LANGUAGES or term_language in PREFIX_LANGUAGES:
                piece = " ".join(fold(term).split())
                if piece:
                    pieces.setdefault(piece, {})[(key, term)] = None
                    if term_language in PREFIX_LANGUAGES:
                        prefixes.add(piece)
                continue
            tokens, forms = match_tokens(term, stem_code)
            stems = tuple(forms)
            if not stems:
                continue
            exempt = len(tokens) > 1 or language in _LENGTH_EXEMPT
            min_length = 0 if exempt else math.ceil(len(tokens[0]) * MIN_LENGTH_RATIO)
            own_word = compounding and term_language == language and len(tokens) == 1
            if own_word and key not in CUE_KEYS and len(tokens[0]) >= COMPOUND_MIN:
                compound_words.setdefault(tokens[0], {})[(key, term)] = None
            rest = list(stems[1:])
            same_stems = grouped.setdefault(stems[0], {})
            known = same_stems.get((key, *stems))
            if known is None:
                same_stems[(key, *stems)] = (key, term, rest, len(rest), min_length)
            elif min_length < known[4]:
                # Forms of one word ("automatically", "automatic"): a text word as long as the shortest form
                # matches, in whatever order the taxonomy lists them; the first form stays the evidence.
                same_stems[(key, *stems)] = (*known[:4], min_length)
        by_first, written = _longest_first(grouped), _longest_first(as_written)
        pattern = None
        if abbreviations:
            alternatives = "|".join(re.escape(term) for term in sorted(abbreviations, key=len, reverse=True))
            # No look-around: a pattern starting with the literals lets `re` skip ahead quickly; the
            # characters on either side of a match are checked in `_scan` (`_joins`).
            pattern = re.compile(rf"(?:{alternatives})(?:s\b)?")
        piece_pattern = None
        if pieces:
            # Word starts need no letter before them; substrings (Japanese, Korean, ...) may sit anywhere.
            piece_pattern = re.compile(
                "|".join(
                    (r"(?<![^\W_])" if piece in prefixes else "") + re.escape(piece).replace(r"\ ", r"\s+")
                    for piece in sorted(pieces, key=len, reverse=True)
                )
            )
        return _Matcher(
            by_first,
            pattern,
            {term: tuple(keys) for term, keys in abbreviations.items()},
            piece_pattern,
            {piece: tuple(keys) for piece, keys in pieces.items()},
            {word: tuple(keys) for word, keys in compound_words.items()},
            _by_opening(compound_words),
            max(map(len, compound_words), default=0),
            written,
            frozenset(word[:LOANWORD_MIN] for word in written),
        )

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
    def _scan(field: str, language: str | None, matcher: _Matcher, weight: float, hits: _Hits) -> int:
        """Add the matches of one field (title or text) to `hits`; returns the number of its words."""
        tokens, stems = match_tokens(field, language)
        lookup = matcher.by_first.get
        compounds = matcher.compound_words
        for index, first in enumerate(stems):
            candidates = lookup(first)
            english = (_english_terms(tokens[index], matcher)
                       if tokens[index][:LOANWORD_MIN] in matcher.as_written_openings else ())
            if candidates is None and not english:
                if compounds and len(tokens[index]) >= COMPOUND_MIN + PART_MIN:
                    for key, text in _compound_terms(tokens[index], language, matcher):
                        _add_hit(hits, key, text, weight)
                continue
            done: set[str] = set()
            for key, text, rest, size, min_length in candidates or ():
                if key in done:
                    continue
                if size and stems[index + 1 : index + 1 + size] != rest:
                    continue
                if min_length and len(tokens[index]) < min_length:
                    continue
                done.add(key)
                _add_hit(hits, key, text, weight)
            for key, text, rest, size, _ in english:
                following = tokens[index + 1 : index + 1 + size]
                if key in done or len(following) < size:
                    continue
                if not all(_loanword(token, word) for token, word in zip(following, rest, strict=True)):
                    continue
                done.add(key)
                _add_hit(hits, key, text, weight)
        if matcher.abbreviations is not None:
            for found in matcher.abbreviations.finditer(field):
                start, end = found.span()
                written = found.group()
                if (start and _joins(field[start - 1], written[0])) or (
                        end < len(field) and _joins(field[end], written[-1])):
                    continue
                terms = matcher.abbreviation_terms
                for key, text in terms.get(written) or terms.get(written[:-1], ()):
                    _add_hit(hits, key, text, weight)
        if matcher.pieces is not None:
            folded = fold(field)
            for found in matcher.pieces.finditer(folded):
                for key, text in matcher.piece_terms.get(" ".join(found.group().split()), ()):
                    _add_hit(hits, key, text, weight)
        if language in SUBSTRING_LANGUAGES:
            # Unspaced scripts: a run of letters counts as one word per two characters (as in language.py).
            return sum(max(1, len(token) // 2) for token in tokens)
        return len(tokens)

    def covers(self, language: str | None) -> bool:
        """True when the taxonomy has terms of `language` (an ISO-639-1 tag; region ignored)."""
        return normalize_language(language) in self._languages

    def _hits(self, title: str, text: str, code: str) -> tuple[_Hits, int]:
        """Weighted hits of an article with the matcher of `code`, and its number of words."""
        matcher = self._matcher(code)
        stem_code = None if code == _UNKNOWN else code
        hits: _Hits = {}
        words = 0
        if title:
            words += self._scan(title, stem_code, matcher, TITLE_WEIGHT, hits)
        if text:
            words += self._scan(text[:MAX_TEXT_CHARS], stem_code, matcher, 1.0, hits)
        return hits, words

    def tag(self, title: str, text: str, language: str) -> TagResult:
        """Topics, relevance, evidence and verdict of an article in `language` (ISO-639-1; unknown: all)."""
        code = normalize_language(language) or _UNKNOWN
        hits, words = self._hits(title, text, code)
        result, sides = self._result(hits)
        fallback = False
        if not result.relevant and code in self._languages and words:
            # The language may be misdetected (a French text labelled Swedish): try every language's terms.
            other_hits, _ = self._hits(title, text, _UNKNOWN)
            other, other_sides = self._result(other_hits)
            if other.relevant:
                result, sides, fallback = other, other_sides, True
        verdict, reason = self._verdict(result, sides, code, words, fallback)
        return TagResult(
            topics=result.topics,
            relevant=result.relevant,
            relevance_score=result.relevance_score,
            relevance_evidence=result.relevance_evidence,
            verdict=verdict,
            reason=reason,
        )

    def _verdict(
        self, result: TagResult, sides: dict[str, dict[str, int]], code: str, words: int, fallback: bool
    ) -> tuple[str, str]:
        """The verdict and its reason in words (see the module docstring)."""
        counts = _describe(sides)
        # Distinct system and public-service terms; cues apart: they do not thicken the evidence of a side.
        found = sum(sides["system"].values()) + sum(sides["sector"].values())
        name = language_name(code)
        if result.relevant:
            reason = counts
            if fallback:
                reason += f" (found with the terms of other languages, not {name}: is the language right?)"
            elif code == _UNKNOWN:
                reason += " (language unknown: matched with the terms of every language)"
            elif code not in self._languages:
                reason += f" (no terms for {name}: matched with the terms of every language)"
            return RELEVANT, reason
        evidence = f"; found {counts}" if found or sides["automation"] else ""
        if words == 0:
            return NEEDS_READER, "no title or text to judge"
        if code == _UNKNOWN:
            return NEEDS_READER, f"language unknown{evidence}"
        if code not in self._languages:
            return NEEDS_READER, f"no terms for {name}{evidence}"
        if sides["sector"] and not sides["system"] and sides["automation"]:
            return NEEDS_READER, f"too little evidence of a system: {counts}"
        if found and found <= THIN_EVIDENCE:
            return NEEDS_READER, f"too little evidence: {counts}"
        if words < MIN_WORDS:
            plural = "s" if words != 1 else ""
            return NEEDS_READER, f"too little text to judge: {words} word{plural}{evidence}"
        if not found and not sides["automation"]:
            return NOT_RELEVANT, f"no system or public-service terms in {name}"
        missing = "no system term" if sides["sector"] else "no public-service term"
        return NOT_RELEVANT, f"{counts}, {missing}"

    def _result(self, hits: _Hits) -> tuple[TagResult, dict[str, dict[str, int]]]:
        """Build the TagResult from the weighted hits, with the distinct terms of each side by kind."""
        topic_ids = sorted(
            (key for key in hits if key in self._facet),
            key=lambda key: (_FACET_RANK[self._facet[key]], -hits[key][0], self._order[key]),
        )
        topics = tuple(TopicEvidence(key, tuple(hits[key][1])[:MAX_EVIDENCE]) for key in topic_ids)
        signal = {"system": 0.0, "sector": 0.0, "right": 0.0, "automation": 0.0}
        evidence: dict[str, dict[str, None]] = {"system": {}, "sector": {}, "automation": {}}
        # side -> kind ("welfare", "public-service", "system", "automation") -> distinct terms, for the
        # reason in words.
        kinds: dict[str, dict[str, dict[str, None]]] = {"system": {}, "sector": {}, "automation": {}}
        for key, (count, terms) in hits.items():
            side = _SIDES.get(key) or self._facet.get(key)
            if side in signal:
                signal[side] += count
            if side in evidence:
                evidence[side].update(terms)
                kind = side if side != "sector" else key.partition("/")[2] or "public-service"
                kinds[side].setdefault(kind, {}).update(terms)
        system_signal = signal["system"]
        automatic = set(hits.get(AUTOMATIC_KEY, (0.0, ()))[1])
        # Words saying "automatically" or "electronically" are one cue together, whatever their forms
        # ("自動的", "自動で" share no prefix long enough to merge).
        cues = len({fold(term)[:CUE_PREFIX] for term in evidence["automation"] if term not in automatic})
        cues += bool(automatic)
        headline_cue = cues and hits.get(AUTOMATION_KEY, (0.0,))[0] >= HEADLINE_CUE
        if system_signal or cues >= AUTOMATION_CUES or headline_cue:
            system_signal += AUTOMATION_WEIGHT * signal["automation"]
        relevant = system_signal > 0 and signal["sector"] > 0
        system, public = _saturation(system_signal), _saturation(signal["sector"])
        if relevant:
            rights = _saturation(signal["right"])
            strength = (1 - RIGHTS_SHARE) * math.sqrt(system * public) + RIGHTS_SHARE * rights
            score = RELEVANT_FLOOR + (1 - RELEVANT_FLOOR) * min(1.0, strength)
        else:
            score = IRRELEVANT_CEILING * max(system, public)
        result = TagResult(
            topics=topics,
            relevant=relevant,
            relevance_score=round(score, 4),
            relevance_evidence=_balanced([*evidence["system"], *evidence["automation"]],
                                         list(evidence["sector"])),
        )
        sides = {side: {kind: len(terms) for kind, terms in found.items()} for side, found in kinds.items()}
        if cues:
            sides["automation"] = {"automation": cues}
        return result, sides


@functools.lru_cache(maxsize=4)
def tagger_of(taxonomy: Taxonomy) -> Tagger:
    """The tagger of a taxonomy, kept: its matchers are compiled per language on first use. Room for the
    current taxonomy, the one before a swap and the edited ones previews and re-tags try, so a preview
    does not evict the tagger ingest is using."""
    return Tagger(taxonomy)


def _longest_first(grouped: dict[str, dict[tuple[str, ...], _Term]]) -> dict[str, tuple[_Term, ...]]:
    """Compiled terms by first word, the longest (most words) first: a phrase, not its first word, is the
    evidence when both match."""
    return {first: tuple(sorted(terms.values(), key=lambda compiled: -compiled[3]))
            for first, terms in grouped.items()}


def _loanword(token: str, word: str) -> bool:
    """True when a folded text word is the English `word` as written, or with an ending of the text's own
    language ("softwaren", "chatbots") if the word is long enough not to begin unrelated words."""
    extra = len(token) - len(word)
    return token.startswith(word) and (extra == 0 or (len(word) >= LOANWORD_MIN and extra <= LOANWORD_ENDING))


def _english_terms(token: str, matcher: _Matcher) -> list[_Term]:
    """The English terms whose first word a folded text word is, as a loanword (see `_loanword`)."""
    found: list[_Term] = []
    for extra in range(min(LOANWORD_ENDING, len(token) - 1) + 1):
        word = token[: len(token) - extra]
        if extra and len(word) < LOANWORD_MIN:
            break
        found.extend(matcher.as_written.get(word, ()))
    return found


def _joins(neighbour: str, edge: str) -> bool:
    """True when the character next to an abbreviation makes it part of a longer word: a digit, "_", or a
    letter of the abbreviation's script. Japanese and Korean write "AI" against their own letters
    ("AIシステム", "AI가"): there it is still a word."""
    if neighbour.isdigit() or neighbour == "_":
        return True
    return neighbour.isalpha() and _script(neighbour) == _script(edge)


def _script(char: str) -> str:
    """The script of a letter as Unicode names it ("LATIN", "CYRILLIC", "KATAKANA", "HANGUL", "CJK")."""
    return unicodedata.name(char, "").partition(" ")[0]


def _describe(sides: dict[str, dict[str, int]]) -> str:
    """Distinct terms found by kind, in words: "3 welfare terms, 1 public-service term, 2 system terms,
    1 automation cue"."""
    parts = []
    for side in ("sector", "system", "automation"):
        for kind, count in sorted(sides[side].items(), key=lambda pair: (-pair[1], pair[0])):
            noun = "automation cue" if kind == "automation" else f"{kind} term"
            parts.append(f"{count} {noun}{'s' if count != 1 else ''}")
    return ", ".join(parts) or "no terms"


def _balanced(system: list[str], public: list[str]) -> tuple[str, ...]:
    """Up to MAX_EVIDENCE terms, half system and half public-service evidence when both have enough."""
    half = MAX_EVIDENCE // 2
    chosen = system[:half] + public[:half]
    rest = system[half:] + public[half:]
    return tuple(dict.fromkeys(chosen + rest))[:MAX_EVIDENCE]

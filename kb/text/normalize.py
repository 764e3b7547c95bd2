"""Text normalisation shared by tagging and the search index: folding, tokenising and stemming.

Pure and fast: no I/O, no global state besides the per-thread stemmer objects and a bounded stem cache.

- `fold` lower-cases (casefold), strips accents and similar diacritics from Latin, Greek, Cyrillic and
  Hebrew letters, spells out a few letters that have no decomposition (æ -> ae, ø -> o, œ -> oe, ł -> l,
  đ -> d, ...), and applies the usual Arabic search normalisation (alef forms -> ا, ة -> ه, ى -> ي, no
  tashkeel, no tatweel, Arabic-Indic digits -> 0-9), and drops the Devanagari nukta, which Hindi writers
  use or leave out for the same word ("फ़र्ज़ी" = "फर्जी", as Lucene's Hindi normaliser does). Marks that
  are part of other scripts' spelling (Devanagari vowel signs and virama, for instance) are kept.
- `tokenize` returns folded word tokens: maximal runs of Unicode letters and digits (with their
  combining marks). Hyphens, apostrophes and all other punctuation split tokens ("sud-africain" ->
  "sud", "africain"; "l'algorithme" -> "algorithme"). One-character tokens are dropped unless they are
  a digit, which removes elided articles and possessive "s" but keeps numbers such as "5".
  Scripts written without spaces (Chinese, Japanese, Thai) are not segmented.
- `stem` applies the Snowball stemmer of an ISO-639-1 language to a folded token, or returns the token
  unchanged for a language without a stemmer. Because Snowball expects accented input, a few folded forms
  are helped: Portuguese "-oes" plurals are read as "-ao" (decisoes = decisao), French stems lose a final
  "e" (automatisee = automatise), Arabic loses a conjunction before the article ("وال") and what the
  stemmer leaves of "ة"/"ية" and of indefinite "ات" plurals; and `_STEM_OVERRIDES` fixes the few words
  that Snowball joins with an unrelated common word (Dutch "overheid" -> "over", English "hospitality"
  -> "hospital") or splits from their own plural (Dutch "algoritmen", German "Algorithmus").
  Stems depend on the snowballstemmer version: an index built with one version must be rebuilt after an
  upgrade that changes them.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

import snowballstemmer

from kb.text.language import normalize_language

# Combining marks removed after NFKD decomposition: generic diacritics (Latin, Greek, Cyrillic),
# Hebrew points, Arabic tashkeel / Quranic marks, and the Devanagari nukta (NFKD splits "ज़" into "ज" and it).
DEVANAGARI_NUKTA = "\u093c"
_STRIPPED_MARKS_RE = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    f"\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed{DEVANAGARI_NUKTA}]+"
)
# Letters that NFKD does not decompose, spelled out the way search engines usually fold them, Arabic letter
# normalisation (alef wasla, ta marbuta, alef maksura, tatweel) and Arabic-Indic digits.
_LETTER_FOLDS = {
    "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ħ": "h", "ı": "i",
    "ŀ": "l", "ŧ": "t", "ŋ": "n", "ĸ": "k",
    "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": "",
} | {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}


def _mark_ranges() -> str:
    """Character-class ranges of every combining mark (Mn, Mc, Me) of the Basic Multilingual Plane."""
    codes = [code for code in range(0x300, 0x10000) if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me")]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\u{start:04x}-\\u{end:04x}" if end > start else f"\\u{start:04x}" for start, end in ranges
    )


# A word: a letter or digit, then letters, digits and the combining marks that are part of a script's
# spelling (Indic vowel signs, viramas, ...), which folding keeps. Also finds words in unfolded text.
WORD_RE = re.compile(f"[^\\W_](?:[^\\W_]|[{_mark_ranges()}])*")
_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+")

# ISO-639-1 code -> Snowball algorithm name; only the ones the installed snowballstemmer has are used.
_SNOWBALL_NAMES = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french",
    "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "nb": "norwegian",
    "nn": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sr": "serbian", "st": "sesotho", "es": "spanish", "sv": "swedish", "ta": "tamil",
    "tr": "turkish", "yi": "yiddish",
}
_AVAILABLE = frozenset(snowballstemmer.algorithms())
STEM_LANGUAGES = frozenset(code for code, name in _SNOWBALL_NAMES.items() if name in _AVAILABLE)
# Bound on each language's cache of token -> stem; the cache is simply emptied when it is full.
STEM_CACHE_SIZE = 200_000

_local = threading.local()
_stem_caches: dict[str, dict[str, str]] = {code: {} for code in STEM_LANGUAGES}


def fold(text: str) -> str:
    """Case- and accent-folded form of `text` (see the module docstring for the exact rules)."""
    if text.isascii():
        return text.lower()
    folded = _STRIPPED_MARKS_RE.sub("", unicodedata.normalize("NFKD", text.casefold()))
    if folded.isascii():
        return folded
    for letter, spelled in _LETTER_FOLDS.items():
        if letter in folded:
            folded = folded.replace(letter, spelled)
    return unicodedata.normalize("NFC", folded)


def tokenize(text: str) -> list[str]:
    """Folded word tokens of `text`; one-character tokens are dropped unless they are digits."""
    folded = fold(text)
    pattern = _ASCII_TOKEN_RE if folded.isascii() else WORD_RE
    return [token for token in pattern.findall(folded) if len(token) > 1 or token.isdigit()]


def stem_language(language: str | None) -> str | None:
    """The ISO-639-1 code whose stemmer serves `language` ("en-GB" -> "en"), or None if there is none."""
    code = normalize_language(language)
    return code if code in STEM_LANGUAGES else None


def _stemmer(code: str) -> Any:
    """This thread's Snowball stemmer for a supported language code (stemmer objects are not thread-safe)."""
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(code)
    if stemmer is None:
        stemmer = stemmers[code] = snowballstemmer.stemmer(_SNOWBALL_NAMES[code])
    return stemmer


def _pt_prepare(token: str) -> str:
    """Portuguese: folded "-oes" plurals back to "-ao" (decisoes -> decisao), which the stemmer then joins."""
    return token[:-3] + "ao" if len(token) > 4 and token.endswith("oes") else token


def _ar_prepare(token: str) -> str:
    """Arabic: drop "و"/"ف" before the article ("والخوارزميات" -> "الخوارزميات"), as light stemmers do."""
    return token[1:] if len(token) > 5 and token.startswith(("وال", "فال")) else token


def _fr_fix(token: str, stemmed: str) -> str:
    """French: drop a stem's final "e", left on folded feminine participles (automatisee vs automatise)."""
    return stemmed[:-1] if len(stemmed) > 3 and stemmed.endswith("e") else stemmed


def _ar_fix(token: str, stemmed: str) -> str:
    """Arabic: finish what the stemmer leaves on folded words (ta marbuta as "ه", "-يه", indefinite "-ات")."""
    if len(stemmed) > 4 and stemmed.endswith("يه"):
        return stemmed[:-2]
    if len(stemmed) > 3 and stemmed.endswith("ه"):
        return stemmed[:-1]
    if len(stemmed) > 3 and token.endswith("ات") and stemmed.endswith("ا"):
        stemmed = stemmed[:-1]
        if len(stemmed) > 3 and stemmed.endswith("ي"):
            stemmed = stemmed[:-1]
    return stemmed


# Stems fixed by hand where the Snowball stemmer joins a word with a common unrelated one ("overheid" ->
# "over") or splits forms that belong together ("algoritmen" vs "algoritme"); keys are folded tokens.
_STEM_OVERRIDES: dict[str, dict[str, str]] = {
    "nl": {
        "overheid": "overheid", "overheden": "overheid", "gemeente": "gemeente", "gemeenten": "gemeente",
        "gemeentes": "gemeente", "algoritmen": "algoritme", "toeslagen": "toeslag", "gegevens": "gegeven",
        "polen": "polen",
    },
    "de": {"algorithmus": "algorithm", "polen": "polen"},
    "es": {"canada": "canada"},
    "pt": {"paris": "paris", "servia": "servia", "canada": "canada"},
    "it": {"parlamento": "parlament", "parlamenti": "parlament"},
    "en": {"hospitality": "hospitality", "hospitalities": "hospitality", "hospitable": "hospitable",
           "hospitably": "hospitable"},
}
_PREPARE: dict[str, Callable[[str], str]] = {"pt": _pt_prepare, "ar": _ar_prepare}
_FIX: dict[str, Callable[[str, str], str]] = {"fr": _fr_fix, "ar": _ar_fix}


def stem_all(tokens: Iterable[str], language: str | None) -> list[str]:
    """Stems of folded `tokens` in `language`; the tokens themselves when the language has no stemmer."""
    code = stem_language(language)
    if code is None:
        return list(tokens)
    cache = _stem_caches[code]
    overrides = _STEM_OVERRIDES.get(code, {})
    prepare = _PREPARE.get(code)
    fix = _FIX.get(code)
    stemmer = None
    stems = []
    for token in tokens:
        stemmed = cache.get(token)
        if stemmed is None:
            stemmed = overrides.get(token)
        if stemmed is None:
            if stemmer is None:
                stemmer = _stemmer(code)
            stemmed = stemmer.stemWord(prepare(token) if prepare else token)
            if fix:
                stemmed = fix(token, stemmed)
            if len(cache) >= STEM_CACHE_SIZE:
                cache.clear()
            cache[token] = stemmed
        stems.append(stemmed)
    return stems


def stem(token: str, language: str | None) -> str:
    """Stem of one folded token in `language` (ISO-639-1, region ignored); the token itself if unsupported."""
    return stem_all((token,), language)[0]


# ---------------------------------------------------------------------------------------------------------
# Matching forms for the tagger. `stem`, `stem_all`, `fold` and `tokenize` above feed the search index and
# must keep returning what they return; the functions below add, for the tagger only, a lemmatizer for
# languages Snowball lacks and a way to match scripts written without spaces.
# ---------------------------------------------------------------------------------------------------------

# Languages with no Snowball stemmer of their own whose words a related Snowball stemmer serves well
# (Croatian and Bosnian are read by the Serbian stemmer, which handles Latin and Cyrillic spelling).
_STEM_ALIASES = {"hr": "sr", "bs": "sr", "me": "sr"}
# Languages without a Snowball stemmer that simplemma lemmatizes (ISO-639-1 -> simplemma's code).
_LEMMA_CODES = {
    "sk": "sk", "bg": "bg", "sl": "sl", "uk": "uk", "sw": "sw", "mk": "mk", "he": "he", "lv": "lv",
    "sq": "sq", "is": "is", "ms": "ms", "tl": "tl", "cy": "cy", "ka": "ka", "ml": "ml", "gl": "gl",
    "la": "la", "lb": "lb", "gd": "gd",
}
# Scripts written without spaces between words (or with particles glued to nouns, Korean): terms are found
# as substrings of the folded text.
SUBSTRING_LANGUAGES = frozenset({"ja", "zh", "ko", "th", "lo", "km", "my"})
# Languages whose words take suffixes that no stemmer here removes: a term matches a word that starts with
# it (Bengali "হাসপাতাল" finds "হাসপাতালে", in the hospital).
PREFIX_LANGUAGES = frozenset({"bn"})
_lemma_caches: dict[str, dict[str, str]] = {}


def match_method(language: str | None) -> str:
    """How the tagger matches terms of `language`: "stemmer", "lemmatizer", "substring", "prefix", "word"."""
    code = normalize_language(language)
    if code is None:
        return "word"
    if code in STEM_LANGUAGES or code in _STEM_ALIASES:
        return "stemmer"
    if code in _LEMMA_CODES:
        return "lemmatizer"
    if code in SUBSTRING_LANGUAGES:
        return "substring"
    if code in PREFIX_LANGUAGES:
        return "prefix"
    return "word"


def _lemmatize(word: str, code: str) -> str:
    """simplemma's lemma of one lower-cased, unfolded word (cached per language)."""
    cache = _lemma_caches.setdefault(code, {})
    lemma = cache.get(word)
    if lemma is None:
        import simplemma  # imported on first use: the search index never needs it

        try:
            lemma = simplemma.lemmatize(word, lang=code)
        except ValueError:  # pragma: no cover - a code simplemma does not know
            lemma = word
        if len(cache) >= STEM_CACHE_SIZE:
            cache.clear()
        cache[word] = lemma
    return lemma


# A one-letter prefix joined by a hyphen ("e-KTP", "e-Devlet", "a-kassa") is glued to its word for the tagger:
# dropped as a one-letter token, it would leave "KTP", "Devlet" (state), "kassa" (till) to match alone.
_LETTER_PREFIX_RE = re.compile(r"(?<![^\W_])([^\W\d_])[-\u2010\u2011](?=[^\W_])")


def match_tokens(text: str, language: str | None) -> tuple[list[str], list[str]]:
    """(folded tokens, matching forms) of `text` for the tagger: Snowball stems, simplemma lemmas or tokens.

    A one-letter prefix joined by a hyphen is part of its word ("e-KTP" is one token, "ektp").

    For a language with a Snowball stemmer (or an alias of one) the forms are `stem_all` of `tokenize`;
    for a language simplemma knows they are the folded lemmas of the words as written (lemmatized before
    folding, since the lemmatizer needs accents); otherwise they are the tokens themselves.
    """
    text = _LETTER_PREFIX_RE.sub(r"\1", text)
    code = normalize_language(language)
    if code in _STEM_ALIASES:
        code = _STEM_ALIASES[code]
    lemma_code = _LEMMA_CODES.get(code or "")
    if lemma_code is None:
        tokens = tokenize(text)
        return tokens, stem_all(tokens, code)
    tokens, forms = [], []
    for word in WORD_RE.findall(text):
        token = fold(word)
        if len(token) > 1 or token.isdigit():
            tokens.append(token)
            forms.append(fold(_lemmatize(word.lower(), lemma_code)))
    return tokens, forms

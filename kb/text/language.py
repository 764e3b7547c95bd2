"""Language of an article: langdetect on the first characters, weighed against the language a feed declares.

`detect_language` never raises. It returns an ISO-639-1 code and a probability, or ("und", 0.0):
- a text of fewer than `MIN_WORDS` words (title and text together) is not guessed: the declared language is
  returned with probability `DECLARED_PROBABILITY`, or "und" when none is declared;
- otherwise langdetect decides, unless its best guess is below `MIN_CONFIDENCE` and a language is declared,
  in which case the declared language wins (with langdetect's probability for it when higher than
  `DECLARED_PROBABILITY`).
langdetect has no Serbian profile: Serbian in Cyrillic comes out as Macedonian (or Bulgarian, Russian).
A Cyrillic text with the letters ђ or ћ, which only Serbian (and Montenegrin) write, is Serbian; so is a
text a feed declares Serbian that langdetect calls Macedonian, unless it has a letter only Macedonian writes.
Serbian in Latin letters comes out as Croatian: words only one of the two standards writes decide (Serbian
"hiljada", "opština", "nedelja", "lekar" against Croatian "tisuća", "općina", "tjedan", "liječnik"); at least
`SERBIAN_LATIN_MARKERS` more Serbian than Croatian ones make it Serbian, as does a feed declaring Serbian
when the Croatian ones do not outnumber the Serbian.
Detection is deterministic (langdetect's seed is fixed) and thread-safe (profiles are loaded once, under a
lock; each call builds its own detector).
"""

from __future__ import annotations

import logging
import re
import threading

from langdetect import DetectorFactory
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

LOGGER = logging.getLogger(__name__)

UNDETERMINED = "und"
MIN_WORDS = 12
MIN_CONFIDENCE = 0.70
DECLARED_PROBABILITY = 0.5
MAX_CHARS = 3000
# Longer language tags are cut to this before reading: a primary subtag is two letters.
MAX_TAG_CHARS = 40
# ISO 639-1 codes: a declared language outside this list is ignored.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
    dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii
    ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk
    ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc
    sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve
    vi vo wa wo xh yi yo za zh zu""".split()
)
# Retired codes still seen in feeds.
_RETIRED = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
_SUBTAG_SEPARATOR = re.compile(r"[-_\s]")
_WORD_RE = re.compile(r"[^\W\d_]+")
# Letters only Serbian writes among the Cyrillic languages langdetect knows (Macedonian: ѓ ќ ѕ instead).
_SERBIAN_ONLY_RE = re.compile("[ђћЂЋ]")
_MACEDONIAN_ONLY_RE = re.compile("[ѓќѕЃЌЅ]")
_SERBIAN_LOOKALIKES = frozenset({"mk", "bg", "ru", "uk"})
# Serbian (ekavian, Serbian vocabulary) and Croatian (ijekavian, Croatian vocabulary) forms of the same
# words, as word beginnings, and words that count only whole (Serbian "takođe" begins Croatian "također",
# "vreme" the Croatian cases "vremena", "vremenski"). Months differ too.
_SERBIAN_LATIN_STARTS = (
    "hiljad", "opšt", "uvek", "mesec", "rešenj", "lekar", "nedelj", "porodic",
    "univerzitet", "predsedn", "uslov", "primer", "nauk", "vazduh", "bezbedn", "saobraćaj", "fudbal", "hemij",
    "prosvet", "promen", "sistem", "pesm", "januar", "februar", "avgust",
    "septemb", "oktob", "novemb", "decemb",
)
_SERBIAN_LATIN_WORDS = frozenset(
    "dete deca dece deci decu mesto mesta mestu reka reke vek veka jun juna jul jula mart marta maj maja "
    "hleb voz lepo lep lepa bela belo beli reč reči takođe vreme".split()
)
_CROATIAN_LATIN_STARTS = (
    "tisuć", "općin", "općen", "također", "uvijek", "vrijem", "mjesec", "rješenj", "liječn", "tjedan",
    "tjedn", "obitelj", "sveučilišt", "predsjedn", "uvjet", "primjer", "znanost", "nogomet", "kemij",
    "stoljeć", "bijel", "mjest", "djec", "dijet", "promjen", "sustav", "riječ", "pjesm",
    "siječ", "veljač", "ožuj", "travanj", "travnj", "svibanj", "svibnj", "lipanj", "lipnj", "srpanj",
    "srpnj", "kolovoz", "rujan", "rujn", "listopad", "prosin",
)
_CROATIAN_LATIN_WORDS = frozenset("tko kruh vlak".split())
SERBIAN_LATIN_MARKERS = 2
# Scripts written without spaces: a run of these letters counts as one word per two characters.
_UNSPACED_RE = re.compile(r"[\u0e00-\u0eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")

_factory: DetectorFactory | None = None
_factory_lock = threading.Lock()


def normalize_language(code: str | None) -> str | None:
    """The ISO-639-1 code of a language tag, or None; the one reading of language tags in the product.

    The primary subtag decides, in any case and with "-", "_" or a space before the rest ("en-GB", "en_us",
    "zh-cn" and "FR" give "en", "en", "zh", "fr"); retired codes give their successor ("iw" -> "he").
    Anything else gives None: placeholders ("und", "mul"), private use ("x-default"), codes outside
    ISO 639-1 (three-letter "yue"), words ("english"), and anything that is not a string.
    """
    if not isinstance(code, str):
        return None
    primary = _SUBTAG_SEPARATOR.split(code.strip()[:MAX_TAG_CHARS].lower(), maxsplit=1)[0]
    primary = _RETIRED.get(primary, primary)
    return primary if primary in ISO_639_1 else None


def _detector_factory() -> DetectorFactory:
    """langdetect's profiles, loaded once per process with a fixed seed."""
    global _factory
    if _factory is None:
        with _factory_lock:
            if _factory is None:
                DetectorFactory.seed = 0
                factory = DetectorFactory()
                factory.load_profile(PROFILES_DIRECTORY)
                factory.set_seed(0)
                _factory = factory
    return _factory


def _word_count(sample: str) -> int:
    """Words in `sample`; runs of unspaced scripts (Chinese, Japanese, Thai, Korean) count per two letters."""
    count = 0
    for word in _WORD_RE.findall(sample):
        count += max(1, len(_UNSPACED_RE.findall(word)) // 2)
    return count


def _probabilities(sample: str) -> list[tuple[str, float]]:
    """langdetect's candidates for `sample`, best first, as (ISO-639-1 code, probability)."""
    detector = _detector_factory().create()
    detector.append(sample)
    totals: dict[str, float] = {}  # zh-cn and zh-tw add up to zh
    for item in detector.get_probabilities():
        code = normalize_language(item.lang) or UNDETERMINED
        totals[code] = totals.get(code, 0.0) + float(item.prob)
    return sorted(totals.items(), key=lambda pair: -pair[1])


def _serbian_and_croatian_words(sample: str) -> tuple[int, int]:
    """How many words of `sample` only the Serbian standard writes, and how many only the Croatian."""
    serbian = croatian = 0
    for word in _WORD_RE.findall(sample.lower()):
        if word in _SERBIAN_LATIN_WORDS or word.startswith(_SERBIAN_LATIN_STARTS):
            serbian += 1
        elif word in _CROATIAN_LATIN_WORDS or word.startswith(_CROATIAN_LATIN_STARTS):
            croatian += 1
    return serbian, croatian


def detect_language(title: str, text: str, declared: str | None = None) -> tuple[str, float]:
    """(ISO-639-1 code, probability) of an article, or ("und", 0.0); never raises."""
    declared_code = normalize_language(declared)
    fallback = (declared_code, DECLARED_PROBABILITY) if declared_code else (UNDETERMINED, 0.0)
    try:
        title = title if isinstance(title, str) else ""
        text = text if isinstance(text, str) else ""
        sample = f"{title[:MAX_CHARS]}\n{text[:MAX_CHARS]}"[:MAX_CHARS]
        if _word_count(sample) < MIN_WORDS:
            return fallback
        candidates = _probabilities(sample)
    except LangDetectException:
        return fallback
    except Exception:  # noqa: BLE001 - detection is best effort and must never break ingestion
        LOGGER.exception("language detection failed; using %s", fallback[0])
        return fallback
    if not candidates or candidates[0][0] == UNDETERMINED:
        return fallback
    best, probability = candidates[0]
    if best in _SERBIAN_LOOKALIKES and (_SERBIAN_ONLY_RE.search(sample) or (
            declared_code == "sr" and best == "mk" and not _MACEDONIAN_ONLY_RE.search(sample))):
        return "sr", round(probability, 4)
    if best == "hr":  # not Slovenian: it writes "mesec" and "vreme" as Serbian does
        serbian, croatian = _serbian_and_croatian_words(sample)
        if serbian - croatian >= SERBIAN_LATIN_MARKERS or (declared_code == "sr" and serbian >= croatian):
            return "sr", round(probability, 4)
    if probability < MIN_CONFIDENCE and declared_code and declared_code != best:
        declared_probability = dict(candidates).get(declared_code, 0.0)
        return declared_code, round(max(DECLARED_PROBABILITY, declared_probability), 4)
    return best, round(probability, 4)


# English names of languages, for people (reasons, facets, the digest); other codes are named by their code.
LANGUAGE_NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian",
    "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh",
    "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician",
    "gu": "Gujarati", "ha": "Hausa", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "ig": "Igbo", "is": "Icelandic", "it": "Italian", "ja": "Japanese",
    "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "ku": "Kurdish",
    "ky": "Kyrgyz", "lo": "Lao", "lt": "Lithuanian", "lv": "Latvian", "mg": "Malagasy", "mk": "Macedonian",
    "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese",
    "ne": "Nepali", "nl": "Dutch", "no": "Norwegian", "nb": "Norwegian Bokmål", "nn": "Norwegian Nynorsk",
    "om": "Oromo", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "rw": "Kinyarwanda", "si": "Sinhala", "sk": "Slovak", "sl": "Slovene", "so": "Somali",
    "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "tg": "Tajik", "th": "Thai", "ti": "Tigrinya", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian",
    "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "wo": "Wolof", "xh": "Xhosa", "yo": "Yoruba",
    "zh": "Chinese", "zu": "Zulu",
}


def language_name(code: str) -> str:
    """The English name of an ISO-639-1 code ("sv" -> "Swedish"; a tag like "pt-BR" by its language), or
    the code itself when it has none here."""
    return LANGUAGE_NAMES.get(code.split("-", 1)[0].lower(), code)

"""Finding the register's systems in a text by their names and aliases, and the rules an alias must meet.

Pure: no I/O; the caller (kb.systems) hands in (system id, alias) pairs and texts.

How an alias matches (`AliasMatcher`):
- Text and aliases are folded as search and tagging fold them (`kb.text.normalize.fold`: case, accents,
  Arabic letter forms) and cut into words (`WORD_RE`: runs of letters and digits), joined by one space.
  Punctuation is a word boundary, so "AMS-Algorithmus" finds "AMS Algorithmus" and "ams-algorithmus".
- An alias matches whole words only: the automaton's keys and the text are padded with spaces, so "Robodebt"
  is found in "the Robodebt scheme" but not in "Robodebts" or "antirobodebt".
- An alias written in a script without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese)
  or in Korean (whose particles stick to the noun) is found anywhere inside the text, as the tagger does.
- A short abbreviation written mostly in capitals ("SyRI", "DUO", "CAF", as `kb.text.taxonomy` defines it)
  matches only as written, as a whole word: "DUO" finds "DUO" but not "duo" or "Duo".
- Every alias goes into one Aho-Corasick automaton (pyahocorasick), built once for the whole register, so a
  text is read once whatever the number of systems (see bench/systems_bench.py).

Which aliases are refused (`alias_problem`), and why:
- fewer than three letters or digits: one- or two-character names ("AI", "ID") are inside too many words;
- every word of the alias is a common word (`COMMON_WORDS`, a short list per language of function words and
  the field's generic words such as "card", "system", "algorithm", "score"): "the", "card", "Risk score",
  "le système" would link every article. An alias that names something has at least one word of its own:
  "Social Card", "Robodebt", "score de risque CAF" pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

from kb.text.normalize import WORD_RE, fold
from kb.text.taxonomy import is_abbreviation

MIN_ALIAS_CHARS = 3
MAX_EVIDENCE = 10
# Scripts written without spaces between words, and Hangul: such an alias matches inside a word.
_NO_SPACE_SCRIPT_RE = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff]"
)

# Words that cannot make an alias on their own (folded; see the module docstring). Kept short on purpose:
# function words and the field's generic nouns, per language.
COMMON_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(fold(word) for word in words.split())
    for lang, words in {
        "en": "the a an of and or in on for to by with at from is it this that new "
              "system systems algorithm algorithms model models score scores scoring risk fraud card data "
              "app tool platform register programme program scheme software service office agency "
              "benefit benefits ai automated automation digital",
        "fr": "le la les un une des du de et ou en au aux pour par sur dans avec est ce cette nouveau "
              "système systèmes algorithme algorithmes modèle score risque fraude carte données outil "
              "plateforme registre logiciel service agence caisse",
        "es": "el la los las un una unos unas de del y o en por para con es que nuevo sistema sistemas "
              "algoritmo algoritmos modelo puntaje riesgo fraude tarjeta datos herramienta plataforma "
              "registro programa servicio agencia",
        "de": "der die das den dem des ein eine einer und oder in im am zu zum zur von mit für auf ist neu "
              "neue system systeme algorithmus algorithmen modell risiko betrug karte daten werkzeug "
              "plattform register programm software amt behörde",
        "nl": "de het een en of in op van voor met door aan is dit dat nieuw nieuwe systeem systemen "
              "algoritme algoritmen model risico fraude kaart gegevens data platform register programma "
              "software dienst",
        "pt": "o a os as um uma de do da dos das e ou em no na por para com é novo sistema sistemas "
              "algoritmo algoritmos modelo risco fraude cartão dados ferramenta plataforma registro "
              "programa serviço",
        "it": "il lo la i gli le un una di del della e o in per con è nuovo sistema sistemi algoritmo "
              "algoritmi modello rischio frode carta dati piattaforma registro programma servizio",
        "ar": "ال في من على إلى و أو عن مع هذا هذه نظام أنظمة خوارزمية خوارزميات نموذج مخاطر احتيال "
              "بطاقة بيانات منصة سجل برنامج",
        "ru": "и в на с по для от о это новый система системы алгоритм алгоритмы модель риск "
              "мошенничество карта данные платформа реестр программа",
    }.items()
}
_ALL_COMMON = frozenset().union(*COMMON_WORDS.values())


def alias_words(text: str) -> list[str]:
    """The folded words of `text` (letters and digits, punctuation dropped): what aliases are matched on."""
    return WORD_RE.findall(fold(text))


def alias_key(alias: str) -> str:
    """The folded form under which an alias is unique in the register ("AMS-Algorithmus" -> "ams
    algorithmus"): two systems may not share one."""
    return " ".join(alias_words(alias))


def alias_problem(alias: str) -> str | None:
    """Why `alias` cannot name a system, in words for a person; None when it can."""
    key = alias_key(alias)
    if len(key.replace(" ", "")) < MIN_ALIAS_CHARS:
        return (f"the alias {alias.strip()[:60]!r} is too short: an alias needs at least {MIN_ALIAS_CHARS} "
                "letters or digits, or it would be found inside too many words")
    words = key.split()
    if all(word in _ALL_COMMON for word in words):
        which = "a common word" if len(words) == 1 else "made only of common words"
        return (f"the alias {alias.strip()[:60]!r} is {which}: it would link every article that uses it; "
                "write the system's own name (for instance \"Social Card\" rather than \"card\")")
    return None


def _no_space_script(key: str) -> bool:
    return _NO_SPACE_SCRIPT_RE.search(key) is not None


class AliasMatcher:
    """Every alias of the register in one automaton; `match` finds the systems a text names."""

    def __init__(self, entries: Iterable[tuple[int, str]]) -> None:
        self._folded = ahocorasick.Automaton()
        self._exact = ahocorasick.Automaton()
        self.size = 0
        for system_id, alias in entries:
            if is_abbreviation(alias.strip()):
                words = WORD_RE.findall(alias)
                if words:
                    self._exact.add_word(" " + " ".join(words) + " ", (system_id, alias))
                    self.size += 1
                continue
            key = alias_key(alias)
            if not key:
                continue
            self._folded.add_word(key if _no_space_script(key) else f" {key} ", (system_id, alias))
            self.size += 1
        for automaton in (self._folded, self._exact):
            if len(automaton):
                automaton.make_automaton()

    def match(self, *texts: str) -> dict[int, tuple[str, ...]]:
        """The systems named in these texts (a title, a summary, a body), each with the aliases found, in
        order of first appearance (at most MAX_EVIDENCE)."""
        found: dict[int, list[str]] = {}
        joined = "\n".join(text for text in texts if text)
        if not joined or not self.size:
            return {}
        haystacks = []
        if len(self._folded):
            haystacks.append((self._folded, " " + " ".join(alias_words(joined)) + " "))
        if len(self._exact):
            haystacks.append((self._exact, " " + " ".join(WORD_RE.findall(joined)) + " "))
        for automaton, haystack in haystacks:
            for _end, (system_id, alias) in automaton.iter(haystack):
                evidence = found.setdefault(system_id, [])
                if alias not in evidence and len(evidence) < MAX_EVIDENCE:
                    evidence.append(alias)
        return {system_id: tuple(evidence) for system_id, evidence in found.items()}

"""Content fingerprints: the same article under different URLs has the same fingerprint."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
# Only the start of the text counts: feeds and pages append share bars, comments and "related" lists.
FINGERPRINT_WORDS = 400


def normalised_words(text: str) -> list[str]:
    """Lower-cased, accent-free words of a text, in order."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(stripped)


def content_fingerprint(title: str, text: str) -> str:
    """A hex digest of the normalised title and opening words: stable under markup, case and spacing
    changes."""
    words = normalised_words(title) + ["\x00"] + normalised_words(text)[:FINGERPRINT_WORDS]
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:32]

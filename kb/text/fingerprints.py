"""Content fingerprints: the same article under different URLs has the same fingerprint."""

from __future__ import annotations

import hashlib
from itertools import islice

from kb.text.normalize import WORD_RE, fold

# Only the start of the text counts: feeds and pages append share bars, comments and "related" lists.
FINGERPRINT_WORDS = 400


def fingerprint_words(text: str, limit: int | None = None) -> list[str]:
    """The first `limit` (default: all) folded words of a text, as search and tagging fold them.

    Unlike `tokenize`, one-letter words are kept: they are noise to a search but part of what makes two
    texts the same ("Plan A" is not "Plan B").
    """
    return [found.group() for found in islice(WORD_RE.finditer(fold(text)), limit)]


def content_fingerprint(title: str, text: str) -> str:
    """A hex digest of the folded title and opening words: stable under markup, case and spacing changes.

    Stored with every item (see the 0004 migration of kb.storage.db, which recomputed the fingerprints
    made with an earlier folding): a change to the words or the folding must come with a migration.
    """
    words = fingerprint_words(title) + ["\x00"] + fingerprint_words(text, FINGERPRINT_WORDS)
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:32]

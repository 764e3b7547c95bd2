"""Cleaning text a person typed or imported (a form field, a CSV cell) before it is stored.

One rule for every record (contacts, case files, the register of systems) and for the digest's text:
line breaks are normalised (Windows and old Mac endings, and Unicode's line and paragraph separators, which
a mail client or a terminal shows as anything from a break to a box, become a newline), control
characters are dropped (Unicode category Cc: C0, DEL and C1, which a browser never shows but a pasted or
exported text may carry), and the text is trimmed. A one-line field also turns every run of whitespace,
newlines and tabs included, into one space, so that words on two lines stay two words. A list field (a
contact's topics, a system's aliases) is given as a list, or as text with one entry per line or entries
separated by `LIST_SEPARATOR`; each entry is cleaned as a one-line field.
"""

from __future__ import annotations

import re
import unicodedata

from kb.errors import InvalidInput

LIST_SEPARATOR = ";"
_LIST_SPLIT_RE = re.compile(rf"[{LIST_SEPARATOR}\n]")

_KEPT_CONTROLS = "\n\t"  # what a multi-line text keeps of the control characters
_LINE_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n"})


def clean_text(value: object, *, multiline: bool) -> str:
    """`value` as text ("" for None), without control characters, trimmed; on one line unless `multiline`
    (then newlines and tabs are kept)."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    text = "".join(ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) != "Cc")
    return text.strip() if multiline else " ".join(text.split())


def one_line(value: object) -> str:
    """`clean_text` of a one-line field: every run of whitespace becomes one space."""
    return clean_text(value, multiline=False)


def clean_list(value: object, what: str) -> list[str]:
    """The entries of a list field, each cleaned on one line, empty ones dropped; `what` names the field
    in the error a value that is neither text nor a list gets."""
    if value is None:
        return []
    if isinstance(value, str):
        # Line breaks of every kind (\r, U+2028...) become newlines first, so that each ends an entry.
        parts: list[object] = list(_LIST_SPLIT_RE.split(clean_text(value, multiline=True)))
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise InvalidInput(f"{what} must be a list, or text with entries separated by '{LIST_SEPARATOR}'")
    return [text for part in parts if (text := one_line(part))]

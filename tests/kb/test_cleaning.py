"""The one cleaning of typed and imported text that contacts, case files, the register of systems and the
digest share."""

from __future__ import annotations

import pytest

from kb import cases, contacts
from kb.errors import InvalidInput
from kb.systems import records
from kb.text.cleaning import clean_list, clean_text


@pytest.mark.parametrize(("value", "one_line", "multiline"), [
    (None, "", ""),
    (42, "42", "42"),
    ("  Jane   Doe \n", "Jane Doe", "Jane   Doe"),
    # Line breaks from Windows and old Macs are newlines; on one line, words on two lines stay two words.
    ("Filed\r\nRef 17\rDone", "Filed Ref 17 Done", "Filed\nRef 17\nDone"),
    ("Jane\nDoe\tRoe", "Jane Doe Roe", "Jane\nDoe\tRoe"),
    # Unicode's line and paragraph separators are line breaks too (pasted from word processors).
    ("Line\u2028two\u2029three", "Line two three", "Line\ntwo\nthree"),
    # Control characters are dropped: C0, DEL, C1 (U+0085 included, though Python splits lines on it).
    ("Ja\x00ne\x07 \x1bDoe\x7f\x85\x9f", "Jane Doe", "Jane Doe"),
    ("\x0b\x0cline\x1c\x1d\x1e\x1fend", "lineend", "lineend"),
    # Letters, marks and format characters (right-to-left mark, zero-width joiner) are text: kept.
    ("مُحَمَّد\u200f \u200dनमस्ते", "مُحَمَّد\u200f \u200dनमस्ते", "مُحَمَّد\u200f \u200dनमस्ते"),
])
def test_clean_text(value, one_line, multiline):
    assert clean_text(value, multiline=False) == one_line
    assert clean_text(value, multiline=True) == multiline


def test_every_record_cleans_its_fields_the_same_way():
    typed = "Robo\x00debt\x7f\rreview \x85"  # each record cleaned one of these its own way before
    assert contacts.clean_fields({"name": typed, "notes": typed}, partial=True) == {
        "name": "Robodebt review", "notes": "Robodebt\nreview"}
    assert cases.clean_fields({"title": typed, "summary": typed}, partial=True) == {
        "title": "Robodebt review", "summary": "Robodebt\nreview"}
    assert records.clean_fields({"name": typed, "description": typed}, partial=True) == {
        "name": "Robodebt review", "description": "Robodebt\nreview"}


@pytest.mark.parametrize(("value", "entries"), [
    (None, []),
    ("SyRI; Toeslagen\nRobodebt;;  ", ["SyRI", "Toeslagen", "Robodebt"]),
    ("SyRI\rToeslagen\u2028Robodebt\u2029e-KTP", ["SyRI", "Toeslagen", "Robodebt", "e-KTP"]),
    (["Sy\x00RI", "  ", "Risk\tscore"], ["SyRI", "Risk score"]),
    (("a", 1), ["a", "1"]),
])
def test_clean_list(value, entries):
    assert clean_list(value, "aliases") == entries


def test_every_record_reads_list_fields_the_same_way():
    typed = "Sy\x00RI;  Toeslagen\nRobodebt"
    system = records.clean_fields({"name": "Social Card", "aliases": typed}, partial=True)
    contact = contacts.clean_fields({"name": "Jane", "languages": typed}, partial=True)
    assert tuple(system["aliases"]) == tuple(contact["languages"]) == ("SyRI", "Toeslagen", "Robodebt")
    for clean in (records.clean_fields, contacts.clean_fields):
        field = "aliases" if clean is records.clean_fields else "languages"
        with pytest.raises(InvalidInput, match=f"{field} must be a list"):
            clean({"name": "Social Card", field: 42}, partial=True)

"""Bytes to text for feeds and pages: headers, charset labels, byte-order marks, declarations. No network."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.decoding import (
    ascii_head,
    byte_order_mark,
    content_type,
    decode_document,
    decode_html,
    decode_xml,
    header_value,
    python_codec,
)

# --- headers --------------------------------------------------------------------------------------------


def test_header_value_ignores_the_case_of_names() -> None:
    assert header_value({"Content-Language": "pt-BR"}, "content-language") == "pt-BR"
    assert header_value({"content-language": "pt-BR"}, "Content-Language") == "pt-BR"
    assert header_value({}, "content-type") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/HTML; charset=UTF-8", ("text/html", "UTF-8")),
        ('application/xml; foo=bar; charset="iso-8859-1"', ("application/xml", "iso-8859-1")),
        ("text/html; charset=", ("text/html", None)),
        ("", ("", None)),
    ],
)
def test_content_type(value: str, expected: tuple[str, str | None]) -> None:
    assert content_type({"Content-Type": value}) == expected


# --- character sets and byte-order marks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("ISO-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("UTF8", "utf-8"),
        ("gb2312", "gb18030"),
        ("Shift_JIS", "shift_jis"),
        ("utf-7", None),
        ("rot13", None),
        ("base64", None),
        ("x-unknown", None),
        ("", None),
    ],
)
def test_python_codec(label: str, codec: str | None) -> None:
    """Charset labels map like browsers map them; non-text and risky codecs are refused."""
    assert python_codec(label) == codec


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16"])
def test_byte_order_mark_wins_in_sniffing_and_decoding(codec: str) -> None:
    """Sniffing and decoding honour the same BOMs: the head is ASCII-compatible, the text has no BOM."""
    body = "<?xml version='1.0'?><rss>é</rss>".encode(codec)
    assert byte_order_mark(body) is not None
    assert ascii_head(body) == "<?xml version='1.0'?><rss>é</rss>".encode()
    text, _codec, warnings = decode_document(body, [("The server", "iso-8859-1")])
    assert (text, warnings) == ("<?xml version='1.0'?><rss>é</rss>", [])


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom(codec: str) -> None:
    """UTF-16 without a BOM is recognised by the "<?" an XML document starts with."""
    body = '<?xml version="1.0" encoding="utf-16"?><rss>ü</rss>'.encode(codec)
    assert byte_order_mark(body) is None
    assert ascii_head(body).startswith(b'<?xml version="1.0"')
    text, warnings = decode_xml(body, {})
    assert text.endswith("<rss>ü</rss>") and warnings == []


def test_plain_bytes_head_is_unchanged() -> None:
    assert ascii_head(b"<rss>" + b"x" * 10_000) == (b"<rss>" + b"x" * 10_000)[:4_096]
    assert byte_order_mark(b"<rss>") is None


# --- declared charsets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ("<meta charset='utf-8'><p>é</p>".encode(), {}, "é"),
        ('<meta charset="windows-1252"><p>€</p>'.encode("cp1252"), {}, "€"),
        (
            '<meta charset="utf-8"><p>€</p>'.encode("cp1252"),
            {"Content-Type": "text/html; charset=cp1252"},
            "€",
        ),
        ("<p>ü</p>".encode("cp1252"), {}, "ü"),
        ("<p>ü</p>".encode(), {"content-type": "text/html; charset=ISO-8859-1"}, "ü"),
        ("\ufeff<p>ß</p>".encode("utf-16-le"), {"Content-Type": "text/html; charset=iso-8859-1"}, "ß"),
        (b"<p>ok</p>", {"Content-Type": "text/html; charset=utf-7"}, "ok"),
    ],
    ids=[
        "meta-utf8",
        "meta-cp1252",
        "header-beats-meta",
        "undeclared-cp1252",
        "latin1-label-utf8-body",
        "bom",
        "refused-utf7",
    ],
)
def test_decode_html(body: bytes, headers: dict[str, str], expected: str) -> None:
    """BOM, then header, then meta, then UTF-8, then windows-1252; UTF-7 is never used."""
    assert expected in decode_html(body, headers)


def test_decode_xml_reports_wrong_declarations() -> None:
    """The HTTP charset, then the XML declaration; each one found wrong gives a warning in words."""
    body = '<?xml version="1.0" encoding="utf-8"?><rss>€</rss>'.encode("cp1252")
    text, warnings = decode_xml(body, {"Content-Type": "application/xml; charset=x-klingon"})
    assert "€" in text
    assert warnings == [
        "The server declared an unknown character encoding 'x-klingon'; it was ignored.",
        "The XML declaration declared utf-8, but the content is not valid utf-8.",
        "The content was read as windows-1252.",
    ]


def test_single_byte_label_on_utf8_content() -> None:
    """A latin-1 label on UTF-8 bytes: the bytes are read as UTF-8, with a warning."""
    text, codec, warnings = decode_document("ü".encode(), [("The server", "iso-8859-1")])
    assert (text, codec) == ("ü", "utf-8")
    assert warnings == ["The server declared iso-8859-1, but the content is UTF-8 and was read as such."]


# --- undeclared charsets: charset-normalizer before windows-1252 ----------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ARABIC_WORDS = ["خوارزمية", "وزارة التنمية الاجتماعية", "حقوق الإنسان", "استهلاك الكهرباء"]


def test_undeclared_windows_1256_page_is_detected() -> None:
    """An Arabic page in windows-1256 that declares no charset anywhere reads as Arabic, not mojibake."""
    body = (FIXTURES / "pages" / "ar_welfare_cp1256.html").read_bytes()
    assert b"charset=" not in body.lower() and b"<meta charset" not in body.lower()
    text = decode_html(body, {"Content-Type": "text/html"})
    for word in ARABIC_WORDS:
        assert word in text, word
    _text, codec, warnings = decode_document(body, [("The server", None)])
    assert codec == "cp1256"
    assert warnings == ["The content was read as windows-1256, detected from its bytes."]


def test_undeclared_windows_1256_feed_is_detected() -> None:
    """The same for a feed: no XML declaration, no charset header; its first 2 kB are ASCII."""
    body = (FIXTURES / "feeds" / "ar_cp1256.xml").read_bytes()
    assert not body.startswith(b"<?xml") and body[:2048].isascii()
    text, warnings = decode_xml(body, {"Content-Type": "application/rss+xml"})
    for words in ("رصد الخوارزميات", "خوارزمية تقييم المخاطر", "معايير الخوارزمية", "طريق واضح للاعتراض"):
        assert words in text, words
    assert warnings == ["The content was read as windows-1256, detected from its bytes."]


@pytest.mark.parametrize(
    "sentence",
    [
        "Le ministère note les élèves et l’académie parle de « transparence » : 2 € par dossier.",
        "El ministerio evalúa las solicitudes de ayuda; los investigadores piden explicación. ¿Por qué?",
        "O ministério usa um algoritmo para avaliar pedidos de benefícios; exigem transparência.",
        "Die Behörde prüft Anträge mit Software; die Ärztekammer übernimmt die Prüfung.",
    ],
    ids=["fr", "es", "pt", "de"],
)
def test_undeclared_western_text_stays_windows_1252(sentence: str) -> None:
    """charset-normalizer rates windows-1250 as high as windows-1252 for these ("élèves" would become
    "élčves"); a guess never replaces windows-1252 where windows-1252 reads the bytes cleanly."""
    body = f"<html><body><p>{sentence}</p></body></html>".encode("cp1252")
    text, codec, warnings = decode_document(body, [])
    assert (codec, warnings) == ("cp1252", [])
    assert sentence in text


@pytest.mark.parametrize(
    ("sentence", "codec"),
    [
        ("Министерство труда внедрило алгоритм оценки заявлений на пособие по безработице.", "cp1251"),
        ("Το υπουργείο χρησιμοποιεί αλγόριθμο για τα επιδόματα και οι ερευνητές ζητούν διαφάνεια.", "cp1253"),
        ("政府は福祉給付の審査にアルゴリズムを導入した。研究者は透明性を求めている。", "shift_jis"),
    ],
    ids=["ru", "el", "ja"],
)
def test_other_undeclared_scripts_are_detected(sentence: str, codec: str) -> None:
    """Other scripts windows-1252 would garble come out right too (the codec name may be a superset)."""
    body = f"<html><body><p>{sentence}</p></body></html>".encode(codec)
    text, _codec, warnings = decode_document(body, [])
    assert sentence in text
    assert warnings and "detected from its bytes" in warnings[0]


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><rss>€</rss>'.encode("cp1252"),  # one byte: the detector said EBCDIC
        "<p>خوارزمية</p>".encode("cp1256"),  # too few bytes to judge
    ],
    ids=["lone-euro", "one-word"],
)
def test_too_little_to_judge_falls_back(body: bytes) -> None:
    """A handful of non-ASCII bytes is no basis for a guess: windows-1252 (or UTF-8 with replacements)."""
    _text, codec, warnings = decode_document(body, [])
    assert codec in ("cp1252", "utf-8")
    assert not any("detected" in w for w in warnings)

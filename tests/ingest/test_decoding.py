"""Bytes to text for feeds and pages: headers, charset labels, byte-order marks, declarations. No network."""

from __future__ import annotations

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

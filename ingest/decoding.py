"""Fetched bytes as text: the Content-Type header, charset labels, byte-order marks, and decoding by them.

Feeds and pages both decode here, so a BOM, a server's charset and a document's own declaration weigh the
same for every document: a BOM wins, then the declarations in order, then UTF-8, then charset-normalizer's
guess when it is confident and windows-1252 would make mojibake of the bytes, then windows-1252.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Mapping

import charset_normalizer

LOGGER = logging.getLogger(__name__)

SNIFF_BYTES = 4_096
META_SNIFF_BYTES = 16_384

# WHATWG maps these labels to windows-1252; Python's latin-1 would turn € and ’ into control characters.
WINDOWS_1252_LABELS = frozenset(
    {
        "ascii", "us-ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "iso88591", "latin1", "latin-1", "l1",
        "cp819", "ibm819", "iso-ir-100", "csisolatin1", "x-cp1252", "windows-1252", "cp1252",
    }
)
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "iso-8859-9": "cp1254",
                   "latin5": "cp1254", "tis-620": "cp874", "iso-8859-11": "cp874", "ks_c_5601-1987": "cp949",
                   "euc-kr": "cp949", "x-sjis": "shift_jis", "unicode-1-1-utf-8": "utf-8", "utf8": "utf-8"}
# Python codecs that decode but are no document encodings (or are known XSS vectors, like UTF-7).
REFUSED_CODECS = frozenset(
    {"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "palmos"}
)
SINGLE_BYTE_CODEC_PREFIXES = ("cp125", "cp874", "iso8859", "latin", "ascii", "koi8", "mac-", "cp437", "cp850")
# charset-normalizer's guess is used only when at most this share of the text it decodes looks like noise
# (its "mess ratio": odd symbols, letters of mixed scripts, unlikely accents; 0 is clean), AND when
# windows-1252 cannot read the bytes cleanly, i.e. charset-normalizer rejects a windows-1252 reading at
# its own default limit of 0.2. Both conditions are needed: for Western text it often rates windows-1250 or
# cp852 as high as windows-1252 (measured: French, Spanish and Portuguese pages came out as windows-1250,
# "élèves" as "élčves"), so a guess never replaces windows-1252 where windows-1252 reads well, and
# Arabic, Cyrillic, Greek, Hebrew, Thai or CJK bytes, which windows-1252 turns into mojibake, get the
# guess. Windows-1252 stays the last resort.
DETECTION_MAX_MESS = 0.1
# The detector reads only the words that hold non-ASCII bytes (DETECTION_WORDS, joined by spaces): markup,
# scripts and URLs are ASCII, and with them in view it took a Latin reading of Arabic for a language and
# stopped before trying windows-1256 (a feed whose first 2 kB were ASCII). Fewer bytes than this is too
# little to judge (charset-normalizer's own "too small" size), and the sample is capped to keep it fast.
DETECTION_MIN_BYTES = 32
DETECTION_MAX_BYTES = 64 * 1024
DETECTION_WORDS = re.compile(rb"[^\s<>]*[\x80-\xff][^\s<>]*")
PRINTABLE_ASCII = bytes(range(0x20, 0x7F))

BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# UTF-16 without a BOM, told by the "<?" an XML document starts with.
UTF16_MARKERS = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
META_CHARSET = re.compile(
    rb"""<meta[^<>]{1,500}?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE
)
XML_DECLARATION_CHARSET = re.compile(
    rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"""
)


# --- headers --------------------------------------------------------------------------------------------


def header_value(headers: Mapping[str, str], name: str) -> str:
    """The value of an HTTP header whatever the case of its name, or ""."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return str(value or "")


def content_type(headers: Mapping[str, str]) -> tuple[str, str | None]:
    """The media type (lower-case) and charset parameter of the Content-Type header."""
    mime, _, params = header_value(headers, "content-type").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip("\"'"):
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


# --- character sets and byte-order marks ----------------------------------------------------------------


def python_codec(label: str | None) -> str | None:
    """The Python codec for a charset label, mapped the way browsers do; None when unknown or refused."""
    if not label:
        return None
    name = label.strip().lower()
    if name in WINDOWS_1252_LABELS:
        return "cp1252"
    name = CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in REFUSED_CODECS:
        return None
    return info.name


def byte_order_mark(body: bytes) -> tuple[bytes, str] | None:
    """The byte-order mark body starts with and the codec it stands for, or None."""
    return next(((bom, codec) for bom, codec in BOMS if body.startswith(bom)), None)


def ascii_head(body: bytes) -> bytes:
    """The first SNIFF_BYTES of a document as ASCII-compatible bytes, without a byte-order mark.

    UTF-16 (with a BOM, or without one but starting "<?") is re-encoded as UTF-8, so that byte patterns
    such as "<rss" or "<html" find what a document starts with in any of these encodings.
    """
    head = body[:SNIFF_BYTES]
    mark = byte_order_mark(head)
    if mark:
        bom, codec = mark
        return head[len(bom) :].decode(codec, errors="ignore").encode("utf-8")
    for marker, codec in UTF16_MARKERS:
        if head.startswith(marker):
            return head.decode(codec, errors="ignore").encode("utf-8")
    return head


# --- decoding -------------------------------------------------------------------------------------------


def _is_single_byte(codec: str) -> bool:
    """True for the one-byte-per-character codecs a UTF-8 document is often mislabelled as."""
    return codec.startswith(SINGLE_BYTE_CODEC_PREFIXES)


def _strict_decode(body: bytes, codec: str) -> str | None:
    """The body decoded with codec, or None when it does not decode cleanly."""
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def display_name(codec: str) -> str:
    """A codec as people know it: "windows-1256" for cp1256, "UTF-8", else Python's name."""
    if codec.startswith("cp125") and len(codec) == 6:
        return "windows-" + codec[2:]
    return "UTF-8" if codec == "utf-8" else codec


def detect_codec(body: bytes) -> str | None:
    """charset-normalizer's codec for bytes that declare none and are no UTF-8, when its guess is safe.

    None unless the guess reads the non-ASCII words with little noise (DETECTION_MAX_MESS), windows-1252
    would make a mess of them, and the codec keeps ASCII as ASCII (the markup around them; this rules out
    EBCDIC and UTF-16 guesses for a few stray bytes).
    """
    sample = b" ".join(DETECTION_WORDS.findall(body[: DETECTION_MAX_BYTES * 4]))[:DETECTION_MAX_BYTES]
    if len(sample) < DETECTION_MIN_BYTES:
        return None
    try:
        best = charset_normalizer.from_bytes(sample).best()
        if best is None or best.chaos > DETECTION_MAX_MESS:
            return None
        codec = python_codec(best.encoding)
        if codec is None or codec in ("cp1252", "iso8859-1"):  # the fallback anyway, with € and ’ right
            return None
        if _strict_decode(PRINTABLE_ASCII, codec) != PRINTABLE_ASCII.decode("ascii"):
            return None
        # The same detector rating a windows-1252 reading alone: None means past its 0.2 noise limit.
        if charset_normalizer.from_bytes(sample, cp_isolation=["cp1252"]).best() is not None:
            return None
    except Exception:  # noqa: BLE001 - a detector failure only means no guess; windows-1252 follows
        LOGGER.exception("charset detection failed on %d bytes", len(body))
        return None
    return codec


def decode_document(body: bytes, declared: list[tuple[str, str | None]]) -> tuple[str, str, list[str]]:
    """Decode bytes: a BOM wins, then the declared charsets in order, then UTF-8, then a confident
    charset-normalizer guess (see DETECTION_MAX_MESS), then windows-1252.

    declared lists (where, label) pairs such as ("The server", "utf-8"). Returns the text, the codec used,
    and warnings in words for every declaration that turned out wrong.
    """
    mark = byte_order_mark(body)
    if mark:
        bom, bom_codec = mark
        return body[len(bom) :].decode(bom_codec, errors="replace"), bom_codec, []
    warnings: list[str] = []
    is_ascii = body.isascii()
    tried: list[str] = []
    for where, label in declared:
        if not label:
            continue
        codec = python_codec(label)
        if codec is None:
            warnings.append(f"{where} declared an unknown character encoding {label[:40]!r}; it was ignored.")
            continue
        if codec in tried:
            continue
        tried.append(codec)
        if not is_ascii and _is_single_byte(codec) and _strict_decode(body, "utf-8") is not None:
            warnings.append(f"{where} declared {label[:40]}, but the content is UTF-8 and was read as such.")
            return body.decode("utf-8"), "utf-8", warnings
        text = _strict_decode(body, codec)
        if text is not None:
            return text, codec, warnings
        warnings.append(f"{where} declared {label[:40]}, but the content is not valid {label[:40]}.")
    if "utf-8" not in tried and (text := _strict_decode(body, "utf-8")) is not None:
        if tried:
            warnings.append("The content was read as UTF-8.")
        return text, "utf-8", warnings
    detected = detect_codec(body)
    if detected is not None and detected not in tried:
        text = _strict_decode(body, detected)
        if text is not None:
            warnings.append(f"The content was read as {display_name(detected)}, detected from its bytes.")
            return text, detected, warnings
    if "cp1252" not in tried and (text := _strict_decode(body, "cp1252")) is not None:
        if tried:
            warnings.append("The content was read as windows-1252.")
        return text, "cp1252", warnings
    codec = tried[0] if tried else "utf-8"
    warnings.append(f"Some bytes are not valid {codec} and were replaced.")
    return body.decode(codec, errors="replace"), codec, warnings


def decode_html(body: bytes, headers: Mapping[str, str]) -> str:
    """An HTML page as text: charset from the Content-Type header, else <meta>, else UTF-8, a confident
    guess or windows-1252."""
    head = body[:META_SNIFF_BYTES]
    meta = META_CHARSET.search(head) or XML_DECLARATION_CHARSET.search(head.lstrip())
    declared = [
        ("The server", content_type(headers)[1]),
        ("The page", meta.group(1).decode("ascii") if meta else None),
    ]
    text, _codec, warnings = decode_document(body, declared)
    for warning in warnings:
        LOGGER.info("decoding page: %s", warning)
    return text


def decode_xml(body: bytes, headers: Mapping[str, str]) -> tuple[str, list[str]]:
    """An XML document as text, and warnings: BOM, BOM-less UTF-16, HTTP charset, then the XML declaration."""
    declared: list[tuple[str, str | None]] = [
        ("The byte order", codec) for marker, codec in UTF16_MARKERS if body.startswith(marker)
    ]
    prolog = XML_DECLARATION_CHARSET.search(body[:SNIFF_BYTES].lstrip())
    declared.append(("The server", content_type(headers)[1]))
    declared.append(("The XML declaration", prolog.group(1).decode("ascii") if prolog else None))
    text, _codec, warnings = decode_document(body, declared)
    return text, warnings

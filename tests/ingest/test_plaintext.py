"""Plain text from markup: tags, scripts, entities and escaped markup resolved, fields bounded."""

from __future__ import annotations

import pytest

from ingest.plaintext import ELLIPSIS, clip, html_to_text, text_paragraphs


@pytest.mark.parametrize(
    ("markup", "paragraphs", "expected"),
    [
        ("<p>one</p><p>two<br>three</p>", True, "one\n\ntwo\nthree"),
        ("<p>one</p><p>two</p>", False, "one two"),
        ("a &lt; b &amp;&amp; c &gt; d", False, "a < b && c > d"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Safe", False, "Safe"),
        ("&lt;b&gt;bold&lt;/b&gt; 1 &lt; 3", False, "bold 1 < 3"),
        ("&amp;lt;b&amp;gt;twice&amp;lt;/b&amp;gt;", False, "&lt;b&gt;twice&lt;/b&gt;"),
        ("<script>x()</script><style>p{}</style><noscript>n</noscript>Text", False, "Text"),
        ("tab\tand\x00nul\x07bell", False, "tab andnulbell"),
        ("<ul><li>a</li><li>b</li></ul>", True, "a\n\nb"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", False, "a b"),
        ("Caf&eacute; &nbsp; cr&egrave;me", False, "Café crème"),
        ("<!-- hidden --><p>shown</p>", False, "shown"),
        ("", False, ""),
    ],
)
def test_html_to_text(markup: str, paragraphs: bool, expected: str) -> None:
    """Tags, scripts, entities and control characters resolve to plain text."""
    assert html_to_text(markup, limit=1000, paragraphs=paragraphs) == expected


def test_html_to_text_is_bounded() -> None:
    """A field longer than its limit is cut, an ellipsis marking the cut."""
    text = html_to_text("<p>" + "word " * 1000 + "</p>", limit=50)
    assert len(text) <= 50 and text.endswith(ELLIPSIS)
    assert clip("short", 50) == "short"


def test_text_paragraphs_keep_table_rows_together() -> None:
    """Extracted text: one paragraph per line with a blank line between, table rows kept together."""
    text = "First  paragraph\n\n| a | b |\n| c | d |\n<b>Last</b>"
    assert text_paragraphs(text, limit=1000) == "First paragraph\n\n| a | b |\n| c | d |\n\nLast"


@pytest.mark.parametrize("markup", ["Half \ud800a character", "<p>Half \udfffa character</p>"])
def test_lone_surrogates_are_dropped(markup: str) -> None:
    """A lone surrogate (a JSON "\\ud800" escape) has no UTF-8 form: dropped, the rest of the text kept."""
    text = html_to_text(markup, limit=100)
    assert text == "Half a character"
    text.encode("utf-8")  # storable
    assert text_paragraphs("Half \ud800a character", limit=100) == "Half a character"

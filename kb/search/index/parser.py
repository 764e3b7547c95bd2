"""The query language: the user's text as a small tree of words, phrases, prefixes and operators.

`parse_query` never raises: what it cannot read (an unbalanced quote or parenthesis, a lone operator, an
unknown field) is left out and said in a note, and the query is bounded in length, clauses and depth
before anything runs. kb.search.index.query turns the tree into index terms and runs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from kb.text.normalize import fold, tokenize

MAX_QUERY_CHARS = 1_000
MAX_CLAUSES = 64
MAX_DEPTH = 12
MIN_PREFIX = 2
QUERY_FIELDS = ("title", "text", "source", "language", "topic", "country")


# --- the query tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """Words to match: one word, a phrase (words in order) or a prefix; `field` narrows where."""

    kind: str  # "word", "phrase", "prefix" or "value" (an exact metadata value such as a language)
    words: tuple[str, ...]
    field: str | None = None
    raw: str = ""
    quoted: bool = False  # typed in double quotes: searched as written, never expanded to concepts


@dataclass(frozen=True)
class Node:
    op: str  # "and", "or", "not"
    children: tuple[Any, ...]


@dataclass
class ParsedQuery:
    tree: Leaf | Node | None
    notes: list[str] = field(default_factory=list)


_OPERATORS = {"OR": "or", "AND": "and", "NOT": "not"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _lex(text: str, notes: list[str]) -> list[tuple[str, str, str | None]]:
    """Tokens as (type, text, field): types word, phrase, lparen, rparen, or, and, not, field."""
    tokens: list[tuple[str, str, str | None]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(("lparen" if char == "(" else "rparen", char, None))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                notes.append("A quote was not closed: the phrase runs to the end of the query.")
                end = n
            tokens.append(("phrase", text[i + 1 : end], None))
            i = end + 1
        elif char == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != "-":
            tokens.append(("not", "-", None))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            run = text[i:j]
            i = j
            if run in _OPERATORS:
                tokens.append((_OPERATORS[run], run, None))
                continue
            name, colon, value = run.partition(":")
            if colon and name.lower() in QUERY_FIELDS:
                if value:
                    tokens.append(("word", value, name.lower()))
                elif i < n and text[i] in '"(':
                    tokens.append(("field", name.lower(), None))
                else:
                    notes.append(f"{name}: had no value and was ignored.")
            else:
                if colon and name and name.isalpha() and not value.startswith("//"):
                    notes.append(f"There is no field {name[:40]!r}: {run[:60]!r} was searched as words.")
                tokens.append(("word", run, None))
    return tokens


class _Parser:
    """Recursive descent over the tokens; collects notes instead of raising."""

    def __init__(self, tokens: list[tuple[str, str, str | None]], notes: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.notes = notes
        self.leaves = 0
        self._noted: set[str] = set()

    def note(self, text: str) -> None:
        if text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> Leaf | Node | None:
        parts = []
        while self.pos < len(self.tokens):
            node = self.parse_or(0)
            if node is not None:
                parts.append(node)
            if self.peek() == "rparen":
                self.note("A closing parenthesis had no opening one and was ignored.")
                self.pos += 1
        return _combine("and", parts)

    def parse_or(self, depth: int) -> Leaf | Node | None:
        parts: list[Leaf | Node] = []
        node = self.parse_and(depth)
        if node is not None:
            parts.append(node)
        while self.peek() == "or":
            self.pos += 1
            node = self.parse_and(depth)
            if node is None or not parts:
                self.note("OR needs something on both sides; the lone OR was ignored.")
            if node is not None:
                parts.append(node)
        return _combine("or", parts)

    def parse_and(self, depth: int) -> Leaf | Node | None:
        parts: list[Leaf | Node] = []
        while True:
            kind = self.peek()
            if kind in (None, "rparen", "or"):
                break
            if kind == "and":
                self.pos += 1
                if not parts or self.peek() in (None, "rparen", "or", "and"):
                    self.note("AND needs something on both sides; the lone AND was ignored.")
                continue
            node = self.parse_unary(depth)
            if node is not None:
                parts.append(node)
        return _combine("and", parts)

    def parse_unary(self, depth: int) -> Leaf | Node | None:
        if self.peek() == "not":
            self.pos += 1
            if self.peek() in (None, "rparen", "or", "and"):
                self.note("NOT needs something after it; the lone NOT was ignored.")
                return None
            child = self.parse_unary(depth)
            return None if child is None else Node("not", (child,))
        return self.parse_primary(depth, None)

    def parse_primary(self, depth: int, field_name: str | None) -> Leaf | Node | None:
        kind, text, token_field = self.tokens[self.pos]
        self.pos += 1
        if kind == "lparen":
            if depth >= MAX_DEPTH:
                self.note(f"Parentheses nested deeper than {MAX_DEPTH} levels were flattened.")
                return None
            node = self.parse_or(depth + 1)
            if self.peek() == "rparen":
                self.pos += 1
            else:
                self.note("A parenthesis was not closed: it is closed at the end of the query.")
            return node if field_name is None else _with_field(node, field_name)
        if kind == "field":
            if self.pos < len(self.tokens) and self.peek() in ("phrase", "lparen"):
                return self.parse_primary(depth, text)
            return None
        if kind in ("word", "phrase"):
            made = self.leaf(text, token_field or field_name, phrase=kind == "phrase")
            return replace(made, quoted=True) if made is not None and kind == "phrase" else made
        return None  # a stray operator the callers did not consume

    def leaf(self, text: str, field_name: str | None, *, phrase: bool) -> Leaf | None:
        if self.leaves >= MAX_CLAUSES:
            self.note(f"The query has more than {MAX_CLAUSES} terms: only the first {MAX_CLAUSES} were used.")
            return None
        made = _make_leaf(text, field_name, phrase, self.note)
        if made is not None:
            self.leaves += 1
        return made


def _make_leaf(text: str, field_name: str | None, phrase: bool, note: Callable[[str], None]) -> Leaf | None:
    if field_name in ("language", "topic", "country", "source"):
        value = fold(text.strip().strip("*"))
        return Leaf("value", (value,), field_name, text) if value else None
    if not phrase and text.endswith("*"):
        stem_part = text.rstrip("*")
        if "*" in stem_part:
            note("Wildcards work at the end of a word only (word*); the others were read as spaces.")
        words = tokenize(stem_part)
        if not words or len(words[-1]) < MIN_PREFIX:
            note(f"A prefix needs at least {MIN_PREFIX} letters before the *: {text[:40]!r} was ignored.")
            return None
        if len(words) > 1:
            return Leaf("phrase", tuple(words), field_name, text)  # "sud-af*": read as the words
        return Leaf("prefix", (words[0],), field_name, text)
    if "*" in text:
        note("Wildcards work at the end of a word only (word*); the others were read as spaces.")
    words = tokenize(text)
    if not words:
        return None
    return Leaf("phrase" if len(words) > 1 else "word", tuple(words), field_name, text)


def _combine(op: str, parts: list[Any]) -> Leaf | Node | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]  # type: ignore[no-any-return]
    return Node(op, tuple(parts))


def _with_field(node: Leaf | Node | None, field_name: str) -> Leaf | Node | None:
    if node is None:
        return None
    if isinstance(node, Leaf):
        if node.field is not None:
            return node
        if field_name in ("language", "topic", "country", "source"):
            if node.kind != "word":
                return None
            return Leaf("value", (fold(node.raw.strip()),), field_name, node.raw)
        return Leaf(node.kind, node.words, field_name, node.raw)
    children = (_with_field(c, field_name) for c in node.children)
    return Node(node.op, tuple(c for c in children if c is not None))


def parse_query(text: str) -> ParsedQuery:
    """The query tree of the user's text, and notes on what was ignored or bounded. Never raises."""
    notes: list[str] = []
    text = _CONTROL.sub(" ", text or "")
    if len(text) > MAX_QUERY_CHARS:
        cut = text.rfind(" ", 0, MAX_QUERY_CHARS)
        text = text[: cut if cut > MAX_QUERY_CHARS // 2 else MAX_QUERY_CHARS]
        notes.append(f"The query was longer than {MAX_QUERY_CHARS} characters and was cut there.")
    parser = _Parser(_lex(text, notes), notes)
    return ParsedQuery(parser.parse(), notes)


def query_words(tree: Leaf | Node | None) -> list[Leaf]:
    """The positive word, phrase and prefix leaves of a tree: what scores, is highlighted or corrected."""
    if tree is None:
        return []
    if isinstance(tree, Leaf):
        return [tree] if tree.kind != "value" else []
    if tree.op == "not":
        return []
    return [leaf for child in tree.children for leaf in query_words(child)]


__all__ = ["Leaf", "MAX_QUERY_CHARS", "Node", "ParsedQuery", "parse_query", "query_words"]

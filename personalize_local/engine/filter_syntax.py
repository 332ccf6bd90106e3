"""Personalize filter expressions: the grammar, its parser and the syntax tree (evaluation is filters.py's).

Grammar (keywords case-insensitive)::

    filter     := expression ("|" expression)*
    expression := ("INCLUDE" | "EXCLUDE") "ItemID" "WHERE" condition ["IF" condition]
    condition  := conjunct ("OR" conjunct)*
    conjunct   := term ("AND" term)*
    term       := "(" condition ")" | field ("IN" | "NOT" "IN") "(" values ")" | field cmp value
    field      := ("Items" | "Interactions" | "CurrentUser" | "CurrentItem") "." NAME
    values     := value ("," value)*        value := "string" | number | $PARAM | CurrentItem.NAME
    cmp        := "=" | "!=" | "<" | "<=" | ">" | ">="
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from personalize_local.engine.errors import FilterSyntaxError

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<param>\$[A-Za-z_][A-Za-z0-9_]*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),.|*])
    )""",
    re.VERBOSE,
)
_DATASETS = {
    "ITEMS": "Items",
    "INTERACTIONS": "Interactions",
    "CURRENTUSER": "CurrentUser",
    "CURRENTITEM": "CurrentItem",
}


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Param:
    name: str


@dataclass(frozen=True)
class FieldRef:
    dataset: str
    name: str


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str  # IN, NOT IN or a comparison operator
    values: tuple


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    parts: tuple


@dataclass(frozen=True)
class Expression:
    action: str  # INCLUDE / EXCLUDE
    where: Any
    condition: Any = None


def _tokenize(text: str) -> list[Tok]:
    toks, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise FilterSyntaxError(
                f"Invalid filter expression: unexpected character {text[start]!r} at position {start}.", start
            )
        kind = m.lastgroup
        toks.append(Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    toks.append(Tok("end", "", len(text)))
    return toks


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.k = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.k]

    def fail(self, expected: str):
        t = self.tok
        got = "end of expression" if t.kind == "end" else repr(t.text)
        raise FilterSyntaxError(
            f"Invalid filter expression at position {t.pos}: expected {expected}, found {got}.", t.pos
        )

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.upper() in words

    def kw(self, *words: str) -> str:
        if not self.is_kw(*words):
            self.fail(" or ".join(words))
        t = self.tok
        self.k += 1
        return t.text.upper()

    def punct(self, p: str) -> None:
        if not (self.tok.kind == "punct" and self.tok.text == p):
            self.fail(repr(p))
        self.k += 1

    def parse(self) -> list[Expression]:
        exprs = [self.expression()]
        while self.tok.kind == "punct" and self.tok.text == "|":
            self.k += 1
            exprs.append(self.expression())
        if self.tok.kind != "end":
            self.fail("'|', AND, OR, IF or end of expression")
        return exprs

    def expression(self) -> Expression:
        action = self.kw("INCLUDE", "EXCLUDE")
        self.kw("ITEMID")
        self.kw("WHERE")
        where = self.condition()
        cond = None
        if self.is_kw("IF"):
            self.k += 1
            cond = self.condition()
        return Expression(action, where, cond)

    def condition(self):
        return self.joined("OR", self.conjunct)

    def conjunct(self):
        return self.joined("AND", self.term)

    def joined(self, word: str, part):
        """part (word part)*: one part as itself, several as a BoolOp."""
        parts = [part()]
        while self.is_kw(word):
            self.k += 1
            parts.append(part())
        return parts[0] if len(parts) == 1 else BoolOp(word, tuple(parts))

    def term(self):
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.k += 1
            inner = self.condition()
            self.punct(")")
            return inner
        ref = self.field_ref()
        if self.is_kw("NOT"):
            self.k += 1
            self.kw("IN")
            return Compare(ref, "NOT IN", self.value_list())
        if self.is_kw("IN"):
            self.k += 1
            return Compare(ref, "IN", self.value_list())
        if self.tok.kind == "op":
            op = self.tok.text
            self.k += 1
            return Compare(ref, op, (self.value(),))
        self.fail("IN, NOT IN or a comparison operator (=, !=, <, <=, >, >=)")

    def field_ref(self) -> FieldRef:
        if not (self.tok.kind == "name" and self.tok.text.upper() in _DATASETS):
            self.fail("a field such as Items.<field>, Interactions.EVENT_TYPE or CurrentUser.<field>")
        dataset = _DATASETS[self.tok.text.upper()]
        self.k += 1
        self.punct(".")
        if self.tok.kind != "name":
            self.fail(f"a field name after '{dataset}.'")
        name = self.tok.text
        self.k += 1
        return FieldRef(dataset, name)

    def value_list(self) -> tuple:
        self.punct("(")
        values = [self.value()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.k += 1
            values.append(self.value())
        self.punct(")")
        return tuple(values)

    def value(self):
        t = self.tok
        if t.kind == "string":
            self.k += 1
            return bytes(t.text[1:-1], "utf-8").decode("unicode_escape")
        if t.kind == "number":
            self.k += 1
            return float(t.text)
        if t.kind == "param":
            self.k += 1
            return Param(t.text[1:])
        if t.kind == "punct" and t.text == "*":
            self.k += 1
            return "*"
        if t.kind == "name" and t.text.upper() == "CURRENTITEM":
            return self.field_ref()
        self.fail('a value: a "quoted string", a number or a $PARAMETER')


def parse(text: str) -> list[Expression]:
    """The expressions of a filter (joined by "|"); FilterSyntaxError naming the position and what was expected."""
    if not isinstance(text, str) or not text.strip():
        raise FilterSyntaxError(
            "Invalid filter expression at position 0: expected INCLUDE or EXCLUDE, found an empty expression.", 0
        )
    return _Parser(text).parse()

"""Client-side validator of Amazon Personalize filter expressions (checked at config load).

Grammar (as documented by Personalize, "Filter expression elements"):

    expression := part ( "|" part )*
    part       := ("INCLUDE" | "EXCLUDE") ("ItemID" | "UserID") "WHERE" condition
                  ( ("AND" | "OR") condition )*
                  [ "IF" condition ( "AND" condition )* ]
    condition  := Dataset "." FIELD ( ["NOT"] "IN" "(" value ("," value)* ")" | op value )
    Dataset    := Items | Interactions | Users | CurrentItem | CurrentUser
    value      := "string" | number | $PARAM       op := = | < | <= | > | >=

Only syntax and the documented structural limits are checked; the service stays the authority.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<param>\$[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|=|<|>)
      | (?P<punct>[().,|])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
DATASETS = {"Items", "Interactions", "Users", "CurrentItem", "CurrentUser"}
MAX_LENGTH = 2500


class FilterExpressionError(ValueError):
    """A filter expression that Personalize would reject; the message says where."""


@dataclass
class ParsedFilter:
    """What a valid expression references: (dataset, field) pairs and $PARAMETERS."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def _tokenize(expr: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise FilterExpressionError(f"unexpected character {expr[pos:].lstrip()[:1]!r} at offset {pos}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, expr: str):
        self.toks = _tokenize(expr)
        self.i = 0
        self.out = ParsedFilter()

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def fail(self, expected: str) -> FilterExpressionError:
        tok = self.peek()
        where = f"{tok[1]!r} at offset {tok[2]}" if tok else "end of expression"
        return FilterExpressionError(f"expected {expected}, found {where}")

    def word(self, *choices: str) -> str:
        tok = self.peek()
        if tok and tok[0] == "word" and (not choices or tok[1].upper() in {c.upper() for c in choices}):
            self.i += 1
            return tok[1]
        raise self.fail(" or ".join(choices) or "a name")

    def accept(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        if tok and tok[0] == kind and (value is None or tok[1].upper() == value.upper()):
            self.i += 1
            return True
        return False

    def parse(self) -> ParsedFilter:
        if not self.toks:
            raise FilterExpressionError("empty expression")
        self.part()
        while self.accept("punct", "|"):
            self.part()
        if self.peek():
            raise self.fail("'|' or end of expression")
        return self.out

    def part(self) -> None:
        self.out.actions.append(self.word("INCLUDE", "EXCLUDE").upper())
        self.word("ItemID", "UserID")
        self.word("WHERE")
        self.condition()
        while self.accept("word", "AND") or self.accept("word", "OR"):
            self.condition()
        if self.accept("word", "IF"):
            self.condition()
            while self.accept("word", "AND"):
                self.condition()

    def condition(self) -> None:
        tok = self.peek()
        dataset = self.word(*sorted(DATASETS))
        if not self.accept("punct", "."):
            raise self.fail("'.' after dataset name")
        fld = self.word()
        if dataset == "Interactions" and fld != "EVENT_TYPE":
            raise FilterExpressionError(
                f"offset {tok[2]}: Interactions filters may only use EVENT_TYPE, not {fld!r}"
            )
        self.out.fields.append((dataset, fld))
        if self.accept("op"):
            self.value()
            return
        self.accept("word", "NOT")
        self.word("IN")
        if not self.accept("punct", "("):
            raise self.fail("'(' after IN")
        self.value()
        while self.accept("punct", ","):
            self.value()
        if not self.accept("punct", ")"):
            raise self.fail("',' or ')' in value list")

    def value(self) -> None:
        tok = self.peek()
        if tok and tok[0] in ("str", "num", "param"):
            self.i += 1
            if tok[0] == "param":
                self.out.params.append(tok[1][1:])
            return
        raise self.fail('a value ("string", number or $PARAMETER)')


def parse_filter_expression(expr: str) -> ParsedFilter:
    """Parse ``expr``; raise FilterExpressionError naming the offset of the first problem."""
    if len(expr) > MAX_LENGTH:
        raise FilterExpressionError(f"expression is {len(expr)} characters; Personalize allows {MAX_LENGTH}")
    parsed = _Parser(expr).parse()
    if len(set(parsed.params)) > 10:
        raise FilterExpressionError("more than 10 distinct $PARAMETERS")
    return parsed

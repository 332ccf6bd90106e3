"""Client-side validator of Amazon Personalize filter expressions (checked at config load).

Grammar (as documented by Personalize, "Filter expression elements"):

    expression := part ( "|" part )*
    part       := ("INCLUDE" | "EXCLUDE") ("ItemID" | "UserID") "WHERE" condition
                  ( ("AND" | "OR") condition )*
                  [ "IF" condition ( "AND" condition )* ]
    condition  := Dataset "." FIELD ( ["NOT"] "IN" ( "(" value ("," value)* ")" | CurrentItem.FIELD ) | op value )
    Dataset    := Items | Interactions | Users | CurrentItem | CurrentUser
    value      := "string" | number | $PARAM | CurrentItem "." FIELD       op := = | < | <= | > | >=

Only syntax and the documented limits are checked ("Filter expression elements" and "Guidelines and
requirements" in the Personalize developer guide; the service stays the authority):

- at most 2500 characters (CreateFilter's ``filterExpression``);
- conditions joined by AND/OR use the dataset of the first condition (so Interactions and Items never share
  one expression: chain expressions with ``|`` instead);
- Interactions conditions use EVENT_TYPE only;
- ``CurrentUser`` only in the IF condition, which checks only ``CurrentUser``, comes once at the end and is
  extended with AND only;
- no ``$PARAMETER`` with NOT IN;
- at most 10 distinct dataset fields per filter (the current guide; earlier editions said 5: the service
  decides);
- at most 25 distinct ``$PARAMETERS``: a GetRecommendations call passes at most 25 ``filterValues``
  (botocore's ``FilterValues`` shape).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from personalize_ops.dataset_kinds import BY_FILTER_NAME, KINDS

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
DATASETS = set(BY_FILTER_NAME)
#: Which dataset a reference reads (``CurrentItem.PRICE`` is the items dataset's PRICE field).
DATASET_OF = {name: k.filter_names[0] for k in KINDS.values() for name in k.filter_names[1:]}
MAX_LENGTH = 2500
MAX_FIELDS = 10
MAX_PARAMETERS = 25


class FilterExpressionError(ValueError):
    """A filter expression that Personalize would reject; the message says where."""


@dataclass
class ParsedFilter:
    """What a valid expression references: (dataset, field) pairs and $PARAMETERS.

    ``param_fields``: each $PARAMETER (without ``$``) -> the (dataset, field) its condition compares it with.
    """

    fields: list[tuple[str, str]] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    param_fields: dict[str, tuple[str, str]] = field(default_factory=dict)


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
        """The next name; with ``choices``, one of them (any case), returned as spelled in ``choices``."""
        tok = self.peek()
        if tok and tok[0] == "word":
            if not choices:
                self.i += 1
                return tok[1]
            match = next((c for c in choices if c.upper() == tok[1].upper()), None)
            if match:
                self.i += 1
                return match
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
        first, offset = self.condition()
        if first == "CurrentUser":
            raise FilterExpressionError(f"offset {offset}: CurrentUser can only be used in the IF condition")
        while self.accept("word", "AND") or self.accept("word", "OR"):
            dataset, offset = self.condition()
            if DATASET_OF.get(dataset, dataset) != DATASET_OF.get(first, first):
                raise FilterExpressionError(
                    f"offset {offset}: conditions joined by AND/OR must use the dataset of the first condition "
                    f"({first}), not {dataset}; chain expressions with '|' to filter on both"
                )
        if self.accept("word", "IF"):
            while True:
                dataset, offset = self.condition()
                if dataset != "CurrentUser":
                    raise FilterExpressionError(f"offset {offset}: an IF condition can only check CurrentUser")
                if not self.accept("word", "AND"):
                    break
            tok = self.peek()
            if tok and tok[0] == "word" and tok[1].upper() in ("OR", "IF"):
                raise FilterExpressionError(
                    f"offset {tok[2]}: an IF condition comes once, at the end, extended with AND only"
                )

    def field_ref(self, *datasets: str) -> tuple[str, int]:
        """``Dataset.FIELD``; records the field and returns (dataset, offset)."""
        tok = self.peek()
        dataset = self.word(*datasets)
        if not self.accept("punct", "."):
            raise self.fail("'.' after dataset name")
        fld = self.word()
        if dataset == "Interactions" and fld.upper() != "EVENT_TYPE":
            raise FilterExpressionError(
                f"offset {tok[2]}: Interactions filters may only use EVENT_TYPE, not {fld!r}"
            )
        self.out.fields.append((dataset, fld))
        return dataset, tok[2]

    def condition(self) -> tuple[str, int]:
        dataset, offset = self.field_ref(*sorted(DATASETS))
        compared = self.out.fields[-1]
        params_before = len(self.out.params)
        try:
            return self._comparison(dataset, offset)
        finally:
            for param in self.out.params[params_before:]:
                self.out.param_fields.setdefault(param, compared)

    def _comparison(self, dataset: str, offset: int) -> tuple[str, int]:
        if self.accept("op"):
            self.value()
            return dataset, offset
        negated = self.accept("word", "NOT")
        self.word("IN")
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == "CURRENTITEM":
            self.field_ref("CurrentItem")
            return dataset, offset
        if not self.accept("punct", "("):
            raise self.fail("'(' after IN")
        values = [self.value()]
        while self.accept("punct", ","):
            values.append(self.value())
        if not self.accept("punct", ")"):
            raise self.fail("',' or ')' in value list")
        if negated and "param" in values:
            raise FilterExpressionError(
                f"offset {offset}: a $PARAMETER cannot be used with NOT IN; use IN with the opposite "
                "INCLUDE/EXCLUDE instead"
            )
        return dataset, offset

    def value(self) -> str:
        """One value; returns its kind (str, num, param or field)."""
        tok = self.peek()
        if tok and tok[0] in ("str", "num", "param"):
            self.i += 1
            if tok[0] == "param":
                self.out.params.append(tok[1][1:])
            return tok[0]
        if tok and tok[0] == "word" and tok[1].upper() == "CURRENTITEM":
            self.field_ref("CurrentItem")
            return "field"
        raise self.fail('a value ("string", number, $PARAMETER or CurrentItem.FIELD)')


def parse_filter_expression(expr: str) -> ParsedFilter:
    """Parse ``expr``; raise FilterExpressionError naming the offset of the first problem."""
    if len(expr) > MAX_LENGTH:
        raise FilterExpressionError(f"expression is {len(expr)} characters; Personalize allows {MAX_LENGTH}")
    parsed = _Parser(expr).parse()
    fields = sorted({f"{DATASET_OF.get(ds, ds)}.{fld}" for ds, fld in parsed.fields})
    if len(fields) > MAX_FIELDS:
        raise FilterExpressionError(
            f"uses {len(fields)} distinct dataset fields ({', '.join(fields)}); Personalize allows {MAX_FIELDS}"
        )
    params = sorted(set(parsed.params))
    if len(params) > MAX_PARAMETERS:
        raise FilterExpressionError(
            f"has {len(params)} distinct $PARAMETERS; a recommendation request passes at most {MAX_PARAMETERS} "
            "filter values"
        )
    return parsed

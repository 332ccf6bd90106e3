"""Client-side validator of Amazon Personalize filter expressions (checked at config load).

It accepts the language the developer guide documents ("Filter expression structure and elements",
"Guidelines and requirements", "Combining multiple expressions" and the example pages), no more and no less;
the local service's parser (personalize_local/engine/filter_syntax.py) implements the same language and both
are tested against one table (tests/filter_grammar_cases.py). Keywords, dataset and field names in any case::

    filter     := expression ("|" expression)*
    expression := ("INCLUDE" | "EXCLUDE") ("ItemID" | "UserID" | "ActionID") "WHERE"
                  condition (("AND" | "OR") condition)* ["IF" condition ("AND" condition)*]
    condition  := field ["NOT"] "IN" ("(" value ("," value)* ")" | current)
                | field cmp (value | "(" value ")")
    field      := Dataset "." NAME        current := "CurrentItem" "." NAME
    value      := "string" | number | $PARAM | current
    cmp        := "=" | "!=" | "<" | "<=" | ">" | ">="

Rules the grammar does not express:

- ItemID expressions use Items and (item) Interactions fields; UserID (user segments) Users and Interactions;
  ActionID Actions and Action_Interactions; every expression of a filter filters the same kind;
- conditions joined by AND/OR use the dataset of the first condition (chain expressions with ``|`` instead);
- interactions conditions use EVENT_TYPE only, with IN / NOT IN (``"*"``: every event type);
- ``CurrentUser`` only in the IF condition, which checks only ``CurrentUser``, comes once at the end and is
  extended with AND only (not in UserID filters); ``CurrentItem.FIELD`` only as a value compared with an Items
  field of an ItemID filter;
- no ``$PARAMETER`` with NOT IN;
- at most 2500 characters (CreateFilter's ``filterExpression``), 10 distinct dataset fields per filter (the
  current guide; editions before 2025 said 5) and 25 distinct ``$PARAMETERS`` (a recommendation request passes
  at most 25 ``filterValues``); the guide documents no limit on the values of one IN list.

Where the guide is silent this validator rejects: parentheses around conditions, a comparison operator on
EVENT_TYPE, expressions of different kinds in one filter, an IF condition in a UserID filter. The service stays
the authority on what a schema allows (field names are checked against the config's schemas by config.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<param>\$[A-Za-z_][A-Za-z0-9_]*)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[().,|])
    )""",
    re.VERBOSE,
)
#: Dataset names as written (any case) -> as documented. The guide's action example spells Actions "Action".
_DATASET_NAMES = {
    "ITEMS": "Items",
    "INTERACTIONS": "Interactions",
    "USERS": "Users",
    "ACTIONS": "Actions",
    "ACTION": "Actions",
    "ACTION_INTERACTIONS": "Action_Interactions",
    "CURRENTUSER": "CurrentUser",
    "CURRENTITEM": "CurrentItem",
}
DATASETS = set(_DATASET_NAMES.values())
TARGETS = {"ITEMID": "ItemID", "USERID": "UserID", "ACTIONID": "ActionID"}
#: The datasets each kind of expression filters on (besides CurrentUser in IF and CurrentItem values).
TARGET_DATASETS = {
    "ItemID": ("Items", "Interactions"),
    "UserID": ("Users", "Interactions"),
    "ActionID": ("Actions", "Action_Interactions"),
}
INTERACTIONS = ("Interactions", "Action_Interactions")
#: Which dataset a reference reads (``CurrentItem.PRICE`` is the items dataset's PRICE field).
DATASET_OF = {"CurrentItem": "Items", "CurrentUser": "Users"}
MAX_LENGTH = 2500
MAX_FIELDS = 10
MAX_PARAMETERS = 25


class FilterExpressionError(ValueError):
    """A filter expression that Personalize would reject; the message says where."""


@dataclass
class ParsedFilter:
    """What a valid expression references: (dataset, field) pairs in order of appearance, $PARAMETERS, the
    action (INCLUDE / EXCLUDE) of each expression and what the filter filters (ItemID, UserID or ActionID)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    target: str = "ItemID"
    #: each $PARAMETER (without ``$``) -> the (dataset, field) its condition compares it with
    param_fields: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Ref:
    dataset: str
    name: str
    offset: int


@dataclass(frozen=True)
class _Cond:
    ref: _Ref
    op: str  # IN, NOT IN or a comparison operator
    values: tuple  # ("str" | "num" | "param" | "star", text) or _Ref (CurrentItem)


def _tokenize(expr: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            start = pos + len(expr[pos:]) - len(expr[pos:].lstrip())
            raise FilterExpressionError(f"unexpected character {expr[start]!r} at offset {start}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


def _error(offset: int, reason: str) -> FilterExpressionError:
    return FilterExpressionError(f"offset {offset}: {reason}")


class _Parser:
    def __init__(self, expr: str):
        self.toks = _tokenize(expr)
        self.end = len(expr)
        self.i = 0

    def peek(self, ahead: int = 0) -> tuple[str, str, int] | None:
        k = self.i + ahead
        return self.toks[k] if k < len(self.toks) else None

    def fail(self, expected: str) -> FilterExpressionError:
        tok = self.peek()
        where = f"{tok[1]!r} at offset {tok[2]}" if tok else f"end of expression at offset {self.end}"
        return FilterExpressionError(f"expected {expected}, found {where}")

    def is_word(self, *choices: str) -> bool:
        tok = self.peek()
        return bool(tok and tok[0] == "word" and tok[1].upper() in choices)

    def is_punct(self, p: str) -> bool:
        tok = self.peek()
        return bool(tok and tok[0] == "punct" and tok[1] == p)

    def word(self, expected: str, *choices: str) -> str:
        if not self.is_word(*choices):
            raise self.fail(expected)
        self.i += 1
        return self.toks[self.i - 1][1].upper()

    def punct(self, p: str, expected: str) -> None:
        if not self.is_punct(p):
            raise self.fail(expected)
        self.i += 1

    def parse(self) -> list[tuple[str, str, list[_Cond], list[_Cond]]]:
        """[(action, target, WHERE conditions, IF conditions)] of each expression."""
        if not self.toks:
            raise self.fail("INCLUDE or EXCLUDE")
        parts = [self.expression()]
        while self.is_punct("|"):
            self.i += 1
            parts.append(self.expression())
        if self.peek():
            raise self.fail("'|', AND, OR, IF or end of expression")
        return parts

    def expression(self) -> tuple[str, str, list[_Cond], list[_Cond]]:
        action = self.word("INCLUDE or EXCLUDE", "INCLUDE", "EXCLUDE")
        target = TARGETS[self.word("ItemID, UserID or ActionID", *TARGETS)]
        self.word("WHERE", "WHERE")
        where = [self.condition()]
        while self.is_word("AND", "OR"):
            self.i += 1
            where.append(self.condition())
        conditions = []
        if self.is_word("IF"):
            self.i += 1
            conditions.append(self.condition())
            while self.is_word("AND"):
                self.i += 1
                conditions.append(self.condition())
            if self.is_word("OR", "IF"):
                raise _error(self.peek()[2], "an IF condition comes once, at the end, extended with AND only")
        return action, target, where, conditions

    def condition(self) -> _Cond:
        if self.is_punct("("):
            raise _error(self.peek()[2], "conditions cannot be grouped with parentheses")
        ref = self.field_ref()
        if self.is_word("NOT", "IN"):
            op = "NOT IN" if self.word("IN or NOT IN", "NOT", "IN") == "NOT" else "IN"
            if op == "NOT IN":
                self.word("IN", "IN")
            if self.is_word("CURRENTITEM"):
                return _Cond(ref, op, (self.field_ref(),))
            self.punct("(", "'(' or CurrentItem.FIELD after IN")
            values = [self.value()]
            while self.is_punct(","):
                self.i += 1
                values.append(self.value())
            self.punct(")", "',' or ')'")
            return _Cond(ref, op, tuple(values))
        tok = self.peek()
        if tok and tok[0] == "op":
            self.i += 1
            if self.is_punct("("):  # the guide writes "Actions.VALUE > ($VALUE)"
                self.i += 1
                value = self.value()
                self.punct(")", "')'")
            else:
                value = self.value()
            return _Cond(ref, tok[1], (value,))
        raise self.fail("IN, NOT IN or a comparison operator (=, !=, <, <=, >, >=)")

    def field_ref(self) -> _Ref:
        tok, dot = self.peek(), self.peek(1)
        if not (tok and tok[0] == "word" and dot and dot[0] == "punct" and dot[1] == "."):
            raise self.fail("a dataset field such as Items.GENRE")
        if tok[1].upper() not in _DATASET_NAMES:
            raise _error(
                tok[2],
                f"unknown dataset {tok[1]!r} (Items, Interactions, Users, Actions, Action_Interactions, "
                "CurrentUser or CurrentItem)",
            )
        self.i += 2
        name = self.peek()
        if not (name and name[0] == "word"):
            raise self.fail(f"a field name after '{tok[1]}.'")
        self.i += 1
        return _Ref(_DATASET_NAMES[tok[1].upper()], name[1], tok[2])

    def value(self):
        tok = self.peek()
        if tok and tok[0] in ("str", "num", "param"):
            self.i += 1
            kind = "star" if tok[0] == "str" and tok[1] == '"*"' else tok[0]
            return kind, tok[1]
        if self.is_word("CURRENTITEM"):
            return self.field_ref()
        raise self.fail('a value ("string", number, $PARAMETER or CurrentItem.FIELD)')


def _check_condition(c: _Cond, target: str) -> None:
    ds, offset = c.ref.dataset, c.ref.offset
    if ds in INTERACTIONS:
        if c.ref.name.upper() != "EVENT_TYPE":
            raise _error(offset, f"{ds} filters may only use EVENT_TYPE, not {c.ref.name!r}")
        if c.op not in ("IN", "NOT IN"):
            raise _error(offset, f"{ds}.EVENT_TYPE takes IN or NOT IN, not {c.op}")
    for v in c.values:
        if isinstance(v, _Ref):
            if ds != "Items" or target != "ItemID":
                raise _error(v.offset, "CurrentItem values can only be compared with Items fields of an ItemID filter")
        elif v[0] == "star" and ds not in INTERACTIONS:
            raise _error(offset, '"*" (every event type) is only valid for EVENT_TYPE')
    if c.op == "NOT IN" and any(not isinstance(v, _Ref) and v[0] == "param" for v in c.values):
        raise _error(offset, "a $PARAMETER cannot be used with NOT IN; use IN with the opposite INCLUDE/EXCLUDE")


def _check(parts: list[tuple[str, str, list[_Cond], list[_Cond]]]) -> None:
    target = parts[0][1]
    for _action, kind, where, conditions in parts:
        if kind != target:
            raise _error(
                where[0].ref.offset, f"every expression of a filter must filter the same thing ({target}, not {kind})"
            )
        allowed, first = TARGET_DATASETS[kind], where[0].ref.dataset
        for c in where:
            ds = c.ref.dataset
            if ds == "CurrentUser":
                raise _error(c.ref.offset, "CurrentUser can only be used in the IF condition")
            if ds == "CurrentItem":
                raise _error(c.ref.offset, "CurrentItem.FIELD can only be a value, compared with an Items field")
            if ds not in allowed:
                raise _error(c.ref.offset, f"{kind} filters cannot use {ds} fields (they use {' and '.join(allowed)})")
            if ds != first:
                raise _error(
                    c.ref.offset,
                    f"conditions joined by AND/OR must use the dataset of the first condition ({first}), not {ds}; "
                    "chain expressions with '|' to filter on both",
                )
            _check_condition(c, kind)
        if conditions and kind == "UserID":
            raise _error(
                conditions[0].ref.offset,
                "UserID filters cannot have an IF condition (it checks the user getting recommendations)",
            )
        for c in conditions:
            if c.ref.dataset != "CurrentUser":
                raise _error(c.ref.offset, "an IF condition can only check CurrentUser")
            _check_condition(c, kind)


def parse_filter_expression(expr: str) -> ParsedFilter:
    """Parse ``expr``; raise FilterExpressionError naming the offset of the first problem."""
    if len(expr) > MAX_LENGTH:
        raise FilterExpressionError(f"expression is {len(expr)} characters; Personalize allows {MAX_LENGTH}")
    parts = _Parser(expr).parse()
    _check(parts)
    out = ParsedFilter(target=parts[0][1])
    for action, _kind, where, conditions in parts:
        out.actions.append(action)
        for c in where + conditions:
            for ref in (c.ref, *(v for v in c.values if isinstance(v, _Ref))):
                out.fields.append((ref.dataset, ref.name))
            params = [v[1][1:] for v in c.values if not isinstance(v, _Ref) and v[0] == "param"]
            out.params.extend(params)
            for param in params:
                out.param_fields.setdefault(param, (c.ref.dataset, c.ref.name))
    fields = sorted({f"{DATASET_OF.get(ds, ds)}.{fld.upper()}" for ds, fld in out.fields})
    if len(fields) > MAX_FIELDS:
        raise FilterExpressionError(
            f"uses {len(fields)} distinct dataset fields ({', '.join(fields)}); Personalize allows {MAX_FIELDS}"
        )
    params = sorted(set(out.params))
    if len(params) > MAX_PARAMETERS:
        raise FilterExpressionError(
            f"has {len(params)} distinct $PARAMETERS; a recommendation request passes at most {MAX_PARAMETERS} "
            "filter values"
        )
    return out

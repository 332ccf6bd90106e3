"""Personalize filter expressions: the grammar, its parser, the documented rules and the syntax tree
(evaluation is filters.py's). The same language as plugins/personalize_ops/filter_expression.py; both are
tested against one table of the documented examples, restrictions and limits (tests/filter_grammar_cases.py).

Grammar (keywords, dataset names and field names in any case)::

    filter     := expression ("|" expression)*
    expression := ("INCLUDE" | "EXCLUDE") ("ItemID" | "UserID" | "ActionID") "WHERE"
                  condition (("AND" | "OR") condition)* ["IF" condition ("AND" condition)*]
    condition  := field ["NOT"] "IN" ("(" value ("," value)* ")" | current)
                | field cmp (value | "(" value ")")
    field      := Dataset "." NAME        current := "CurrentItem" "." NAME
    value      := "string" | number | $PARAM | current
    cmp        := "=" | "!=" | "<" | "<=" | ">" | ">="

AND binds tighter than OR. The documented rules (developer guide: "Filter expression structure and elements",
"Guidelines and requirements", "Combining multiple expressions"): ItemID expressions use Items and
(item) Interactions fields, UserID (user segments) Users and Interactions, ActionID Actions and
Action_Interactions; conditions joined by AND/OR use the dataset of the first one; interactions filters use
EVENT_TYPE only (IN / NOT IN; "*" matches every type); CurrentUser only in the IF condition, which checks only
CurrentUser, comes once at the end and is extended with AND only; CurrentItem.FIELD is a value compared with an
Items field; no $PARAMETER with NOT IN; at most 2500 characters, 10 distinct dataset fields and 25 distinct
$PARAMETERS (a request passes at most 25 filterValues). Where the guide is silent this parser rejects:
parentheses around conditions, a comparison operator on EVENT_TYPE, one filter mixing ItemID/UserID/ActionID
expressions, an IF condition in a UserID filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from personalize_local.engine.errors import FilterSyntaxError

MAX_LENGTH = 2500
MAX_FIELDS = 10
MAX_PARAMETERS = 25

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<param>\$[A-Za-z_][A-Za-z0-9_]*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),.|])
    )""",
    re.VERBOSE,
)
_DATASETS = {
    "ITEMS": "Items",
    "INTERACTIONS": "Interactions",
    "USERS": "Users",
    "ACTIONS": "Actions",
    "ACTION": "Actions",  # the guide's action example spells it "Action.MEMBERSHIP_LEVEL"
    "ACTION_INTERACTIONS": "Action_Interactions",
    "CURRENTUSER": "CurrentUser",
    "CURRENTITEM": "CurrentItem",
}
TARGETS = {"ITEMID": "ItemID", "USERID": "UserID", "ACTIONID": "ActionID"}
#: The datasets each kind of expression filters on (besides CurrentUser in IF and CurrentItem values).
TARGET_DATASETS = {
    "ItemID": ("Items", "Interactions"),
    "UserID": ("Users", "Interactions"),
    "ActionID": ("Actions", "Action_Interactions"),
}
INTERACTIONS = ("Interactions", "Action_Interactions")
#: The dataset whose field a reference reads (CurrentItem.PRICE is the items dataset's PRICE).
DATASET_OF = {"CurrentItem": "Items", "CurrentUser": "Users"}


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
    pos: int = 0


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
    condition: Any = None  # the IF condition (CurrentUser comparisons joined by AND)
    target: str = "ItemID"  # ItemID, UserID or ActionID


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


def _invalid(pos: int, reason: str) -> FilterSyntaxError:
    return FilterSyntaxError(f"Invalid filter expression at position {pos}: {reason}.", pos)


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
        raise _invalid(t.pos, f"expected {expected}, found {got}")

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.upper() in words

    def is_punct(self, p: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == p

    def kw(self, expected: str, *words: str) -> str:
        if not self.is_kw(*words):
            self.fail(expected)
        t = self.tok
        self.k += 1
        return t.text.upper()

    def punct(self, p: str, expected: str | None = None) -> None:
        if not self.is_punct(p):
            self.fail(expected or repr(p))
        self.k += 1

    def parse(self) -> list[Expression]:
        exprs = [self.expression()]
        while self.is_punct("|"):
            self.k += 1
            exprs.append(self.expression())
        if self.tok.kind != "end":
            self.fail("'|', AND, OR, IF or end of expression")
        return exprs

    def expression(self) -> Expression:
        action = self.kw("INCLUDE or EXCLUDE", "INCLUDE", "EXCLUDE")
        target = TARGETS[self.kw("ItemID, UserID or ActionID", *TARGETS)]
        self.kw("WHERE", "WHERE")
        where = self.where()
        condition = None
        if self.is_kw("IF"):
            self.k += 1
            parts = [self.condition()]
            while self.is_kw("AND"):
                self.k += 1
                parts.append(self.condition())
            if self.is_kw("OR", "IF"):
                raise _invalid(self.tok.pos, "an IF condition comes once, at the end, extended with AND only")
            condition = parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))
        return Expression(action, where, condition, target)

    def where(self):
        """condition (AND|OR condition)*: OR of ANDs (AND binds tighter)."""
        disjuncts, conjuncts = [], [self.condition()]
        while self.is_kw("AND", "OR"):
            word = self.tok.text.upper()
            self.k += 1
            if word == "OR":
                disjuncts.append(conjuncts)
                conjuncts = []
            conjuncts.append(self.condition())
        disjuncts.append(conjuncts)
        parts = [c[0] if len(c) == 1 else BoolOp("AND", tuple(c)) for c in disjuncts]
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def condition(self) -> Compare:
        if self.is_punct("("):
            raise _invalid(self.tok.pos, "conditions cannot be grouped with parentheses")
        ref = self.field_ref()
        if self.is_kw("NOT", "IN"):
            op = "NOT IN" if self.kw("IN or NOT IN", "NOT", "IN") == "NOT" else "IN"
            if op == "NOT IN":
                self.kw("IN", "IN")
            if self.is_kw("CURRENTITEM"):
                return Compare(ref, op, (self.field_ref(),))
            self.punct("(", "'(' or CurrentItem.FIELD after IN")
            values = [self.value()]
            while self.is_punct(","):
                self.k += 1
                values.append(self.value())
            self.punct(")", "',' or ')'")
            return Compare(ref, op, tuple(values))
        if self.tok.kind == "op":
            op = self.tok.text
            self.k += 1
            if self.is_punct("("):  # the guide writes "Actions.VALUE > ($VALUE)"
                self.k += 1
                value = self.value()
                self.punct(")", "')'")
            else:
                value = self.value()
            return Compare(ref, op, (value,))
        self.fail("IN, NOT IN or a comparison operator (=, !=, <, <=, >, >=)")

    def field_ref(self) -> FieldRef:
        t = self.tok
        if t.kind != "name" or not (self.toks[self.k + 1].kind == "punct" and self.toks[self.k + 1].text == "."):
            self.fail("a dataset field such as Items.GENRE")
        if t.text.upper() not in _DATASETS:
            raise _invalid(
                t.pos,
                f"unknown dataset {t.text!r} (Items, Interactions, Users, Actions, Action_Interactions, "
                "CurrentUser or CurrentItem)",
            )
        self.k += 2
        if self.tok.kind != "name":
            self.fail(f"a field name after '{t.text}.'")
        name = self.tok.text
        self.k += 1
        return FieldRef(_DATASETS[t.text.upper()], name, t.pos)

    def value(self):
        t = self.tok
        if t.kind == "string":
            self.k += 1
            return re.sub(r"\\(.)", r"\1", t.text[1:-1])
        if t.kind == "number":
            self.k += 1
            return float(t.text)
        if t.kind == "param":
            self.k += 1
            return Param(t.text[1:])
        if self.is_kw("CURRENTITEM"):
            return self.field_ref()
        self.fail('a value ("string", number, $PARAMETER or CurrentItem.FIELD)')


def _conditions(node) -> list[Compare]:
    if node is None:
        return []
    if isinstance(node, BoolOp):
        return [c for p in node.parts for c in _conditions(p)]
    return [node]


def _check(exprs: list[Expression]) -> None:
    """The documented rules the grammar itself does not express; FilterSyntaxError naming the position."""
    target = exprs[0].target
    for expr in exprs:
        if expr.target != target:
            pos = min(c.field.pos for c in _conditions(expr.where))
            raise _invalid(
                pos, f"every expression of a filter must filter the same thing ({target}, not {expr.target})"
            )
        allowed = TARGET_DATASETS[expr.target]
        where = _conditions(expr.where)
        first = where[0].field.dataset
        for c in where:
            ds = c.field.dataset
            if ds == "CurrentUser":
                raise _invalid(c.field.pos, "CurrentUser can only be used in the IF condition")
            if ds == "CurrentItem":
                raise _invalid(c.field.pos, "CurrentItem.FIELD can only be a value, compared with an Items field")
            if ds not in allowed:
                raise _invalid(
                    c.field.pos, f"{expr.target} filters cannot use {ds} fields (they use {' and '.join(allowed)})"
                )
            if ds != first:
                raise _invalid(
                    c.field.pos,
                    f"conditions joined by AND/OR must use the dataset of the first condition ({first}), not {ds}; "
                    "chain expressions with '|' to filter on both",
                )
            _check_condition(c, expr.target)
        if expr.condition is not None and expr.target == "UserID":
            raise _invalid(
                _conditions(expr.condition)[0].field.pos,
                "UserID filters cannot have an IF condition (it checks the user getting recommendations)",
            )
        for c in _conditions(expr.condition):
            if c.field.dataset != "CurrentUser":
                raise _invalid(c.field.pos, "an IF condition can only check CurrentUser")
            _check_condition(c, expr.target)


def _check_condition(c: Compare, target: str) -> None:
    ds, pos = c.field.dataset, c.field.pos
    if ds in INTERACTIONS:
        if c.field.name.upper() != "EVENT_TYPE":
            raise _invalid(pos, f"{ds} filters may only use EVENT_TYPE, not {c.field.name!r}")
        if c.op not in ("IN", "NOT IN"):
            raise _invalid(pos, f"{ds}.EVENT_TYPE takes IN or NOT IN, not {c.op}")
    for v in c.values:
        if v == "*" and ds not in INTERACTIONS:
            raise _invalid(pos, '"*" (every event type) is only valid for EVENT_TYPE')
        if isinstance(v, FieldRef) and (ds != "Items" or target != "ItemID"):
            raise _invalid(v.pos, "CurrentItem values can only be compared with Items fields of an ItemID filter")
    if c.op == "NOT IN" and any(isinstance(v, Param) for v in c.values):
        raise _invalid(pos, "a $PARAMETER cannot be used with NOT IN; use IN with the opposite INCLUDE/EXCLUDE")


def _limits(exprs: list[Expression]) -> None:
    fields, params = set(), set()
    for expr in exprs:
        for c in _conditions(expr.where) + _conditions(expr.condition):
            for ref in (c.field, *(v for v in c.values if isinstance(v, FieldRef))):
                fields.add(f"{DATASET_OF.get(ref.dataset, ref.dataset)}.{ref.name.upper()}")
            params.update(v.name for v in c.values if isinstance(v, Param))
    if len(fields) > MAX_FIELDS:
        listed = ", ".join(sorted(fields))
        raise _invalid(0, f"uses {len(fields)} distinct dataset fields ({listed}); Personalize allows {MAX_FIELDS}")
    if len(params) > MAX_PARAMETERS:
        raise _invalid(
            0,
            f"has {len(params)} distinct $PARAMETERS; a recommendation request passes at most {MAX_PARAMETERS} "
            "filter values",
        )


def parse(text: str) -> list[Expression]:
    """The expressions of a filter (joined by "|"); FilterSyntaxError naming the position and what was expected
    or which documented rule the expression breaks."""
    if not isinstance(text, str) or not text.strip():
        raise _invalid(0, "expected INCLUDE or EXCLUDE, found end of expression")
    if len(text) > MAX_LENGTH:
        raise _invalid(MAX_LENGTH, f"expression is {len(text)} characters; Personalize allows {MAX_LENGTH}")
    exprs = _Parser(text).parse()
    _check(exprs)
    _limits(exprs)
    return exprs


def parameters(exprs: list[Expression]) -> dict[str, str]:
    """$PARAMETER name -> INCLUDE if an INCLUDE expression uses it, else EXCLUDE."""
    out: dict[str, str] = {}
    for expr in exprs:
        for c in _conditions(expr.where) + _conditions(expr.condition):
            for v in c.values:
                if isinstance(v, Param) and out.get(v.name) != "INCLUDE":
                    out[v.name] = expr.action
    return out


def uses(exprs: list[Expression], dataset: str) -> bool:
    """Whether any condition reads `dataset` (as a field or, for CurrentItem, as a value)."""
    for expr in exprs:
        for c in _conditions(expr.where) + _conditions(expr.condition):
            refs = (c.field, *(v for v in c.values if isinstance(v, FieldRef)))
            if any(r.dataset == dataset for r in refs):
                return True
    return False

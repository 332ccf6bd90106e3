"""Personalize filter expressions evaluated over a model's catalog (the grammar and its rules are filter_syntax.py's).

Semantics, as the developer guide documents them ("Combining multiple expressions", "Filter expression
elements"): expressions joined by "|" are evaluated independently; the INCLUDE results are united, the EXCLUDE
results are united and subtracted ("Include A | Include B | Exclude C" = (A or B) - C); a filter without an
INCLUDE expression starts from every item. `Interactions.EVENT_TYPE IN ("*")` matches every item the user
interacted with, `IN ("watch")` those with that event type (event types match in any case, the only
case-insensitive comparison); each event type counts only the user's 100 most recent interactions
(Personalize's default quota). Categorical fields may hold several `|`-separated values; IN matches any. An
`IF CurrentUser...` condition that is false (or refers to an unknown user or field) disables its expression.
A $PARAM without a value drops its condition (Personalize ignores that portion of an EXCLUDE expression; an
INCLUDE expression needs all its values, which the service checks: `BoundFilter.missing_include_values`).
Filter values are strings as the API passes them, e.g. '"comedy","drama"' or '10'. A comparison with a missing
field value is false. `CurrentItem.FIELD` is the field of the item a related-items request names.
UserID filters (user segments) evaluate over users: `FilterExpr.user_mask`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from personalize_local.engine.errors import FilterSyntaxError
from personalize_local.engine.filter_syntax import (
    BoolOp,
    Compare,
    Expression,
    FieldRef,
    Param,
    parameters,
    parse,
    uses,
)

#: Personalize considers up to this many of a user's most recent interactions per event type (a default quota).
INTERACTIONS_PER_EVENT_TYPE = 100


def parse_filter_values(raw: str) -> list:
    """Parse one filterValues entry ('"a","b"' or '10') into a list of strings/numbers."""
    raw = str(raw).strip()
    if not raw:
        return []
    if '"' not in raw:
        out = []
        for part in raw.split(","):
            part = part.strip()
            try:
                out.append(float(part))
            except ValueError:
                out.append(part)
        return out
    return [re.sub(r"\\(.)", r"\1", m.group(1)) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', raw)]


@dataclass
class FilterContext:
    """What an item filter needs for one request.

    items: catalog metadata aligned with `item_ids` (DataFrame indexed 0..n-1, or None);
    user_items / user_event_types: catalog indices and event types of the user's interactions, oldest first
    (training history plus recent events); user: the user's metadata (mapping) or None; values: bound $PARAM
    values; current_item: metadata mapping of the item a related-items request names; cache: dict reused
    across requests for item-only masks (pass the model's cache)."""

    item_ids: np.ndarray
    items: pd.DataFrame | None = None
    user_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    user_event_types: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    user: Mapping | None = None
    values: Mapping[str, list] = field(default_factory=dict)
    current_item: Mapping | None = None
    cache: dict = field(default_factory=dict)


@dataclass
class SegmentContext:
    """What a user (segment) filter needs: `users` metadata aligned with `user_ids` (or None) and each user's
    event types as CSR rows (`event_indptr` over `event_types`, oldest first)."""

    user_ids: np.ndarray
    users: pd.DataFrame | None = None
    event_indptr: np.ndarray | None = None
    event_types: np.ndarray | None = None
    values: Mapping[str, list] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)


def _as_float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _scalar_compare(left, op: str, values: list) -> bool:
    if _missing(left):
        return op == "NOT IN"
    if op in ("IN", "NOT IN"):
        hit = bool(set(str(left).split("|")) & {_fmt(v) for v in values})
        return hit if op == "IN" else not hit
    if not values:
        return False
    lf, rf = _as_float(left), _as_float(values[0])
    if lf is None or rf is None:
        eq = str(left) == _fmt(values[0])
        return {"=": eq, "!=": not eq}.get(op, False)
    return {"=": lf == rf, "!=": lf != rf, "<": lf < rf, "<=": lf <= rf, ">": lf > rf, ">=": lf >= rf}[op]


def _column(frame: pd.DataFrame | None, name: str):
    match = [c for c in (frame.columns if frame is not None else []) if c.upper() == name.upper()]
    return frame[match[0]] if match else None


def _field_mask(col: pd.Series | None, n: int, op: str, values: list) -> np.ndarray:
    """Bool mask over the rows of `col` (None: the field does not exist, no row has a value)."""
    if col is None:
        return np.full(n, op == "NOT IN")
    if op in ("IN", "NOT IN"):
        wanted = {_fmt(v) for v in values}
        if pd.api.types.is_numeric_dtype(col):
            hit = col.map(lambda x: _fmt(float(x)) if pd.notna(x) else "").isin(wanted).to_numpy()
        else:
            exploded = col.astype("string").str.split("|").explode()
            hit_rows = exploded[exploded.isin(wanted)].index.unique()
            hit = np.zeros(n, dtype=bool)
            hit[np.asarray(hit_rows, dtype=np.int64)] = True
        return hit if op == "IN" else ~hit
    if not values:
        return np.zeros(n, dtype=bool)
    rf = _as_float(values[0])
    num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    if rf is None or (np.isnan(num).all() and col.notna().any()):  # a string comparison
        text = col.astype("string")
        eq = (text == _fmt(values[0])).fillna(False).to_numpy(dtype=bool)
        present = text.notna().to_numpy()
        return {"=": eq, "!=": present & ~eq}.get(op, np.zeros(n, dtype=bool))
    with np.errstate(invalid="ignore"):
        res = {"=": num == rf, "!=": num != rf, "<": num < rf, "<=": num <= rf, ">": num > rf, ">=": num >= rf}[op]
    return res & ~np.isnan(num)


def _event_selection(types: np.ndarray, op: str, values: list) -> np.ndarray:
    """Which events (event types, any case) the EVENT_TYPE condition selects."""
    lowered = np.char.lower(np.asarray(types).astype(str))
    wanted = {_fmt(v).lower() for v in values}
    sel = np.ones(len(lowered), dtype=bool) if "*" in wanted else np.isin(lowered, list(wanted))
    return sel if op == "IN" else ~sel


def _most_recent_per_type(types: np.ndarray) -> np.ndarray:
    """Mask of the events that count: each event type's INTERACTIONS_PER_EVENT_TYPE newest (events oldest first)."""
    keep = np.ones(len(types), dtype=bool)
    if len(types) <= INTERACTIONS_PER_EVENT_TYPE:
        return keep
    lowered = np.char.lower(np.asarray(types).astype(str))
    for t in np.unique(lowered):
        idx = np.flatnonzero(lowered == t)
        keep[idx[:-INTERACTIONS_PER_EVENT_TYPE]] = False
    return keep


class _Evaluator:
    def __init__(self, ctx: FilterContext | SegmentContext, n: int):
        self.ctx = ctx
        self.n = n

    def resolve(self, values: tuple) -> list | None:
        """The condition's values; None when a $PARAM has no value (the condition is dropped)."""
        out = []
        for v in values:
            if isinstance(v, Param):
                bound = self.ctx.values.get(v.name)
                if bound is None:
                    return None
                out.extend(bound)
            elif isinstance(v, FieldRef):  # CurrentItem.FIELD: missing -> no value, comparisons are false
                item = getattr(self.ctx, "current_item", None) or {}
                key = next((k for k in item if str(k).upper() == v.name.upper()), None)
                raw = item.get(key) if key is not None else None
                if not _missing(raw):
                    out.extend(str(raw).split("|") if isinstance(raw, str) else [raw])
            else:
                out.append(v)
        return out

    def mask(self, node) -> np.ndarray | None:
        """Bool mask over the rows (items or users), or None when the node is dropped (unset parameter)."""
        if isinstance(node, BoolOp):
            masks = [m for m in (self.mask(p) for p in node.parts) if m is not None]
            if not masks:
                return None
            return (np.logical_and if node.op == "AND" else np.logical_or).reduce(masks)
        values = self.resolve(node.values)
        if values is None:
            return None
        ds = node.field.dataset
        if ds == "Interactions":
            return self.interactions_mask(node, values)
        frame = self.ctx.items if ds == "Items" else self.ctx.users
        ids = self.ctx.item_ids if ds == "Items" else self.ctx.user_ids
        id_field = "ITEM_ID" if ds == "Items" else "USER_ID"
        key = (ds, node.field.name.upper(), node.op, tuple(_fmt(v) for v in values))
        cache = self.ctx.cache
        mask = cache.get(key)  # a concurrent clear() must not lose the mask we just computed
        if mask is None:
            col = pd.Series(ids) if node.field.name.upper() == id_field else _column(frame, node.field.name)
            mask = cache[key] = _field_mask(col, self.n, node.op, values)
        return mask

    def interactions_mask(self, node: Compare, values: list) -> np.ndarray:
        if isinstance(self.ctx, SegmentContext):  # users with such interactions
            c = self.ctx
            if c.event_indptr is None or not len(c.event_types):
                return np.full(self.n, node.op == "NOT IN")
            counts = np.diff(c.event_indptr)
            owner = np.repeat(np.arange(self.n), counts)
            bounds = zip(c.event_indptr[:-1], c.event_indptr[1:], strict=True)
            keep = np.concatenate([_most_recent_per_type(c.event_types[a:b]) for a, b in bounds])
            sel = _event_selection(c.event_types, "IN", values) & keep
            hit = np.bincount(owner[sel], minlength=self.n) > 0
            return hit if node.op == "IN" else ~hit
        mask = np.zeros(self.n, dtype=bool)
        items = np.asarray(self.ctx.user_items)
        if not len(items):
            return mask
        keep = _most_recent_per_type(self.ctx.user_event_types)
        sel = _event_selection(self.ctx.user_event_types, node.op, values) & keep
        mask[items[sel]] = True
        return mask

    def holds(self, node) -> bool | None:
        """An IF condition over the current user; None when every part is dropped."""
        if isinstance(node, BoolOp):
            results = [r for r in (self.holds(p) for p in node.parts) if r is not None]
            return all(results) if results else None
        values = self.resolve(node.values)
        if values is None:
            return None
        user = getattr(self.ctx, "user", None)
        if not user:
            return False
        key = next((k for k in user if str(k).upper() == node.field.name.upper()), None)
        return _scalar_compare(user.get(key) if key is not None else None, node.op, values)


class FilterExpr:
    """A parsed filter. `mask(ctx)` -> bool array of allowed catalog items (ItemID filters); `user_mask(ctx)`
    -> bool array of users kept in a segment (UserID filters)."""

    def __init__(self, source: str, expressions: list[Expression]):
        self.source = source
        self.expressions = expressions
        self.target = expressions[0].target
        self.parameters = parameters(expressions)  # name -> INCLUDE / EXCLUDE
        self.uses_current_item = uses(expressions, "CurrentItem")

    def __repr__(self) -> str:
        return f"FilterExpr({self.source!r})"

    def bind(self, filter_values: Mapping[str, str] | None = None) -> BoundFilter:
        """Attach request filterValues (name without '$' -> '"a","b"')."""
        return BoundFilter(self, {k.lstrip("$"): parse_filter_values(v) for k, v in (filter_values or {}).items()})

    def _combine(self, ev: _Evaluator) -> np.ndarray:
        include, exclude = None, np.zeros(ev.n, dtype=bool)
        for expr in self.expressions:
            if expr.condition is not None and not ev.holds(expr.condition):
                continue
            m = ev.mask(expr.where)
            if m is None:
                continue
            if expr.action == "INCLUDE":
                include = m.copy() if include is None else include | m
            else:
                exclude = exclude | m
        return (np.ones(ev.n, dtype=bool) if include is None else include) & ~exclude

    def mask(self, ctx: FilterContext) -> np.ndarray:
        if self.target != "ItemID":
            raise ValueError(f"filter {self.source!r} filters {self.target}s, not items")
        return self._combine(_Evaluator(ctx, len(ctx.item_ids)))

    def user_mask(self, ctx: SegmentContext) -> np.ndarray:
        if self.target != "UserID":
            raise ValueError(f"filter {self.source!r} filters {self.target}s, not users")
        return self._combine(_Evaluator(ctx, len(ctx.user_ids)))


@dataclass
class BoundFilter:
    """A FilterExpr together with the parsed filterValues of one request."""

    expr: FilterExpr
    values: dict

    def mask(self, ctx: FilterContext) -> np.ndarray:
        ctx.values = self.values
        return self.expr.mask(ctx)

    def user_mask(self, ctx: SegmentContext) -> np.ndarray:
        ctx.values = self.values
        return self.expr.user_mask(ctx)

    def missing_include_values(self) -> list[str]:
        """$PARAMETERS of INCLUDE expressions without a value (Personalize requires them all)."""
        return sorted(p for p, action in self.expr.parameters.items() if action == "INCLUDE" and p not in self.values)


def parse_filter(expression: str) -> FilterExpr:
    """Parse a Personalize filter expression; raises FilterSyntaxError naming the position and what was expected
    or which documented rule it breaks. ActionID filters parse but the local service has no actions."""
    exprs = parse(expression)
    if exprs[0].target == "ActionID":
        raise FilterSyntaxError(
            "ActionID filters (action recommendations) are not supported by the local service: it has no "
            "Actions or Action_Interactions datasets.",
            0,
        )
    return FilterExpr(expression, exprs)

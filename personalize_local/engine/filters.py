"""Personalize filter expressions evaluated over a model's item catalog (the grammar is filter_syntax.py's).

Semantics: INCLUDE keeps matching items, EXCLUDE removes them; chained expressions all apply.
`Interactions.EVENT_TYPE IN ("*")` matches every item the user interacted with (training history plus
recent events), `IN ("watch")` only those with that event type. Categorical item fields may hold several
`|`-separated values; IN matches any. An `IF CurrentUser...` condition that is false (or refers to an
unknown user or field) disables its expression. A $PARAM without a value drops its condition (AWS ignores
unset placeholders); filter values are strings as the API passes them, e.g. '"comedy","drama"' or '10'.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from personalize_local.engine.filter_syntax import BoolOp, Compare, Expression, FieldRef, Param, parse


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
    return [m.group(1) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', raw)]


@dataclass
class FilterContext:
    """What a filter needs for one request.

    items: catalog metadata aligned with `item_ids` (DataFrame indexed 0..n-1, or None);
    user_items / user_event_types: catalog indices and event types of the user's interactions (training
    history plus recent events); user: the user's metadata (mapping) or None; values: bound $PARAM values;
    current_item: metadata mapping of the query item (SIMS); cache: dict reused across requests for
    item-only masks (pass the model's cache)."""

    item_ids: np.ndarray
    items: pd.DataFrame | None = None
    user_items: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    user_event_types: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    user: Mapping | None = None
    values: Mapping[str, list] = field(default_factory=dict)
    current_item: Mapping | None = None
    cache: dict = field(default_factory=dict)


def _as_float(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def _scalar_compare(left, op: str, values: list) -> bool:
    if left is None or (isinstance(left, float) and np.isnan(left)):
        return False
    if op in ("IN", "NOT IN"):
        tokens = set(str(left).split("|"))
        wanted = {_fmt(v) for v in values}
        hit = bool(tokens & wanted) or "*" in wanted
        return hit if op == "IN" else not hit
    lf, rf = _as_float(left), _as_float(values[0]) if values else None
    if lf is None or rf is None:
        return (str(left) == _fmt(values[0])) == (op == "=") if op in ("=", "!=") and values else False
    return {"=": lf == rf, "!=": lf != rf, "<": lf < rf, "<=": lf <= rf, ">": lf > rf, ">=": lf >= rf}[op]


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class _Evaluator:
    def __init__(self, ctx: FilterContext):
        self.ctx = ctx
        self.n = len(ctx.item_ids)

    def resolve(self, values: tuple) -> list | None:
        out = []
        for v in values:
            if isinstance(v, Param):
                bound = self.ctx.values.get(v.name)
                if bound is None:
                    return None
                out.extend(bound)
            elif isinstance(v, FieldRef):
                item = self.ctx.current_item or {}
                raw = item.get(v.name)
                if raw is None or (isinstance(raw, float) and np.isnan(raw)):
                    return None
                out.extend(str(raw).split("|"))
            else:
                out.append(v)
        return out

    def item_mask(self, node) -> np.ndarray | None:
        """Bool mask over the catalog, or None when the node is ignored (unset parameter)."""
        if isinstance(node, BoolOp):
            masks = [m for m in (self.item_mask(p) for p in node.parts) if m is not None]
            if not masks:
                return None
            fn = np.logical_and if node.op == "AND" else np.logical_or
            return fn.reduce(masks)
        values = self.resolve(node.values)
        if values is None:
            return None
        ds = node.field.dataset
        if ds == "Interactions":
            return self.interactions_mask(node, values)
        if ds == "Items":
            key = (node.field.name, node.op, tuple(_fmt(v) for v in values))
            cache = self.ctx.cache
            mask = cache.get(key)  # a concurrent clear() must not lose the mask we just computed
            if mask is None:
                mask = cache[key] = self.items_field_mask(node.field.name, node.op, values)
            return mask
        # CurrentUser inside WHERE: a scalar condition broadcast over the catalog.
        return np.full(self.n, self.scalar(node))

    def interactions_mask(self, node: Compare, values: list) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        if node.field.name.upper() != "EVENT_TYPE" or not len(self.ctx.user_items):
            return mask
        wanted = {_fmt(v) for v in values}
        types = np.asarray(self.ctx.user_event_types).astype(str)
        sel = np.ones(len(types), dtype=bool) if "*" in wanted else np.isin(types, list(wanted))
        if node.op == "NOT IN":
            sel = ~sel
        mask[np.asarray(self.ctx.user_items)[sel]] = True
        return mask

    def items_field_mask(self, name: str, op: str, values: list) -> np.ndarray:
        if name.upper() == "ITEM_ID":
            col = pd.Series(self.ctx.item_ids)
        else:
            items = self.ctx.items
            match = [c for c in (items.columns if items is not None else []) if c.upper() == name.upper()]
            if not match:
                return np.full(self.n, op in ("NOT IN", "!="))
            col = items[match[0]]
        if op in ("IN", "NOT IN"):
            wanted = {_fmt(v) for v in values}
            if pd.api.types.is_numeric_dtype(col):
                strs = col.map(lambda x: _fmt(float(x)) if pd.notna(x) else "")
                hit = strs.isin(wanted).to_numpy()
            else:
                exploded = col.astype("string").str.split("|").explode()
                hit_rows = exploded[exploded.isin(wanted)].index.unique()
                hit = np.zeros(self.n, dtype=bool)
                hit[np.asarray(hit_rows, dtype=np.int64)] = True
            return hit if op == "IN" else ~hit
        rf = _as_float(values[0])
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        if rf is None:
            eq = col.astype("string").fillna("").to_numpy() == _fmt(values[0])
            return eq if op == "=" else (~eq if op == "!=" else np.zeros(self.n, dtype=bool))
        with np.errstate(invalid="ignore"):
            res = {
                "=": num == rf,
                "!=": num != rf,
                "<": num < rf,
                "<=": num <= rf,
                ">": num > rf,
                ">=": num >= rf,
            }[op]
        return res & ~np.isnan(num)

    def scalar(self, node) -> bool | None:
        if isinstance(node, BoolOp):
            results = [r for r in (self.scalar(p) for p in node.parts) if r is not None]
            if not results:
                return None
            return all(results) if node.op == "AND" else any(results)
        values = self.resolve(node.values)
        if values is None:
            return None
        source = self.ctx.user if node.field.dataset == "CurrentUser" else self.ctx.current_item
        if not source:
            return False
        key = next((k for k in source if str(k).upper() == node.field.name.upper()), None)
        return _scalar_compare(source.get(key) if key is not None else None, node.op, values)


class FilterExpr:
    """A parsed filter. `mask(ctx)` -> bool array of allowed catalog items."""

    def __init__(self, source: str, expressions: list[Expression]):
        self.source = source
        self.expressions = expressions

    def __repr__(self) -> str:
        return f"FilterExpr({self.source!r})"

    def bind(self, filter_values: Mapping[str, str] | None = None) -> BoundFilter:
        """Attach request filterValues (name without '$' -> '"a","b"')."""
        return BoundFilter(
            self, {k.lstrip("$"): parse_filter_values(v) for k, v in (filter_values or {}).items()}
        )

    def mask(self, ctx: FilterContext) -> np.ndarray:
        ev = _Evaluator(ctx)
        allowed = np.ones(ev.n, dtype=bool)
        for expr in self.expressions:
            if expr.condition is not None and not ev.scalar(expr.condition):
                continue
            m = ev.item_mask(expr.where)
            if m is None:
                continue
            allowed &= m if expr.action == "INCLUDE" else ~m
        return allowed


@dataclass
class BoundFilter:
    """A FilterExpr together with the parsed filterValues of one request."""

    expr: FilterExpr
    values: dict

    def mask(self, ctx: FilterContext) -> np.ndarray:
        ctx.values = self.values
        return self.expr.mask(ctx)


def parse_filter(expression: str) -> FilterExpr:
    """Parse a Personalize filter expression; raises FilterSyntaxError naming position and expectation."""
    return FilterExpr(expression, parse(expression))

"""Map one raw batch to Personalize fields: custom transform (``custom.py``), event rules, one-hot flag columns,
parsing, typing.

``map_batch`` returns the typed output table (fields in config order, plus the helper column
``__source_row`` the reader numbered the rows with) and, per field, a mask of values that were present but
could not be parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from personalize_ops.config import Dataset, EventRules, FieldSpec
from personalize_ops.transform.custom import run_transform
from personalize_ops.transform.reader import ROW

ARROW_TYPES = {"string": pa.string(), "int": pa.int32(), "long": pa.int64(), "float": pa.float32(),
               "double": pa.float64(), "boolean": pa.bool_()}  # fmt: skip
_INT_RE = r"^\s*[-+]?\d+\s*$"
_FLOAT_RE = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_OPS = {">": pc.greater, ">=": pc.greater_equal, "<": pc.less, "<=": pc.less_equal, "==": pc.equal,
        "!=": pc.not_equal}  # fmt: skip


@dataclass
class Mapped:
    table: pa.Table
    unparseable: dict[str, pa.Array] = field(default_factory=dict)  # field -> bool mask over table rows
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list] = field(default_factory=dict)  # field -> a few raw values that did not parse


def _null_str() -> pa.Scalar:
    return pa.scalar(None, pa.string())


def to_type(arr: pa.ChunkedArray | pa.Array, t: pa.DataType) -> pa.Array:
    """Cast to ``t``; values that cannot be converted become null (callers count them)."""
    if arr.type == t:
        return arr
    if pa.types.is_string(t):
        return pc.cast(arr, t)
    if pa.types.is_floating(arr.type) and pa.types.is_integer(t):
        return pc.cast(pc.floor(arr), t, safe=False)
    try:
        return pc.cast(arr, t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if not pa.types.is_string(arr.type):
            raise
        pattern = _INT_RE if pa.types.is_integer(t) else _FLOAT_RE
        if pa.types.is_boolean(t):
            pattern = r"^(?i)(true|false|1|0)$"
        ok = pc.match_substring_regex(arr, pattern)
        return pc.cast(pc.if_else(ok, pc.utf8_trim_whitespace(arr), _null_str()), t)


def parse_timestamp(arr: pa.ChunkedArray | pa.Array, how: str) -> pa.Array:
    """Epoch seconds (int64) from epoch_s / epoch_ms / iso8601 / a strftime format; failures -> null."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if how in ("epoch_s", "epoch_ms"):
        num = to_type(arr, pa.float64()) if pa.types.is_string(arr.type) else arr
        if pa.types.is_floating(num.type) or how == "epoch_ms":
            num = pc.cast(
                pc.floor(pc.divide(pc.cast(num, pa.float64()), 1000.0 if how == "epoch_ms" else 1.0)),
                pa.int64(),
                safe=False,
            )
        return pc.cast(num, pa.int64())
    if pa.types.is_timestamp(arr.type):
        return pc.cast(pc.cast(arr, pa.timestamp("s", arr.type.tz), safe=False), pa.int64())
    if how == "iso8601":
        return _iso(arr)
    return pc.cast(pc.strptime(arr, format=how, unit="s", error_is_null=True), pa.int64())


def _iso(arr: pa.Array) -> pa.Array:
    for t in (pa.timestamp("ns", "UTC"), pa.timestamp("ns")):
        try:
            return pc.cast(pc.cast(pc.cast(arr, t), pa.timestamp("s", t.tz), safe=False), pa.int64())
        except pa.ArrowInvalid:
            continue
    from datetime import UTC, datetime  # slow path: mixed or partly bad values, one by one

    def one(v: str | None) -> int | None:
        if v is None:
            return None
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            return None
        return int((d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp() // 1)

    return pa.array([one(v) for v in arr.to_pylist()], pa.int64())


_FLAG_SET, _FLAG_UNSET = ["1", "true", "yes", "y", "t"], ["0", "false", "no", "n", "f", ""]


def one_hot_field(f: FieldSpec, t: pa.Table) -> tuple[pa.Array, pa.Array | None, list]:
    """The ``|``-joined labels of the set flag columns (null when none is set), a mask of rows holding a flag value
    that is neither set nor unset (None if none), and a few such raw values."""
    n = t.num_rows
    labels = np.full(n, "", dtype=object)
    bad = np.zeros(n, bool)
    examples: list = []
    for column, label in f.one_hot_labels.items():
        v = pc.utf8_lower(pc.utf8_trim_whitespace(to_type(t[column], pa.string())))
        on = pc.fill_null(pc.is_in(v, pa.array(_FLAG_SET)), False).to_numpy(zero_copy_only=False)
        off = pc.or_(pc.is_null(v), pc.fill_null(pc.is_in(v, pa.array(_FLAG_UNSET)), False))
        off = off.to_numpy(zero_copy_only=False)
        odd = ~on & ~off
        if odd.any():
            bad |= odd
            examples += [f"{column}={x}" for x in t[column].filter(pa.array(odd)).slice(0, 3).to_pylist()]
        labels[on] = np.where(labels[on] == "", label, labels[on] + "|" + label)
    out = pa.array(np.where((labels == "") | bad, None, labels), pa.string())
    return out, (pa.array(bad) if bad.any() else None), examples[:3]


def convert_field(f: FieldSpec, raw: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Typed values for one field and a mask of present-but-unparseable values (None if none)."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    v = raw
    if f.extract:
        v = pc.struct_field(pc.extract_regex(to_type(v, pa.string()), _named(f.extract)), [0])
    if f.split:
        v = pc.replace_substring(to_type(v, pa.string()), f.split, "|")
    out = parse_timestamp(v, f.timestamp) if f.timestamp else to_type(v, ARROW_TYPES[f.type])
    if f.timestamp and f.type == "int":
        out = pc.cast(out, pa.int32())
    bad_count = out.null_count - raw.null_count
    if bad_count <= 0 or f.extract:
        return out, None
    return out, pc.and_(pc.is_null(out), pc.is_valid(raw))


def _named(regex: str) -> str:
    """Turn the single capturing group of ``regex`` into a named group (pyarrow's extract_regex needs one)."""
    m = re.search(r"(?<!\\)\((?!\?)", regex)
    return regex[: m.start()] + "(?P<x>" + regex[m.end() :]


def apply_event_rules(t: pa.Table, er: EventRules) -> tuple[pa.Table, int]:
    """One output row per (source row, matching rule), in source order then rule order."""
    col = t[er.column]
    numeric = not any(isinstance(r.value, str) for r in er.rules)
    if numeric:
        col = to_type(col, pa.float64())
    idx, rule_no, matched = [], [], np.zeros(t.num_rows, bool)
    for n, r in enumerate(er.rules):
        m = pc.fill_null(_OPS[r.op](col, r.value), False).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(m)
        idx.append(rows)
        rule_no.append(np.full(len(rows), n, np.int32))
        matched |= m
    idx_a, rule_a = np.concatenate(idx), np.concatenate(rule_no)
    order = np.lexsort((rule_a, idx_a))
    idx_a, rule_a = idx_a[order], rule_a[order]
    out = t.take(pa.array(idx_a))
    types = np.array([r.event_type for r in er.rules], dtype=object)[rule_a]
    out = out.append_column("__event_type", pa.array(types, pa.string()))
    if any(r.event_value is not None for r in er.rules):
        src = to_type(t[er.column], pa.float64()).to_numpy(zero_copy_only=False)[idx_a]
        fixed = np.array([np.nan if r.event_value in (None, "source") else r.event_value for r in er.rules])[rule_a]
        use_src = np.array([r.event_value == "source" for r in er.rules])[rule_a]
        vals = np.where(use_src, src, fixed)
        out = out.append_column("__event_value", pa.array(vals, pa.float64(), mask=np.isnan(vals)))
    return out, int((~matched).sum())


def map_batch(batch: pa.RecordBatch, ds: Dataset, first_row: int = 0) -> Mapped:
    """Raw batch -> typed Personalize table (config field order + ``__source_row``; rows are numbered from
    ``first_row`` unless the batch already carries that column, as the reader's do)."""
    t = pa.Table.from_batches([batch])
    if ROW not in t.column_names:
        t = t.append_column(ROW, pa.array(np.arange(first_row, first_row + t.num_rows, dtype=np.int64)))
    if ds.transform:
        t = run_transform(ds.transform, t)
    res = Mapped(table=t)
    if ds.event_rules:
        t, none = apply_event_rules(t, ds.event_rules)
        if none:
            res.dropped["no_event_rule"] = none
    cols, names = [], []
    for f in ds.fields:
        derived = {"EVENT_TYPE": "__event_type", "EVENT_VALUE": "__event_value"}.get(f.name)
        if ds.event_rules and f.source is None and derived and derived in t.column_names:
            arr, bad = to_type(t[derived].combine_chunks(), ARROW_TYPES[f.type]), None
        elif f.one_hot is not None:
            arr, bad, examples = one_hot_field(f, t)
            if bad is not None:
                res.unparseable[f.name], res.examples[f.name] = bad, examples
        else:
            arr, bad = convert_field(f, t[f.column])
            if bad is not None:
                res.unparseable[f.name] = bad
                res.examples[f.name] = t[f.column].filter(bad).slice(0, 3).to_pylist()
        cols.append(arr)
        names.append(f.name)
    cols.append(t[ROW].combine_chunks())
    names.append(ROW)
    res.table = pa.Table.from_arrays(cols, names=names)
    return res

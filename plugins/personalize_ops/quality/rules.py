"""The rule table: every data-quality rule once, as data.

A rule has a name (what ``quality.rules`` in the config refers to) and a GX expectation (class name + kwargs,
built by gx_runner); a row rule also has its suite (source or personalize) and a vectorized pyarrow mask of the
rows that break it (used to quarantine rows and to show example rows). Table-level rules (header order,
metadata field count, minimum counts, file size) are checked by GX on a one-row *totals* batch of
statistics aggregated over all chunks, so no rule needs the whole file in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from personalize_ops.dataset_kinds import KINDS as DATASET_KINDS
from personalize_ops.quality import rule_names as rn

MS_THRESHOLD = 100_000_000_000  # epoch seconds reach this in year 5138; epoch ms passed it in 1973
ID_FIELDS = {k.key: k.id_fields for k in DATASET_KINDS.values()}
MAX_METADATA = {"items": 50, "users": 5}
SIZE_LIMIT = {"FULL": 100 * 1024**3, "INCREMENTAL": 1024**3}
MIN_INTERACTIONS, MIN_USERS_2PLUS = 1000, 25
UNPARSEABLE = "__unparseable_"


@dataclass(frozen=True)
class Rule:
    name: str
    column: str
    expectation: str
    kwargs: dict
    reason: str
    mask: Callable[[pa.Table], pa.Array] | None = field(default=None, compare=False)
    suite: str = field(default="", kw_only=True)  # a row rule's: "source" | "personalize"; whole-file rules: ""

    @property
    def quarantinable(self) -> bool:
        """Only a row rule can set rows aside: it has a mask saying which rows break it."""
        return self.mask is not None


def _not_null(col: str):
    return lambda t: pc.is_null(t[col])


def _false_flag(col: str):
    return lambda t: pc.fill_null(t[col], False)


def _between(col: str, lo: float | None, hi: float | None, lengths: bool = False):
    def mask(t: pa.Table) -> pa.Array:
        v = pc.utf8_length(t[col]) if lengths else t[col]
        bad = pa.array([False] * t.num_rows) if lo is None else pc.less(v, lo)
        if hi is not None:
            bad = pc.or_(bad, pc.greater(v, hi))
        return pc.fill_null(bad, False)

    return mask


def schema_fields(avro: dict) -> list[tuple[str, str, bool, bool]]:
    """(name, type, nullable, categorical) per Avro field."""
    out = []
    for f in avro.get("fields", []):
        t = f["type"]
        nullable = isinstance(t, list) and "null" in t
        base = next((x for x in t if x != "null"), "string") if isinstance(t, list) else t
        out.append((f["name"], base, nullable, bool(f.get("categorical"))))
    return out


def row_rules(kind: str, avro: dict, ts_fields: list[str], window: tuple[int, int]) -> list[Rule]:
    """Row-level rules for one dataset, source suite first (a row's quarantine reason is its first rule)."""
    ids = ID_FIELDS[kind]
    fields = schema_fields(avro)
    names = {f[0] for f in fields}
    rules = [
        Rule(
            rn.ID_NULL,
            c,
            "ExpectColumnValuesToNotBeNull",
            {"column": c},
            f"{c} is missing in the source",
            _not_null(c),
            suite="source",
        )
        for c in ids
        if c in names
    ]
    for c in ts_fields:
        rules.append(
            Rule(
                rn.TIMESTAMP_UNPARSEABLE,
                UNPARSEABLE + c,
                "ExpectColumnValuesToBeInSet",
                {"column": UNPARSEABLE + c, "value_set": [False]},
                f"{c} is present but cannot be parsed as the configured timestamp format",
                _false_flag(UNPARSEABLE + c),
                suite="source",
            )
        )
    for c in [f[0] for f in fields if f[0] in ("TIMESTAMP", "CREATION_TIMESTAMP")]:
        lo, hi = window
        rules.append(
            Rule(
                rn.TIMESTAMP_OUT_OF_WINDOW,
                c,
                "ExpectColumnValuesToBeBetween",
                {"column": c, "min_value": lo, "max_value": hi},  # GX reads a None bound as none
                window_reason(kind, c, lo, hi),
                _between(c, lo, hi),
                suite="source",
            )
        )
    for name, base, nullable, categorical in fields:
        if not nullable:
            rules.append(
                Rule(
                    rn.NULL_NOT_ALLOWED,
                    name,
                    "ExpectColumnValuesToNotBeNull",
                    {"column": name},
                    f'{name} is empty/null but the schema declares it {base!r}, not ["null", {base!r}]',
                    _not_null(name),
                    suite="personalize",
                )
            )
        if name in ids:
            rules.append(
                Rule(
                    rn.ID_TOO_LONG,
                    name,
                    "ExpectColumnValueLengthsToBeBetween",
                    {"column": name, "min_value": 1, "max_value": 256},
                    f"{name} must be 1..256 characters",
                    _between(name, 1, 256, lengths=True),
                    suite="personalize",
                )
            )
        if name in ("TIMESTAMP", "CREATION_TIMESTAMP"):
            rules.append(
                Rule(
                    rn.TIMESTAMP_MILLISECONDS,
                    name,
                    "ExpectColumnValuesToBeBetween",
                    {"column": name, "max_value": MS_THRESHOLD - 1},
                    f"{name} values >= 1e11 look like epoch milliseconds; Personalize needs epoch "
                    "seconds (declare timestamp: epoch_ms)",
                    _between(name, None, MS_THRESHOLD - 1),
                    suite="personalize",
                )
            )
        if categorical and base == "string":
            rules.append(
                Rule(
                    rn.CATEGORICAL_TOO_LONG,
                    name,
                    "ExpectColumnValueLengthsToBeBetween",
                    {"column": name, "max_value": 1000},
                    f"categorical {name} longer than 1000 characters",
                    _between(name, None, 1000, lengths=True),
                    suite="personalize",
                )
            )
    return rules


def header_rule(avro: dict) -> Rule:
    cols = [f[0] for f in schema_fields(avro)]
    return Rule(
        "header_order",
        "*",
        "ExpectTableColumnsToMatchOrderedList",
        {"column_list": cols},
        f"CSV header must equal the schema field order {cols}",
    )


def totals_rules(kind: str, avro: dict, import_mode: str) -> list[Rule]:
    """Whole-file rules, validated on the one-row totals batch (see ``totals_row``)."""

    def between(name, col, lo, hi, reason):
        kw = (
            {"column": col}
            | ({"min_value": lo} if lo is not None else {})
            | ({"max_value": hi} if hi is not None else {})
        )
        return Rule(name, col, "ExpectColumnValuesToBeBetween", kw, reason)

    out = [
        between(
            "file_size",
            "output_bytes",
            None,
            SIZE_LIMIT[import_mode],
            f"{import_mode} imports allow at most {SIZE_LIMIT[import_mode] // 1024**3} GB per file",
        )
    ]
    if kind == "interactions":
        out += [
            between(
                "min_interactions",
                "rows",
                MIN_INTERACTIONS,
                None,
                f"Personalize needs at least {MIN_INTERACTIONS} interactions",
            ),
            between(
                "min_users_2plus",
                "users_with_2plus",
                MIN_USERS_2PLUS,
                None,
                f"Personalize needs at least {MIN_USERS_2PLUS} users with 2 or more interactions",
            ),
            between(
                "event_type_categorical",
                "event_type_categorical",
                0,
                0,
                "EVENT_TYPE must not be declared categorical",
            ),
        ]
    else:
        out.append(between("min_rows", "rows", 1, None, f"{kind} need at least one row"))
        out.append(
            between(
                "metadata_field_count",
                "metadata_fields",
                1,
                MAX_METADATA[kind],
                f"{kind} need 1..{MAX_METADATA[kind]} metadata fields besides the ID",
            )
        )
    return out


def totals_row(kind: str, avro: dict, rows: int, users_2plus: int, output_bytes: int) -> dict:
    fields = schema_fields(avro)
    return {
        "rows": rows,
        "users_with_2plus": users_2plus,
        "output_bytes": output_bytes,
        "event_type_categorical": int(any(f[0] == "EVENT_TYPE" and f[3] for f in fields)),
        "metadata_fields": sum(1 for f in fields if f[0] not in ID_FIELDS[kind]),
    }


def default_window(lo: int | None, hi: int | None) -> tuple[int | None, int]:
    """The plausible window for timestamps: no lower bound unless ``lo``; ``hi`` defaults to now + 1 day."""
    return lo, hi if hi is not None else int(time.time()) + 86400


def _day(epoch: int) -> str:
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (ValueError, OverflowError, OSError):  # beyond year 9999
        return f"epoch {epoch}"


def window_reason(kind: str, column: str, lo: int | None, hi: int) -> str:
    """Why a timestamp is out of the window, with the keys that set it."""
    keys = f"datasets.{kind}.quality.timestamp_max"
    if lo is None:
        return f"{column} is after {_day(hi)} (epoch seconds {hi}; the window's end is {keys}, default now + 1 day)"
    return (f"{column} is outside {_day(lo)}..{_day(hi)} (epoch seconds {lo}..{hi}; set by "
            f"datasets.{kind}.quality.timestamp_min and {keys})")  # fmt: skip


def milliseconds_hint(values: pa.Array | pa.ChunkedArray) -> str | None:
    """A note when some of ``values`` (epoch seconds out of the window) look like epoch milliseconds, else None."""
    n = pc.sum(pc.greater_equal(values, MS_THRESHOLD)).as_py() or 0
    if not n:
        return None
    return (f"{n} of these values are >= 1e11, which as epoch seconds is after the year 5000: they look like epoch "
            "milliseconds; declare timestamp: epoch_ms on the field")  # fmt: skip


def stats_rules(columns: list[str]) -> list[Rule]:
    """gx_mode=stats: every per-chunk violation count (and the header mismatch flag) must be 0."""
    return [
        Rule(c.split(":")[0], c, "ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0, "max_value": 0},
             f"rows breaking {c} per chunk")
        for c in columns
    ]  # fmt: skip

"""The datasets section: where each dataset's raw data is, how its fields map to Personalize's, its rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from personalize_ops.config.base import Strict, _resolve
from personalize_ops.config.errors import Problem, validated_with
from personalize_ops.dataset_kinds import KINDS as DATASET_KINDS
from personalize_ops.quality.rule_names import ROW_RULES
from personalize_ops.value_checks import full_match, repeated

DOTTED_RE = re.compile(r"[A-Za-z_][\w.]*[:.][A-Za-z_]\w*")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,149}$")
REQUIRED_FIELDS = {k.key: k.required_fields for k in DATASET_KINDS.values()}
AVRO_TYPES = ("string", "int", "long", "float", "double", "boolean")


class Source(Strict):
    """Where a dataset's raw data lives and how to read it."""

    path: str = Field(
        description="a local file or folder (relative to the config file) or an s3:// URI; a folder is read as its "
        "part files in name order (.gz too)",
        examples=["data/interactions.csv"],
    )
    format: Literal["csv", "tsv", "parquet", "jsonl"] = Field("csv", description="how the source is written")
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="field separator of csv/tsv; default ',' (csv) or tab (tsv)",
        examples=["|"],
    )
    encoding: str = Field(
        "utf-8", description="text encoding of csv/tsv/jsonl (a Python codec name: utf-8, latin-1, cp1252, ...)",
        examples=["latin-1"],
    )
    header: bool = Field(True, description="csv/tsv: the first line names the columns; false needs columns")
    columns: list[str] | None = Field(
        None, description="the column names, in file order: required with header: false; with a header, they "
        "replace its names", examples=[["user_id", "item_id", "rating", "timestamp"]],
    )

    _p = field_validator("path")(_resolve)

    @property
    def is_s3(self) -> bool:
        return self.path.startswith("s3://")

    @property
    def sep(self) -> str:
        return self.delimiter or ("\t" if self.format == "tsv" else ",")

    @model_validator(mode="after")
    def _columns_when_headerless(self):
        if not self.header and not self.columns and self.format in ("csv", "tsv"):
            raise ValueError("header: false needs explicit 'columns'")
        return self


class FieldSpec(Strict):
    """One Personalize field: where it comes from, how to parse it, its Avro type."""

    name: str = Field(
        description="the Personalize field name (USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, a metadata field, ...); "
        "the output CSV's columns follow this list's order",
        examples=["ITEM_ID"],
    )
    source: str | None = Field(None, description="source column; default: the field name", examples=["movie_id"])
    type: Literal[AVRO_TYPES] = Field("string", description="the Avro type in the schema")  # type: ignore[valid-type]
    nullable: bool = Field(False, description='empty values allowed (schema type ["null", type])')
    categorical: bool = Field(False, description="a categorical string field (Personalize categorical: true)")
    timestamp: str | None = Field(
        None,
        description="parse the source as a time and write epoch seconds: epoch_s, epoch_ms, iso8601 or a strftime "
        "format such as %d-%b-%Y (type must be long or int)",
        examples=["epoch_ms"],
    )
    split: str | None = Field(
        None, description="separator of a multi-valued source; written joined with '|'", examples=[";"]
    )
    extract: str | None = Field(
        None, description="regex with one group taken from the source value (no match: empty)",
        examples=["\\((\\d{4})\\)\\s*$"],
    )
    one_hot: list[str] | dict[str, str] | None = Field(
        None,
        min_length=1,
        description="one-hot flag columns turned into one multi-valued field: the '|'-joined labels of the columns "
        "whose value is set (1, true, yes, y, t; unset: 0, false, no, n, f or empty; no flag set: empty). A list "
        "names the columns (label = column name); a mapping gives column: label. Excludes source, split, extract "
        "and timestamp",
        examples=[["Action", "Comedy", "Drama"]],
    )

    @field_validator("name")
    @classmethod
    def _field_name(cls, v: str) -> str:
        if not FIELD_RE.fullmatch(v):
            raise ValueError(f"field name {v!r} must match ^[A-Za-z_][A-Za-z0-9_]* (max 150)")
        return v

    @field_validator("timestamp")
    @classmethod
    def _ts(cls, v: str | None) -> str | None:
        if v is not None and v not in ("epoch_s", "epoch_ms", "iso8601") and "%" not in v:
            raise ValueError(f"timestamp {v!r}: use epoch_s, epoch_ms, iso8601 or a strftime format like %Y-%m-%d")
        return v

    @field_validator("extract")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if re.compile(v).groups != 1:
                    raise ValueError(f"extract regex {v!r} must have exactly one group")
            except re.error as e:
                raise ValueError(f"extract regex {v!r} is invalid: {e}") from None
        return v

    @field_validator("one_hot")
    @classmethod
    def _flags(cls, v: list[str] | dict[str, str] | None) -> list[str] | dict[str, str] | None:
        columns = list(v) if v is not None else []
        dup = sorted({c for c in columns if columns.count(c) > 1})
        if dup:
            raise ValueError(f"one_hot lists column(s) twice: {', '.join(dup)}")
        labels = [label for label in (v.values() if isinstance(v, dict) else columns) if "|" in label or not label]
        if labels:
            raise ValueError(f"one_hot label(s) {labels} must be non-empty and hold no '|' (it separates values)")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.one_hot is not None:
            clash = [k for k in ("source", "split", "extract", "timestamp") if getattr(self, k) is not None]
            if clash:
                raise ValueError(f"{self.name}: one_hot reads its own columns; remove {', '.join(clash)}")
            if self.type != "string":
                raise ValueError(f"{self.name}: a one_hot field is a multi-valued string; set type: string")
        if self.categorical and self.type != "string":
            raise ValueError(f"{self.name}: only string fields can be categorical")
        if self.timestamp and self.type not in ("long", "int"):
            raise ValueError(f"{self.name}: a timestamp field must have type long")
        return self

    @property
    def column(self) -> str:
        return self.source or self.name

    @property
    def columns(self) -> list[str]:
        """Every source column this field reads (its one_hot flag columns, or ``column``)."""
        return list(self.one_hot) if self.one_hot is not None else [self.column]

    @property
    def one_hot_labels(self) -> dict[str, str]:
        """Flag column -> label (empty unless ``one_hot``)."""
        v = self.one_hot or {}
        return dict(v) if isinstance(v, dict) else {c: c for c in v}

    def avro(self) -> dict:
        t: Any = ["null", self.type] if self.nullable else self.type
        out: dict[str, Any] = {"name": self.name, "type": t}
        if self.categorical:
            out["categorical"] = True
        return out


class EventRule(Strict):
    """Emit one event (EVENT_TYPE, optional EVENT_VALUE) for rows whose column compares true."""

    op: Literal[">", ">=", "<", "<=", "==", "!="] = Field(description="how the column's value is compared")
    value: float | str = Field(description="what it is compared with (a number compares numerically)", examples=[3])
    event_type: str = Field(min_length=1, description="EVENT_TYPE of the emitted event", examples=["watch"])
    event_value: float | Literal["source"] | None = Field(
        None, description="EVENT_VALUE of the emitted event: a number, or source (the column's value); "
        "none: no EVENT_VALUE", examples=["source"],
    )


class EventRules(Strict):
    """Derive EVENT_TYPE/EVENT_VALUE from one column. Each matching rule yields its own row, so a
    source row can become several events; rows matching no rule are dropped, counted as 'no_event_rule'."""

    column: str = Field(description="the source column the rules compare", examples=["rating"])
    rules: list[EventRule] = Field(min_length=1, description="the rules, each emitting one event per matching row")


class Quality(Strict):
    """Per-dataset data-quality actions. ``on_fail`` applies to every row rule unless ``rules`` overrides."""

    on_fail: Literal["fail", "quarantine"] = Field(
        "fail", description="what a row rule does with breaking rows: fail the run, or set the rows aside in "
        "<dataset>.quarantine.csv and go on"
    )
    rules: dict[str, Literal["fail", "quarantine"]] = Field(
        default_factory=dict,
        description="per-rule action overriding on_fail; rules: " + ", ".join(ROW_RULES),
        examples=[{"ragged_row": "quarantine"}],
    )
    gx_mode: Literal["stats", "rows"] = Field(
        "stats",
        description="stats: GX validates per-chunk rule statistics (vectorized), and re-validates any failing "
        "chunk row by row; rows: GX validates every chunk row by row (slower, ~1 us/row)",
    )
    timestamp_min: int | None = Field(
        None,
        description="earliest plausible TIMESTAMP / CREATION_TIMESTAMP, epoch seconds (rule timestamp_out_of_window); "
        "default: no lower bound (an item can be a 1922 film: -1483228800). Values >= 1e11 are flagged as epoch "
        "milliseconds by the rule timestamp_milliseconds whatever the window",
        examples=[1577836800],
    )
    timestamp_max: int | None = Field(
        None, description="latest plausible timestamp, epoch seconds; default: now + 1 day", examples=[1893456000]
    )
    show_values_in_logs: bool = Field(
        False,
        description="show identifier values (USER_ID, ITEM_ID, SESSION_ID, any *_ID field) in log and error "
        "messages; default: masked as <masked N chars #hash>. The quarantine file and the GX reports, written "
        "next to the data, always hold the full rows",
    )

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, v: dict) -> dict:
        unknown = sorted(set(v) - set(ROW_RULES))
        if unknown:
            raise ValueError(f"unknown rule(s) {', '.join(unknown)} (known: {', '.join(sorted(ROW_RULES))})")
        return v

    def action(self, rule: str) -> str:
        return self.rules.get(rule, self.on_fail)


class Dataset(Strict):
    """One dataset (interactions, items or users): source, mapping, rules, schema, import mode."""

    source: Source = Field(description="where the raw data is and how to read it")
    fields: list[FieldSpec] = Field(min_length=1, description="the Personalize fields, in output order")
    event_rules: EventRules | None = Field(None, description="derive EVENT_TYPE / EVENT_VALUE from a column")
    transform: str | None = Field(
        None,
        description="a custom transform 'package.module:function': fn(pyarrow.Table) -> pyarrow.Table per chunk of "
        "raw rows, before the mapping; its module must be importable on the workers (docs/cookbook.md)",
        examples=["my_transforms:clean_titles"],
    )
    schema_file: str | None = Field(
        None, description="an Avro schema file (relative to the config file) instead of the one generated from "
        "fields; the output header is checked against it", examples=["schemas/interactions.avsc"],
    )
    import_mode: Literal["FULL", "INCREMENTAL"] = Field(
        "FULL", description="FULL replaces the dataset's data; INCREMENTAL adds to it"
    )
    quality: Quality = Field(Quality(), description="data-quality actions and window")

    _p = field_validator("schema_file")(_resolve)

    _t = field_validator("transform")(full_match(
        DOTTED_RE, "transform {v!r} must be a dotted path like 'mypkg.module:function'"))  # fmt: skip

    @model_validator(mode="after")
    def _fields_unique(self):
        names = [f.name for f in self.fields]
        dup = repeated(names)
        if dup:
            raise ValueError(f"duplicate fields: {', '.join(dup)}")
        if self.event_rules and "EVENT_TYPE" not in names:
            raise ValueError("event_rules need an EVENT_TYPE entry in fields")
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def avro_schema(self, kind: str) -> dict:
        """The Avro schema: ``schema_file`` when set, else generated from ``fields`` (same order)."""
        if self.schema_file:
            return json.loads(Path(self.schema_file).read_text())
        return {
            "type": "record",
            "name": DATASET_KINDS[kind].record_name,
            "namespace": "com.amazonaws.personalize.schema",
            "fields": [f.avro() for f in self.fields],
            "version": "1.0",
        }


class Datasets(Strict):
    """The datasets of the group: interactions (required), items and users (optional). Below, ``<dataset>`` stands
    for each of them."""

    interactions: Dataset = Field(description="the interactions (USER_ID, ITEM_ID, TIMESTAMP, ...)")
    items: Dataset | None = Field(None, description="item metadata (ITEM_ID and 1-50 metadata fields)")
    users: Dataset | None = Field(None, description="user metadata (USER_ID and 1-5 metadata fields)")

    @field_validator("interactions", "items", "users", mode="wrap")
    @classmethod
    def _required_fields(cls, value: Any, handler, info: ValidationInfo) -> Dataset | None:
        """Each dataset has the fields Personalize requires of its type (checked even when another field is
        broken: an entry's name is what counts)."""
        kind = info.field_name

        def missing(_: Dataset | None) -> list[Problem]:
            names = {f.name if isinstance(f, FieldSpec) else f.get("name") for f in _fields(value)}
            return [(("fields",), f"{kind} needs a {r} field") for r in REQUIRED_FIELDS[kind] if r not in names]

        return validated_with("Dataset", handler, value, missing) if value is not None else None

    def present(self) -> dict[str, Dataset]:
        return {k: getattr(self, k) for k in DATASET_KINDS if getattr(self, k) is not None}


def _fields(value: Any) -> list:
    """The field entries of a dataset as given: a validated Dataset's, or the mapping's well-formed ones."""
    if isinstance(value, Dataset):
        return list(value.fields)
    fields = value.get("fields") if isinstance(value, dict) else None
    return [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else []

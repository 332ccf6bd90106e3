"""The pipeline config (include/pipeline.yaml): a typed model, loaded and checked all at once.

``load_config(path) -> PipelineConfig`` raises ``ConfigError`` whose message has one line per problem:
``<file>: <key.path>: <reason>``. Structure (unknown/missing keys, types, names, filter syntax) is
checked by pydantic; cross references (campaign -> solution, batch job -> filter, ...) by
``_reference_errors`` on the raw data, so every error is reported in one go.
``${VAR}`` / ``${VAR:-default}`` expand only variables with an allowed prefix (``env_prefixes``); an error
never shows a value that came from the environment (the ``${VAR}`` it came from is named instead).
Imports only pydantic + yaml: the DAG files import this at parse time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from personalize_ops.dataset_kinds import BY_FILTER_NAME
from personalize_ops.dataset_kinds import KINDS as DATASET_KINDS
from personalize_ops.filter_expression import FilterExpressionError, parse_filter_expression

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,149}$")
RECIPES = {
    "aws-user-personalization", "aws-user-personalization-v2", "aws-sims", "aws-similar-items",
    "aws-personalized-ranking", "aws-personalized-ranking-v2", "aws-popularity-count", "aws-trending-now",
    "aws-next-best-action", "aws-item-affinity", "aws-item-attribute-affinity", "aws-semantic-similarity",
}  # fmt: skip
RECIPE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:personalize:::recipe/[A-Za-z0-9\-_]+$")
METRICS = (
    "coverage", "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5", "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25", "precision_at_5", "precision_at_10", "precision_at_25",
)  # fmt: skip
Metric = Literal[METRICS]  # type: ignore[valid-type]
CRON_PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@continuous"}
CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")
ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: A config may expand only environment variables with these prefixes (see ``env_prefixes``): a config must not
#: be able to read the deployment's connection strings or secrets into values that errors and the UI show.
ENV_PREFIXES = ("PERSONALIZE_", "PZ_", "MOVIELENS_")
REQUIRED_FIELDS = {k.key: k.required_fields for k in DATASET_KINDS.values()}
ROW_RULES = {
    "id_null",
    "timestamp_unparseable",
    "timestamp_out_of_window",
    "null_not_allowed",
    "id_too_long",
    "timestamp_milliseconds",
    "categorical_too_long",
}  # fmt: skip  (quality/rules.py row rules)
AVRO_TYPES = ("string", "int", "long", "float", "double", "boolean")


class ConfigError(ValueError):
    """All problems found in one config file; ``errors`` holds the ``(key_path, reason)`` pairs."""

    def __init__(self, path: str | os.PathLike, errors: list[tuple[str, str]]):
        self.path, self.errors = str(path), errors
        super().__init__("\n".join(f"{self.path}: {loc or '<root>'}: {msg}" for loc, msg in errors))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _name(v: str) -> str:
    if len(v) > 63:
        raise ValueError(f"name {v!r} is {len(v)} characters; Personalize allows at most 63")
    if not NAME_RE.fullmatch(v):
        raise ValueError(f"name {v!r} must match ^[a-zA-Z0-9][a-zA-Z0-9\\-_]* (letters, digits, '-', '_')")
    return v


ResourceName = Annotated[str, Field(min_length=1)]


def _resolve(v: str | None, info: ValidationInfo) -> str | None:
    """Relative local paths resolve against the config file's folder; s3:// URIs stay as they are."""
    if v is None or v.startswith("s3://"):
        return v
    base = (info.context or {}).get("base_dir")
    p = Path(v).expanduser()
    return str(p if p.is_absolute() or base is None else (Path(base) / p).resolve())


class Source(Strict):
    """Where a dataset's raw data lives and how to read it."""

    path: str = Field(description="local file/folder (relative to the config file) or s3:// URI")
    format: Literal["csv", "tsv", "parquet", "jsonl"] = "csv"
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    encoding: str = "utf-8"
    header: bool = True
    columns: list[str] | None = None

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

    name: str
    source: str | None = Field(None, description="source column; default: the field name")
    type: Literal[AVRO_TYPES] = "string"  # type: ignore[valid-type]
    nullable: bool = False
    categorical: bool = False
    timestamp: str | None = Field(None, description="epoch_s | epoch_ms | iso8601 | a strftime format")
    split: str | None = Field(None, description="separator of a multi-valued source; joined with '|'")
    extract: str | None = Field(None, description="regex with one group taken from the source value")

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

    @model_validator(mode="after")
    def _consistent(self):
        if self.categorical and self.type != "string":
            raise ValueError(f"{self.name}: only string fields can be categorical")
        if self.timestamp and self.type not in ("long", "int"):
            raise ValueError(f"{self.name}: a timestamp field must have type long")
        return self

    @property
    def column(self) -> str:
        return self.source or self.name

    def avro(self) -> dict:
        t: Any = ["null", self.type] if self.nullable else self.type
        out: dict[str, Any] = {"name": self.name, "type": t}
        if self.categorical:
            out["categorical"] = True
        return out


class EventRule(Strict):
    """Emit one event (EVENT_TYPE, optional EVENT_VALUE) for rows whose column compares true."""

    op: Literal[">", ">=", "<", "<=", "==", "!="]
    value: float | str
    event_type: str = Field(min_length=1)
    event_value: float | Literal["source"] | None = None


class EventRules(Strict):
    """Derive EVENT_TYPE/EVENT_VALUE from one column. Each matching rule yields its own row, so a
    source row can become several events; rows matching no rule are dropped, counted as 'no_event_rule'."""

    column: str
    rules: list[EventRule] = Field(min_length=1)


class Quality(Strict):
    """Per-dataset data-quality actions. ``on_fail`` applies to every row rule unless ``rules`` overrides."""

    on_fail: Literal["fail", "quarantine"] = "fail"
    rules: dict[str, Literal["fail", "quarantine"]] = Field(default_factory=dict)
    gx_mode: Literal["stats", "rows"] = Field(
        "stats",
        description="stats: GX validates per-chunk rule statistics (vectorized), and re-validates any failing "
        "chunk row by row; rows: GX validates every chunk row by row (slower, ~1 us/row)",
    )
    timestamp_min: int = Field(946684800, description="plausible window start, epoch seconds (2000-01-01)")
    timestamp_max: int | None = Field(None, description="window end; default: now + 1 day")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, v: dict) -> dict:
        unknown = sorted(set(v) - ROW_RULES)
        if unknown:
            raise ValueError(f"unknown rule(s) {', '.join(unknown)} (known: {', '.join(sorted(ROW_RULES))})")
        return v

    def action(self, rule: str) -> str:
        return self.rules.get(rule, self.on_fail)


class Dataset(Strict):
    """One dataset (interactions, items or users): source, mapping, rules, schema, import mode."""

    source: Source
    fields: list[FieldSpec] = Field(min_length=1)
    event_rules: EventRules | None = None
    transform: str | None = Field(
        None, description="'package.module:function' or dotted path; pyarrow.Table -> pyarrow.Table per batch"
    )
    schema_file: str | None = None
    import_mode: Literal["FULL", "INCREMENTAL"] = "FULL"
    quality: Quality = Quality()

    _p = field_validator("schema_file")(_resolve)

    @field_validator("transform")
    @classmethod
    def _dotted(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z_][\w.]*[:.][A-Za-z_]\w*", v):
            raise ValueError(f"transform {v!r} must be a dotted path like 'mypkg.module:function'")
        return v

    @model_validator(mode="after")
    def _fields_unique(self):
        names = [f.name for f in self.fields]
        dup = sorted({n for n in names if names.count(n) > 1})
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
    interactions: Dataset
    items: Dataset | None = None
    users: Dataset | None = None

    def present(self) -> dict[str, Dataset]:
        return {k: getattr(self, k) for k in DATASET_KINDS if getattr(self, k) is not None}


class Solution(Strict):
    name: ResourceName
    recipe: str
    training_mode: Literal["FULL", "UPDATE"] = "FULL"
    event_type: str | None = None
    event_value_threshold: float | None = None
    hyperparameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    perform_auto_training: bool = False
    solution_config: dict[str, Any] | None = Field(None, description="passed through to CreateSolution")

    _n = field_validator("name")(_name)

    @field_validator("recipe")
    @classmethod
    def _recipe(cls, v: str) -> str:
        if v not in RECIPES and not RECIPE_ARN_RE.fullmatch(v):
            raise ValueError(f"unknown recipe {v!r}: use a full recipe ARN or one of {', '.join(sorted(RECIPES))}")
        return v

    @property
    def recipe_arn(self) -> str:
        return self.recipe if self.recipe.startswith("arn:") else f"arn:aws:personalize:::recipe/{self.recipe}"

    @property
    def is_popularity(self) -> bool:
        return self.recipe_arn.endswith("/aws-popularity-count")


class Gate(Strict):
    """Champion/challenger gate: promote only if ``metric`` improves by ``min_improvement`` (relative)."""

    metric: Metric = "normalized_discounted_cumulative_gain_at_10"
    min_improvement: float = Field(0.0, ge=0.0)
    beat_baseline: str | None = None
    on_fail: Literal["warn", "fail"] = "fail"


class Campaign(Strict):
    name: ResourceName
    solution: str
    min_provisioned_tps: int = Field(1, ge=1)
    gate: Gate = Gate()

    _n = field_validator("name")(_name)


class Filter(Strict):
    name: ResourceName
    expression: str

    _n = field_validator("name")(_name)

    @field_validator("expression")
    @classmethod
    def _expr(cls, v: str) -> str:
        try:
            parse_filter_expression(v)
        except FilterExpressionError as e:
            raise ValueError(f"malformed filter expression: {e}") from None
        return v


class EventTracker(Strict):
    name: ResourceName

    _n = field_validator("name")(_name)


class BatchJob(Strict):
    name: ResourceName
    solution: str
    num_results: int = Field(25, ge=1, le=500)
    filter: str | None = None
    filter_values: dict[str, str] = Field(default_factory=dict)
    users: Literal["interactions"] | list[str] | str = "interactions"
    output_format: Literal["csv", "parquet"] = "csv"
    destination: str

    _n = field_validator("name")(_name)
    _p = field_validator("destination")(_resolve)

    @field_validator("users")
    @classmethod
    def _users(cls, v):
        if isinstance(v, str) and v != "interactions" and not v.startswith("s3://"):
            raise ValueError("users must be 'interactions', a list of user ids or an s3:// path")
        return v


class Schedules(Strict):
    retrain: str | None = "@weekly"
    batch_export: str | None = "@daily"

    @field_validator("retrain", "batch_export")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None or v in CRON_PRESETS:
            return v
        parts = v.split()
        if len(parts) != 5 or not all(CRON_FIELD.match(p) for p in parts):
            raise ValueError(f"{v!r} is neither a preset ({', '.join(sorted(CRON_PRESETS))}) nor a 5-field cron")
        from croniter import croniter  # the parser Airflow's cron timetables use (apache-airflow-core dependency)

        if not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a valid cron expression (a field is out of range or malformed)")
        return v


class DatasetGroup(Strict):
    name: ResourceName
    aws_conn_id: str = "aws_default"
    region: str = "us-east-1"
    bucket: str = Field(min_length=3)
    prefix: str = ""
    role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")

    _n = field_validator("name")(_name)


NOTIFY_EVENTS = ("failure", "promoted", "not_promoted", "teardown", "deletion")
NotifyEvent = Literal[NOTIFY_EVENTS]  # type: ignore[valid-type]
ConnId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=250,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="an Airflow connection id (credentials live in the connection, never in this file)",
    ),
]
SNS_TOPIC_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}$")
EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _email(v: str) -> str:
    if not EMAIL_RE.match(v):
        raise ValueError(f"{v!r} is not an email address (like name@example.com)")
    return v


Email = Annotated[str, AfterValidator(_email)]


class NotifyChannel(Strict):
    """Which events a channel receives (failure, promoted, not_promoted, teardown, deletion)."""

    events: list[NotifyEvent] = Field(min_length=1)

    @field_validator("events")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({e for e in v if v.count(e) > 1})
        if dup:
            raise ValueError(f"listed twice: {', '.join(dup)}")
        return v


class SnsChannel(NotifyChannel):
    """Publish to an Amazon SNS topic through an Airflow AWS connection."""

    topic_arn: str
    aws_conn_id: ConnId | None = Field(None, description="default: dataset_group.aws_conn_id")

    @field_validator("topic_arn")
    @classmethod
    def _arn(cls, v: str) -> str:
        if v.endswith(".fifo"):
            raise ValueError(f"{v}: FIFO topics need a message group id, which alerts do not set; use a standard topic")
        if not SNS_TOPIC_RE.match(v):
            raise ValueError(f"{v!r} is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)")
        return v

    @property
    def region(self) -> str:
        return self.topic_arn.split(":")[3]


class SmtpChannel(NotifyChannel):
    """Send an email through an Airflow SMTP connection (host, port, login and password live there)."""

    to: list[Email] = Field(min_length=1)
    from_email: Email | None = Field(None, description="default: the connection's from_email")
    smtp_conn_id: ConnId = "smtp_default"

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Notifications(Strict):
    """Alerts: each channel lists the events it receives."""

    sns: list[SnsChannel] = Field(default_factory=list)
    smtp: list[SmtpChannel] = Field(default_factory=list)

    def channels(self, event: str) -> list[SnsChannel | SmtpChannel]:
        return [c for c in (*self.sns, *self.smtp) if event in c.events]


class Costs(Strict):
    """Prices for the retrain run's cost estimate: one price per unit (no volume tiers, no free tier)."""

    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    training_hour: float = Field(0.24, ge=0, description="per training hour (DescribeSolutionVersion trainingHours)")
    tps_hour: float = Field(0.20, ge=0, description="per TPS-hour of a campaign's minProvisionedTPS")
    data_ingestion_gb: float = Field(0.05, ge=0, description="per GB of data imported")


class PipelineConfig(Strict):
    """The whole file. ``source_file`` is set by load_config (not a YAML key)."""

    dataset_group: DatasetGroup
    datasets: Datasets
    solutions: list[Solution] = Field(min_length=1)
    campaigns: list[Campaign] = Field(default_factory=list)
    filters: list[Filter] = Field(default_factory=list)
    event_tracker: EventTracker | None = None
    batch_jobs: list[BatchJob] = Field(default_factory=list)
    schedules: Schedules = Schedules()
    notifications: Notifications = Notifications()
    costs: Costs = Costs()
    source_file: str | None = Field(None, exclude=True)

    def solution(self, name: str) -> Solution:
        return next(s for s in self.solutions if s.name == name)

    def filter(self, name: str) -> Filter:
        return next(f for f in self.filters if f.name == name)


# --------------------------------------------------------------------------- loading


def env_prefixes() -> tuple[str, ...]:
    """Prefixes of the environment variables a config may expand: :data:`ENV_PREFIXES` plus the
    comma-separated ones in ``PERSONALIZE_CONFIG_ENV_PREFIXES``."""
    extra = os.environ.get("PERSONALIZE_CONFIG_ENV_PREFIXES", "")
    return ENV_PREFIXES + tuple(p.strip() for p in extra.split(",") if p.strip())


@dataclasses.dataclass
class _Expansion:
    """What ``_expand_env`` did: errors, and which keys took which variables' values (to keep them out of
    messages)."""

    errors: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    used: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # key path -> variables expanded into it
    values: dict[str, str] = dataclasses.field(default_factory=dict)  # variable -> its expanded value
    refused: set[str] = dataclasses.field(default_factory=set)  # key paths whose ${VAR} was not expanded

    def redact(self, msg: str) -> str:
        """``msg`` with every expanded value replaced by the ``${VAR}`` reference it came from."""
        for var, value in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            if value:
                msg = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", f"${{{var}}}", msg)
        return msg


def _expand_env(node: Any, loc: str, exp: _Expansion) -> Any:
    """Replace ${VAR} / ${VAR:-default} in every string. Only variables named with an allowed prefix
    (:func:`env_prefixes`) are read; another variable, or an unset one without default, is an error naming
    the key and the variable, never a value."""
    if isinstance(node, dict):
        return {k: _expand_env(v, f"{loc}.{k}" if loc else str(k), exp) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, f"{loc}[{i}]", exp) for i, v in enumerate(node)]
    if isinstance(node, str):
        prefixes = env_prefixes()

        def sub(m: re.Match) -> str:
            var = m.group(1)
            if not var.startswith(prefixes):
                exp.refused.add(loc)
                exp.errors.append((loc, f"${{{var}}}: a config may only expand environment variables named "
                                        f"{', '.join(p + '*' for p in prefixes)} (allow more prefixes with "
                                        "PERSONALIZE_CONFIG_ENV_PREFIXES)"))  # fmt: skip
                return m.group(0)
            val = os.environ.get(var, m.group(2))
            if val is None:
                exp.refused.add(loc)
                exp.errors.append((loc, f"environment variable {var} is not set (or use ${{{var}:-default}})"))
                return m.group(0)
            if var in os.environ:
                exp.used.setdefault(loc, []).append(var)
                exp.values[var] = val
            return val

        return ENV_RE.sub(sub, node)
    return node


_UNION_TAGS = {"str", "float", "int", "bool", "constrained-str"}


def _loc(parts: tuple) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not (str(p).startswith(("function-", "literal[", "list[", "dict[")) or p in _UNION_TAGS):
            out += f".{p}" if out else str(p)
    return out


def _reason(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    return msg.removeprefix("Value error, ")


def _without_values(loc: str, msg: str, exp: _Expansion) -> tuple[str, str]:
    """An error as shown to people: no value that came from the environment, and the variables named."""
    msg = exp.redact(msg)
    if loc in exp.used:
        msg += f" (value from {', '.join(f'${{{v}}}' for v in dict.fromkeys(exp.used[loc]))}, not shown)"
    return loc, msg


def _names(items: Any) -> list[str]:
    return [i.get("name") for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _reference_errors(raw: dict) -> list[tuple[str, str]]:
    """Cross references and uniqueness, checked on the raw mapping so they add to structural errors."""
    errs: list[tuple[str, str]] = []
    solutions = {s.get("name"): s for s in raw.get("solutions") or [] if isinstance(s, dict)}
    filters = _names(raw.get("filters"))
    known_s = ", ".join(str(n) for n in solutions) or "none"
    known_f = ", ".join(str(n) for n in filters) or "none"
    for section in ("solutions", "campaigns", "filters", "batch_jobs"):
        names = _names(raw.get(section))
        for i, n in enumerate(names):
            if n is not None and names.index(n) != i:
                errs.append((f"{section}[{i}].name", f"duplicate name {n!r}"))
    for kind in ("campaigns", "batch_jobs"):
        for i, item in enumerate(raw.get(kind) or []):
            if not isinstance(item, dict):
                continue
            sol = item.get("solution")
            if sol is not None and sol not in solutions:
                errs.append((f"{kind}[{i}].solution", f"unknown solution {sol!r} (known: {known_s})"))
            flt = item.get("filter")
            if flt is not None and flt not in filters:
                errs.append((f"{kind}[{i}].filter", f"unknown filter {flt!r} (known: {known_f})"))
            base = (item.get("gate") or {}).get("beat_baseline") if isinstance(item.get("gate"), dict) else None
            if base is not None:
                if base not in solutions:
                    errs.append((f"{kind}[{i}].gate.beat_baseline", f"unknown solution {base!r} (known: {known_s})"))
                elif not str(solutions[base].get("recipe", "")).endswith("aws-popularity-count"):
                    errs.append(
                        (
                            f"{kind}[{i}].gate.beat_baseline",
                            f"solution {base!r} is not a popularity-count baseline",
                        )
                    )
    datasets = raw.get("datasets") if isinstance(raw.get("datasets"), dict) else {}
    for kind, required in REQUIRED_FIELDS.items():
        ds = datasets.get(kind)
        if isinstance(ds, dict) and isinstance(ds.get("fields"), list):
            names = {f.get("name") for f in ds["fields"] if isinstance(f, dict)}
            for r in required:
                if r not in names:
                    errs.append((f"datasets.{kind}.fields", f"{kind} needs a {r} field"))
    for i, f in enumerate(raw.get("filters") or []):
        if not isinstance(f, dict) or not isinstance(f.get("expression"), str):
            continue
        try:
            parsed = parse_filter_expression(f["expression"])
        except FilterExpressionError:
            continue  # reported by the model
        for ds_name, fld in parsed.fields:
            kind = None if ds_name == "Interactions" else BY_FILTER_NAME.get(ds_name)
            ds = datasets.get(kind) if kind else None
            if kind and not isinstance(ds, dict):
                errs.append((f"filters[{i}].expression", f"uses {ds_name}.{fld} but there is no {kind} dataset"))
            elif kind and fld not in {x.get("name") for x in ds.get("fields") or [] if isinstance(x, dict)}:
                errs.append((f"filters[{i}].expression", f"{ds_name}.{fld}: {kind} dataset has no field {fld}"))
    return errs


def load_config(path: str | os.PathLike) -> PipelineConfig:
    """Load, expand ${VAR}s, validate and cross-check ``path``; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(path, [("", f"cannot read: {e.strerror or e}")]) from None
    except yaml.YAMLError as e:
        raise ConfigError(path, [("", f"not valid YAML: {e}")]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, [("", "the top level must be a mapping")])
    exp = _Expansion()
    raw = _expand_env(raw, "", exp)
    cfg, found = None, []
    try:
        cfg = PipelineConfig.model_validate(raw, context={"base_dir": str(path.parent.resolve())})
    except ValidationError as e:
        found += [(_loc(err["loc"]), _reason(err)) for err in e.errors()]
    found += _reference_errors(raw)
    errors = exp.errors + [_without_values(loc, msg, exp) for loc, msg in found if loc not in exp.refused]
    if errors:
        raise ConfigError(path, errors)
    return cfg.model_copy(update={"source_file": str(path)})

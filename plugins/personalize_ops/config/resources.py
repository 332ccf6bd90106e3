"""The Personalize resources a config declares: dataset group, solutions, campaigns and their gate, filters,
event tracker, batch jobs, schedules. References between them are checked in ``references.py``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from personalize_ops.config.aws_shapes import request_member_problems
from personalize_ops.config.base import ResourceName, Strict, _name, _resolve
from personalize_ops.filter_expression import FilterExpressionError, parse_filter_expression
from personalize_ops.metrics.names import DEFAULT_GATE_METRIC, METRIC_NAMES

RECIPES = {
    "aws-user-personalization", "aws-user-personalization-v2", "aws-sims", "aws-similar-items",
    "aws-personalized-ranking", "aws-personalized-ranking-v2", "aws-popularity-count", "aws-trending-now",
    "aws-next-best-action", "aws-item-affinity", "aws-item-attribute-affinity", "aws-semantic-similarity",
}  # fmt: skip
RECIPE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:personalize:::recipe/[A-Za-z0-9\-_]+$")
CRON_PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@continuous"}
CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")


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

    @field_validator("solution_config")
    @classmethod
    def _solution_config(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        problems = request_member_problems("CreateSolution", "solutionConfig", v) if v is not None else []
        if problems:
            raise ValueError("; ".join(problems))
        return v

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


#: Per-user metrics the backtest computes besides the GetSolutionMetrics ones (evaluation/metrics.py).
BACKTEST_METRICS = (
    "recall_at_5", "recall_at_10", "recall_at_25", "hit_rate_at_5", "hit_rate_at_10", "hit_rate_at_25",
)  # fmt: skip
DURATION_RE = re.compile(r"^([1-9][0-9]*)([dhm])$")
_DURATION_SECONDS = {"d": 86400, "h": 3600, "m": 60}


class Holdout(Strict):
    """The backtest's out-of-time holdout: the cut C and the users sampled after it (docs/gate.md)."""

    window: str | None = Field(None, description="newest span of events held out, e.g. 7d, 36h; default 7d")
    share: float | None = Field(None, gt=0.0, lt=1.0, description="or: the newest share of events, e.g. 0.1")
    sample_size: int = Field(1000, ge=2, le=100_000, description="users scored by every model")
    event_types: list[str] | None = Field(
        None, min_length=1, description="event types that count as relevant after C (default: every type)"
    )

    @field_validator("window")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None and not DURATION_RE.match(v):
            raise ValueError(f"window {v!r}: use a whole number of days, hours or minutes, e.g. 7d, 36h, 90m")
        return v

    @model_validator(mode="after")
    def _one_cut(self):
        if self.window is not None and self.share is not None:
            raise ValueError("give either window or share, not both")
        return self

    @property
    def window_seconds(self) -> int | None:
        """The window in seconds (7 days when neither window nor share is set); None when ``share`` is."""
        if self.share is not None:
            return None
        number, unit = DURATION_RE.match(self.window or "7d").groups()
        return int(number) * _DURATION_SECONDS[unit]


class Gate(Strict):
    """Champion/challenger gate (docs/gate.md).

    ``evaluation: backtest`` scores champion, challenger and baseline on the same out-of-time holdout and
    promotes when the lower bound of the paired bootstrap interval of the relative improvement of ``metric`` is
    at least ``min_improvement``; ``offline_metrics`` compares each version's own GetSolutionMetrics numbers.
    """

    evaluation: Literal["backtest", "offline_metrics"] = "backtest"
    metric: str = DEFAULT_GATE_METRIC
    min_improvement: float = Field(0.0, ge=0.0)
    beat_baseline: str | None = None
    on_fail: Literal["warn", "fail"] = "fail"
    holdout: Holdout = Holdout()
    confidence_level: float = Field(0.99, ge=0.5, lt=1.0, description="two-sided bootstrap interval")
    resamples: int = Field(5000, ge=1000, le=100_000, description="paired bootstrap resamples")
    seed: int = Field(42, ge=0, description="seeds the user sample and the bootstrap")
    refit: Literal["full", "none"] = "full"
    leakage: Literal["shrink", "refuse"] = "shrink"
    scoring: Literal["auto", "batch", "runtime"] = "auto"
    runtime_max_users: int = Field(500, ge=0, description="auto: GetRecommendations up to this many users")
    filter: str | None = Field(None, description="filter applied to every model's recommendations")
    filter_values: dict[str, str] = Field(default_factory=dict)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in METRIC_NAMES and v not in BACKTEST_METRICS:
            known = ", ".join((*METRIC_NAMES, *BACKTEST_METRICS))
            raise ValueError(f"unknown metric {v!r} (known: {known})")
        return v

    @model_validator(mode="after")
    def _metric_fits_mode(self):
        if self.evaluation == "offline_metrics" and self.metric not in METRIC_NAMES:
            raise ValueError(f"metric {self.metric!r} exists only in evaluation: backtest (GetSolutionMetrics "
                             f"reports {', '.join(METRIC_NAMES)})")  # fmt: skip
        if self.evaluation == "backtest" and self.metric == "coverage":
            raise ValueError("metric 'coverage' is not a per-user metric, so the backtest cannot test it; "
                             "use e.g. normalized_discounted_cumulative_gain_at_10")  # fmt: skip
        return self



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
    retrain: str | None = "@weekly"  # the full cadence: FULL imports, FULL trainings, the gate
    batch_export: str | None = "@daily"
    incremental: str | None = Field(None, description="the incremental cadence (new events, UPDATE trainings); "
                                    "off by default, e.g. @daily")  # fmt: skip

    @field_validator("retrain", "batch_export", "incremental")
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

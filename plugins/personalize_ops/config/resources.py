"""The Personalize resources a config declares: dataset group, solutions, campaigns and their gate, filters,
event tracker, batch jobs, schedules. References between them are checked in ``references.py``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

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
Metric = Literal[METRIC_NAMES]  # type: ignore[valid-type]
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


class Gate(Strict):
    """Champion/challenger gate: promote only if ``metric`` improves by ``min_improvement`` (relative)."""

    metric: Metric = DEFAULT_GATE_METRIC
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

"""The Personalize resources a config declares: dataset group, solutions, campaigns and their gate, filters,
event tracker, batch jobs, schedules. References between them are checked in ``references.py``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from personalize_ops.config.aws_shapes import request_member_problems
from personalize_ops.config.base import NAME_RULE, ResourceName, Strict, _name, _resolve
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
AUTO_TRAINING_RATE = re.compile(r"rate\((\d+) days?\)")


class Solution(Strict):
    """A Personalize solution (a recipe and its settings); each retrain run trains a new version of it."""

    name: ResourceName = Field(description="the solution's name, unique in the file; " + NAME_RULE,
                               examples=["shop-user-personalization"])
    recipe: str = Field(
        description="a recipe name (aws-user-personalization, aws-sims, aws-popularity-count, ...) or a full "
        "recipe ARN (arn:aws:personalize:::recipe/...)",
        examples=["aws-user-personalization"],
    )
    training_mode: Literal["FULL", "UPDATE"] = Field(
        "FULL", description="FULL trains on all data; UPDATE (user-personalization only) refreshes new items"
    )
    event_type: str | None = Field(
        None, description="train only on interactions of this EVENT_TYPE (CreateSolution eventType)",
        examples=["purchase"],
    )
    event_value_threshold: float | None = Field(
        None, description="train only on interactions whose EVENT_VALUE is at least this (solutionConfig "
        "eventValueThreshold)", examples=[3.5],
    )
    hyperparameters: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="the recipe's hyperparameters (solutionConfig algorithmHyperParameters)",
        examples=[{"hidden_dimension": 64}],
    )
    perform_auto_training: bool = Field(
        False, description="let Personalize retrain on its own schedule too (off: the retrain DAG trains)"
    )
    auto_training_schedule: str | None = Field(
        None, description="with perform_auto_training: rate(N days), N from 1 to 30 (AWS's default: rate(7 days))",
        examples=["rate(7 days)"],
    )
    solution_config: dict[str, Any] | None = Field(
        None, description="passed through to CreateSolution's solutionConfig as written (checked against botocore's "
        "shape at load time)", examples=[{"autoMLConfig": {"metricName": "precision_at_25"}}],
    )

    _n = field_validator("name")(_name)

    @field_validator("auto_training_schedule")
    @classmethod
    def _rate(cls, v: str | None) -> str | None:
        match = AUTO_TRAINING_RATE.fullmatch(v) if v is not None else None
        if v is not None and not (match and 1 <= int(match.group(1)) <= 30):
            raise ValueError(f"auto_training_schedule {v!r}: use rate(N days) with N from 1 to 30, e.g. rate(7 days)")
        return v

    @model_validator(mode="after")
    def _auto_training(self):
        if self.auto_training_schedule and not self.perform_auto_training:
            raise ValueError("auto_training_schedule needs perform_auto_training: true")
        if self.perform_auto_training and self.training_mode != "FULL":
            raise ValueError("perform_auto_training: the pipeline trains nothing for this solution (AWS does, with "
                             "FULL trainings), so training_mode must stay FULL")  # fmt: skip
        return self

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

    window: str | None = Field(None, description="newest span of events held out, e.g. 7d, 36h; default 7d",
                               examples=["7d"])
    share: float | None = Field(None, gt=0.0, lt=1.0, description="or: the newest share of events, e.g. 0.1",
                                examples=[0.1])
    sample_size: int = Field(1000, ge=2, le=100_000, description="users scored by every model")
    event_types: list[str] | None = Field(
        None, min_length=1, description="event types that count as relevant after C (default: every type)",
        examples=[["purchase"]],
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

    evaluation: Literal["backtest", "offline_metrics"] = Field(
        "backtest", description="backtest: every model scores the same out-of-time holdout; offline_metrics: each "
        "version's own GetSolutionMetrics numbers (docs/gate.md)"
    )
    metric: str = Field(
        DEFAULT_GATE_METRIC, description="the metric compared: a GetSolutionMetrics name or, in backtest, one of "
        + ", ".join(BACKTEST_METRICS)
    )
    min_improvement: float = Field(
        0.0, ge=0.0, description="relative margin the challenger must clear (0.02: 2% better)", examples=[0.02]
    )
    beat_baseline: str | None = Field(
        None, description="name of a popularity-count solution every promoted version must beat",
        examples=["shop-popularity"],
    )
    on_fail: Literal["warn", "fail"] = Field(
        "fail", description="when the challenger is not promoted: fail the task, or log a warning and go on"
    )
    holdout: Holdout = Field(Holdout(), description="the backtest's holdout")
    confidence_level: float = Field(0.99, ge=0.5, lt=1.0, description="two-sided bootstrap interval")
    resamples: int = Field(5000, ge=1000, le=100_000, description="paired bootstrap resamples")
    seed: int = Field(42, ge=0, description="seeds the user sample and the bootstrap")
    refit: Literal["full", "none"] = Field(
        "full", description="full: after a backtest promotion train once more on all data and deploy that; none: "
        "deploy the backtest model"
    )
    leakage: Literal["shrink", "refuse"] = Field(
        "shrink", description="when the champion has seen part of the holdout: move the cut past its newest event, "
        "or refuse the comparison"
    )
    scoring: Literal["auto", "batch", "runtime"] = Field(
        "auto", description="how models score the sample: batch inference jobs, GetRecommendations on the campaign, "
        "or auto (the cheaper one)"
    )
    runtime_max_users: int = Field(500, ge=0, description="auto: GetRecommendations up to this many users")
    filter: str | None = Field(None, description="filter applied to every model's recommendations",
                               examples=["in-stock"])
    filter_values: dict[str, str] = Field(
        default_factory=dict, description="values of the filter's $placeholders", examples=[{"GENRE": '"shoes"'}]
    )

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
    """A campaign serving the promoted version of a solution, and the gate that decides the promotion."""

    name: ResourceName = Field(description="the campaign's name; " + NAME_RULE, examples=["shop-for-you"])
    solution: str = Field(description="name of a solution in this file", examples=["shop-user-personalization"])
    min_provisioned_tps: int = Field(1, ge=1, description="minimum provisioned transactions per second (billed)")
    gate: Gate = Field(Gate(), description="the champion/challenger gate")

    _n = field_validator("name")(_name)


class Filter(Strict):
    """A Personalize filter; its expression is parsed at load time and its fields checked against the datasets."""

    name: ResourceName = Field(description="the filter's name; " + NAME_RULE, examples=["in-category"])
    expression: str = Field(
        description="a Personalize filter expression",
        examples=['INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)'],
    )

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
    """An event tracker for real-time events (PutEvents)."""

    name: ResourceName = Field(description="the tracker's name; " + NAME_RULE, examples=["shop-events"])

    _n = field_validator("name")(_name)


class BatchJob(Strict):
    """A batch-inference export run by the batch-export DAG: recommendations for many users, written as a file."""

    name: ResourceName = Field(description="the job's name; " + NAME_RULE, examples=["shop-daily-picks"])
    solution: str = Field(description="name of a solution in this file (its promoted version is used)",
                          examples=["shop-user-personalization"])
    num_results: int = Field(25, ge=1, le=500, description="recommendations per user")
    filter: str | None = Field(None, description="name of a filter in this file", examples=["in-category"])
    filter_values: dict[str, str] = Field(
        default_factory=dict, description="values of the filter's $placeholders", examples=[{"CATEGORY": '"shoes"'}]
    )
    users: Literal["interactions"] | list[str] | str = Field(
        "interactions", description="whose recommendations: every user in the interactions, a list of user ids, "
        "or an s3:// file with one user id per line", examples=[["u1", "u2"]],
    )
    output_format: Literal["csv", "parquet"] = Field("csv", description="format of the exported file")
    destination: str = Field(description="s3:// folder (or local folder) the export is written to",
                             examples=["s3://my-bucket/exports/"])

    _n = field_validator("name")(_name)
    _p = field_validator("destination")(_resolve)

    @field_validator("users")
    @classmethod
    def _users(cls, v):
        if isinstance(v, str) and v != "interactions" and not v.startswith("s3://"):
            raise ValueError("users must be 'interactions', a list of user ids or an s3:// path")
        return v


class Schedules(Strict):
    """When the scheduled DAGs run: an Airflow preset or a 5-field cron expression; null: only when triggered."""

    retrain: str | None = Field("@weekly", description="the retrain DAG's schedule: the full cadence (FULL imports, "
                                "FULL trainings, the gate)", examples=["0 3 * * 1"])
    batch_export: str | None = Field("@daily", description="the batch-export DAG's schedule")
    experiment_report: str | None = Field("@daily", description="the experiment-report DAG's schedule")

    incremental: str | None = Field(None, description="the incremental cadence (new events, UPDATE trainings); "
                                    "off by default", examples=["@daily"])

    @field_validator("retrain", "batch_export", "experiment_report", "incremental")
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
    """The Personalize dataset group this pipeline owns, and where its files go."""

    name: ResourceName = Field(
        description="the dataset group's name, unique across the deployment's pipelines; " + NAME_RULE,
        examples=["personalize-demo"],
    )
    aws_conn_id: str = Field("aws_default", description="the Airflow AWS connection used for Personalize and S3")
    region: str = Field("us-east-1", description="AWS region of the dataset group")
    bucket: str = Field(min_length=3, description="S3 bucket for staged data, exports and history",
                        examples=["my-personalize-bucket"])
    prefix: str = Field("", description="key prefix in the bucket for everything this pipeline writes",
                        examples=["shop"])
    role_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="IAM role Personalize assumes to read and write the bucket (README, IAM)",
        examples=["arn:aws:iam::123456789012:role/PersonalizeS3Access"],
    )

    _n = field_validator("name")(_name)

"""The ``metric_attribution:`` section: what Personalize reports per event attribution source, and where.

One metric attribution per dataset group (an AWS rule): its metrics (an event type and ``SAMPLECOUNT()`` or
``SUM(Items.COLUMN)`` / ``SUM(Interactions.COLUMN)``, at most 10), and the S3 prefix its reports go to (default
``s3://<bucket>/<prefix>/attribution/<group>/``). personalize_retrain creates it and keeps it in sync with this
section (pipeline/attribution.py).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from personalize_ops.config.base import ResourceName, Strict, _name
from personalize_ops.value_checks import full_match, repeated

#: The functions AWS documents for a metric ("Creating an Amazon Personalize metric attribution").
EXPRESSION_RE = re.compile(r"^(SAMPLECOUNT\(\)|SUM\((Items|Interactions)\.[A-Z][A-Z0-9_]*\))$")
S3_URL_RE = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?")
MAX_METRICS = 10


class AttributionMetric(Strict):
    """One metric Personalize computes per event source: a count or a sum over the events of one type."""

    name: str = Field(min_length=1, max_length=256, description="the metric's name in reports (metricName)",
                      examples=["CLICKS"])
    event_type: str = Field(min_length=1, max_length=256, description="the EVENT_TYPE of the events it counts",
                            examples=["click"])
    expression: str = Field(description="SAMPLECOUNT() or SUM(Items.COLUMN) / SUM(Interactions.COLUMN)",
                            examples=["SUM(Items.PRICE)"])

    _e = field_validator("expression")(full_match(EXPRESSION_RE, (
        "{v!r} must be SAMPLECOUNT() or SUM(Items.COLUMN) / SUM(Interactions.COLUMN) with the column in capitals, "
        "e.g. SUM(Items.PRICE)")))  # fmt: skip

    def request(self) -> dict[str, str]:
        """The MetricAttribute of CreateMetricAttribution / UpdateMetricAttribution."""
        return {"eventType": self.event_type, "metricName": self.name, "expression": self.expression}


class MetricAttribution(Strict):
    """The dataset group's metric attribution: online metrics per event source, published to S3 (one per group)."""

    name: ResourceName | None = Field(None, description="default: <dataset group>-attribution",
                                      examples=["shop-attribution"])
    metrics: list[AttributionMetric] = Field(min_length=1, max_length=MAX_METRICS,
                                             description="the metrics to compute (1 to 10)")
    s3_output: str | None = Field(None, description="s3:// prefix of the reports; default the pipeline's area",
                                  examples=["s3://my-bucket/attribution/"])
    role_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", description="default: dataset_group.role_arn",
        examples=["arn:aws:iam::123456789012:role/PersonalizeS3"],
    )

    @field_validator("name")
    @classmethod
    def _n(cls, v: str | None) -> str | None:
        return None if v is None else _name(v)

    _s3 = field_validator("s3_output")(full_match(S3_URL_RE, "{v!r} must be an s3://bucket/prefix/ URL"))

    @model_validator(mode="after")
    def _unique(self):
        dup = repeated(m.name for m in self.metrics)
        if dup:
            raise ValueError(f"metric names must be unique; listed twice: {', '.join(dup)}")
        return self

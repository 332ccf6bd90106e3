"""Alert channels (SNS topics, SMTP email) and the prices of the retrain run's cost estimate."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from personalize_ops.config.base import Strict

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

    events: list[NotifyEvent] = Field(min_length=1, description="the events this channel receives")

    @field_validator("events")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({e for e in v if v.count(e) > 1})
        if dup:
            raise ValueError(f"listed twice: {', '.join(dup)}")
        return v


class SnsChannel(NotifyChannel):
    """Publish to an Amazon SNS topic through an Airflow AWS connection."""

    topic_arn: str = Field(description="a standard (not FIFO) SNS topic ARN",
                           examples=["arn:aws:sns:us-east-1:123456789012:personalize-alerts"])
    aws_conn_id: ConnId | None = Field(None, description="default: dataset_group.aws_conn_id",
                                       examples=["aws_alerts"])

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

    to: list[Email] = Field(min_length=1, description="recipients (one address or a list)",
                            examples=[["ml-team@example.com"]])
    from_email: Email | None = Field(None, description="default: the connection's from_email",
                                     examples=["airflow@example.com"])
    smtp_conn_id: ConnId = "smtp_default"

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Notifications(Strict):
    """Alerts: each channel lists the events it receives."""

    sns: list[SnsChannel] = Field(default_factory=list, description="Amazon SNS topics")
    smtp: list[SmtpChannel] = Field(default_factory=list, description="email through SMTP connections")

    def channels(self, event: str) -> list[SnsChannel | SmtpChannel]:
        return [c for c in (*self.sns, *self.smtp) if event in c.events]


class Costs(Strict):
    """Prices for the retrain run's cost estimate: one price per unit (no volume tiers, no free tier)."""

    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code the prices are in")
    training_hour: float = Field(0.24, ge=0, description="per training hour (DescribeSolutionVersion trainingHours)")
    tps_hour: float = Field(0.20, ge=0, description="per TPS-hour of a campaign's minProvisionedTPS")
    data_ingestion_gb: float = Field(0.05, ge=0, description="per GB of data imported")

"""The ``experiments:`` config section: online A/B experiments between campaigns (a typed, strict model).

An experiment names two or more variants (each served by a campaign; the first is the control, usually the
champion), how traffic is split between them, the primary metric and guardrails, when it may end and what to do
then. ``Experiment`` checks everything that one experiment can check alone; ``reference_problems`` checks what
needs the rest of the config (campaign names, unique experiment names), as the pipeline config's ``Problem``s
(``((section, index, key...), reason)``). Imports only pydantic and personalize_ops.value_checks: the DAG files may
import this at parse time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from personalize_ops.value_checks import full_match, repeated

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}$")
EVENT_TYPE_RE = re.compile(r"^[\x20-\x7E]{1,256}$")  # printable ASCII; PutEvents allows 1..256 characters
FIELD_RE = re.compile(r"^(eventValue|properties\.[A-Za-z_][A-Za-z0-9_]*)$")
SPLIT_TOLERANCE = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_name = full_match(NAME_RE, "name {v!r} must be 1-63 letters, digits, '-' or '_', starting with a letter or digit")
_event_type = full_match(EVENT_TYPE_RE, "event type {v!r} must be 1-256 printable ASCII characters (as PutEvents "
                                        "sends it)")  # fmt: skip


class CtrMetric(_Strict):
    """Click-through: clicks on a shown recommendation list (events of ``click_event_type`` carrying that list's
    ``recommendationId``) per list shown. Unit of analysis: the user (ratio of per-user sums)."""

    kind: Literal["ctr"] = Field(description="click-through rate")
    click_event_type: str = Field("click", description="the EVENT_TYPE of a click", examples=["click"])

    _e = field_validator("click_event_type")(_event_type)

    @property
    def label(self) -> str:
        return "ctr" if self.click_event_type == "click" else f"ctr:{self.click_event_type}"


class ConversionMetric(_Strict):
    """Conversion: the share of exposed users with at least one ``event_type`` event attributed to the variant."""

    kind: Literal["conversion"] = Field(description="share of exposed users who convert")
    event_type: str = Field(description="the EVENT_TYPE of a conversion", examples=["purchase"])

    _e = field_validator("event_type")(_event_type)

    @property
    def label(self) -> str:
        return f"conversion:{self.event_type}"


class RevenueMetric(_Strict):
    """Revenue per exposed user: the sum of ``field`` (``eventValue`` or ``properties.<key>``) over the
    ``event_type`` events attributed to the variant."""

    kind: Literal["revenue"] = Field(description="revenue per exposed user")
    event_type: str = Field(description="the EVENT_TYPE that carries revenue", examples=["purchase"])
    field: str = Field("eventValue", description="eventValue or properties.<key>", examples=["properties.price"])

    _e = field_validator("event_type")(_event_type)

    _f = field_validator("field")(full_match(
        FIELD_RE, "field {v!r} must be 'eventValue' or 'properties.<key>' (a key of the event's properties)"))

    @property
    def label(self) -> str:
        return f"revenue:{self.event_type}" + ("" if self.field == "eventValue" else f":{self.field}")


Metric = Annotated[CtrMetric | ConversionMetric | RevenueMetric, Field(discriminator="kind")]


class Variant(_Strict):
    """One arm: the campaign that serves it and its share of the users (``traffic``; default: an equal share)."""

    name: str = Field(description="the variant's name (and attribution source suffix)", examples=["challenger"])
    campaign: str = Field(min_length=1, description="name of a campaign in this config's campaigns",
                          examples=["shop-challenger"])
    traffic: float | None = Field(None, gt=0, le=1, description="share of users, e.g. 0.5; all or none set",
                                  examples=[0.5])

    _n = field_validator("name")(_name)


class Guardrail(_Strict):
    """A metric a winner must not degrade by more than ``max_degradation`` (relative: 0.05 = 5% worse)."""

    metric: Metric = Field(description="the guarded metric (ctr, conversion or revenue)")
    max_degradation: float = Field(ge=0, lt=1, description="largest relative loss a winner may have",
                                   examples=[0.05])


class Experiment(_Strict):
    """One online experiment. Variant 1 is the control (the champion, or the campaign serving today): every other
    variant is compared with it. ``name`` is the experiment id: users are assigned by a hash of it, so renaming a
    running experiment reshuffles its users."""

    name: str = Field(description="the experiment id (users are assigned by a hash of it)",
                      examples=["up-vs-popularity"])
    variants: list[Variant] = Field(min_length=2, max_length=10, description="the arms; the first is the control")
    primary_metric: Metric = Field(description="the metric that decides the winner")
    guardrails: list[Guardrail] = Field(default_factory=list, description="metrics a winner must not degrade")
    minimum_effect: float = Field(
        0.05, gt=0, lt=1, description="relative difference below which variants count as equal (0.05 = 5%)"
    )
    min_users_per_variant: int = Field(1000, ge=1, description="no verdict before each variant has this many users")
    min_days: int = Field(7, ge=0, description="no verdict before this many days (covers weekly cycles)")
    max_days: int = Field(28, ge=1, description="after this many days without a winner: no difference")
    alpha: float = Field(0.05, gt=0, le=0.2, description="error rate of a verdict, valid under daily looks")
    start_date: date | None = Field(None, description="first day of traffic; default: the first day with events",
                                    examples=["2026-01-05"])
    on_end: Literal["report", "promote"] = Field("report", description="at a final verdict: report, or promote "
                                                 "the winner's solution version to promote_to")
    promote_to: str | None = Field(None, description="the main campaign that gets the winner's solution version",
                                   examples=["shop-user-personalization"])

    _n = field_validator("name")(_name)

    @model_validator(mode="after")
    def _consistent(self):
        dup = repeated(v.name for v in self.variants)
        if dup:
            raise ValueError(f"variant names must be unique; listed twice: {', '.join(dup)}")
        given = [v.traffic for v in self.variants if v.traffic is not None]
        if given and len(given) != len(self.variants):
            raise ValueError("set traffic on every variant or on none (none = an equal split)")
        if given and not math.isclose(sum(given), 1.0, abs_tol=SPLIT_TOLERANCE):
            shares = " + ".join(f"{t:g}" for t in given)
            raise ValueError(f"traffic must sum to 1: {shares} = {sum(given):g}")
        if self.max_days < self.min_days:
            raise ValueError(f"max_days ({self.max_days}) is shorter than min_days ({self.min_days})")
        if self.on_end == "promote" and not self.promote_to:
            raise ValueError("on_end: promote needs promote_to (the campaign that gets the winner's version)")
        labels = [self.primary_metric.label, *(g.metric.label for g in self.guardrails)]
        dup = sorted({m for m in labels if labels.count(m) > 1})
        if dup:
            raise ValueError(f"a metric is both primary and guardrail, or a guardrail twice: {', '.join(dup)}")
        return self

    @property
    def control(self) -> Variant:
        return self.variants[0]

    @property
    def split(self) -> dict[str, float]:
        """Variant name -> share of users (equal shares when traffic is not set)."""
        if self.variants[0].traffic is None:
            return {v.name: 1.0 / len(self.variants) for v in self.variants}
        return {v.name: float(v.traffic) for v in self.variants}  # type: ignore[arg-type]

    @property
    def metrics(self) -> list[CtrMetric | ConversionMetric | RevenueMetric]:
        """The primary metric, then the guardrails' metrics."""
        return [self.primary_metric, *(g.metric for g in self.guardrails)]


#: A problem at a key path, as the pipeline config reports it (``personalize_ops.config.errors.Problem``).
Problem = tuple[tuple[str | int, ...], str]


def _fields(item: Any) -> tuple[Any, list[Any], Any]:
    """(name, variant campaigns, promote_to) of a validated Experiment or of a raw mapping (possibly broken)."""
    if isinstance(item, Experiment):
        return item.name, [v.campaign for v in item.variants], item.promote_to
    if not isinstance(item, Mapping):
        return None, [], None
    variants = item.get("variants") if isinstance(item.get("variants"), list) else []
    return (
        item.get("name"),
        [v.get("campaign") if isinstance(v, Mapping) else None for v in variants],
        item.get("promote_to"),
    )


def reference_problems(experiments: Any, campaigns: Iterable[str], section: str = "experiments") -> list[Problem]:
    """Every reference the model alone cannot check, as ``((section, i, key...), reason)``: unknown campaigns of
    variants and of ``promote_to``, a ``promote_to`` that serves a challenger, duplicate experiment names. Takes
    validated ``Experiment``s or the raw list (entries that fail validation are still checked as far as they go)."""
    if not isinstance(experiments, Sequence) or isinstance(experiments, str):
        return []
    known = list(dict.fromkeys(campaigns))
    known_txt = ", ".join(known) or "none"
    found: list[Problem] = []
    seen: dict[Any, int] = {}
    for i, item in enumerate(experiments):
        name, variant_campaigns, target = _fields(item)
        if isinstance(name, str) and name in seen:
            found.append(((section, i, "name"), f"duplicate experiment name {name!r} (also {section}[{seen[name]}])"))
        seen.setdefault(name, i)
        for j, camp in enumerate(variant_campaigns):
            if isinstance(camp, str) and camp not in known:
                found.append(
                    ((section, i, "variants", j, "campaign"), f"unknown campaign {camp!r} (known: {known_txt})")
                )
        if isinstance(target, str):
            if target not in known:
                found.append(((section, i, "promote_to"), f"unknown campaign {target!r} (known: {known_txt})"))
            if target in variant_campaigns[1:]:
                found.append(
                    (
                        (section, i, "promote_to"),
                        f"{target!r} serves a challenger variant; promote to the campaign that serves everyone else "
                        "(usually the control's)",
                    )
                )
    return found

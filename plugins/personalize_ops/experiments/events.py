"""From what an application logs to what the analysis reads: exposures and PutEvents calls -> per-variant Moments.

An *exposure* is one recommendation list shown to a user: the variant, the ``recommendationId`` GetRecommendations
returned and the items shown (the ``impression``); the application logs one JSON line per list shown
(``Exposure.to_record``: experiment, variant, userId, sessionId, recommendationId, impression, sentAt), since
PutEvents only carries lists that were interacted with. The *events* are PutEvents calls
(``{"userId", "sessionId", "eventList": [...]}``) whose events carry ``metricAttribution.eventAttributionSource``
(``"<experiment>:<variant>"``, see assignment.attribution_source) and, for clicks, the ``recommendationId`` of the
list clicked in. Per user and variant this counts lists shown, clicks on them, conversions and revenue, and
turns them into the Moments of each configured metric:

- ctr: y = clicks on the user's shown lists (a click event whose recommendationId is one of them and whose itemId
  was in that list), x = lists shown;
- conversion: y = 1 if the user has an ``event_type`` event attributed to the variant, x = 1;
- revenue: y = the sum of ``field`` over the user's ``event_type`` events attributed to the variant, x = 1.

Users are counted once per variant they were exposed to; the SRM check sees exposed users.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from personalize_ops.experiments.analysis import Moments, VariantData
from personalize_ops.experiments.assignment import parse_attribution_source
from personalize_ops.experiments.config import ConversionMetric, CtrMetric, Experiment, RevenueMetric

EXPOSURE_KEYS = ("experiment", "variant", "userId", "sessionId", "recommendationId", "impression", "sentAt")


@dataclass(frozen=True)
class Exposure:
    """One recommendation list shown: who, which variant, which recommendationId, which items, when."""

    experiment: str
    variant: str
    user_id: str
    session_id: str
    recommendation_id: str
    items: tuple[str, ...]
    sent_at: float

    def to_record(self) -> dict:
        """The exposure log line an application writes (JSON), named like PutEvents' members."""
        return {
            "experiment": self.experiment,
            "variant": self.variant,
            "userId": self.user_id,
            "sessionId": self.session_id,
            "recommendationId": self.recommendation_id,
            "impression": list(self.items),
            "sentAt": self.sent_at,
        }

    @classmethod
    def from_record(cls, record: Mapping) -> Exposure:
        """An exposure from a log line written by :meth:`to_record` (or by an application in any language)."""
        missing = [k for k in EXPOSURE_KEYS if k not in record]
        if missing:
            raise ValueError(f"exposure record lacks {', '.join(missing)}: {dict(record)}")
        return cls(
            str(record["experiment"]), str(record["variant"]), str(record["userId"]), str(record["sessionId"]),
            str(record["recommendationId"]), tuple(str(i) for i in record["impression"]), float(record["sentAt"]),
        )  # fmt: skip


@dataclass
class _User:
    lists: int = 0
    y: dict[str, float] = field(default_factory=dict)  # metric label -> numerator


def _value(event: Mapping, field: str) -> float:
    if field == "eventValue":
        v = event.get("eventValue")
    else:
        try:
            v = json.loads(event.get("properties") or "{}").get(field.removeprefix("properties."))
        except (ValueError, AttributeError):
            v = None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def aggregate(
    experiment: Experiment, exposures: Iterable[Exposure], calls: Iterable[Mapping]
) -> dict[str, VariantData]:
    """Per-variant VariantData (exposed users, Moments per metric label) from cumulative exposures and PutEvents
    calls. Events of other experiments, unattributed events and clicks on lists never shown are ignored."""
    users: dict[str, dict[str, _User]] = {v.name: {} for v in experiment.variants}
    shown: dict[str, tuple[str, str, frozenset[str]]] = {}  # recommendationId -> (variant, user, items)
    for e in exposures:
        if e.experiment != experiment.name or e.variant not in users:
            continue
        users[e.variant].setdefault(e.user_id, _User()).lists += 1
        shown[e.recommendation_id] = (e.variant, e.user_id, frozenset(e.items))
    metrics = experiment.metrics
    for call in calls:
        uid = call.get("userId")
        for ev in call.get("eventList") or []:
            etype = ev.get("eventType")
            for m in metrics:
                if isinstance(m, CtrMetric) and etype == m.click_event_type and ev.get("recommendationId") in shown:
                    variant, owner, items = shown[ev["recommendationId"]]
                    if owner == uid and ev.get("itemId") in items:
                        u = users[variant][owner]
                        u.y[m.label] = u.y.get(m.label, 0.0) + 1
            parsed = parse_attribution_source((ev.get("metricAttribution") or {}).get("eventAttributionSource", ""))
            if parsed is None or parsed[0] != experiment.name or parsed[1] not in users:
                continue
            u = users[parsed[1]].get(uid)
            if u is None:
                continue  # attributed to a variant the user was never shown
            for m in metrics:
                if isinstance(m, ConversionMetric) and etype == m.event_type:
                    u.y[m.label] = 1.0
                elif isinstance(m, RevenueMetric) and etype == m.event_type:
                    u.y[m.label] = u.y.get(m.label, 0.0) + _value(ev, m.field)
    out = {}
    for name, per_user in users.items():
        rows = list(per_user.values())
        moments = {}
        for m in metrics:
            y = np.array([u.y.get(m.label, 0.0) for u in rows], float)
            x = np.array([u.lists for u in rows], float) if isinstance(m, CtrMetric) else None
            moments[m.label] = Moments.from_users(y, x)
        out[name] = VariantData(name, len(rows), moments)
    return out

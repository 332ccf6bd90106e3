"""A traffic simulator: users replay their held-out future interactions against the variant they are assigned to.

Each simulated day, every user visits ``Poisson(visits_per_day)`` times; each visit asks the user's variant for a
list (``recommend(user_id)``: a campaign's GetRecommendations against a real or local stack, or any function) and
shows its first ``list_length`` items. Clicks follow the position-based click model (Chuklin, Markov and de Rijke,
"Click Models for Web Search", 2015): the item at rank ``k`` (1-based) is examined with probability
``1 / log2(1 + k)`` (the discount of DCG; or ``gamma**(k - 1)``, a geometric decay), and an examined item is
clicked with probability ``relevant_click`` if the user really interacts with it later (it is in the user's
remaining held-out future) and ``other_click`` otherwise. A click on a relevant item converts with probability
``conversion`` (revenue: ``price(item)``) and leaves the user's future (nobody discovers the same item twice).
So a model that ranks what users will really do next higher earns a higher click-through, end to end.

The output per day is what an application would log and send: ``Exposure`` records (lists shown, with their
``recommendationId`` and ``impression``) and PutEvents calls (``{"userId", "sessionId", "eventList"}``, at most
10 events each, events with ``eventType``, ``itemId``, ``sentAt``, ``recommendationId``, ``impression`` and
``metricAttribution.eventAttributionSource``), ready for ``put_events(trackingId=..., **call)``.
Seeded and deterministic: one random stream in a fixed order (users sorted, a fixed number of draws per visit),
so two variants see the same visits and the same examination draws.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from personalize_ops.experiments.assignment import assign, attribution_source
from personalize_ops.experiments.events import Exposure

MAX_IMPRESSION = 25  # PutEvents: impression has at most 25 item ids
MAX_EVENTS_PER_CALL = 10  # PutEvents: eventList has at most 10 events
DAY = 86400


class Recommendation(NamedTuple):
    """A recommend function's answer when it has a recommendationId (GetRecommendations returns one)."""

    items: Sequence[str]
    recommendation_id: str


Recommender = Callable[[str], Sequence[str] | Recommendation]


@dataclass(frozen=True)
class ClickModel:
    """Position-based click model (see the module docstring)."""

    decay: Literal["log", "geometric"] = "log"
    gamma: float = 0.8
    relevant_click: float = 0.5
    other_click: float = 0.01
    conversion: float = 0.3

    def __post_init__(self):
        for name in ("gamma", "relevant_click", "other_click", "conversion"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} = {getattr(self, name)} must be a probability in [0, 1]")

    def examination(self, n: int) -> np.ndarray:
        """P(the item at rank k is examined) for k = 1..n."""
        k = np.arange(1, n + 1)
        return 1 / np.log2(1 + k) if self.decay == "log" else self.gamma ** (k - 1)


@dataclass(frozen=True)
class SimulatedDay:
    day: int
    exposures: list[Exposure]
    calls: list[dict]


def default_price(item_id: str) -> float:
    """A fixed price per item (5..24), from a hash of its id."""
    return 5.0 + int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % 20


def simulate(
    experiment_id: str,
    split: Mapping[str, float],
    recommenders: Mapping[str, Recommender],
    future: Mapping[str, Sequence[str]],
    days: int,
    *,
    seed: int = 0,
    click_model: ClickModel = ClickModel(),
    visits_per_day: float = 1.0,
    list_length: int = 10,
    start: float = 1_700_000_000.0,
    click_event_type: str = "click",
    conversion_event_type: str = "purchase",
    price: Callable[[str], float] = default_price,
    exposure_loss: Mapping[str, float] | None = None,
) -> Iterator[SimulatedDay]:
    """Yield one SimulatedDay per day (see the module docstring). ``future``: user -> the items they interact
    with later, in order; ``exposure_loss``: variant -> share of its users whose exposures and events are lost (a
    logging bug; reproduces a sample-ratio mismatch)."""
    missing = sorted(set(split) - set(recommenders))
    if missing:
        raise ValueError(f"no recommend function for variant(s) {', '.join(missing)}")
    if not 1 <= list_length <= MAX_IMPRESSION:
        raise ValueError(f"list_length = {list_length}: 1..{MAX_IMPRESSION} (PutEvents impression limit)")
    if not (visits_per_day >= 0 and math.isfinite(visits_per_day)):
        raise ValueError(f"visits_per_day = {visits_per_day} must be >= 0")
    rng = np.random.default_rng(seed)
    users = sorted(future)
    variant = {u: assign(experiment_id, u, split) for u in users}
    loss = exposure_loss or {}
    lost = {u for u in users if rng.random() < loss.get(variant[u], 0.0)}
    remaining = {u: list(dict.fromkeys(future[u])) for u in users}
    exam = click_model.examination(list_length)
    for day in range(days):
        exposures: list[Exposure] = []
        calls: list[dict] = []
        visits = rng.poisson(visits_per_day, len(users))
        for u, n_visits in zip(users, visits, strict=True):
            for visit in range(int(n_visits)):
                offset, u_exam, u_click, u_conv = rng.random(), *rng.random((3, list_length))
                answer = recommenders[variant[u]](u)
                if isinstance(answer, Recommendation):
                    items, rid = list(answer.items)[:list_length], answer.recommendation_id
                else:
                    items = list(answer)[:list_length]
                    key = f"{seed}:{experiment_id}:{day}:{u}:{visit}".encode()
                    rid = "RID-" + hashlib.sha256(key).hexdigest()[:32]
                if u in lost or not items:
                    continue
                at = start + day * DAY + offset * (DAY - 600)
                session = f"{u}-{day}"
                source = attribution_source(experiment_id, variant[u])
                exposures.append(Exposure(experiment_id, variant[u], u, session, rid, tuple(items), at))
                events = []
                for k, item in enumerate(items):
                    if u_exam[k] >= exam[k]:
                        continue
                    relevant = item in remaining[u]
                    if u_click[k] >= (click_model.relevant_click if relevant else click_model.other_click):
                        continue
                    base = {
                        "itemId": item,
                        "sentAt": at + k + 1,
                        "recommendationId": rid,
                        "impression": list(items),
                        "metricAttribution": {"eventAttributionSource": source},
                    }
                    events.append({"eventId": f"{rid}-{k}-c", "eventType": click_event_type, **base})
                    if relevant:
                        remaining[u].remove(item)
                        if u_conv[k] < click_model.conversion:
                            events.append(
                                {
                                    "eventId": f"{rid}-{k}-p",
                                    "eventType": conversion_event_type,
                                    "eventValue": float(price(item)),
                                    **base,
                                    "sentAt": at + k + 1.5,
                                }
                            )
                for i in range(0, len(events), MAX_EVENTS_PER_CALL):
                    calls.append({"userId": u, "sessionId": session, "eventList": events[i : i + MAX_EVENTS_PER_CALL]})
        yield SimulatedDay(day, exposures, calls)

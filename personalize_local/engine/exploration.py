"""Item exploration of user-personalization campaigns (campaignConfig.itemExplorationConfig).

Amazon Personalize documents the two settings, not the algorithm: `explorationWeight` (0-1, default 0.3) is
"how frequently recommendations include items with less interactions data or relevance", 0 meaning none;
`explorationItemAgeCutOff` (days, default 30) limits exploration to items no older than that, counted back from
the newest interaction in the data, an item's age coming from its CREATION_TIMESTAMP or, without one, from its
interactions. What this engine does with them, deterministically (the same state gives the same list):

- candidates: allowed items (filters, the user's history) whose age is within the cut-off; an item with neither
  a creation time nor interactions (added by PutItems or metadata only) counts as new;
- `round(weight * numResults)` of the list's places go to candidates (fewer if there are fewer candidates), the
  rest is the usual top of the relevance ranking;
- candidates are ranked by `weight * 1 / (1 + users who interacted) + (1 - weight) * relevance percentile`,
  so at a low weight the exploration slots go to the more relevant new items, at a high one to the least seen;
- exploration items take evenly spaced places in the list (positions are not documented).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from personalize_local.engine.top_k import top_k

DAY = 86400.0


@dataclass(frozen=True)
class Exploration:
    """A campaign's itemExplorationConfig, with Personalize's defaults."""

    weight: float = 0.3
    age_cutoff_days: float = 30.0

    @classmethod
    def from_config(cls, config: dict | None) -> Exploration:
        """From itemExplorationConfig (string values, as the API passes them); ValueError naming a bad one."""
        config = config or {}
        out = {}
        for key, attr, lo, hi in (
            ("explorationWeight", "weight", 0.0, 1.0),
            ("explorationItemAgeCutOff", "age_cutoff_days", 0.0, math.inf),
        ):
            if key in config:
                try:
                    value = float(config[key])
                except (TypeError, ValueError):
                    raise ValueError(f"itemExplorationConfig.{key} must be a number, got {config[key]!r}") from None
                if not lo <= value <= hi or math.isnan(value):
                    bound = "between 0 and 1" if hi == 1.0 else "a positive number of days"
                    raise ValueError(f"itemExplorationConfig.{key} must be {bound}, got {config[key]!r}")
                out[attr] = value
        return cls(**out)

    def slots(self, num_results: int) -> int:
        return int(math.floor(self.weight * num_results + 0.5))


def candidates(created: np.ndarray, interacted: np.ndarray, latest: float, cutoff_days: float) -> np.ndarray:
    """Items within the age cut-off: created (epoch seconds, NaN unknown) at most `cutoff_days` before `latest`;
    an item with no creation time and no interactions is new."""
    with np.errstate(invalid="ignore"):
        recent = (latest - created) <= cutoff_days * DAY
    return np.where(np.isnan(created), interacted == 0, recent)


def explore(
    scores: np.ndarray,
    allowed: np.ndarray,
    eligible: np.ndarray,
    interacted: np.ndarray,
    config: Exploration,
    num_results: int,
) -> np.ndarray:
    """Catalog indices of the list: the relevance top with `config.slots(num_results)` places given to eligible
    (allowed, within the age cut-off) items, chosen and placed as the module docstring says."""
    pool = np.flatnonzero(allowed & eligible)
    k = min(config.slots(num_results), len(pool), num_results)
    if k == 0:
        return top_k(scores, allowed, num_results)
    exploit = top_k(scores, allowed, num_results - k)
    pool = np.setdiff1d(pool, exploit, assume_unique=True)
    ranked = np.sort(np.where(allowed, scores, -np.inf)[allowed])
    relevance = np.searchsorted(ranked, scores[pool], side="left") / max(len(ranked) - 1, 1)
    value = config.weight / (1.0 + interacted[pool]) + (1.0 - config.weight) * relevance
    chosen = pool[np.lexsort((pool, -value))[:k]]
    if len(chosen) < k:  # some candidates were in the relevance top anyway: the top takes their places
        rest = allowed.copy()
        rest[chosen] = False
        exploit = top_k(scores, rest, num_results - len(chosen))
    out, explored = list(exploit), list(chosen)
    total = len(out) + len(explored)
    for j, item in enumerate(explored):  # evenly spaced: places (j + 1) * total / (k + 1)
        out.insert(min(int((j + 1) * total / (len(explored) + 1)), len(out)), item)
    return np.asarray(out, dtype=np.int64)

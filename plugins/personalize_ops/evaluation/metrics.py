"""Per-user ranking metrics of the backtest, defined as Amazon Personalize defines its offline metrics.

For one user with recommendations ``r_1..r_n`` (best first) and relevant items ``T`` (their holdout truth),
``hit_p = 1`` when ``r_p`` is in ``T`` (an item repeated in the list counts at its first position only):

- ``precision_at_K = sum(hit_p, p <= K) / K`` (Personalize: relevant recommendations in the top K over K);
- ``normalized_discounted_cumulative_gain_at_K = DCG / IDCG`` with ``DCG = sum(hit_p / log(1 + p), p <= K)`` and
  ``IDCG`` the DCG of an ideal list with ``min(|T|, K)`` hits first (Personalize's weight ``1/log(1 + position)``);
- ``mean_reciprocal_rank_at_25``: ``1 / p`` of the first hit within the top 25, else 0 (averaged over users);
- ``recall_at_K = sum(hit_p, p <= K) / |T|`` and ``hit_rate_at_K = 1`` when any of the top K is relevant
  (not reported by Personalize; standard definitions);
- coverage (not per user): distinct recommended items over all sampled users / catalog size.

A user a model did not answer (an error line in a batch output) gets an empty list: every metric 0 for them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

K_VALUES = (5, 10, 25)
K_MAX = 25


def metric_names() -> tuple[str, ...]:
    """Every per-user metric this module computes, in display order."""
    names = ["mean_reciprocal_rank_at_25"]
    for k in K_VALUES:
        names += [f"normalized_discounted_cumulative_gain_at_{k}", f"precision_at_{k}", f"recall_at_{k}",
                  f"hit_rate_at_{k}"]  # fmt: skip
    return tuple(names)


PER_USER_METRICS = metric_names()


def _hits(recommended: Sequence[str], relevant: set[str]) -> np.ndarray:
    """Bool vector over the first K_MAX distinct recommended items: True where relevant."""
    out = np.zeros(K_MAX, dtype=bool)
    for p, item in enumerate(list(dict.fromkeys(recommended))[:K_MAX]):
        out[p] = item in relevant
    return out


def _ideal_dcg(n_relevant: int, k: int) -> float:
    return sum(1.0 / math.log(1.0 + p) for p in range(1, min(n_relevant, k) + 1))


def per_user(
    recommended: Mapping[str, Sequence[str]], truth: Mapping[str, Sequence[str]], users: Sequence[str]
) -> dict[str, np.ndarray]:
    """``{metric: values}`` with one value per user of ``users`` (the order the bootstrap pairs on).

    ``truth[user]`` must be non-empty (the holdout keeps only users with relevant items); a user missing from
    ``recommended`` scores 0 everywhere.
    """
    n = len(users)
    out = {name: np.zeros(n) for name in PER_USER_METRICS}
    discount = 1.0 / np.log(1.0 + np.arange(1, K_MAX + 1))
    for row, user in enumerate(users):
        relevant = set(truth[user])
        if not relevant:
            raise ValueError(f"user {user!r} has no holdout items; the holdout keeps only users that have some")
        hits = _hits(recommended.get(user, ()), relevant)
        if hits.any():
            out["mean_reciprocal_rank_at_25"][row] = 1.0 / (int(np.argmax(hits)) + 1)
        for k in K_VALUES:
            top = hits[:k]
            count = int(top.sum())
            out[f"precision_at_{k}"][row] = count / k
            out[f"recall_at_{k}"][row] = count / len(relevant)
            out[f"hit_rate_at_{k}"][row] = float(count > 0)
            out[f"normalized_discounted_cumulative_gain_at_{k}"][row] = float(top @ discount[:k]) / _ideal_dcg(
                len(relevant), k
            )
    return out


def coverage(lists: Iterable[Sequence[str]], catalog_size: int) -> float:
    """Distinct items in the top ``K_MAX`` of all lists over the catalog size (0 for an empty catalog)."""
    seen: set[str] = set()
    for recs in lists:
        seen.update(list(dict.fromkeys(recs))[:K_MAX])
    return len(seen) / catalog_size if catalog_size > 0 else 0.0


def means(values: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Average of each per-user metric (0.0 for no users), rounded for records and tables."""
    return {name: round(float(v.mean()), 6) if len(v) else 0.0 for name, v in values.items()}

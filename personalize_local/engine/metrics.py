"""Offline metrics and the evaluation split, as Amazon Personalize documents them.

Split: users are shuffled with the seed; 10% are held out. For each held-out user with at least 2 events,
the oldest 90% of events (by TIMESTAMP, ties in input order) are the model input and the newest 10% the
ground truth. Ground-truth items that already appear in the input are dropped (recommendations exclude
the input history, so they could never be hit).

Metrics over held-out users (25 recommendations each): coverage (unique recommended items / catalog size),
MRR@25, NDCG@K with gain 1/log(1 + position) normalised by the ideal DCG, precision@K = hits / K.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K_MAX = 25
METRIC_NAMES = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "precision_at_10",
    "precision_at_25",
    "precision_at_5",
)
_DISCOUNT = 1.0 / np.log(1.0 + np.arange(1, K_MAX + 1))


@dataclass
class Split:
    """Event masks over the encoded interactions and the ground truth of each held-out user."""

    train: np.ndarray  # events used to fit the model (non-held-out users)
    test_input: np.ndarray  # oldest 90% of held-out users' events
    test_users: np.ndarray  # held-out user codes that have ground truth
    truth: list[np.ndarray]  # item codes per test user, aligned with test_users


def _held_out_users(n_users: int, seed: int, user_fraction: float = 0.1) -> np.ndarray:
    return _permutation(n_users, seed)[: max(1, int(round(n_users * user_fraction)))]


def _permutation(n_users: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_users)


def user_folds(n_users: int, seed: int, n_folds: int = 10) -> list[np.ndarray]:
    """Disjoint held-out user sets covering every user once, for cross-validating the documented procedure:
    fold 0 is exactly the users split_events(seed) holds out; the others split the remaining users evenly."""
    if n_folds < 2:
        raise ValueError("n_folds must be at least 2.")
    perm = _permutation(n_users, seed)
    first = len(_held_out_users(n_users, seed))
    return [perm[:first], *np.array_split(perm[first:], n_folds - 1)]


def split_events(
    u: np.ndarray,
    i: np.ndarray,
    ts: np.ndarray,
    n_users: int,
    seed: int,
    user_fraction: float = 0.1,
    event_fraction: float = 0.1,
    held_out: np.ndarray | None = None,
) -> Split:
    """Deterministic Personalize-style split (see module docstring). `held_out` (user codes) replaces the
    seeded choice of held-out users (see user_folds)."""
    is_test_user = np.zeros(n_users, dtype=bool)
    is_test_user[_held_out_users(n_users, seed, user_fraction) if held_out is None else held_out] = True
    counts = np.bincount(u, minlength=n_users)
    is_test_user &= counts >= 2
    test_ev = is_test_user[u]
    idx = np.flatnonzero(test_ev)
    order = idx[np.lexsort((idx, ts[idx], u[idx]))]
    uo = u[order]
    starts = np.r_[0, np.flatnonzero(np.diff(uo)) + 1]
    lengths = np.diff(np.r_[starts, len(uo)])
    n_input = np.clip(np.floor(lengths * (1 - event_fraction)).astype(np.int64), 1, lengths - 1)
    pos = np.arange(len(uo)) - np.repeat(starts, lengths)
    is_input = pos < np.repeat(n_input, lengths)
    test_input = np.zeros(len(u), dtype=bool)
    test_input[order[is_input]] = True
    users, truth = [], []
    for s, ln, ni in zip(starts, lengths, n_input, strict=True):
        seen = set(i[order[s : s + ni]].tolist())
        t = [x for x in dict.fromkeys(i[order[s + ni : s + ln]].tolist()) if x not in seen]
        if t:
            users.append(uo[s])
            truth.append(np.asarray(t, dtype=np.int64))
    return Split(
        train=~test_ev, test_input=test_input, test_users=np.asarray(users, dtype=np.int64), truth=truth
    )


def hit_matrix(recommended: Sequence[Sequence], relevant: Sequence[Sequence]) -> np.ndarray:
    """Bool matrix (users x 25): True where the recommendation at that position is relevant."""
    hits = np.zeros((len(recommended), K_MAX), dtype=bool)
    for r, (recs, rel) in enumerate(zip(recommended, relevant, strict=True)):
        rel_set = set(np.asarray(rel).tolist())
        for p, item in enumerate(list(recs)[:K_MAX]):
            hits[r, p] = item in rel_set
    return hits


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """Per-user precision@k: hits in the top k divided by k."""
    return hits[:, :k].sum(axis=1) / k


def reciprocal_rank(hits: np.ndarray) -> np.ndarray:
    """Per-user 1 / position of the first hit in the top 25 (0 when none)."""
    any_hit = hits.any(axis=1)
    first = hits.argmax(axis=1) + 1
    return np.where(any_hit, 1.0 / first, 0.0)


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user NDCG@k with gain 1/log(1+position), normalised by the DCG of an ideal ranking."""
    dcg = hits[:, :k].astype(float) @ _DISCOUNT[:k]
    ideal_n = np.clip(np.asarray(n_relevant), 1, k)
    idcg = np.cumsum(_DISCOUNT[:k])[ideal_n - 1]
    return dcg / idcg


def per_user_metrics(recommended: Sequence[Sequence], relevant: Sequence[Sequence]) -> dict[str, np.ndarray]:
    """Every metric except coverage, one value per user (their means are the reported metrics)."""
    hits = hit_matrix(recommended, relevant)
    n_rel = np.array([len(set(np.asarray(r).tolist())) for r in relevant], dtype=np.int64)
    out = {"mean_reciprocal_rank_at_25": reciprocal_rank(hits)}
    for k in (5, 10, 25):
        out[f"normalized_discounted_cumulative_gain_at_{k}"] = ndcg_at_k(hits, n_rel, k)
        out[f"precision_at_{k}"] = precision_at_k(hits, k)
    return out


def compute_metrics(recommended: Sequence[Sequence], relevant: Sequence[Sequence], catalog_size: int) -> dict:
    """All GetSolutionMetrics values, averaged over users (coverage over the whole catalog)."""
    if not len(recommended):
        return {name: 0.0 for name in METRIC_NAMES}
    unique = set()
    for recs in recommended:
        unique.update(list(recs)[:K_MAX])
    out = {name: v.mean() for name, v in per_user_metrics(recommended, relevant).items()}
    out["coverage"] = len(unique) / max(catalog_size, 1)
    return {name: round(float(out[name]), 4) for name in METRIC_NAMES}

"""Synthetic dataset generator (numpy, seeded) for tests and benchmarks: power-law item popularity,
users with a preferred genre, click/watch events, item metadata (GENRE, PRICE) and user metadata (AGE)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from personalize_local.engine.data import TrainingData


def generate(
    n_users: int = 300,
    n_items: int = 200,
    n_interactions: int = 6000,
    n_genres: int = 5,
    affinity: float = 0.85,
    seed: int = 0,
    string_ids: bool = True,
) -> TrainingData:
    """Interactions where each user mostly picks items of their preferred genre (probability `affinity`),
    popular items more often (Zipf-like weights). Timestamps increase per event."""
    rng = np.random.default_rng(seed)
    item_genre = rng.integers(0, n_genres, n_items)
    pop = 1.0 / np.power(np.arange(1, n_items + 1), 0.9)
    pop = pop[rng.permutation(n_items)]
    user_genre = rng.integers(0, n_genres, n_users)
    activity = rng.pareto(1.5, n_users) + 1.0
    users = rng.choice(n_users, size=n_interactions, p=activity / activity.sum())
    users[: 2 * n_users] = np.repeat(np.arange(n_users), 2)[:n_interactions]  # every user >= 2 events
    in_genre = rng.random(n_interactions) < affinity
    # sample items: per genre cumulative popularity, then global for the rest
    items = np.empty(n_interactions, dtype=np.int64)
    r = rng.random(n_interactions)
    for g in range(n_genres):
        members = np.flatnonzero(item_genre == g)
        sel = in_genre & (user_genre[users] == g)
        if len(members) == 0:
            in_genre &= ~sel
            continue
        cdf = np.cumsum(pop[members])
        items[sel] = members[np.minimum(np.searchsorted(cdf / cdf[-1], r[sel]), len(members) - 1)]
    rest = ~in_genre
    cdf = np.cumsum(pop)
    items[rest] = np.minimum(np.searchsorted(cdf / cdf[-1], r[rest]), n_items - 1)
    ts = 1_600_000_000 + np.sort(rng.integers(0, 10_000_000, n_interactions))
    ev = np.where(rng.random(n_interactions) < 0.6, "click", "watch")
    uid = users.astype(str) if string_ids else users
    iid = items.astype(str) if string_ids else items
    interactions = pd.DataFrame(
        {
            "USER_ID": uid,
            "ITEM_ID": iid,
            "TIMESTAMP": ts,
            "EVENT_TYPE": ev,
            "EVENT_VALUE": rng.integers(1, 6, n_interactions).astype(float),
        }
    )
    genres = np.array([f"g{g}" for g in range(n_genres)])
    second = genres[(item_genre + 1) % n_genres]
    items_df = pd.DataFrame(
        {
            "ITEM_ID": np.arange(n_items).astype(str),
            "GENRE": np.where(
                rng.random(n_items) < 0.3,
                np.char.add(np.char.add(genres[item_genre], "|"), second),
                genres[item_genre],
            ),
            "PRICE": np.round(rng.uniform(1, 50, n_items), 2),
        }
    )
    users_df = pd.DataFrame({"USER_ID": np.arange(n_users).astype(str), "AGE": rng.integers(15, 70, n_users)})
    return TrainingData(interactions=interactions, items=items_df, users=users_df)

"""Metric formulas on hand-computed cases and the determinism of the Personalize split."""

import numpy as np
import pytest

from personalize_local.engine import metrics as M


def test_documented_example_hits_at_2_and_5():
    hits = M.hit_matrix([["a", "b", "c", "d", "e"]], [["b", "e"]])
    assert M.reciprocal_rank(hits)[0] == pytest.approx(0.5)
    assert M.ndcg_at_k(hits, np.array([2]), 5)[0] == pytest.approx(0.6241, abs=1e-4)
    assert M.precision_at_k(hits, 5)[0] == pytest.approx(0.4)


def test_ndcg_by_hand_single_hit_and_ideal():
    # one relevant item at position 3: (1/log 4) / (1/log 2) = log 2 / log 4 = 0.5
    hits = M.hit_matrix([["x", "y", "r"]], [["r"]])
    assert M.ndcg_at_k(hits, np.array([1]), 10)[0] == pytest.approx(0.5)
    perfect = M.hit_matrix([["r1", "r2", "z"]], [["r1", "r2"]])
    assert M.ndcg_at_k(perfect, np.array([2]), 5)[0] == pytest.approx(1.0)
    # more relevant items than K: ideal DCG is capped at K positions
    assert M.ndcg_at_k(perfect, np.array([40]), 2)[0] == pytest.approx(1.0)


def test_no_hits_and_precision_denominator_is_k():
    hits = M.hit_matrix([["a", "b"]], [["z"]])
    assert M.reciprocal_rank(hits)[0] == 0
    assert M.ndcg_at_k(hits, np.array([1]), 25)[0] == 0
    hits = M.hit_matrix([["a", "b"]], [["a"]])
    assert M.precision_at_k(hits, 10)[0] == pytest.approx(0.1)


def test_compute_metrics_averages_users_and_coverage():
    recs = [["a", "b", "c", "d", "e"], ["a", "f"]]
    truth = [["b", "e"], ["a"]]
    m = M.compute_metrics(recs, truth, catalog_size=12)
    assert set(m) == set(M.METRIC_NAMES)
    assert m["coverage"] == pytest.approx(6 / 12, abs=1e-4)
    assert m["mean_reciprocal_rank_at_25"] == pytest.approx((0.5 + 1.0) / 2, abs=1e-4)
    assert m["precision_at_5"] == pytest.approx((0.4 + 0.2) / 2, abs=1e-4)
    ndcg5 = (0.6241 + 1.0) / 2
    assert m["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(ndcg5, abs=1e-4)


def _events(seed=0, n_users=200, per_user=20):
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(n_users), per_user)
    i = rng.integers(0, 50, len(u))
    ts = rng.integers(0, 10_000, len(u))
    return u, i, ts


def test_split_is_deterministic_and_follows_the_documented_rule():
    u, i, ts = _events()
    a = M.split_events(u, i, ts, 200, seed=42)
    b = M.split_events(u, i, ts, 200, seed=42)
    c = M.split_events(u, i, ts, 200, seed=43)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test_input, b.test_input)
    assert [t.tolist() for t in a.truth] == [t.tolist() for t in b.truth]
    assert not np.array_equal(a.train, c.train)
    held_out = np.unique(u[~a.train])
    assert len(held_out) == 20  # 10% of users
    for user in held_out:
        ev = np.flatnonzero(u == user)
        inp = ev[a.test_input[ev]]
        rest = ev[~a.test_input[ev]]
        assert len(inp) == 18 and len(rest) == 2  # oldest 90% / newest 10%
        assert ts[inp].max() <= ts[rest].min()
    # ground truth never contains an item of the user's input history
    for user, truth in zip(a.test_users, a.truth, strict=True):
        seen = set(i[(u == user) & a.test_input].tolist())
        assert not seen & set(truth.tolist())


def test_split_keeps_one_event_users_out_of_evaluation():
    u = np.array([0, 1, 1, 2, 2, 2])
    s = M.split_events(u, np.array([0, 1, 2, 3, 4, 5]), np.arange(6), 3, seed=0, user_fraction=1.0)
    assert 0 not in s.test_users.tolist()
    assert s.train[0]


def test_user_folds_cover_every_user_once_and_fold_0_is_the_documented_split():
    u, i, ts = _events(n_users=205)
    folds = M.user_folds(205, seed=42, n_folds=10)
    assert len(folds) == 10
    everyone = np.concatenate(folds)
    assert sorted(everyone.tolist()) == list(range(205))  # disjoint and complete
    default = M.split_events(u, i, ts, 205, seed=42)
    assert sorted(folds[0].tolist()) == np.unique(u[~default.train]).tolist()
    again = M.split_events(u, i, ts, 205, seed=42, held_out=folds[0])
    assert np.array_equal(again.train, default.train) and np.array_equal(again.test_input, default.test_input)
    other = M.split_events(u, i, ts, 205, seed=42, held_out=folds[3])
    assert np.unique(u[~other.train]).tolist() == sorted(folds[3].tolist())
    assert max(len(f) for f in folds[1:]) - min(len(f) for f in folds[1:]) <= 1
    with pytest.raises(ValueError, match="n_folds"):
        M.user_folds(205, seed=42, n_folds=1)


def test_per_user_metrics_average_to_the_reported_metrics():
    recs = [["a", "b", "c", "d", "e"], ["a", "f"], ["x"]]
    truth = [["b", "e"], ["a"], ["y"]]
    per_user = M.per_user_metrics(recs, truth)
    assert per_user["mean_reciprocal_rank_at_25"].tolist() == [0.5, 1.0, 0.0]
    reported = M.compute_metrics(recs, truth, catalog_size=10)
    for name, values in per_user.items():
        assert reported[name] == pytest.approx(values.mean(), abs=1e-4)

"""Per-user ranking metrics on lists small enough to compute by hand (the formulas written out here)."""

import math

import numpy as np
import pytest
from personalize_ops.evaluation import metrics as M


def one(recs, truth, name):
    return float(M.per_user({"u": recs}, {"u": truth}, ["u"])[name][0])


def test_three_item_list_by_the_formulas():
    recs, truth = ["a", "b", "c"], ["b", "c", "z"]  # hits at positions 2 and 3; 3 relevant items
    dcg = 1 / math.log(1 + 2) + 1 / math.log(1 + 3)
    ideal_at_5 = 1 / math.log(2) + 1 / math.log(3) + 1 / math.log(4)  # min(|T| = 3, 5) hits first
    assert one(recs, truth, "normalized_discounted_cumulative_gain_at_5") == pytest.approx(dcg / ideal_at_5)
    assert one(recs, truth, "precision_at_5") == pytest.approx(2 / 5)
    assert one(recs, truth, "precision_at_10") == pytest.approx(2 / 10)
    assert one(recs, truth, "recall_at_5") == pytest.approx(2 / 3)
    assert one(recs, truth, "hit_rate_at_5") == 1.0
    assert one(recs, truth, "mean_reciprocal_rank_at_25") == pytest.approx(1 / 2)


def test_ideal_dcg_is_capped_at_k():
    truth = [f"t{i}" for i in range(8)]
    recs = truth[:5] + ["x"] * 3
    assert one(recs, truth, "normalized_discounted_cumulative_gain_at_5") == pytest.approx(1.0)
    ideal_10 = sum(1 / math.log(1 + p) for p in range(1, 9))
    assert one(recs, truth, "normalized_discounted_cumulative_gain_at_10") == pytest.approx(
        sum(1 / math.log(1 + p) for p in range(1, 6)) / ideal_10
    )


def test_hits_beyond_k_and_beyond_25_do_not_count():
    recs = [f"x{i}" for i in range(25)] + ["hit"]  # the only relevant item at position 26
    for name in M.PER_USER_METRICS:
        assert one(recs, ["hit"], name) == 0.0
    recs = [f"x{i}" for i in range(7)] + ["hit"]  # position 8: inside @10 and @25, outside @5
    assert one(recs, ["hit"], "hit_rate_at_5") == 0.0
    assert one(recs, ["hit"], "hit_rate_at_10") == 1.0
    assert one(recs, ["hit"], "mean_reciprocal_rank_at_25") == pytest.approx(1 / 8)
    assert one(recs, ["hit"], "normalized_discounted_cumulative_gain_at_10") == pytest.approx(
        (1 / math.log(9)) / (1 / math.log(2))
    )


def test_repeated_item_counts_once_and_unanswered_user_scores_zero():
    assert one(["a", "a", "b"], ["a", "b"], "precision_at_5") == pytest.approx(2 / 5)
    assert one(["a", "a", "b"], ["a", "b"], "mean_reciprocal_rank_at_25") == 1.0
    values = M.per_user({"u1": ["a"]}, {"u1": ["a"], "u2": ["b"]}, ["u1", "u2"])
    assert values["hit_rate_at_10"].tolist() == [1.0, 0.0]
    assert M.means(values)["hit_rate_at_10"] == 0.5


def test_user_without_truth_is_an_error():
    with pytest.raises(ValueError, match="no holdout items"):
        M.per_user({"u": ["a"]}, {"u": []}, ["u"])


def test_coverage_counts_distinct_items_of_the_top_25():
    lists = [["a", "b"], ["b", "c"], [f"x{i}" for i in range(30)]]
    assert M.coverage(lists, 100) == pytest.approx((3 + 25) / 100)
    assert M.coverage([], 0) == 0.0


def test_names_cover_every_k():
    assert set(M.PER_USER_METRICS) >= {f"recall_at_{k}" for k in M.K_VALUES}
    assert np.isclose(M.means({"m": np.array([])})["m"], 0.0)

"""Offline evaluation: every metric for every recipe, a real signal, and cross-validation."""

import numpy as np

from personalize_local.engine import (
    load_model,
)
from personalize_local.engine.evaluation import cross_validate
from personalize_local.engine.metrics import METRIC_NAMES, compute_metrics
from tests.personalize_local.engine.helpers import UP


def test_every_recipe_reports_all_metrics(trained):
    for name, (_, metrics) in trained.items():
        assert set(metrics) == set(METRIC_NAMES), name
        assert all(0.0 <= v <= 1.0 for v in metrics.values()), (name, metrics)


def test_collaborative_model_beats_popularity_on_structured_data(trained):
    up = trained["aws-user-personalization"][1]
    pop = trained["aws-popularity-count"][1]
    assert up["normalized_discounted_cumulative_gain_at_10"] > pop["normalized_discounted_cumulative_gain_at_10"]


def test_cross_validation_holds_every_user_out_once_and_fold_0_is_what_train_reports(small_data, trained):

    folds = cross_validate(UP, small_data, seed=42, n_folds=5)
    assert len(folds) == 5
    users = np.concatenate([f.users for f in folds])
    assert len(users) == len(set(users.tolist()))  # nobody is evaluated twice
    # independently: a user is evaluated iff their newest 10% holds an item not in their oldest 90%
    expected = set()
    for user, ev in small_data.interactions.groupby("USER_ID"):
        items = ev.sort_values("TIMESTAMP", kind="stable").ITEM_ID.tolist()
        n_input = min(max(int(len(items) * 0.9), 1), len(items) - 1)
        if len(items) >= 2 and set(items[n_input:]) - set(items[:n_input]):
            expected.add(user)
    assert set(users.tolist()) == expected
    recs, truth = folds[0].recommendations, folds[0].truth
    n_items = load_model(trained["aws-user-personalization"][0]).item_ids.size
    assert compute_metrics(recs, truth, n_items) == trained["aws-user-personalization"][1]
    assert all(len(r) == 25 for f in folds for r in f.recommendations)


def test_personalized_ranking_metrics_equal_user_personalization_and_say_why(trained):
    """AWS documents no ranking-specific offline evaluation: the ranking recipe reports the same metrics as the
    model it trains, and every place that shows metrics carries the reason."""
    import json

    from personalize_local.engine import evaluation_note

    ranking_dir, ranking_metrics = trained["aws-personalized-ranking"]
    assert ranking_metrics == trained["aws-user-personalization"][1]
    note = evaluation_note("arn:aws:personalize:::recipe/aws-personalized-ranking")
    assert "user-personalization" in note and "AWS documents no other offline evaluation" in note
    assert json.loads((ranking_dir / "model.json").read_text())["evaluation_note"] == note
    assert evaluation_note("arn:aws:personalize:::recipe/aws-user-personalization") is None

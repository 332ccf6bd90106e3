"""Every recipe trains on a small generated dataset and serves; data checks; event selection; UPDATE."""

import json

import numpy as np
import pandas as pd
import pytest

from personalize_local.engine import (
    InsufficientDataError,
    TrainingData,
    UnsupportedRecipeError,
    load_model,
    parse_filter,
    train,
)
from personalize_local.engine.metrics import METRIC_NAMES

from .conftest import ARN

UP = ARN + "aws-user-personalization"


def test_every_recipe_reports_all_metrics(trained):
    for name, (_, metrics) in trained.items():
        assert set(metrics) == set(METRIC_NAMES), name
        assert all(0.0 <= v <= 1.0 for v in metrics.values()), (name, metrics)


def test_collaborative_model_beats_popularity_on_structured_data(trained):
    up = trained["aws-user-personalization"][1]
    pop = trained["aws-popularity-count"][1]
    assert (
        up["normalized_discounted_cumulative_gain_at_10"] > pop["normalized_discounted_cumulative_gain_at_10"]
    )


def test_user_personalization_excludes_history_and_returns_softmax_scores(up_model, small_data):
    recs = up_model.recommend(user_id="3", num_results=10)
    assert len(recs) == 10 and len({i for i, _ in recs}) == 10
    seen = set(small_data.interactions.loc[small_data.interactions.USER_ID == "3", "ITEM_ID"])
    assert not seen & {i for i, _ in recs}
    scores = [s for _, s in recs]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0 + 1e-6
    assert up_model.kind == "user-personalization" and "0" in up_model.known_items


def test_unknown_user_gets_popular_items(up_model, trained):
    pop = load_model(trained["aws-popularity-count"][0])
    top_pop = [i for i, _ in pop.recommend(user_id="nobody", num_results=5)]
    cold = [i for i, _ in up_model.recommend(user_id="nobody", num_results=5)]
    assert len(set(cold) & set(top_pop)) >= 4


def test_sims_returns_related_items_and_needs_an_item(trained, small_data):
    model = load_model(trained["aws-sims"][0])
    items = small_data.items.set_index("ITEM_ID")
    recs = model.recommend(item_id="32", num_results=10)
    assert len(recs) == 10 and "32" not in [i for i, _ in recs]
    genre = items.loc["32", "GENRE"].split("|")[0]
    same = sum(genre in items.loc[i, "GENRE"] for i, _ in recs)
    assert same >= 5
    with pytest.raises(ValueError, match="itemId is required"):
        model.recommend(user_id="1")


def test_personalized_ranking_orders_the_given_list(trained):
    model = load_model(trained["aws-personalized-ranking"][0])
    ranked = model.rank("5", ["0", "1", "2", "zzz-unknown", "3"])
    ids = [i for i, _ in ranked]
    assert sorted(ids) == ["0", "1", "2", "3", "zzz-unknown"] and ids[-1] == "zzz-unknown"
    known_scores = [s for _, s in ranked[:-1]]
    assert known_scores == sorted(known_scores, reverse=True)
    assert sum(known_scores) == pytest.approx(1.0, abs=1e-5)
    f = parse_filter('EXCLUDE ItemID WHERE Items.ITEM_ID IN ("1")')
    assert "1" not in [i for i, _ in model.rank("5", ["0", "1", "2"], item_filter=f)]


def test_popularity_count_is_the_same_for_everyone(trained):
    model = load_model(trained["aws-popularity-count"][0])
    assert model.recommend(user_id="1", num_results=5) == model.recommend(user_id="2", num_results=5)


def test_recent_events_change_the_next_recommendation(up_model, small_data):
    items = small_data.items.set_index("ITEM_ID")
    before = up_model.recommend(user_id="7", num_results=10)
    # the user suddenly watches several items of another genre
    before_genres = [items.loc[i, "GENRE"].split("|")[0] for i, _ in before]
    other = next(g for g in ("g0", "g1", "g2", "g3", "g4") if g not in before_genres[:3])
    new_items = items.index[items.GENRE == other][:3].tolist()
    recent = [(i, "watch", 1_700_000_000 + k) for k, i in enumerate(new_items)]
    after = up_model.recommend(user_id="7", num_results=10, recent_events=recent)
    assert [i for i, _ in after] != [i for i, _ in before]
    assert not set(new_items) & {i for i, _ in after}  # interacted items are excluded
    count = sum(other in items.loc[i, "GENRE"] for i, _ in after)
    assert count > sum(other in items.loc[i, "GENRE"] for i, _ in before)
    # a single event is already enough to change the list
    one = up_model.recommend(user_id="7", num_results=10, recent_events=recent[:1])
    assert one != before
    # an anonymous user with events is personalised by fold-in
    anon = up_model.recommend(user_id="new-user", num_results=10, recent_events=recent)
    assert sum(other in items.loc[i, "GENRE"] for i, _ in anon) >= 5


def test_filter_through_model_uses_metadata_history_and_recent_events(up_model, trained):
    f = parse_filter("EXCLUDE ItemID WHERE Items.GENRE IN ($G)").bind({"G": '"g1"'})
    recs = up_model.recommend(user_id="4", num_results=20, item_filter=f)
    genres = up_model.items.set_index("ITEM_ID").loc[[i for i, _ in recs], "GENRE"]
    assert len(recs) == 20 and not genres.str.contains("g1").any()
    pop = load_model(trained["aws-popularity-count"][0])
    top = pop.recommend(user_id="nobody", num_results=1)[0][0]
    seen = parse_filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")')
    recs = pop.recommend(user_id="nobody", num_results=5, item_filter=seen, recent_events=[(top, "watch", 1)])
    assert top not in [i for i, _ in recs]
    recs = pop.recommend(user_id="nobody", num_results=5, item_filter=seen, recent_events=[(top, "click", 1)])
    assert top == recs[0][0]
    young = parse_filter("INCLUDE ItemID WHERE Items.PRICE < 10 IF CurrentUser.AGE < 200")
    prices = up_model.items.set_index("ITEM_ID").loc[
        [i for i, _ in pop.recommend("1", item_filter=young)], "PRICE"
    ]
    assert (prices < 10).all()


def _tiny(n_events, n_users):
    rng = np.random.default_rng(0)
    return TrainingData(
        pd.DataFrame(
            {
                "USER_ID": (np.arange(n_events) % n_users).astype(str),
                "ITEM_ID": rng.integers(0, 50, n_events).astype(str),
                "TIMESTAMP": np.arange(n_events),
                "EVENT_TYPE": np.where(np.arange(n_events) % 4 == 0, "buy", "view"),
                "EVENT_VALUE": (np.arange(n_events) % 10).astype(float),
            }
        )
    )


def test_insufficient_data_uses_aws_reasons(tmp_path):
    with pytest.raises(InsufficientDataError, match="fewer than 1000 interactions"):
        train(UP, _tiny(999, 100), {}, tmp_path / "a")
    with pytest.raises(InsufficientDataError, match="at least 25 unique users with at least 2 interactions"):
        train(UP, _tiny(1200, 20), {}, tmp_path / "b")
    # enough in total, but not after filtering by event type / event value threshold
    with pytest.raises(InsufficientDataError, match="after filtering by event type: buy"):
        train(UP, _tiny(2000, 100), {"eventType": "buy"}, tmp_path / "c")
    cfg = {"solutionConfig": {"eventValueThreshold": "8"}}
    with pytest.raises(InsufficientDataError, match="fewer than 1000"):
        train(ARN + "aws-popularity-count", _tiny(2000, 100), cfg, tmp_path / "d")
    with pytest.raises(UnsupportedRecipeError, match="not supported"):
        train(ARN + "aws-trending-now", _tiny(2000, 100), {}, tmp_path / "e")


def test_event_type_and_threshold_select_training_events(small_data, tmp_path):
    params = {"eventType": "click", "solutionConfig": {"eventValueThreshold": "2"}}
    train(ARN + "aws-popularity-count", small_data, params, tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    df = small_data.interactions
    assert meta["n_interactions"] == int(((df.EVENT_TYPE == "click") & (df.EVENT_VALUE >= 2)).sum())
    assert meta["event_type"] == "click"


def test_hyperparameters_are_honoured_and_training_is_deterministic(small_data, tmp_path):
    hp = {"hidden_dimension": "16", "training_iterations": "5", "recency_mask": "false"}
    params = {"solutionConfig": {"algorithmHyperParameters": hp}}
    m1 = train(UP, small_data, params, tmp_path / "1", seed=3)
    m2 = train(UP, small_data, params, tmp_path / "2", seed=3)
    assert m1 == m2
    model = load_model(tmp_path / "1")
    assert model.arrays["item_factors"].shape[1] == 16 and model.hyperparameters["recency_mask"] is False


def test_update_mode_warm_starts_and_adds_new_items(small_data, trained, tmp_path):
    prev_dir, prev_metrics = trained["aws-user-personalization"]
    new = pd.DataFrame(
        {
            "USER_ID": ["1", "2", "3", "4"] * 5,
            "ITEM_ID": ["brand-new"] * 20,
            "TIMESTAMP": 1_700_000_000 + np.arange(20),
            "EVENT_TYPE": "watch",
            "EVENT_VALUE": 5.0,
        }
    )
    data = TrainingData(pd.concat([small_data.interactions, new]), small_data.items, small_data.users)
    metrics = train(UP, data, {"trainingMode": "UPDATE"}, tmp_path / "upd", previous_dir=prev_dir)
    assert metrics == prev_metrics
    meta = json.loads((tmp_path / "upd" / "model.json").read_text())
    full = json.loads((prev_dir / "model.json").read_text())
    assert meta["training_mode"] == "UPDATE" and meta["training_seconds"] < full["training_seconds"]
    model = load_model(tmp_path / "upd")
    assert "brand-new" in model.known_items
    only_new = parse_filter('INCLUDE ItemID WHERE Items.ITEM_ID IN ("brand-new")')
    assert [i for i, _ in model.recommend(user_id="9", item_filter=only_new)] == ["brand-new"]
    k = model.known_items.index("brand-new")
    assert np.abs(model.arrays["item_factors"][k]).sum() > 0  # learned from its 20 events, not a zero vector
    with pytest.raises(ValueError, match="previous ACTIVE solution version"):
        train(UP, data, {"trainingMode": "UPDATE"}, tmp_path / "x", previous_dir=None)


def test_load_model_is_cached(trained):
    d = trained["aws-sims"][0]
    assert load_model(d) is load_model(str(d))


def test_sims_hyperparameters_and_metadata_fallback(small_data, tmp_path):
    hp = {"min_cointeraction_count": "100000", "popularity_discount_factor": "0.9"}
    train(ARN + "aws-sims", small_data, {"solutionConfig": {"algorithmHyperParameters": hp}}, tmp_path)
    model = load_model(tmp_path)
    assert model.hyperparameters["min_cointeraction_count"] == 100000
    assert (model.arrays["neighbors"] < 0).all()  # no pair co-occurs that often
    items = small_data.items.set_index("ITEM_ID")
    recs = [i for i, _ in model.recommend(item_id="7", num_results=5)]
    wanted = set(items.loc["7", "GENRE"].split("|"))
    assert all(wanted & set(items.loc[i, "GENRE"].split("|")) for i in recs)  # metadata-similar items


def test_sims_filter_on_current_item(trained, small_data):
    model = load_model(trained["aws-sims"][0])
    items = small_data.items.set_index("ITEM_ID")
    same = parse_filter("INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)")
    for query in ("32", "5"):
        wanted = set(items.loc[query, "GENRE"].split("|"))
        recs = [i for i, _ in model.recommend(item_id=query, num_results=10, item_filter=same)]
        assert recs and all(wanted & set(items.loc[i, "GENRE"].split("|")) for i in recs)


def test_popularity_counts_unique_users_not_events(tmp_path):
    """AWS: the most popular items are those with interactions from the most unique users."""
    rows = [(f"u{u}", f"i{u % 40}", 10 * u) for u in range(1200)]  # 40 items x 30 users each
    rows += [("fan", "binge", 20_000 + k) for k in range(300)]  # one user, 300 events on one item
    rows += [(f"u{u}", "broad", 30_000 + u) for u in range(31)]  # 31 users once each
    inter = pd.DataFrame(rows, columns=["USER_ID", "ITEM_ID", "TIMESTAMP"])
    train(ARN + "aws-popularity-count", TrainingData(inter), {}, tmp_path)
    ranked = [i for i, _ in load_model(tmp_path).recommend(user_id="u1", num_results=50)]
    assert ranked[0] == "broad"
    assert ranked.index("binge") > ranked.index("i0")  # 1 user < 30 users, despite 300 events


def test_cross_validation_holds_every_user_out_once_and_fold_0_is_what_train_reports(small_data, trained):
    from personalize_local.engine.evaluation import cross_validate
    from personalize_local.engine.metrics import compute_metrics

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

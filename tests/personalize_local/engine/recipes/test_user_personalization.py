"""user-personalization: history excluded, softmax scores, recent events, metadata term, UPDATE."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from personalize_local.engine import (
    TrainingData,
    load_model,
    parse_filter,
    train,
)
from tests.personalize_local.engine.helpers import UP


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
    # another seed than the previous version's (42): a warm start does not depend on it, a fresh fit does
    metrics = train(UP, data, {"trainingMode": "UPDATE"}, tmp_path / "upd", previous_dir=prev_dir, seed=7)
    assert metrics == prev_metrics  # no new offline evaluation: the previous version's metrics
    meta = json.loads((tmp_path / "upd" / "model.json").read_text())
    assert meta["training_mode"] == "UPDATE"
    # Warm start, not a retrain: the known items' factors stay where the previous version put them, while a
    # FULL fit with that seed lands elsewhere (ALS factors are unique only up to a rotation).
    train(UP, data, {}, tmp_path / "full-seed-7", seed=7)
    assert _factor_drift(prev_dir, tmp_path / "upd") < 0.4
    assert _factor_drift(prev_dir, tmp_path / "full-seed-7") > 0.9
    model = load_model(tmp_path / "upd")
    assert "brand-new" in model.known_items
    only_new = parse_filter('INCLUDE ItemID WHERE Items.ITEM_ID IN ("brand-new")')
    assert [i for i, _ in model.recommend(user_id="9", item_filter=only_new)] == ["brand-new"]
    k = model.known_items.index("brand-new")
    assert np.abs(model.arrays["item_factors"][k]).sum() > 0  # learned from its 20 events, not a zero vector
    with pytest.raises(ValueError, match="previous ACTIVE solution version"):
        train(UP, data, {"trainingMode": "UPDATE"}, tmp_path / "x", previous_dir=None)


def test_update_refreshes_items_and_changed_users_without_retraining(small_data, trained, tmp_path):
    """UPDATE is not a retraining: known items keep their factors exactly, users without new interactions keep
    theirs; a new item gets factors from its events, a user with new events (and a new user) is folded in."""
    prev_dir, _ = trained["aws-user-personalization"]
    new = pd.DataFrame(
        {
            "USER_ID": ["1", "2", "3", "newcomer"] * 5,
            "ITEM_ID": ["fresh"] * 20,
            "TIMESTAMP": 1_700_000_000 + np.arange(20),
            "EVENT_TYPE": "watch",
            "EVENT_VALUE": 5.0,
        }
    )
    data = TrainingData(pd.concat([small_data.interactions, new]), small_data.items, small_data.users)
    train(UP, data, {"trainingMode": "UPDATE"}, tmp_path / "upd", previous_dir=prev_dir, seed=42)
    with np.load(prev_dir / "arrays.npz") as b, np.load(tmp_path / "upd" / "arrays.npz") as a:
        before = {k: b[k] for k in ("item_ids", "item_factors", "user_ids", "user_factors")}
        after = {k: a[k] for k in ("item_ids", "item_factors", "user_ids", "user_factors")}
    pos = pd.Index(after["item_ids"]).get_indexer(before["item_ids"])
    assert (pos >= 0).all() and np.array_equal(after["item_factors"][pos], before["item_factors"])
    fresh = list(after["item_ids"]).index("fresh")
    assert np.abs(after["item_factors"][fresh]).sum() > 0
    users_after = dict(zip(after["user_ids"], after["user_factors"], strict=True))
    users_before = dict(zip(before["user_ids"], before["user_factors"], strict=True))
    for quiet in ("4", "5", "10"):
        assert np.array_equal(users_after[quiet], users_before[quiet]), quiet
    for active in ("1", "2", "3"):
        assert not np.array_equal(users_after[active], users_before[active]), active
    assert np.abs(users_after["newcomer"]).sum() > 0


def _factor_drift(before: Path, after: Path) -> float:
    """Relative change ||Y_after - Y_before|| / ||Y_before|| of the item factors of the items in `before`."""
    with np.load(before / "arrays.npz") as b, np.load(after / "arrays.npz") as a:
        pos = pd.Index(a["item_ids"]).get_indexer(b["item_ids"])
        assert (pos >= 0).all()
        y_before, y_after = b["item_factors"], a["item_factors"][pos]
    return float(np.linalg.norm(y_after - y_before) / np.linalg.norm(y_before))


def test_model_without_the_term_still_serves(small_data, tmp_path):
    """A model trained without it (older versions, metadata_weight 0) serves the collaborative hybrid alone."""
    off = {"solutionConfig": {"algorithmHyperParameters": {"metadata_weight": "0"}}}
    train(UP, small_data, off, tmp_path / "off")
    train(UP, small_data, {}, tmp_path / "old")
    old = tmp_path / "old"
    with np.load(old / "arrays.npz") as z:
        kept = {k: z[k] for k in z.files if not k.startswith("meta_")}
    np.savez(old / "arrays.npz", **kept)
    meta = json.loads((old / "model.json").read_text())
    del meta["hyperparameters"]["metadata_weight"]
    (old / "model.json").write_text(json.dumps(meta))
    for user in ("1", "7", "42"):
        assert load_model(old).recommend(user_id=user) == load_model(tmp_path / "off").recommend(user_id=user)


def test_metadata_changes_recommendations_and_needs_an_items_dataset(small_data, tmp_path):
    train(UP, small_data, {}, tmp_path / "on")
    off = {"solutionConfig": {"algorithmHyperParameters": {"metadata_weight": "0"}}}
    train(UP, small_data, off, tmp_path / "off")
    on, no = load_model(tmp_path / "on"), load_model(tmp_path / "off")
    users = [str(u) for u in range(20)]
    assert any(on.recommend(user_id=u) != no.recommend(user_id=u) for u in users)
    train(UP, TrainingData(small_data.interactions), {}, tmp_path / "bare")
    with np.load(tmp_path / "bare" / "arrays.npz") as z:
        assert not [k for k in z.files if k.startswith("meta_")]
    assert len(load_model(tmp_path / "bare").recommend(user_id="1")) == 25

"""SIMS: related items for an item, its hyperparameters, the metadata fallback and CurrentItem filters."""

import pytest

from personalize_local.engine import (
    load_model,
    parse_filter,
    train,
)
from tests.personalize_local.engine.helpers import ARN


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

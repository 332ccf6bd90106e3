"""Item exploration, new items without retraining and promotions in a loaded model (engine/exploration.py,
engine/model.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personalize_local.engine import load_model, parse_filter, train
from personalize_local.engine.exploration import Exploration
from personalize_local.engine.model import Promotion
from personalize_local.engine.synthetic import generate
from tests.personalize_local.engine.helpers import UP

DAY = 86400


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    """user-personalization trained on items with a CREATION_TIMESTAMP spread over the data's ~4 months."""
    data = generate(n_users=300, n_items=200, n_interactions=6000, seed=1)
    latest = int(data.interactions["TIMESTAMP"].max())
    data.items["CREATION_TIMESTAMP"] = latest - (np.arange(len(data.items)) * 7919 % 120) * DAY
    out = tmp_path_factory.mktemp("dated")
    train(UP, data, {}, out, seed=42)
    return load_model(out)


def test_exploration_config_defaults_and_errors():
    assert Exploration.from_config(None) == Exploration(0.3, 30.0)
    assert Exploration.from_config({"explorationWeight": "0.9", "explorationItemAgeCutOff": "7"}) == Exploration(0.9, 7)
    assert Exploration(0.3).slots(25) == 8 and Exploration(0.3).slots(5) == 2 and Exploration(0.0).slots(25) == 0
    with pytest.raises(ValueError, match="explorationWeight must be between 0 and 1, got '1.5'"):
        Exploration.from_config({"explorationWeight": "1.5"})
    with pytest.raises(ValueError, match="explorationItemAgeCutOff must be a number"):
        Exploration.from_config({"explorationItemAgeCutOff": "soon"})


def _recent_items(model, days: float) -> set[str]:
    young = (model.latest_ts - model.item_created) <= days * DAY
    return set(np.asarray(model.item_ids)[young])


def _history(model, user: str) -> set[str]:
    u = model._user_index[user]
    return set(model.item_ids[model.history.indices[model.history.indptr[u] : model.history.indptr[u + 1]]])


def test_exploration_gives_its_share_of_places_to_young_items(dated):
    plain = dated.recommendations(user_id="7", num_results=10)
    assert plain == dated.recommendations(user_id="7", num_results=10, exploration=Exploration(0.0))
    young = _recent_items(dated, 30)
    assert 10 < len(young) < len(dated.item_ids) / 2  # the synthetic data spans ~4 months
    explored = dated.recommendations(user_id="7", num_results=10, exploration=Exploration(0.3, 30))
    ids = [r.item_id for r in explored]
    extra = [i for i in ids if i not in {r.item_id for r in plain}]
    assert len(ids) == len(set(ids)) == 10 and len(extra) == 3 and set(extra) <= young
    assert [r.item_id for r in plain[:7]] == [i for i in ids if i not in extra]  # the top keeps its order
    assert [ids.index(i) for i in extra] == [2, 5, 7]  # evenly spaced
    assert explored == dated.recommendations(user_id="7", num_results=10, exploration=Exploration(0.3, 30))
    # a shorter cut-off narrows the candidates; a zero weight or a recipe that does not explore changes nothing
    week = dated.recommendations(user_id="7", num_results=10, exploration=Exploration(1.0, 7))
    young_allowed = _recent_items(dated, 7) - _history(dated, "7")
    assert len(week) == 10 and len({r.item_id for r in week} & young_allowed) == min(10, len(young_allowed))


def test_high_exploration_weight_prefers_the_least_seen(dated):
    recs = dated.recommendations(user_id="7", num_results=10, exploration=Exploration(1.0, 3650))
    counts = dated.popularity[[dated.item_index[r.item_id] for r in recs]]
    assert counts.max() <= np.sort(dated.popularity)[10]


def test_exploration_respects_filters_and_history(dated):
    f = parse_filter('INCLUDE ItemID WHERE Items.GENRE IN ("g2")').bind()
    recs = dated.recommendations(user_id="7", num_results=12, item_filter=f, exploration=Exploration(0.5, 60))
    genres = dated.items.set_index("ITEM_ID").loc[[r.item_id for r in recs], "GENRE"]
    assert genres.str.contains("g2").all()
    history = _history(dated, "7")
    assert not history & {r.item_id for r in recs}


def test_items_added_after_training_are_recommended_and_filtered(up_model, trained):
    new = pd.DataFrame(
        {"ITEM_ID": ["new-1", "new-2", "new-3"], "GENRE": ["g1", "g3", "nothing-like-it"], "PRICE": [5.0, 60.0, 1.0]}
    )
    current = pd.concat([up_model.items, new], ignore_index=True)
    extended = up_model.with_data(current, new_items=True)
    assert up_model.with_data(up_model.items, up_model.users, new_items=True) is up_model
    assert len(extended.item_ids) == len(up_model.item_ids) + 3
    assert "new-1" not in up_model.item_index  # the loaded model itself is unchanged
    recs = extended.recommendations(user_id="7", num_results=10, exploration=Exploration(1.0, 30))
    assert {"new-1", "new-2", "new-3"} <= {r.item_id for r in recs}  # never seen, created now: explored first
    plain = [r.item_id for r in extended.recommendations(user_id="7", num_results=len(extended.item_ids))]
    assert plain[-1] == "new-3"  # no metadata value in common with a trained item: the lowest score
    cheap = parse_filter("INCLUDE ItemID WHERE Items.PRICE > 55").bind()
    assert [r.item_id for r in extended.recommendations(user_id="7", num_results=5, item_filter=cheap)] == ["new-2"]
    # a recent event on a new item takes it out of the user's recommendations
    seen = extended.recommendations(
        user_id="7", num_results=10, exploration=Exploration(1.0, 30), recent_events=[("new-1", "click", 1)]
    )
    assert "new-1" not in {r.item_id for r in seen}
    assert load_model(trained["aws-user-personalization"][0]) is up_model


def test_promotion_takes_its_share_at_random_places(dated):
    promo_filter = parse_filter('INCLUDE ItemID WHERE Items.GENRE IN ("g4")').bind()
    request_filter = parse_filter('EXCLUDE ItemID WHERE Items.GENRE IN ("g4")').bind()
    promotion = Promotion("house", 30, promo_filter)
    genre = dated.items.set_index("ITEM_ID")["GENRE"]
    places = set()
    for seed in range(8):
        recs = dated.recommendations(
            user_id="7", num_results=10, item_filter=request_filter, promotion=promotion, seed=seed
        )
        promoted = [r for r in recs if r.promotion == "house"]
        assert len(recs) == 10 and len(promoted) == 3
        assert all("g4" in genre[r.item_id] for r in promoted)
        assert not any("g4" in genre[r.item_id] for r in recs if r.promotion is None)
        assert [r.score for r in promoted] == sorted((r.score for r in promoted), reverse=True)
        places.add(tuple(i for i, r in enumerate(recs) if r.promotion))
    assert len(places) > 1  # positioned randomly relative to the other items
    assert Promotion("p", 1, None).count(25) == 1 and Promotion("p", 10, None).count(25) == 3
    assert Promotion("p", 100, None).count(5) == 5


def test_context_ranks_items_picked_in_that_context_higher(tmp_path):
    data = generate(n_users=300, n_items=200, n_interactions=6000, seed=3)
    genre = data.items.set_index("ITEM_ID")["GENRE"].str[:2]
    picked = data.interactions["ITEM_ID"].map(genre)
    data.interactions["DEVICE"] = np.where(picked == "g1", "tv", "mobile")  # g1 items are watched on TV
    train(UP, data, {}, tmp_path, seed=42)
    model = load_model(tmp_path)

    def g1_share(**context):
        recs = [r for u in range(30) for r in model.recommendations(user_id=str(u), num_results=10, **context)]
        return np.mean([genre[r.item_id] == "g1" for r in recs])

    assert g1_share(context={"DEVICE": "tv"}) > g1_share() > g1_share(context={"DEVICE": "mobile"})
    assert g1_share(context={"DEVICE": "fridge", "WEATHER": "rain"}) == g1_share()  # unknown: no effect
    ranked = model.rank("5", ["0", "1", "2", "3"], context={"DEVICE": "tv"})
    assert sorted(i for i, _ in ranked) == ["0", "1", "2", "3"]


def test_filters_see_the_current_item_and_user_data(up_model):
    items = up_model.items.copy()
    items.loc[items["ITEM_ID"] == "3", "GENRE"] = "relabelled"
    users = pd.concat([up_model.users, pd.DataFrame({"USER_ID": ["late"], "AGE": [70]})], ignore_index=True)
    current = up_model.with_data(items, users)  # not a recipe that adds items: the catalog stays
    assert len(current.item_ids) == len(up_model.item_ids)
    relabelled = parse_filter('INCLUDE ItemID WHERE Items.GENRE IN ("relabelled")').bind()
    assert [r.item_id for r in current.recommendations(user_id="late", item_filter=relabelled)] == ["3"]
    assert up_model.recommendations(user_id="late", item_filter=relabelled) == []
    senior = parse_filter('INCLUDE ItemID WHERE Items.GENRE IN ("relabelled") IF CurrentUser.AGE > 65').bind()
    assert [r.item_id for r in current.recommendations(user_id="late", item_filter=senior)] == ["3"]


def test_filters_see_a_column_added_to_the_items_data_after_training(up_model):
    """A schema replacement adds a column: filters on it work from the next request, without retraining."""
    items = up_model.items.copy()
    items["STUDIO"] = np.where(items["ITEM_ID"].isin(["3", "7"]), "Pixar", None)
    current = up_model.with_data(items)
    assert current is not up_model
    pixar = parse_filter('INCLUDE ItemID WHERE Items.STUDIO IN ("Pixar")').bind()
    assert sorted(r.item_id for r in current.recommendations(user_id="late", item_filter=pixar)) == ["3", "7"]

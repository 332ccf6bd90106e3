"""The loaded model: cached per directory; filters over item metadata, history and recent events."""

from personalize_local.engine import (
    load_model,
    parse_filter,
)


def test_load_model_is_cached(trained):
    d = trained["aws-sims"][0]
    assert load_model(d) is load_model(str(d))


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
    prices = up_model.items.set_index("ITEM_ID").loc[[i for i, _ in pop.recommend("1", item_filter=young)], "PRICE"]
    assert (prices < 10).all()

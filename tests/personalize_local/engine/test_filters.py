"""Filter grammar: every construct, evaluated over a tiny catalog, and syntax errors naming the position."""

import numpy as np
import pandas as pd
import pytest

from personalize_local.engine import FilterContext, parse_filter
from personalize_local.engine.filters import SegmentContext

ITEMS = pd.DataFrame(
    {
        "ITEM_ID": ["a", "b", "c", "d", "e"],
        "GENRE": ["comedy", "drama|comedy", "horror", "drama", None],
        "PRICE": [5.0, 12.0, 9.5, 30.0, np.nan],
    }
)
IDS = ITEMS["ITEM_ID"].to_numpy()


def ctx(user_items=(), types=(), user=None, values=None):
    return FilterContext(
        item_ids=IDS,
        items=ITEMS,
        user_items=np.array(user_items, dtype=np.int64),
        user_event_types=np.array(types, dtype=object),
        user=user,
        values=values or {},
    )


def allowed(expr, c=None, filter_values=None):
    f = parse_filter(expr)
    bound = f.bind(filter_values or {})
    mask = bound.mask(c or ctx())
    return [i for i, ok in zip(IDS, mask, strict=True) if ok]


def test_include_in_matches_any_of_multi_valued_field():
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("comedy")') == ["a", "b"]


def test_exclude_in_and_not_in():
    assert allowed('EXCLUDE ItemID WHERE Items.GENRE IN ("drama", "horror")') == ["a", "e"]
    assert allowed('INCLUDE ItemID WHERE Items.GENRE NOT IN ("drama")') == ["a", "c", "e"]


@pytest.mark.parametrize(
    "op,expected",
    [("<", ["a", "c"]), ("<=", ["a", "c"]), (">", ["b", "d"]), (">=", ["b", "c", "d"]), ("=", ["c"])],
)
def test_numeric_comparisons_skip_missing_values(op, expected):
    value = "9.5" if op in (">=", "=") else "10"
    if op == "<=":
        value = "9.5"
    assert allowed(f"INCLUDE ItemID WHERE Items.PRICE {op} {value}") == expected


def test_and_or_with_and_binding_tighter():
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("drama") AND Items.PRICE < 20') == ["b"]
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("horror") OR Items.PRICE > 20') == ["c", "d"]
    expr = 'INCLUDE ItemID WHERE Items.GENRE IN ("horror") OR Items.GENRE IN ("comedy") AND Items.PRICE < 10'
    assert allowed(expr) == ["a", "c"]  # horror OR (comedy AND price < 10)


def test_interactions_star_and_specific_event_type():
    c = ctx(user_items=[0, 2, 3], types=["click", "watch", "click"])
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', c) == ["b", "e"]
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")', c) == ["a", "b", "d", "e"]
    assert allowed('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', c) == ["a", "d"]


def test_param_placeholders_take_api_filter_values():
    expr = "INCLUDE ItemID WHERE Items.GENRE IN ($GENRES) AND Items.PRICE < $MAXPRICE"
    assert allowed(expr, filter_values={"GENRES": '"drama","horror"', "MAXPRICE": "20"}) == ["b", "c"]
    # an unset placeholder drops its condition, as Personalize does
    assert allowed(expr, filter_values={"GENRES": '"drama"'}) == ["b", "d"]


def test_chained_expressions_all_apply():
    expr = 'INCLUDE ItemID WHERE Items.PRICE < 20 | EXCLUDE ItemID WHERE Items.GENRE IN ("comedy")'
    assert allowed(expr) == ["c"]


def test_if_current_user_condition_switches_expression():
    expr = 'EXCLUDE ItemID WHERE Items.GENRE IN ("horror") IF CurrentUser.AGE < 18'
    assert allowed(expr, ctx(user={"USER_ID": "u", "AGE": 12})) == ["a", "b", "d", "e"]
    assert allowed(expr, ctx(user={"USER_ID": "u", "AGE": 40})) == ["a", "b", "c", "d", "e"]
    assert allowed(expr, ctx(user=None)) == ["a", "b", "c", "d", "e"]
    cat = 'INCLUDE ItemID WHERE Items.GENRE IN ("drama") IF CurrentUser.TIER IN ("gold") AND CurrentUser.AGE>2'  # noqa: E501
    assert allowed(cat, ctx(user={"TIER": "gold", "AGE": 30})) == ["b", "d"]
    assert allowed(cat, ctx(user={"TIER": "gold", "AGE": 1})) == list(IDS)
    assert allowed(cat, ctx(user={"TIER": "silver", "AGE": 30})) == list(IDS)


def test_keywords_and_dataset_names_are_case_insensitive():
    assert allowed('include ItemId where items.GENRE in ("drama")') == ["b", "d"]


def test_item_id_field():
    assert allowed('EXCLUDE ItemID WHERE Items.ITEM_ID IN ("a", "c")') == ["b", "d", "e"]


def test_not_equal_on_numbers_and_strings_skips_missing_values():
    assert allowed("INCLUDE ItemID WHERE Items.PRICE != 9.5") == ["a", "b", "d"]
    assert allowed('INCLUDE ItemID WHERE Items.GENRE != "horror"') == ["a", "b", "d"]
    assert allowed("EXCLUDE ItemID WHERE Items.PRICE != $P", filter_values={"P": "30"}) == ["d", "e"]


def test_include_expressions_unite_and_excludes_subtract():
    """ "Include A | Include B" is items from A or B; "Include A | Exclude B" is A minus B (Combining expressions)."""
    both = 'INCLUDE ItemID WHERE Items.GENRE IN ("horror") | INCLUDE ItemID WHERE Items.PRICE > 20'
    assert allowed(both) == ["c", "d"]
    c = ctx(user_items=[3], types=["click"])
    mixed = 'INCLUDE ItemID WHERE Items.GENRE IN ("drama") | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
    assert allowed(mixed, c) == ["b"]
    excludes = 'EXCLUDE ItemID WHERE Items.GENRE IN ("horror") | EXCLUDE ItemID WHERE Items.PRICE > 20'
    assert allowed(excludes) == ["a", "b", "e"]


def test_current_item_values_compare_with_the_requested_item():
    cheaper_same_genre = "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE"
    current = {"ITEM_ID": "x", "GENRE": "comedy|horror", "PRICE": 10.0}
    assert allowed(cheaper_same_genre, FilterContext(item_ids=IDS, items=ITEMS, current_item=current)) == ["a", "c"]
    pricier = "EXCLUDE ItemID WHERE Items.PRICE > CurrentItem.PRICE"
    assert allowed(pricier, FilterContext(item_ids=IDS, items=ITEMS, current_item=current)) == ["a", "c", "e"]
    # the requested item has no PRICE: no item compares true (INCLUDE keeps none, EXCLUDE removes none)
    no_price = {"ITEM_ID": "x", "GENRE": "drama"}
    assert (
        allowed(
            "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", FilterContext(IDS, ITEMS, current_item=no_price)
        )
        == []
    )
    assert allowed(pricier, FilterContext(IDS, ITEMS, current_item=no_price)) == list(IDS)
    assert (
        parse_filter(cheaper_same_genre).uses_current_item
        and not parse_filter(pricier.replace("CurrentItem.PRICE", "3")).uses_current_item
    )


def test_event_types_match_in_any_case_other_values_exactly():
    c = ctx(user_items=[0, 2], types=["Click", "WATCH"])
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', c) == ["b", "c", "d", "e"]
    assert allowed('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch", "CLICK")', c) == ["b", "d", "e"]
    assert allowed('INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")') == []  # item values: exact strings


def test_interactions_filters_count_the_100_newest_events_per_type():
    ids = np.array([f"i{k}" for k in range(130)])
    events = np.arange(130)  # oldest first: i0 .. i129 clicked, then i0 watched again
    types = np.array(["click"] * 130, dtype=object)
    c = FilterContext(item_ids=ids, user_items=np.r_[events, 0], user_event_types=np.append(types, "watch"))
    kept = parse_filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")').bind().mask(c)
    assert kept[:30].all() and not kept[30:].any()  # the 30 oldest clicks no longer count
    star = parse_filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")').bind().mask(c)
    assert star[1:30].all() and not star[0] and not star[30:].any()  # i0 counts again as a (newest) watch


def test_missing_values_of_include_expressions_are_reported():
    f = parse_filter("INCLUDE ItemID WHERE Items.GENRE IN ($G) | EXCLUDE ItemID WHERE Items.PRICE > $MAX")
    assert f.bind({}).missing_include_values() == ["G"]
    assert f.bind({"G": '"drama"'}).missing_include_values() == []


def test_user_segment_filters_over_users_and_their_interactions():
    users = pd.DataFrame({"USER_ID": ["u1", "u2", "u3"], "AGE": [18, 35, None], "TIER": ["gold", "silver", "gold"]})
    seg = SegmentContext(
        user_ids=users["USER_ID"].to_numpy(),
        users=users,
        event_indptr=np.array([0, 2, 2, 3]),
        event_types=np.array(["click", "Watch", "rating"], dtype=object),
    )

    def kept(expr, values=None):
        mask = parse_filter(expr).bind(values or {}).user_mask(seg)
        return [u for u, ok in zip(seg.user_ids, mask, strict=True) if ok]

    assert kept("INCLUDE UserID WHERE Users.AGE > 20") == ["u2"]
    assert kept("EXCLUDE UserID WHERE Users.AGE < $AGE", {"AGE": "30"}) == ["u2", "u3"]
    assert kept("INCLUDE UserID WHERE Users.TIER IN ($T)", {"T": '"gold"'}) == ["u1", "u3"]
    assert kept('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("watch", "rating")') == ["u1", "u3"]
    assert kept('EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("*")') == ["u2"]
    with pytest.raises(ValueError, match="filters UserIDs, not items"):
        parse_filter("INCLUDE UserID WHERE Users.AGE > 20").mask(ctx())

"""Filter grammar: every construct, evaluated over a tiny catalog, and syntax errors naming the position."""

import numpy as np
import pandas as pd
import pytest

from personalize_local.engine import FilterContext, parse_filter

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

"""Filter expression limits, just below and just above each (personalize_ops/filter_expression.py).

The limits are Personalize's documented ones (developer guide, "Filter expression elements" and "Guidelines and
requirements"; CreateFilter's 2500-character filterExpression; GetRecommendations' 25 filterValues).
"""

from __future__ import annotations

import pytest
from personalize_ops.filter_expression import (
    MAX_FIELDS,
    MAX_LENGTH,
    MAX_PARAMETERS,
    FilterExpressionError,
    parse_filter_expression,
)


def _padded(length: int) -> str:
    head, tail = 'EXCLUDE ItemID WHERE Items.GENRE IN ("', '")'
    return head + "x" * (length - len(head) - len(tail)) + tail


def _fields(n: int, dataset: str = "Items") -> str:
    return "INCLUDE ItemID WHERE " + " AND ".join(f"{dataset}.F{i} = 1" for i in range(n))


def _params(n: int) -> str:
    return "INCLUDE ItemID WHERE Items.GENRE IN (" + ", ".join(f"$P{i}" for i in range(n)) + ")"


def test_documented_limits_are_the_constants():
    assert (MAX_LENGTH, MAX_FIELDS, MAX_PARAMETERS) == (2500, 10, 25)


def test_length_limit():
    assert len(_padded(2500)) == 2500
    parse_filter_expression(_padded(2500))
    with pytest.raises(FilterExpressionError, match="expression is 2501 characters; Personalize allows 2500"):
        parse_filter_expression(_padded(2501))


def test_distinct_dataset_fields_limit():
    parse_filter_expression(_fields(10))
    with pytest.raises(FilterExpressionError, match="uses 11 distinct dataset fields .*; Personalize allows 10"):
        parse_filter_expression(_fields(11))


def test_fields_count_across_chained_expressions_and_once_each():
    parse_filter_expression(_fields(5) + " | " + _fields(10))  # F0..F4 again: still 10 distinct fields
    parse_filter_expression(_fields(10) + " AND Items.F0 > 2")
    chained = _fields(6) + ' | EXCLUDE ItemID WHERE Items.G0 IN ("a") AND Items.G1 IN ("b") AND Items.G2 IN ("c")'
    parse_filter_expression(chained + ' AND Items.G3 IN ("d")')  # 6 + 4
    with pytest.raises(FilterExpressionError, match="11 distinct dataset fields"):
        parse_filter_expression(chained + ' AND Items.G3 IN ("d") AND Items.G4 IN ("e")')


def test_current_item_reads_the_items_dataset_fields():
    """``CurrentItem.F0`` is the items dataset's F0: it does not count as another field."""
    parse_filter_expression(_fields(10) + " AND Items.F1 < CurrentItem.F1")
    with pytest.raises(FilterExpressionError, match="11 distinct dataset fields"):
        parse_filter_expression(_fields(10) + " AND Items.F1 < CurrentItem.F10")


def test_parameter_limit():
    parse_filter_expression(_params(25))
    parse_filter_expression(_params(25) + " AND Items.GENRE IN ($P0, $P24)")  # repeats are one parameter each
    with pytest.raises(FilterExpressionError, match="has 26 distinct \\$PARAMETERS; .* at most 25 filter values"):
        parse_filter_expression(_params(26))


@pytest.mark.parametrize(
    "expr",
    [
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18",
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 AND CurrentUser.TIER = $T",
        'INCLUDE ItemID WHERE Items.GENRE IN ("a") IF CurrentUser.AGE > 18 | EXCLUDE ItemID WHERE Items.X = 1',
    ],
)
def test_if_condition_on_current_user_extended_with_and(expr):
    parse_filter_expression(expr)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 OR CurrentUser.TIER = $T",
         "an IF condition comes once, at the end, extended with AND only"),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 IF CurrentUser.TIER = $T",
         "an IF condition comes once, at the end"),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) IF Items.PRICE > 18", "an IF condition can only check CurrentUser"),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 AND Items.PRICE > 1",
         "an IF condition can only check CurrentUser"),
        ("INCLUDE ItemID WHERE CurrentUser.AGE > 18", "CurrentUser can only be used in the IF condition"),
    ],
)  # fmt: skip
def test_if_condition_rules(expr, reason):
    with pytest.raises(FilterExpressionError, match=reason):
        parse_filter_expression(expr)


def test_parameters_not_with_not_in():
    parse_filter_expression('EXCLUDE ItemID WHERE Items.GENRE NOT IN ("a", "b")')
    parse_filter_expression("EXCLUDE ItemID WHERE Items.GENRE IN ($G)")
    with pytest.raises(FilterExpressionError, match="a \\$PARAMETER cannot be used with NOT IN"):
        parse_filter_expression('INCLUDE ItemID WHERE Items.GENRE NOT IN ("a", $G)')


def test_conditions_joined_by_and_or_use_the_first_dataset():
    parse_filter_expression('EXCLUDE ItemID WHERE Items.GENRE IN ("a") OR Items.PRICE > 10')
    both = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") | EXCLUDE ItemID WHERE Items.GENRE IN ("a")'
    parse_filter_expression(both)  # chained expressions may filter on both datasets
    for joined in ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") AND Items.GENRE IN ("a")',
                   'EXCLUDE ItemID WHERE Items.GENRE IN ("a") OR Interactions.EVENT_TYPE IN ("click")'):  # fmt: skip
        with pytest.raises(FilterExpressionError, match="must use the dataset of the first condition"):
            parse_filter_expression(joined)


def test_interactions_only_by_event_type_in_any_case():
    parse_filter_expression('EXCLUDE itemId WHERE INTERACTIONS.event_type IN ("click")')  # CreateFilter's example
    for field in ("ITEM_ID", "EVENT_VALUE"):
        with pytest.raises(FilterExpressionError, match="Interactions filters may only use EVENT_TYPE"):
            parse_filter_expression(f'EXCLUDE ItemID WHERE interactions.{field} IN ("1")')


def test_current_item_values_from_the_guide():
    parsed = parse_filter_expression(
        "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE"
    )
    assert parsed.fields == [("Items", "PRICE"), ("CurrentItem", "PRICE"), ("Items", "GENRE"), ("CurrentItem", "GENRE")]


def test_dataset_names_are_reported_as_documented():
    """Any spelling of a dataset is reported canonically, so the config's field check sees it."""
    assert parse_filter_expression("include ItemID where items.GENRE in ($G)").fields == [("Items", "GENRE")]
    expr = "include itemid where items.PRICE < currentitem.PRICE and items.G in CURRENTITEM.G"
    parsed = parse_filter_expression(expr)
    assert parsed.fields == [("Items", "PRICE"), ("CurrentItem", "PRICE"), ("Items", "G"), ("CurrentItem", "G")]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") # x', "unexpected character '#' at offset 42"),
        ("INCLUDE ItemID WHERE Items.GENRE IN",
         "expected '(' or CurrentItem.FIELD after IN, found end of expression at offset 35"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a" "b")', "expected ',' or ')', found '\"b\"' at offset 41"),
        ('INCLUDE ItemID WHERE Items.GENRE NOT NOT ("a")', "expected IN, found 'NOT' at offset 37"),
        ("INCLUDE ItemID WHERE Items.GENRE = ",
         'expected a value ("string", number, $PARAMETER or CurrentItem.FIELD), found end of expression at offset 35'),
        ('INCLUDE ItemID WHERE Items, GENRE IN ("a")',
         "expected a dataset field such as Items.GENRE, found 'Items' at offset 21"),
        ('INCLUDE ItemID WHERE Items."x" IN ("a")', "expected a field name after 'Items.', found '\"x\"' at offset 27"),
        ('INCLUDE ItemID WHERE Stock.GENRE IN ("a")',
         "offset 21: unknown dataset 'Stock' (Items, Interactions, Users, Actions, Action_Interactions, CurrentUser "
         "or CurrentItem)"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") IF CurrentUser.AGE > 18 OR CurrentUser.T = 1',
         "offset 66: an IF condition comes once, at the end, extended with AND only"),
        ('INCLUDE ItemID WHERE (Items.GENRE IN ("a"))', "offset 21: conditions cannot be grouped with parentheses"),
        ('EXCLUDE ItemID WHERE Interactions.ITEM_ID IN ("1")',
         "offset 21: Interactions filters may only use EVENT_TYPE, not 'ITEM_ID'"),
        ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE = "click"',
         "offset 21: Interactions.EVENT_TYPE takes IN or NOT IN, not ="),
        ("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN CurrentItem.GENRE",
         "offset 48: CurrentItem values can only be compared with Items fields of an ItemID filter"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") IF CurrentUser.AGE > CurrentItem.AGE',
         "offset 63: CurrentItem values can only be compared with Items fields of an ItemID filter"),
        ("INCLUDE UserID WHERE Users.AGE > CurrentItem.AGE",
         "offset 33: CurrentItem values can only be compared with Items fields of an ItemID filter"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("*")', 'offset 21: "*" (every event type) is only valid for EVENT_TYPE'),
        ('INCLUDE ItemID WHERE Items.GENRE NOT IN ("a", $G)',
         "offset 21: a $PARAMETER cannot be used with NOT IN; use IN with the opposite INCLUDE/EXCLUDE"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") | INCLUDE UserID WHERE Users.AGE > 1',
         "offset 65: every expression of a filter must filter the same thing (ItemID, not UserID)"),
        ("INCLUDE ItemID WHERE CurrentUser.AGE > 18", "offset 21: CurrentUser can only be used in the IF condition"),
        ("INCLUDE ItemID WHERE CurrentItem.AGE > 18",
         "offset 21: CurrentItem.FIELD can only be a value, compared with an Items field"),
        ("INCLUDE ItemID WHERE Users.AGE > 18",
         "offset 21: ItemID filters cannot use Users fields (they use Items and Interactions)"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") AND Interactions.EVENT_TYPE IN ("click")',
         "offset 46: conditions joined by AND/OR must use the dataset of the first condition (Items), not "
         "Interactions; chain expressions with '|' to filter on both"),
        ("INCLUDE UserID WHERE Users.AGE > 18 IF CurrentUser.AGE > 1",
         "offset 39: UserID filters cannot have an IF condition (it checks the user getting recommendations)"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") IF Items.PRICE > 1',
         "offset 45: an IF condition can only check CurrentUser"),
        ("INCLUDE ItemID WHERE " + " AND ".join(f"Items.f{i} = 1" for i in range(11)),
         "uses 11 distinct dataset fields (Items.F0, Items.F1, Items.F10, Items.F2, Items.F3, Items.F4, Items.F5, "
         "Items.F6, Items.F7, Items.F8, Items.F9); Personalize allows 10"),
    ],
)  # fmt: skip
def test_every_rejection_says_what_and_where(expr, message):
    """The config error quotes this message: it names the problem and the offset the user has to look at."""
    with pytest.raises(FilterExpressionError) as err:
        parse_filter_expression(expr)
    assert str(err.value) == message


def test_what_a_valid_filter_references():
    """What the config checks against its schemas and what a recommendation request must pass."""
    parsed = parse_filter_expression(
        'INCLUDE UserID WHERE Users.TIER IN ($TIER, "gold") AND Users.AGE >= ($MIN_AGE)'
        " | EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ($TIER)"
    )
    assert parsed.target == "UserID"
    assert parsed.actions == ["INCLUDE", "EXCLUDE"]
    assert parsed.fields == [("Users", "TIER"), ("Users", "AGE"), ("Interactions", "EVENT_TYPE")]
    assert parsed.params == ["TIER", "MIN_AGE", "TIER"]
    assert parsed.param_fields == {"TIER": ("Users", "TIER"), "MIN_AGE": ("Users", "AGE")}

"""Filter syntax errors name the character position and what was expected."""

import pytest

from personalize_local.engine import FilterSyntaxError, parse_filter


@pytest.mark.parametrize(
    "expr,position,expected",
    [
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a"', 40, "')'"),
        ("EXCLUDE ItemID WHEN Items.X IN (1)", 15, "WHERE"),
        ('KEEP ItemID WHERE Items.X IN ("a")', 0, "INCLUDE or EXCLUDE"),
        ('INCLUDE ItemID WHERE Items.GENRE LIKE ("a")', 33, "IN, NOT IN or a comparison"),
        ('INCLUDE ItemID WHERE Genre IN ("a")', 21, "a dataset field such as Items.GENRE"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") AND CurrentUser.AGE > 3', 46, "only be used in the IF condition"),
        ("INCLUDE ItemID WHERE Items.PRICE < ", 35, "a value"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") EXTRA', 42, "end of expression"),
        ('INCLUDE ItemID WHERE Items.GENRE IN ("a") # x', 42, "unexpected character"),
        ("", 0, "INCLUDE or EXCLUDE"),
    ],
)
def test_syntax_errors_name_position_and_expectation(expr, position, expected):
    with pytest.raises(FilterSyntaxError) as err:
        parse_filter(expr)
    assert f"position {position}" in str(err.value)
    assert expected in str(err.value)
    assert err.value.position == position

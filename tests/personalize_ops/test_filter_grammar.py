"""The config validator against the shared table of documented filter expressions (tests/filter_grammar_cases.py)."""

from __future__ import annotations

import pytest
from personalize_ops.filter_expression import FilterExpressionError, parse_filter_expression

from tests.filter_grammar_cases import CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_documented_language(case):
    if case.reject is None:
        parse_filter_expression(case.expression)
        return
    with pytest.raises(FilterExpressionError) as err:
        parse_filter_expression(case.expression)
    assert case.reject in str(err.value)

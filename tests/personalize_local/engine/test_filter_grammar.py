"""The service's filter parser against the shared table of documented filter expressions
(tests/filter_grammar_cases.py); `engine` marks the documented differences of the local service."""

from __future__ import annotations

import pytest

from personalize_local.engine import FilterSyntaxError, parse_filter
from tests.filter_grammar_cases import CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_documented_language(case):
    reject = case.engine or case.reject
    if reject is None:
        parse_filter(case.expression)
        return
    with pytest.raises(FilterSyntaxError) as err:
        parse_filter(case.expression)
    assert reject in str(err.value)

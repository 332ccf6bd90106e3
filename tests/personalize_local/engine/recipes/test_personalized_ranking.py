"""personalized-ranking: orders a given list, unknown items last, filters apply."""

import pytest

from personalize_local.engine import (
    load_model,
    parse_filter,
)


def test_personalized_ranking_orders_the_given_list(trained):
    model = load_model(trained["aws-personalized-ranking"][0])
    ranked = model.rank("5", ["0", "1", "2", "zzz-unknown", "3"])
    ids = [i for i, _ in ranked]
    assert sorted(ids) == ["0", "1", "2", "3", "zzz-unknown"] and ids[-1] == "zzz-unknown"
    known_scores = [s for _, s in ranked[:-1]]
    assert known_scores == sorted(known_scores, reverse=True)
    assert sum(known_scores) == pytest.approx(1.0, abs=1e-5)
    f = parse_filter('EXCLUDE ItemID WHERE Items.ITEM_ID IN ("1")')
    assert "1" not in [i for i, _ in model.rank("5", ["0", "1", "2"], item_filter=f)]

"""popularity-count: unique users per item, the same list for everyone."""

import pandas as pd

from personalize_local.engine import (
    TrainingData,
    load_model,
    train,
)
from tests.personalize_local.engine.helpers import ARN


def test_popularity_count_is_the_same_for_everyone(trained):
    model = load_model(trained["aws-popularity-count"][0])
    assert model.recommend(user_id="1", num_results=5) == model.recommend(user_id="2", num_results=5)


def test_popularity_counts_unique_users_not_events(tmp_path):
    """AWS: the most popular items are those with interactions from the most unique users."""
    rows = [(f"u{u}", f"i{u % 40}", 10 * u) for u in range(1200)]  # 40 items x 30 users each
    rows += [("fan", "binge", 20_000 + k) for k in range(300)]  # one user, 300 events on one item
    rows += [(f"u{u}", "broad", 30_000 + u) for u in range(31)]  # 31 users once each
    inter = pd.DataFrame(rows, columns=["USER_ID", "ITEM_ID", "TIMESTAMP"])
    train(ARN + "aws-popularity-count", TrainingData(inter), {}, tmp_path)
    ranked = [i for i, _ in load_model(tmp_path).recommend(user_id="u1", num_results=50)]
    assert ranked[0] == "broad"
    assert ranked.index("binge") > ranked.index("i0")  # 1 user < 30 users, despite 300 events

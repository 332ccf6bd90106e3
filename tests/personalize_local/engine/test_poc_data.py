"""One check on the real MovieLens POC data (skipped when ../shared is absent): fast popularity-count."""

import pandas as pd
import pytest

from personalize_local.engine import TrainingData, load_model, train
from tests.personalize_local.engine.helpers import ARN, POC_DIR


@pytest.mark.skipif(not (POC_DIR / "interactions.csv").exists(), reason="POC data not present")
def test_popularity_count_on_poc_data(tmp_path):
    inter = pd.read_csv(POC_DIR / "interactions.csv", dtype={"USER_ID": str, "ITEM_ID": str})
    items = pd.read_csv(POC_DIR / "item-meta.csv", dtype={"ITEM_ID": str})
    metrics = train(ARN + "aws-popularity-count", TrainingData(inter, items), {}, tmp_path)
    assert 0.005 < metrics["coverage"] < 0.05  # 25 popular items (minus history) out of ~9.7k
    assert metrics["precision_at_25"] > 0.01
    model = load_model(tmp_path)
    assert len(model.known_items) == items.ITEM_ID.nunique()  # metadata-only items join the catalog
    users_per_item = inter.groupby("ITEM_ID").USER_ID.nunique()
    top = [i for i, _ in model.recommend(user_id="1", num_results=3)]
    assert top == users_per_item.sort_values(ascending=False, kind="stable").index[:3].tolist()
    assert inter.ITEM_ID.value_counts().index[0] != top[0]  # by events the order differs: unique users decide

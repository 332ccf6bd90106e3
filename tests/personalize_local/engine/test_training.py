"""train(): data checks in AWS words, event selection, hyperparameters, determinism."""

import json

import numpy as np
import pandas as pd
import pytest

from personalize_local.engine import (
    InsufficientDataError,
    TrainingData,
    UnsupportedRecipeError,
    load_model,
    train,
)
from tests.personalize_local.engine.helpers import ARN, UP


def _tiny(n_events, n_users):
    rng = np.random.default_rng(0)
    return TrainingData(
        pd.DataFrame(
            {
                "USER_ID": (np.arange(n_events) % n_users).astype(str),
                "ITEM_ID": rng.integers(0, 50, n_events).astype(str),
                "TIMESTAMP": np.arange(n_events),
                "EVENT_TYPE": np.where(np.arange(n_events) % 4 == 0, "buy", "view"),
                "EVENT_VALUE": (np.arange(n_events) % 10).astype(float),
            }
        )
    )


def test_insufficient_data_uses_aws_reasons(tmp_path):
    with pytest.raises(InsufficientDataError, match="fewer than 1000 interactions"):
        train(UP, _tiny(999, 100), {}, tmp_path / "a")
    with pytest.raises(InsufficientDataError, match="at least 25 unique users with at least 2 interactions"):
        train(UP, _tiny(1200, 20), {}, tmp_path / "b")
    # enough in total, but not after filtering by event type / event value threshold
    with pytest.raises(InsufficientDataError, match="after filtering by event type: buy"):
        train(UP, _tiny(2000, 100), {"eventType": "buy"}, tmp_path / "c")
    cfg = {"solutionConfig": {"eventValueThreshold": "8"}}
    with pytest.raises(InsufficientDataError, match="fewer than 1000"):
        train(ARN + "aws-popularity-count", _tiny(2000, 100), cfg, tmp_path / "d")
    with pytest.raises(UnsupportedRecipeError, match="not supported"):
        train(ARN + "aws-trending-now", _tiny(2000, 100), {}, tmp_path / "e")


def test_event_type_and_threshold_select_training_events(small_data, tmp_path):
    params = {"eventType": "click", "solutionConfig": {"eventValueThreshold": "2"}}
    train(ARN + "aws-popularity-count", small_data, params, tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    df = small_data.interactions
    assert meta["n_interactions"] == int(((df.EVENT_TYPE == "click") & (df.EVENT_VALUE >= 2)).sum())
    assert meta["event_type"] == "click"


def test_hyperparameters_are_honoured_and_training_is_deterministic(small_data, tmp_path):
    hp = {"hidden_dimension": "16", "training_iterations": "5", "recency_mask": "false"}
    params = {"solutionConfig": {"algorithmHyperParameters": hp}}
    m1 = train(UP, small_data, params, tmp_path / "1", seed=3)
    m2 = train(UP, small_data, params, tmp_path / "2", seed=3)
    assert m1 == m2
    model = load_model(tmp_path / "1")
    assert model.arrays["item_factors"].shape[1] == 16 and model.hyperparameters["recency_mask"] is False

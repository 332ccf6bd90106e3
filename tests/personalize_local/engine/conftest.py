"""Shared fixtures: a small generated dataset and one trained model per recipe (session scope)."""

import pytest

from personalize_local.engine import load_model, train
from personalize_local.engine.synthetic import generate
from tests.personalize_local.engine.helpers import ARN


@pytest.fixture(scope="session")
def small_data():
    return generate(n_users=300, n_items=200, n_interactions=6000, seed=1)


@pytest.fixture(scope="session")
def trained(small_data, tmp_path_factory):
    """recipe name -> (model dir, metrics)."""
    out = {}
    for name in ("aws-user-personalization", "aws-sims", "aws-personalized-ranking", "aws-popularity-count"):
        d = tmp_path_factory.mktemp(name)
        out[name] = (d, train(ARN + name, small_data, {}, d, seed=42))
    return out


@pytest.fixture(scope="session")
def up_model(trained):
    return load_model(trained["aws-user-personalization"][0])

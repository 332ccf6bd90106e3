"""The item-metadata term of user-personalization: affinity maths, serving path, models without it."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from personalize_local.engine import TrainingData, load_model, train
from personalize_local.engine.algorithms import metadata
from personalize_local.engine.features import item_tokens

from .conftest import ARN

UP = ARN + "aws-user-personalization"


def _items():
    return pd.DataFrame(
        {
            "ITEM_ID": [f"i{k}" for k in range(6)],
            "GENRE": ["drama", "drama|war", "comedy", "comedy", "horror", None],
            "YEAR": [1990, 1991, 2010, 2011, 1980, 2000],
        }
    )


def test_affinity_prefers_items_sharing_metadata_with_recent_items():
    items = _items()
    vectors = metadata.matrix(metadata.fit(item_tokens(items, items.ITEM_ID.to_numpy())))
    recent = sp.csr_matrix(([1.0, 0.5], ([0, 0], [0, 1])), shape=(1, 6))  # two dramas, i0 most recent
    a = metadata.affinity(recent, vectors)[0]
    assert a[0] > a[2] and a[1] > a[3] and a[1] > a[4]  # drama beats comedy and horror
    assert a.mean() == pytest.approx(0.0, abs=1e-9) and a.std() == pytest.approx(1.0, abs=1e-6)
    one = metadata.ItemAffinity(vectors).of_items(np.array([0, 1]), np.array([1.0, 0.5]))
    assert np.allclose(one, a)  # the serving path for wide metadata computes the same numbers

def test_no_metadata_means_no_term():
    assert metadata.fit(sp.csr_matrix((5, 0), dtype=np.float32)) == {}
    assert metadata.matrix({}) is None


def test_model_without_the_term_still_serves(small_data, tmp_path):
    """A model trained without it (older versions, metadata_weight 0) serves the collaborative hybrid alone."""
    off = {"solutionConfig": {"algorithmHyperParameters": {"metadata_weight": "0"}}}
    train(UP, small_data, off, tmp_path / "off")
    train(UP, small_data, {}, tmp_path / "old")
    old = tmp_path / "old"
    with np.load(old / "arrays.npz") as z:
        kept = {k: z[k] for k in z.files if not k.startswith("meta_")}
    np.savez(old / "arrays.npz", **kept)
    meta = json.loads((old / "model.json").read_text())
    del meta["hyperparameters"]["metadata_weight"]
    (old / "model.json").write_text(json.dumps(meta))
    for user in ("1", "7", "42"):
        assert load_model(old).recommend(user_id=user) == load_model(tmp_path / "off").recommend(user_id=user)


def test_metadata_changes_recommendations_and_needs_an_items_dataset(small_data, tmp_path):
    train(UP, small_data, {}, tmp_path / "on")
    off = {"solutionConfig": {"algorithmHyperParameters": {"metadata_weight": "0"}}}
    train(UP, small_data, off, tmp_path / "off")
    on, no = load_model(tmp_path / "on"), load_model(tmp_path / "off")
    users = [str(u) for u in range(20)]
    assert any(on.recommend(user_id=u) != no.recommend(user_id=u) for u in users)
    train(UP, TrainingData(small_data.interactions), {}, tmp_path / "bare")
    with np.load(tmp_path / "bare" / "arrays.npz") as z:
        assert not [k for k in z.files if k.startswith("meta_")]
    assert len(load_model(tmp_path / "bare").recommend(user_id="1")) == 25

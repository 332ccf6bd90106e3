"""The item-metadata affinity: its maths, and no term without metadata."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from personalize_local.engine.algorithms import metadata
from personalize_local.engine.features import item_tokens


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

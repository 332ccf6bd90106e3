"""Item-metadata affinity, the third part of the user-personalization hybrid (AWS's recipe uses item metadata).

Each item is its metadata tokens (features.item_tokens: categorical values, numeric quantile bins) weighted by
inverse document frequency and L2-normalised. A user's profile is the recency-weighted sum of the vectors of
their recent items (the same weights as the sequence term); an item's affinity is the cosine between profile
and item, z-scored over the catalog. Items without metadata score 0 before z-scoring; without an items dataset
the term is absent.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from personalize_local.engine.features import column_moments


def fit(tokens: sp.csr_matrix) -> dict:
    """Arrays of the normalised item x token matrix (empty dict when there is no metadata)."""
    if tokens.shape[1] == 0 or tokens.nnz == 0:
        return {}
    t = tokens.tocsr().astype(np.float64)
    df = np.bincount(t.indices, minlength=t.shape[1])
    t = t @ sp.diags(np.log(t.shape[0] / np.maximum(df, 1)))
    norm = np.sqrt(np.asarray(t.multiply(t).sum(axis=1)).ravel())
    v = sp.csr_matrix(sp.diags(1 / np.maximum(norm, 1e-12)) @ t, dtype=np.float32)
    return {"meta_indptr": v.indptr, "meta_indices": v.indices, "meta_data": v.data, "meta_shape": np.array(v.shape)}


def matrix(arrays: dict) -> sp.csr_matrix | None:
    if "meta_indptr" not in arrays:
        return None
    shape = tuple(int(x) for x in arrays["meta_shape"])
    return sp.csr_matrix((arrays["meta_data"], arrays["meta_indices"], arrays["meta_indptr"]), shape=shape)


def affinity(weights: sp.csr_matrix, vectors: sp.csr_matrix) -> np.ndarray:
    """Rows of recency weights over items (users x items) -> z-scored cosine affinities (users x items)."""
    profile = np.asarray((weights @ vectors).todense(), dtype=np.float64)
    profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-12)
    s = np.asarray(vectors @ profile.T).T
    return (s - s.mean(axis=1, keepdims=True)) / (s.std(axis=1, keepdims=True) + 1e-9)


class ItemAffinity:
    """affinity() for one user at a time (the serving path). The catalog mean and spread of the scores come
    from precomputed moments of the item vectors; the vectors are also kept dense when small, for
    hybrid.HybridScorer to fuse them with the item factors. of_items() serves metadata too wide for that."""

    DENSE_MAX = 4_000_000  # item x token cells kept dense (16 MB of float32)

    def __init__(self, vectors: sp.csr_matrix):
        self.sparse = vectors
        n, t = vectors.shape
        self.dense = vectors.toarray().astype(np.float32) if n * t <= self.DENSE_MAX else None
        self.mean, self.cov = column_moments(vectors)

    def of_items(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Z-scored affinities of every item to the profile of `items` weighted by `weights`."""
        profile = np.asarray(self.sparse[items].T @ np.asarray(weights, dtype=np.float64)).ravel()
        std = float(np.sqrt(max(profile @ self.cov @ profile, 0.0)))
        return (self.sparse @ profile - float(self.mean @ profile)) / (std + 1e-9)

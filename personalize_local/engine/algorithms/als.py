"""Implicit ALS (the `implicit` library) on recency-weighted confidences, with exact ALS fold-in for unseen
histories: the long-term half of the user-personalization hybrid.

Reads hidden_dimension, regularization, training_iterations and alpha from the effective hyperparameters
(declared in recipes/user_personalization.py).
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
import scipy.sparse as sp


def confidence(x: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """Stored weights -> ALS confidences c = 1 + alpha * weight (observed entries only)."""
    c = x.astype(np.float32, copy=True)
    c.data = 1.0 + alpha * c.data
    return c


def fit(x: sp.csr_matrix, eff: dict, seed: int, init_items: np.ndarray | None = None) -> dict:
    """Fit ALS on user x item weights; returns user_factors and item_factors (float32)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.getLogger("implicit").setLevel(logging.ERROR)
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1, "blas"):
        warnings.simplefilter("ignore")
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=eff["hidden_dimension"],
            regularization=eff["regularization"],
            alpha=1.0,
            iterations=eff["training_iterations"],
            random_state=seed,
            num_threads=min(2, os.cpu_count() or 1),
            calculate_training_loss=False,
        )
        if init_items is not None:
            model.item_factors = init_items.astype(np.float32)
        model.fit(confidence(x, eff["alpha"]), show_progress=False)
    return {
        "user_factors": np.asarray(model.user_factors, dtype=np.float32),
        "item_factors": np.asarray(model.item_factors, dtype=np.float32),
    }


def fold_in(
    item_factors: np.ndarray, h: sp.csr_matrix, eff: dict, yty: np.ndarray | None = None
) -> np.ndarray:
    """User vectors for history rows `h` (weights), solving the ALS user step exactly:
    (YtY + sum (c-1) y y^T + reg I) x = sum c y."""
    y = item_factors
    k = y.shape[1]
    if yty is None:
        yty = y.T @ y
    base = yty + eff["regularization"] * np.eye(k, dtype=np.float64)
    c = confidence(h.tocsr(), eff["alpha"])
    out = np.zeros((c.shape[0], k), dtype=np.float32)
    for r in range(c.shape[0]):
        lo, hi = c.indptr[r], c.indptr[r + 1]
        if lo == hi:
            continue
        idx, conf = c.indices[lo:hi], c.data[lo:hi].astype(np.float64)
        yu = y[idx].astype(np.float64)
        a = base + (yu * (conf - 1.0)[:, None]).T @ yu
        b = yu.T @ conf
        out[r] = np.linalg.solve(a, b)
    return out

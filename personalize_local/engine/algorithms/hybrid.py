"""The user-personalization hybrid for one request, fused: sequence.combine() in as few catalog passes as possible.

combine() z-scores the ALS scores and the metadata affinity over the catalog. Both are linear in a small
vector (user factors, metadata profile), so their catalog mean and variance follow from precomputed moments
of the item matrices, and the two z-scored terms come out of one mat-vec over [item factors | metadata
vectors] (metadata too wide to keep dense is scored separately). Same numbers as combine() up to float
rounding (tested); evaluation keeps the batch form.
"""

from __future__ import annotations

import numpy as np

from personalize_local.engine.algorithms.metadata import ItemAffinity
from personalize_local.engine.features import column_moments


class HybridScorer:
    def __init__(self, item_factors: np.ndarray, hyperparameters: dict, meta: ItemAffinity | None = None):
        y = np.asarray(item_factors, dtype=np.float64)
        self.sequence_weight = float(hyperparameters.get("sequence_weight", 0.0))
        self.meta_weight = float(hyperparameters.get("metadata_weight", 0.0)) if meta is not None else 0.0
        self.meta = meta if self.meta_weight else None
        self.fused = self.meta is not None and self.meta.dense is not None
        blocks = [y, self.meta.dense] if self.fused else [y]
        self.stacked = np.hstack(blocks).astype(np.float32)
        self.y_mean, self.y_cov = column_moments(y)

    def scores(self, user_vector: np.ndarray, seq_scores: np.ndarray, items: np.ndarray, weights: np.ndarray):
        """Hybrid scores over the catalog: z(ALS) + sequence_weight * 3 * seq / max(seq) [+ w * z(metadata)].
        `items`, `weights`: the user's recent items and their recency weights (the metadata profile)."""
        v = np.asarray(user_vector, dtype=np.float64)
        std = np.sqrt(max(float(v @ self.y_cov @ v), 0.0)) + 1e-9
        coef, offset = [v / std], float(self.y_mean @ v) / std
        if self.fused:
            p = np.asarray(weights, dtype=np.float64) @ self.meta.dense[items]
            m_std = np.sqrt(max(float(p @ self.meta.cov @ p), 0.0))
            q = p * (self.meta_weight / m_std) if m_std > 0 else np.zeros_like(p)  # no metadata: all 0
            coef.append(q)
            offset += float(self.meta.mean @ q)
        out = self.stacked @ np.concatenate(coef).astype(np.float32)
        out -= offset
        if self.meta is not None and not self.fused:
            out += self.meta_weight * self.meta.of_items(items, weights)
        top = float(seq_scores.max()) if len(seq_scores) else 0.0
        return out + seq_scores * (self.sequence_weight * 3.0 / (top + 1e-12))


"""popularity-count: the items with interactions from the most unique users, the same list for everyone.

As AWS documents it, the user's own items are not left out (an EXCLUDE Interactions filter removes them);
items with equal counts are listed in catalog order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from personalize_local.engine.recipes.base import AwsRecipe, Recipe, TrainingSet


class PopularityCount(Recipe):
    name = "popularity-count"
    aws_recipes = (
        AwsRecipe("aws-popularity-count", "USER_PERSONALIZATION", "The most popular items, by unique users."),
    )
    excludes_history = False

    @classmethod
    def fit_arrays(cls, params: dict, data: TrainingSet, seed: int, previous_dir: Path | None = None) -> dict:
        return {}  # the popularity every model keeps is the whole model

    def scores(self, h: sp.csr_matrix, h_seq: sp.csr_matrix | None = None) -> np.ndarray:
        return np.broadcast_to(self.popularity, (h.shape[0], len(self.popularity))).copy()

    def user_scores(self, model, u: int | None, h: sp.csr_matrix | None, recent: list) -> np.ndarray:
        return self.popularity.copy()


RECIPE = PopularityCount

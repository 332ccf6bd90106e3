"""The recipe protocol: what every recipe module declares and implements (scikit-learn's estimator shape).

A recipe module defines one `Recipe` subclass and names it `RECIPE`. The class declares, once: its name (the
model kind stored in model.json), the AWS recipes it stands in for (ListRecipes shows them), its
hyperparameters with their defaults, what a recommendation request names (a user or an item), whether
recommendations leave out what the user interacted with, how scores are shown, whether trainingMode
UPDATE refreshes it (the service allows UPDATE only where it does), whether its campaigns explore (and take
new items without retraining) and whether a request's contextual metadata counts. `fit` learns the model's
arrays; an instance (fitted, or loaded from a model directory) scores: `scores` for many history rows at once
(offline evaluation), `user_scores`, `item_scores` and `rank_scores` for one request (serving; they get the
loaded engine.model.Model for its ids, histories and recent items).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from personalize_local.engine.data import Encoded

ARN_PREFIX = "arn:aws:personalize:::recipe/"


@dataclass(frozen=True)
class AwsRecipe:
    """An AWS-provided recipe as ListRecipes / DescribeRecipe show it."""

    name: str  # "aws-user-personalization"
    recipe_type: str  # USER_PERSONALIZATION, RELATED_ITEMS or PERSONALIZED_RANKING
    description: str
    # CreateSolutionVersion allows trainingMode UPDATE only for "the User-Personalization recipe or the legacy
    # HRNN-Coldstart recipe": a recipe module that supports UPDATE still says which of its AWS recipes allow it.
    allows_update: bool = False

    @property
    def arn(self) -> str:
        return ARN_PREFIX + self.name


@dataclass(frozen=True)
class HyperParameter:
    """One algorithmHyperParameters entry. Its type is its default's (bool, int or float); AWS passes every
    value as a string. `aws`: Amazon Personalize knows the name too (others are this engine's own knobs)."""

    name: str
    default: bool | int | float
    aliases: tuple[str, ...] = ()
    aws: bool = False

    def read(self, given: Mapping) -> bool | int | float:
        names = (self.name, *self.aliases)
        if isinstance(self.default, bool):
            for n in names:
                if n in given:
                    return str(given[n]).strip().lower() in ("true", "1", "yes")
            return self.default
        for n in names:
            if n in given and str(given[n]).strip() != "":
                try:
                    value = float(given[n])
                except ValueError:
                    raise ValueError(f"algorithmHyperParameters.{n}: expected a number, got {given[n]!r}") from None
                return int(round(value)) if isinstance(self.default, int) else value
        return self.default


@dataclass
class TrainingSet:
    """What `fit` learns from: user x item weights `x` of the events `mask` selects from `enc`, and the
    items' metadata tokens (features.item_tokens)."""

    x: sp.csr_matrix
    enc: Encoded
    mask: np.ndarray
    tokens: sp.csr_matrix


class Recipe:
    """A recipe; an instance is a fitted model of it (`params`: effective hyperparameters, `arrays`: what `fit`
    learned, `popularity`: users per catalog item)."""

    name: ClassVar[str]
    aws_recipes: ClassVar[tuple[AwsRecipe, ...]]
    hyperparameters: ClassVar[tuple[HyperParameter, ...]] = ()
    query: ClassVar[str] = "userId"  # what a recommendation request names: "userId" or "itemId"
    excludes_history: ClassVar[bool] = True  # a user's recommendations leave out what the user interacted with
    softmax_scores: ClassVar[bool] = False  # scores shown as a softmax over the catalog, else scaled by the top one
    supports_update: ClassVar[bool] = False  # trainingMode UPDATE refreshes (fit's previous_dir), no full fit
    explores: ClassVar[bool] = False  # campaigns explore new items (itemExplorationConfig) and add PutItems items
    uses_context: ClassVar[bool] = False  # a request's `context` (interactions metadata) changes its scores

    def __init__(self, params: dict, arrays: dict, popularity: np.ndarray):
        self.params = params
        self.arrays = arrays
        self.popularity = popularity

    # -- training ----------------------------------------------------------------------------------------
    @classmethod
    def effective(cls, given: Mapping) -> dict:
        """The hyperparameters a training uses: the given algorithmHyperParameters over the declared defaults."""
        return {p.name: p.read(given) for p in cls.hyperparameters}

    @classmethod
    def recency_half_life(cls, params: dict) -> float | None:
        """Half-life (in a user's events) of the weights `fit` learns from; None weighs every event 1."""
        return None

    @classmethod
    def evaluation_half_life(cls, params: dict) -> float | None:
        """Half-life of the weights of a held-out user's input history in the offline evaluation."""
        return cls.recency_half_life(params)

    @classmethod
    def short_term_half_life(cls, params: dict) -> float | None:
        """Half-life of the recent-items weights `scores` takes as `h_seq`; None: it takes none."""
        return None

    @classmethod
    def fit(cls, params: dict, data: TrainingSet, seed: int, previous_dir: Path | None = None) -> Recipe:
        """Learn from `data`; `previous_dir` (trainingMode UPDATE, only where `supports_update`) is the model
        to start from."""
        popularity = np.asarray((data.x > 0).sum(axis=0)).ravel().astype(np.float64)
        return cls(params, cls.fit_arrays(params, data, seed, previous_dir), popularity)

    @classmethod
    def fit_arrays(cls, params: dict, data: TrainingSet, seed: int, previous_dir: Path | None = None) -> dict:
        """The arrays the model learns (stored in its arrays.npz)."""
        raise NotImplementedError

    # -- scoring -----------------------------------------------------------------------------------------
    def scores(self, h: sp.csr_matrix, h_seq: sp.csr_matrix | None = None) -> np.ndarray:
        """Scores (rows x catalog) for rows of recency-weighted histories `h` (`h_seq`: short-term weights)."""
        raise NotImplementedError

    def prepare_serving(self) -> None:
        """Precompute what one request needs; called once when a model directory is loaded for serving."""

    def user_scores(self, model, u: int | None, h: sp.csr_matrix | None, recent: list) -> np.ndarray:
        """Catalog scores for one user of `model` (user code `u` or None) with history row `h` (None: the
        stored history, when there are no `recent` events)."""
        raise NotImplementedError

    def item_scores(self, model, item_id: str) -> np.ndarray:
        """Catalog scores related to `item_id` (-inf where an item must not be recommended)."""
        raise NotImplementedError

    def rank_scores(self, model, user_id: str | None, recent: list) -> np.ndarray:
        """Catalog scores GetPersonalizedRanking orders a list by."""
        return model.user_scores(user_id, recent)[0]

"""Recommender engine of the local Personalize service: a pure library (no HTTP, no SQLite).

Public API (stable; the service backend calls only these names):

- `TrainingData(interactions, items=None, users=None)`: pandas frames as imported into a dataset group.
  interactions: USER_ID, ITEM_ID, TIMESTAMP (int epoch seconds), optional EVENT_TYPE, EVENT_VALUE.
- `train(recipe_arn, data, params, out_dir, previous_dir=None, seed=42) -> dict`: trains, writes an immutable
  model directory (json + npz + parquet, no pickle) and returns GetSolutionMetrics-style metrics.
  `params` = {"eventType", "solutionConfig": {"eventValueThreshold", "algorithmHyperParameters"},
  "trainingMode": "FULL"|"UPDATE"}. Raises `InsufficientDataError` (AWS wording) or `UnsupportedRecipeError`.
- `load_model(path) -> Model` (cached per path, immutable, safe for concurrent reads):
  `Model.recommend(user_id=None, item_id=None, num_results=25, item_filter=None, recent_events=None)`,
  `Model.rank(user_id, item_ids, item_filter=None, recent_events=None)`, `Model.recipe`, `Model.known_items`.
  `item_filter` is a `FilterExpr`, a `BoundFilter` (`expr.bind(filter_values)`), or
  a callable item_id -> bool.
  `recent_events` is a list of (item_id, event_type, timestamp) received via PutEvents after training.
- `parse_filter(expression) -> FilterExpr`; raises `FilterSyntaxError` naming the character position and
  what was expected. `FilterExpr.bind(filter_values)` fills $PARAMs (values as the API
  passes them: '"a","b"').
- `run_batch_lines(model, lines, num_results=25, item_filter_factory=None) -> Iterator[str]`: batch
  inference in Personalize's JSON Lines output format; bad lines yield an error line, never raise.
- `SUPPORTED_RECIPES`: recipe ARN -> recipe kind.

Recipes (details in recipes/*.py):
- user-personalization(-v2), personalized-ranking(-v2): hybrid of implicit ALS on recency-weighted
  confidences (long-term taste; exact ALS fold-in for recent events and unknown users) and sequential item
  neighbours of the user's last items (short-term intent, standing in for AWS's HRNN), plus the affinity of
  those last items' metadata to each item (genre, binned numbers; recipes/metadata.py). Items without
  interactions get factors from item-metadata tokens (cold start). History is excluded from results.
- similar-items / sims: item co-occurrence with popularity_discount_factor and min_cointeraction_count;
  cold items fall back to metadata-token overlap, then popularity.
- popularity-count: number of unique users per item; same list for everyone (history not excluded at serving time).
Offline metrics: metrics.py documents the split; the served model is refitted on all data afterwards.
UPDATE mode: 2 warm-started ALS iterations from the previous model; it reports the previous metrics.
"""

from personalize_local.engine.batch import run_batch_lines
from personalize_local.engine.data import TrainingData
from personalize_local.engine.errors import (
    EngineError,
    FilterSyntaxError,
    InsufficientDataError,
    UnsupportedRecipeError,
)
from personalize_local.engine.filters import BoundFilter, FilterContext, FilterExpr, parse_filter
from personalize_local.engine.model import Model, load_model
from personalize_local.engine.recipes import SUPPORTED_RECIPES, recipe_kind
from personalize_local.engine.training import train

__all__ = [
    "SUPPORTED_RECIPES",
    "BoundFilter",
    "EngineError",
    "FilterContext",
    "FilterExpr",
    "FilterSyntaxError",
    "InsufficientDataError",
    "Model",
    "TrainingData",
    "UnsupportedRecipeError",
    "load_model",
    "parse_filter",
    "recipe_kind",
    "run_batch_lines",
    "train",
]

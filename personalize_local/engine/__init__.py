"""Recommender engine of the local Personalize service: a pure library (no HTTP, no SQLite).

Public API (stable; the service calls only these names):

- `TrainingData(interactions, items=None, users=None)`: pandas frames as imported into a dataset group.
  interactions: USER_ID, ITEM_ID, TIMESTAMP (int epoch seconds), optional EVENT_TYPE, EVENT_VALUE.
- `train(recipe_arn, data, params, out_dir, previous_dir=None, seed=42) -> dict`: trains, writes an immutable
  model directory (json + npz + parquet, no pickle) and returns GetSolutionMetrics-style metrics.
  `params` = {"eventType", "solutionConfig": {"eventValueThreshold", "algorithmHyperParameters"},
  "trainingMode": "FULL"|"UPDATE"}. Raises `InsufficientDataError` (AWS wording) or `UnsupportedRecipeError`.
- `load_model(path) -> Model` (cached per path, immutable, safe for concurrent reads):
  `Model.recommend(user_id=None, item_id=None, num_results=25, **options)` (the options of `recommendations`:
  `item_filter`, `recent_events`, ...),
  `Model.recommendations(..., exploration=None, promotion=None, seed=None, context=None)` (the list with
  promotion marks: `Recommended`; `Exploration` from exploration.py, `Promotion(name, percent, item_filter)`),
  `Model.rank(user_id, item_ids, item_filter=None, recent_events=None, context=None)`,
  `Model.with_data(items, users, new_items=False)` (the model over the current Items / Users rows: filters see
  them; with `new_items`, items added after training join the catalog, for recipes that `explores`),
  `Model.kind` (the recipe's name), `Model.recipe` (the fitted recipe), `Model.known_items`.
  `item_filter` is a `FilterExpr`, a `BoundFilter` (`expr.bind(filter_values)`), or
  a callable item_id -> bool.
  `recent_events` is a list of (item_id, event_type, timestamp) received via PutEvents after training.
- `parse_filter(expression) -> FilterExpr`; raises `FilterSyntaxError` naming the character position and
  what was expected or the documented rule broken (ActionID filters: not supported locally).
  `FilterExpr.bind(filter_values)` fills $PARAMs (values as the API passes them: '"a","b"');
  `FilterExpr.target` (ItemID / UserID), `.mask(FilterContext)` for items, `.user_mask(SegmentContext)` for
  user segments.
- `run_batch_lines(model, lines, num_results=25, item_filter_factory=None) -> Iterator[str]`: batch
  inference in Personalize's JSON Lines output format; bad lines yield an error line, never raise.
- `RECIPES`: model kind -> recipe (recipes/base.py: the protocol); `recipe_for(recipe_arn)` -> recipe.
  Each recipe lists the AWS recipes it trains (`aws_recipes`) and declares its hyperparameters.

Recipes, one module each in recipes/ (building blocks in algorithms/):
- user_personalization (aws-user-personalization, -v2) and personalized_ranking (aws-personalized-ranking, -v2):
  the hybrid of implicit ALS, sequential item neighbours and item-metadata affinity; history is excluded.
- sims (aws-sims, aws-similar-items): item co-occurrence with popularity_discount_factor and
  min_cointeraction_count; cold items fall back to metadata-token overlap, then popularity.
- popularity_count (aws-popularity-count): unique users per item; the same list for everyone.
Offline metrics: evaluation.py documents the procedure; the served model is refitted on all data afterwards.
UPDATE mode (user-personalization only): the previous model refreshed with new items and the users with new
interactions, known items' factors unchanged (no retraining); it reports the previous metrics.
"""

from personalize_local.engine.batch import run_batch_lines
from personalize_local.engine.data import TrainingData
from personalize_local.engine.errors import (
    EngineError,
    FilterSyntaxError,
    InsufficientDataError,
    UnsupportedRecipeError,
)
from personalize_local.engine.evaluation import evaluation_note
from personalize_local.engine.filters import BoundFilter, FilterContext, FilterExpr, parse_filter
from personalize_local.engine.model import Model, load_model
from personalize_local.engine.recipes import RECIPES, recipe_for
from personalize_local.engine.training import train

__all__ = [
    "RECIPES",
    "BoundFilter",
    "EngineError",
    "FilterContext",
    "FilterExpr",
    "FilterSyntaxError",
    "InsufficientDataError",
    "Model",
    "TrainingData",
    "UnsupportedRecipeError",
    "evaluation_note",
    "load_model",
    "parse_filter",
    "recipe_for",
    "run_batch_lines",
    "train",
]

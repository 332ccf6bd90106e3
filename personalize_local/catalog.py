"""The recipe catalog: the AWS-provided recipes this service trains, as ListRecipes / DescribeRecipe show them."""

from __future__ import annotations

from personalize_local.aws_errors import ResourceNotFound
from personalize_local.pagination import page

_CREATED = 1543622400.0  # 2018-12-01, a fixed date as on AWS

_ROWS = (
    ("aws-user-personalization", "USER_PERSONALIZATION", "Personalized recommendations from user history."),
    (
        "aws-user-personalization-v2",
        "USER_PERSONALIZATION",
        "Personalized recommendations, scales to larger catalogs (v2).",
    ),
    ("aws-similar-items", "RELATED_ITEMS", "Items similar to a given item (co-occurrence and metadata)."),
    ("aws-sims", "RELATED_ITEMS", "Item-to-item similarities from co-occurrence in user histories."),
    ("aws-personalized-ranking", "PERSONALIZED_RANKING", "Ranks a given list of items for a user."),
    ("aws-personalized-ranking-v2", "PERSONALIZED_RANKING", "Ranks a given list of items for a user (v2)."),
    ("aws-popularity-count", "USER_PERSONALIZATION", "The most popular items, by event count."),
)

_RECIPES: dict[str, dict] = {
    f"arn:aws:personalize:::recipe/{name}": {
        "name": name,
        "recipeArn": f"arn:aws:personalize:::recipe/{name}",
        "algorithmArn": f"arn:aws:personalize:::algorithm/{name}",
        "featureTransformationArn": "arn:aws:personalize:::feature-transformation/JSON-percentile-filtering",
        "status": "ACTIVE",
        "description": description,
        "creationDateTime": _CREATED,
        "lastUpdatedDateTime": _CREATED,
        "recipeType": recipe_type,
        "recipeProvider": "SERVICE",
    }
    for name, recipe_type, description in _ROWS
}


def recipes() -> dict[str, dict]:
    """Recipe ARN -> its Recipe document."""
    return _RECIPES


def require(arn: str) -> dict:
    """The Recipe document of `arn`, or ResourceNotFoundException naming the known ones."""
    recipe = recipes().get(arn)
    if recipe is None:
        raise ResourceNotFound(f"Recipe {arn} does not exist. Known recipes: {sorted(recipes())}")
    return recipe


def list_recipes(model, params: dict) -> dict:
    """ListRecipes (`model`: the personalize ServiceModel): the service's recipes unless a domain or another
    provider is asked for."""
    listed = params.get("recipeProvider") in (None, "SERVICE") and not params.get("domain")
    docs = sorted(recipes().values(), key=lambda r: r["name"]) if listed else []
    return page("recipes", docs, params, "ListRecipes", lambda r: model.project("RecipeSummary", r))


def describe_recipe(model, params: dict) -> dict:
    return {"recipe": model.project("Recipe", require(params["recipeArn"]))}

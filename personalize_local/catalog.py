"""The recipe catalog: the AWS-provided recipes this service trains, as ListRecipes / DescribeRecipe show them."""

from __future__ import annotations

from functools import cache

from personalize_local.aws_errors import ResourceNotFound
from personalize_local.pagination import page

_CREATED = 1543622400.0  # 2018-12-01, a fixed date as on AWS


@cache
def recipes() -> dict[str, dict]:
    """Recipe ARN -> its Recipe document, for every AWS recipe an engine recipe trains (engine.RECIPES).

    Built on first use: importing the engine takes a second, which the server's warm-up spends after it listens."""
    from personalize_local.engine import RECIPES

    docs = [
        {
            "name": aws.name,
            "recipeArn": aws.arn,
            "algorithmArn": f"arn:aws:personalize:::algorithm/{aws.name}",
            "featureTransformationArn": "arn:aws:personalize:::feature-transformation/JSON-percentile-filtering",
            "status": "ACTIVE",
            "description": aws.description,
            "creationDateTime": _CREATED,
            "lastUpdatedDateTime": _CREATED,
            "recipeType": aws.recipe_type,
            "recipeProvider": "SERVICE",
        }
        for recipe in RECIPES.values()
        for aws in recipe.aws_recipes
    ]
    return {doc["recipeArn"]: doc for doc in sorted(docs, key=lambda d: d["name"])}


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
    docs = list(recipes().values()) if listed else []
    return page("recipes", docs, params, "ListRecipes", lambda r: model.project("RecipeSummary", r))


def describe_recipe(model, params: dict) -> dict:
    return {"recipe": model.project("Recipe", require(params["recipeArn"]))}

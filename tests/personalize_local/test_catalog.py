"""The recipe catalog is the engine's: every AWS recipe an engine recipe trains, and nothing else."""

from __future__ import annotations

import pytest

from personalize_local import catalog
from personalize_local.aws_errors import ResourceNotFound
from personalize_local.engine.recipes import BY_ARN, recipe_for


def test_the_catalog_lists_exactly_the_recipes_the_engine_trains():
    docs = catalog.recipes()
    assert sorted(docs) == sorted(BY_ARN)
    for arn, doc in docs.items():
        aws = next(a for a in recipe_for(arn).aws_recipes if a.arn == arn)
        assert (doc["name"], doc["recipeType"], doc["description"]) == (aws.name, aws.recipe_type, aws.description)
    assert [d["name"] for d in docs.values()] == sorted(d["name"] for d in docs.values())


def test_an_unknown_recipe_is_resource_not_found_naming_the_known_ones():
    with pytest.raises(ResourceNotFound, match="aws-sims"):
        catalog.require("arn:aws:personalize:::recipe/aws-trending-now")

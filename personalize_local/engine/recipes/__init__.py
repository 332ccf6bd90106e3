"""The recipes the engine implements: one module each, found here (adding a recipe means adding a module).

Every module of this package other than `base` defines `RECIPE`, a `base.Recipe` subclass (the protocol).
"""

from __future__ import annotations

import importlib
import pkgutil

from personalize_local.engine.errors import UnsupportedRecipeError
from personalize_local.engine.recipes.base import Recipe


def _discover() -> dict[str, type[Recipe]]:
    found: dict[str, type[Recipe]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        recipe = getattr(importlib.import_module(f"{__name__}.{info.name}"), "RECIPE", None)
        if not (isinstance(recipe, type) and issubclass(recipe, Recipe)):
            raise TypeError(f"{__name__}.{info.name} defines no RECIPE (a recipes.base.Recipe subclass)")
        if recipe.name in found:
            raise TypeError(f"{__name__}.{info.name}: recipe name {recipe.name!r} is taken")
        found[recipe.name] = recipe
    return found


RECIPES: dict[str, type[Recipe]] = _discover()  # model kind (model.json "kind") -> recipe
BY_ARN: dict[str, type[Recipe]] = {aws.arn: r for r in RECIPES.values() for aws in r.aws_recipes}


def recipe_for(recipe_arn: str) -> type[Recipe]:
    """The recipe that trains `recipe_arn`; UnsupportedRecipeError for anything else."""
    try:
        return BY_ARN[recipe_arn]
    except KeyError:
        raise UnsupportedRecipeError(
            f"Recipe {recipe_arn!r} is not supported by the local engine; use one of: " + ", ".join(sorted(BY_ARN))
        ) from None

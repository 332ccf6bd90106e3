"""The recipe registry and protocol: a recipe is one module; its declarations are the only place of its facts."""

import re
import sys

import pandas as pd
import pytest

from personalize_local.engine import UnsupportedRecipeError, load_model, recipes, train
from personalize_local.engine.recipes import BY_ARN, RECIPES, recipe_for
from personalize_local.engine.recipes.base import ARN_PREFIX, HyperParameter, Recipe
from tests.personalize_local.engine.helpers import ARN, REPO_ROOT

TOY_MODULE = '''
import numpy as np

from personalize_local.engine.recipes.base import AwsRecipe, HyperParameter, Recipe


class LeastPopular(Recipe):
    """Recommends the least popular items first: a recipe nobody would ship, added by adding this module."""

    name = "least-popular"
    aws_recipes = (AwsRecipe("aws-least-popular", "USER_PERSONALIZATION", "The least popular items."),)
    hyperparameters = (HyperParameter("offset", 1.0),)

    @classmethod
    def fit_arrays(cls, params, data, seed, previous_dir=None):
        return {"inverse": (1.0 / (params["offset"] + np.asarray((data.x > 0).sum(axis=0)).ravel()))}

    def scores(self, h, h_seq=None):
        return np.broadcast_to(self.arrays["inverse"], (h.shape[0], len(self.arrays["inverse"]))).copy()

    def user_scores(self, model, u, h, recent):
        return self.arrays["inverse"].astype(np.float64)


RECIPE = LeastPopular
'''


def test_the_four_recipes_and_the_aws_recipes_they_train():
    assert sorted(RECIPES) == ["personalized-ranking", "popularity-count", "sims", "user-personalization"]
    assert {arn: r.name for arn, r in BY_ARN.items()} == {
        ARN + "aws-user-personalization": "user-personalization",
        ARN + "aws-user-personalization-v2": "user-personalization",
        ARN + "aws-personalized-ranking": "personalized-ranking",
        ARN + "aws-personalized-ranking-v2": "personalized-ranking",
        ARN + "aws-sims": "sims",
        ARN + "aws-similar-items": "sims",
        ARN + "aws-popularity-count": "popularity-count",
    }
    arns = [aws.arn for r in RECIPES.values() for aws in r.aws_recipes]
    assert len(arns) == len(set(arns))  # no AWS recipe is claimed twice


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_declares_the_protocol(name):
    recipe = RECIPES[name]
    assert issubclass(recipe, Recipe) and recipe.aws_recipes
    assert recipe.query in ("userId", "itemId")
    assert all(
        a.recipe_type in ("USER_PERSONALIZATION", "RELATED_ITEMS", "PERSONALIZED_RANKING") for a in recipe.aws_recipes
    )
    names = [n for p in recipe.hyperparameters for n in (p.name, *p.aliases)]
    assert len(names) == len(set(names))
    assert recipe.effective({}) == {p.name: p.default for p in recipe.hyperparameters}


def test_the_readme_lists_every_hyperparameter_with_its_default():
    text = (REPO_ROOT / "personalize_local" / "README.md").read_text()
    section = " ".join(text.split("## Hyperparameters", 1)[1].split("\n## ", 1)[0].split())
    aws_part, own_part = section.split("own knobs", 1)
    for recipe in RECIPES.values():
        for p in recipe.hyperparameters:
            default = str(p.default).lower() if isinstance(p.default, bool) else f"{p.default:g}"
            listed = re.search(rf"`{p.name}` \(([^)]*)\)", aws_part if p.aws else own_part)
            assert listed, f"{recipe.name}: {p.name} is not listed among the {'AWS' if p.aws else 'own'} names"
            assert re.search(rf"(^|[ ,(]){re.escape(default)}($|[;,)])", listed[1]), (p.name, default, listed[1])


def test_unknown_recipe_arns_are_unsupported_naming_the_known_ones():
    with pytest.raises(UnsupportedRecipeError, match="aws-sims"):
        recipe_for(ARN + "aws-trending-now")


def test_hyperparameters_read_as_aws_passes_them():
    number = HyperParameter("alpha", 16.0)
    count = HyperParameter("k", 64, aliases=("factors",))
    flag = HyperParameter("on", True)
    assert number.read({"alpha": "2.5"}) == 2.5 and number.read({"alpha": " "}) == 16.0 and number.read({}) == 16.0
    assert count.read({"factors": "31.6"}) == 32 and isinstance(count.read({"k": "8"}), int)
    assert flag.read({"on": "false"}) is False and flag.read({"on": "YES"}) is True and flag.read({}) is True
    with pytest.raises(ValueError, match="algorithmHyperParameters.alpha: expected a number, got 'lots'"):
        number.read({"alpha": "lots"})


def test_declared_defaults_are_what_training_uses(small_data, tmp_path):
    hp = {"hidden_dimension": "8", "training_iterations": "2", "sequence_window": "5"}
    train(ARN + "aws-user-personalization", small_data, {"solutionConfig": {"algorithmHyperParameters": hp}}, tmp_path)
    stored = load_model(tmp_path).hyperparameters
    declared = RECIPES["user-personalization"].effective({})
    assert stored == {**declared, "hidden_dimension": 8, "training_iterations": 2, "sequence_window": 5}


@pytest.fixture()
def toy_recipe(tmp_path, monkeypatch):
    """A recipe module dropped next to the others: the registry finds it (for this test only)."""
    folder = tmp_path / "more_recipes"
    folder.mkdir()
    (folder / "least_popular.py").write_text(TOY_MODULE)
    monkeypatch.setattr(recipes, "__path__", [*recipes.__path__, str(folder)])
    try:
        found = recipes._discover()
    finally:
        sys.modules.pop(f"{recipes.__name__}.least_popular", None)
    assert sorted(found) == sorted([*RECIPES, "least-popular"])
    toy = found["least-popular"]
    monkeypatch.setitem(RECIPES, toy.name, toy)
    monkeypatch.setitem(BY_ARN, toy.aws_recipes[0].arn, toy)
    return toy


def test_adding_a_recipe_means_adding_a_module(toy_recipe, small_data, tmp_path):
    metrics = train(ARN_PREFIX + "aws-least-popular", small_data, {}, tmp_path / "model")
    assert set(metrics) >= {"coverage", "precision_at_25"}
    model = load_model(tmp_path / "model")
    assert model.kind == "least-popular" and isinstance(model.recipe, toy_recipe)
    inter = small_data.interactions
    catalog = pd.Index(model.known_items)
    users = inter.groupby("ITEM_ID").USER_ID.nunique().reindex(catalog, fill_value=0)
    unseen = users.drop(inter.loc[inter.USER_ID == "3", "ITEM_ID"].unique())
    recs = [item for item, _ in model.recommend(user_id="3", num_results=5)]
    assert users[recs].tolist() == sorted(unseen.to_numpy())[:5]  # the least popular items the user has not seen


def test_a_module_without_a_recipe_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "helper_functions.py").write_text("def helper():\n    return 1\n")
    monkeypatch.setattr(recipes, "__path__", [*recipes.__path__, str(folder)])
    try:
        with pytest.raises(TypeError, match="helper_functions defines no RECIPE"):
            recipes._discover()
    finally:
        sys.modules.pop(f"{recipes.__name__}.helper_functions", None)

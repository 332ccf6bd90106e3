"""Recipe ARNs the local engine implements, mapped to the algorithm family that serves them."""

from personalize_local.engine.errors import UnsupportedRecipeError

USER_PERSONALIZATION = "user-personalization"
SIMS = "sims"
PERSONALIZED_RANKING = "personalized-ranking"
POPULARITY = "popularity-count"

_PREFIX = "arn:aws:personalize:::recipe/"
SUPPORTED_RECIPES = {
    _PREFIX + "aws-user-personalization": USER_PERSONALIZATION,
    _PREFIX + "aws-user-personalization-v2": USER_PERSONALIZATION,
    _PREFIX + "aws-similar-items": SIMS,
    _PREFIX + "aws-sims": SIMS,
    _PREFIX + "aws-personalized-ranking": PERSONALIZED_RANKING,
    _PREFIX + "aws-personalized-ranking-v2": PERSONALIZED_RANKING,
    _PREFIX + "aws-popularity-count": POPULARITY,
}


def recipe_kind(recipe_arn: str) -> str:
    """The algorithm family of a recipe ARN; raises UnsupportedRecipeError for anything else."""
    try:
        return SUPPORTED_RECIPES[recipe_arn]
    except KeyError:
        raise UnsupportedRecipeError(
            f"Recipe {recipe_arn!r} is not supported by the local engine; use one of: "
            + ", ".join(sorted(SUPPORTED_RECIPES))
        ) from None

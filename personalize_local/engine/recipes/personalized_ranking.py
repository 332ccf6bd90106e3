"""personalized-ranking: user-personalization's model, asked to order a given list (GetPersonalizedRanking).

Personalize allows trainingMode UPDATE for User-Personalization only, so this recipe does not take it."""

from __future__ import annotations

from personalize_local.engine.recipes.base import AwsRecipe
from personalize_local.engine.recipes.user_personalization import UserPersonalization


class PersonalizedRanking(UserPersonalization):
    name = "personalized-ranking"
    aws_recipes = (
        AwsRecipe("aws-personalized-ranking", "PERSONALIZED_RANKING", "Ranks a given list of items for a user."),
        AwsRecipe(
            "aws-personalized-ranking-v2", "PERSONALIZED_RANKING", "Ranks a given list of items for a user (v2)."
        ),
    )
    supports_update = False


RECIPE = PersonalizedRanking

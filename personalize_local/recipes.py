"""The AWS-provided recipes this service knows (ListRecipes / DescribeRecipe), as AWS names them."""

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

RECIPES: dict[str, dict] = {
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

"""One table of Amazon Personalize filter expressions, checked against both parsers: the config validator
(plugins/personalize_ops/filter_expression.py, tests/personalize_ops/test_filter_grammar.py) and the local
service's engine (personalize_local/engine/filter_syntax.py, tests/personalize_local/engine/test_filter_grammar.py).

Every example of the developer guide's filter pages is quoted exactly, with the page it comes from (current
pages first, then examples of earlier editions, from the guide's source repository awsdocs/amazon-personalize-
developer-guide, which keep working); every documented restriction is a rejected case with the reason both
parsers give; the limits are tested just below and just above. `engine` records where the local service
answers differently on purpose (it has no actions: README "Known differences from AWS").
"""

# ruff: noqa: E501  -- the guide's examples are quoted whole, one per line
from __future__ import annotations

from dataclasses import dataclass

GUIDE = "https://docs.aws.amazon.com/personalize/latest/dg/"
ITEM_EXAMPLES = GUIDE + "item-recommendation-filter-examples.html"
SEGMENT_EXAMPLES = GUIDE + "user-segment-filter-examples.html"
ACTION_EXAMPLES = GUIDE + "action-recommendation-filter-examples.html"
MULTIPLE = GUIDE + "multiple-expression-example.html"
ELEMENTS = GUIDE + "creating-filter-expressions.html"
GUIDELINES = GUIDE + "filter-expression-guidelines-requirements.html"
PROMOTIONS = GUIDE + "promoting-items.html"
API_FILTER = GUIDE + "API_Filter.html (2020 edition: filterExpression format)"
EDITION_2020 = "awsdocs/amazon-personalize-developer-guide doc_source/filter.md, 2020-09 and 2020-11 editions"
EDITION_2021 = "awsdocs/amazon-personalize-developer-guide doc_source/filter.md, 2021-12 edition"
NO_ACTIONS = "ActionID filters (action recommendations) are not supported by the local service"


@dataclass(frozen=True)
class Case:
    expression: str
    source: str  # the documentation page (or the rule) the case comes from
    reject: str | None = None  # None: valid; else a substring of the reason both parsers give
    engine: str | None = None  # the local service's own answer where it differs on purpose (a reason substring)

    @property
    def id(self) -> str:
        return self.expression if len(self.expression) < 90 else f"{self.expression[:60]}... ({len(self.expression)})"


def _padded(length: int) -> str:
    head, tail = 'EXCLUDE ItemID WHERE Items.GENRE IN ("', '")'
    return head + "x" * (length - len(head) - len(tail)) + tail


def _fields(n: int) -> str:
    return "INCLUDE ItemID WHERE " + " AND ".join(f"Items.F{i} = 1" for i in range(n))


def _params(n: int) -> str:
    return "INCLUDE ItemID WHERE Items.GENRE IN (" + ", ".join(f"$P{i}" for i in range(n)) + ")"


DOCUMENTED = [
    # -- item recommendations (current guide)
    Case("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)", ITEM_EXAMPLES),
    Case('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")', ITEM_EXAMPLES),
    Case('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', ITEM_EXAMPLES),
    Case("EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)", ITEM_EXAMPLES),
    Case("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.GENRE IN CurrentItem.GENRE", ITEM_EXAMPLES),
    Case('EXCLUDE ItemID WHERE Items.CATEGORY_L1 IN ("shoe") AND Items.CATEGORY_L2 NOT IN ("boot")', ITEM_EXAMPLES),
    Case("INCLUDE ItemID WHERE Items.PRICE <= $PRICE", ITEM_EXAMPLES),
    Case("INCLUDE ItemID WHERE Items.CREATION_TIMESTAMP < $DATE", ITEM_EXAMPLES),
    Case("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)", ITEM_EXAMPLES),
    Case("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE AND Items.CREATION_TIMESTAMP > $DATE", ITEM_EXAMPLES),
    Case("EXCLUDE ItemID WHERE Items.GENRE IN ($GENRE) IF CurrentUser.AGE = $AGE", ITEM_EXAMPLES),
    Case(
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("watch") AND Items.DESCRIPTION IN ("luxury") IF CurrentUser.AGE > 18',
        ITEM_EXAMPLES,
    ),
    # -- user segments
    Case("INCLUDE UserID WHERE Users.MEMBERSHIP_STATUS IN ($MEMBERSHIP)", SEGMENT_EXAMPLES),
    Case("EXCLUDE UserID WHERE Users.AGE < $AGE", SEGMENT_EXAMPLES),
    Case('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click", "rating")', SEGMENT_EXAMPLES),
    Case("EXCLUDE UserID WHERE Interactions.EVENT_TYPE IN ($EVENT_TYPE)", SEGMENT_EXAMPLES),
    # -- action recommendations (valid on AWS; the local service has no actions)
    Case("INCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ($EVENT_TYPE)", ACTION_EXAMPLES, engine=NO_ACTIONS),
    Case('EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("NOT_TAKEN")', ACTION_EXAMPLES, engine=NO_ACTIONS),
    Case("EXCLUDE ActionID WHERE Actions.CATEGORY IN ($CATEGORY)", ACTION_EXAMPLES, engine=NO_ACTIONS),
    Case("INCLUDE ActionID WHERE Actions.VALUE > ($VALUE)", ACTION_EXAMPLES, engine=NO_ACTIONS),
    Case(
        'INCLUDE ActionID WHERE Action.MEMBERSHIP_LEVEL IN ("Premium") IF CurrentUser.MEMBERSHIP = $PREMIUM',
        ACTION_EXAMPLES,
        engine=NO_ACTIONS,
    ),
    Case(
        "EXCLUDE ActionID WHERE Actions.VALUE < ($VALUE) IF CurrentUser.MEMBERSHIP = $PREMIUM",
        ACTION_EXAMPLES,
        engine=NO_ACTIONS,
    ),
    # -- combining expressions
    Case(
        'INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) | INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("favorite")',
        MULTIPLE,
    ),
    Case(
        'INCLUDE ItemID WHERE Items.GENRE IN ($GENRE) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
        MULTIPLE,
    ),
    # -- promotion filters
    Case('INCLUDE ItemID WHERE Items.OWNER IN ("in-house")', PROMOTIONS),
    Case('INCLUDE ItemID WHERE Items.CATEGORY IN ("clothing") AND Items.AVAILABLE IN ("True")', PROMOTIONS),
    # -- earlier editions
    Case('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', EDITION_2020),
    Case('EXCLUDE ItemID WHERE Items.CATEGORY IN ("shoe") AND Items.DESCRIPTION NOT IN ("boot")', EDITION_2020),
    Case("INCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS < 20", EDITION_2020),
    Case("INCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS = $NUMBER_OF_DOWNLOADS", EDITION_2020),
    Case(
        "EXCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS < 20 IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30",
        EDITION_2020,
    ),
    Case(
        'INCLUDE ItemID WHERE Items.GENRE IN ("drama") | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click", "stream")',
        EDITION_2020,
    ),
    Case("EXCLUDE UserID WHERE Users.AGE < 18", EDITION_2021),
    Case('INCLUDE UserID WHERE Interactions.EVENT_TYPE IN ("click, rating")', EDITION_2021),
    Case('EXCLUDE itemId WHERE INTERACTIONS.event_type in ("EVENT_TYPE")', API_FILTER),
]

# Forms the elements page documents without an example of its own.
ELEMENT_FORMS = [
    Case("EXCLUDE ItemID WHERE Items.PRICE > CurrentItem.PRICE", ELEMENTS + " (CurrentItem.attribute)"),
    Case("INCLUDE ItemID WHERE Items.GENRE NOT IN CurrentItem.GENRE", ELEMENTS + " (IN/NOT IN, CurrentItem)"),
    Case('INCLUDE ItemID WHERE Items.GENRE != "horror"', ELEMENTS + " (comparison operators, !=)"),
    Case("EXCLUDE ItemID WHERE Items.PRICE != $PRICE", ELEMENTS + " (comparison operators, !=)"),
    Case("INCLUDE ItemID WHERE Items.PRICE >= 10 AND Items.PRICE < 20", ELEMENTS + " (comparison operators)"),
    Case("INCLUDE UserID WHERE Users.AGE > 20", ELEMENTS + " (UserID, Users dataset)"),
    Case('INCLUDE ItemID WHERE Items.GENRE IN ("a") OR Items.PRICE > 10', ELEMENTS + " (AND/OR, one dataset)"),
    Case('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("click")', ELEMENTS + " (IN/NOT IN)"),
    Case('INCLUDE ItemID WHERE Items.GENRE IN ("a") IF CurrentUser.TIER IN ("gold")', ELEMENTS + " (IF condition)"),
    Case("include itemid where items.price < currentitem.price", API_FILTER + " (any case)"),
    Case(
        "INCLUDE ItemID WHERE Items.GENRE IN (" + ", ".join(f'"g{i}"' for i in range(300)) + ")",
        GUIDELINES + " (no documented limit on the values of one IN list)",
    ),
]

RESTRICTIONS = [
    # "You can't use Item Interaction and Item datasets in one expression" / AND/OR use the first dataset
    Case(
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click") AND Items.GENRE IN ("a")',
        GUIDELINES,
        reject="must use the dataset of the first condition",
    ),
    Case(
        'EXCLUDE ItemID WHERE Items.GENRE IN ("a") OR Interactions.EVENT_TYPE IN ("click")',
        GUIDELINES,
        reject="must use the dataset of the first condition",
    ),
    Case(
        'EXCLUDE ActionID WHERE Action_Interactions.EVENT_TYPE IN ("x") AND Actions.CATEGORY IN ("y")',
        GUIDELINES,
        reject="must use the dataset of the first condition",
    ),
    Case(
        'INCLUDE UserID WHERE Users.AGE > 20 AND Interactions.EVENT_TYPE IN ("click")',
        ELEMENTS + " (AND/OR)",
        reject="must use the dataset of the first condition",
    ),
    # interactions: event type only
    Case("EXCLUDE ItemID WHERE Interactions.EVENT_VALUE > 3", GUIDELINES, reject="may only use EVENT_TYPE"),
    Case('EXCLUDE ItemID WHERE Interactions.DEVICE IN ("mobile")', GUIDELINES, reject="may only use EVENT_TYPE"),
    Case('EXCLUDE ActionID WHERE Action_Interactions.ACTION_ID IN ("a")', GUIDELINES, reject="may only use EVENT_TYPE"),
    Case(
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE = "click"', ELEMENTS + " (IN/NOT IN)", reject="takes IN or NOT IN"
    ),
    Case('INCLUDE ItemID WHERE Items.GENRE IN ("*")', ELEMENTS + " (asterisk)", reject="only valid for EVENT_TYPE"),
    # CurrentUser and IF
    Case(
        "INCLUDE ItemID WHERE CurrentUser.AGE > 18",
        ELEMENTS + " (CurrentUser)",
        reject="CurrentUser can only be used in the IF condition",
    ),
    Case(
        'INCLUDE ItemID WHERE Items.GENRE IN ("a") AND CurrentUser.AGE > 18',
        ELEMENTS + " (CurrentUser)",
        reject="CurrentUser can only be used in the IF condition",
    ),
    Case(
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) IF Items.PRICE > 18",
        ELEMENTS + " (IF)",
        reject="an IF condition can only check CurrentUser",
    ),
    Case(
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 AND Items.PRICE > 1",
        ELEMENTS + " (IF)",
        reject="an IF condition can only check CurrentUser",
    ),
    Case(
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 OR CurrentUser.TIER = $T",
        ELEMENTS + " (IF)",
        reject="an IF condition comes once, at the end, extended with AND only",
    ),
    Case(
        "INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.AGE > 18 IF CurrentUser.TIER = $T",
        ELEMENTS + " (IF)",
        reject="an IF condition comes once",
    ),
    Case(
        "EXCLUDE UserID WHERE Users.AGE < 18 IF CurrentUser.AGE > 1",
        ELEMENTS + " (IF)",
        reject="UserID filters cannot have an IF condition",
    ),
    # CurrentItem
    Case(
        "INCLUDE ItemID WHERE CurrentItem.PRICE > 10",
        ELEMENTS + " (CurrentItem)",
        reject="CurrentItem.FIELD can only be a value",
    ),
    Case(
        "INCLUDE UserID WHERE Users.AGE > CurrentItem.MIN_AGE",
        ELEMENTS + " (CurrentItem)",
        reject="CurrentItem values can only be compared",
    ),
    # datasets per kind of filter
    Case(
        "INCLUDE ItemID WHERE Users.AGE > 20",
        ELEMENTS + " (ItemID/UserID)",
        reject="ItemID filters cannot use Users fields",
    ),
    Case(
        'INCLUDE UserID WHERE Items.GENRE IN ("a")',
        ELEMENTS + " (ItemID/UserID)",
        reject="UserID filters cannot use Items fields",
    ),
    Case(
        'EXCLUDE ActionID WHERE Items.GENRE IN ("a")',
        ELEMENTS + " (ActionID)",
        reject="ActionID filters cannot use Items fields",
    ),
    Case(
        'INCLUDE ItemID WHERE Items.GENRE IN ("a") | EXCLUDE UserID WHERE Users.AGE < 18',
        ELEMENTS + " (ItemID/ActionID/UserID)",
        reject="every expression of a filter must filter the same thing",
    ),
    Case(
        'INCLUDE ItemID WHERE Products.GENRE IN ("a")',
        ELEMENTS + " (Dataset.field)",
        reject="unknown dataset 'Products'",
    ),
    # parameters
    Case(
        'INCLUDE ItemID WHERE Items.GENRE NOT IN ("a", $G)',
        GUIDELINES,
        reject="a $PARAMETER cannot be used with NOT IN",
    ),
    Case(
        "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ($T)",
        GUIDELINES,
        reject="a $PARAMETER cannot be used with NOT IN",
    ),
    # syntax
    Case("", ELEMENTS, reject="expected INCLUDE or EXCLUDE"),
    Case('KEEP ItemID WHERE Items.X IN ("a")', ELEMENTS, reject="expected INCLUDE or EXCLUDE"),
    Case('INCLUDE Items WHERE Items.X IN ("a")', ELEMENTS, reject="expected ItemID, UserID or ActionID"),
    Case("EXCLUDE ItemID WHEN Items.X IN (1)", ELEMENTS, reject="expected WHERE"),
    Case('INCLUDE ItemID WHERE Genre IN ("a")', ELEMENTS, reject="expected a dataset field such as Items.GENRE"),
    Case(
        'INCLUDE ItemID WHERE Items.GENRE LIKE ("a")', ELEMENTS, reject="expected IN, NOT IN or a comparison operator"
    ),
    Case("INCLUDE ItemID WHERE Items.GENRE IN $G", ELEMENTS, reject="expected '(' or CurrentItem.FIELD after IN"),
    Case('INCLUDE ItemID WHERE Items.GENRE IN ("a"', ELEMENTS, reject="expected ',' or ')'"),
    Case("INCLUDE ItemID WHERE Items.GENRE IN ()", ELEMENTS, reject="expected a value"),
    Case("INCLUDE ItemID WHERE Items.PRICE < ", ELEMENTS, reject="expected a value"),
    Case("INCLUDE ItemID WHERE Items.PRICE > (1, 2)", ELEMENTS, reject="expected ')'"),
    Case(
        'INCLUDE ItemID WHERE Items.GENRE IN ("a") EXTRA',
        ELEMENTS,
        reject="expected '|', AND, OR, IF or end of expression",
    ),
    Case('INCLUDE ItemID WHERE Items.GENRE IN ("a") # x', ELEMENTS, reject="unexpected character '#'"),
    Case(
        "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (*)",
        ELEMENTS + ' (asterisk is "*")',
        reject="unexpected character '*'",
    ),
    Case('INCLUDE ItemID WHERE Items.GENRE IN ("a)', ELEMENTS, reject="unexpected character"),
    Case(
        'INCLUDE ItemID WHERE (Items.GENRE IN ("a") OR Items.GENRE IN ("b")) AND Items.PRICE < 10',
        ELEMENTS + " (no grouping element)",
        reject="conditions cannot be grouped with parentheses",
    ),
]

LIMITS = [
    Case(_padded(2500), "CreateFilter filterExpression: at most 2500 characters"),
    Case(
        _padded(2501),
        "CreateFilter filterExpression: at most 2500 characters",
        reject="expression is 2501 characters; Personalize allows 2500",
    ),
    Case(_fields(10), GUIDELINES + ": at most 10 distinct dataset fields"),
    Case(_fields(10) + " AND Items.F1 < CurrentItem.F1", GUIDELINES + ": CurrentItem.F1 is the items dataset's F1"),
    Case(_fields(5) + " | " + _fields(10), GUIDELINES + ": fields count once across chained expressions"),
    Case(_fields(11), GUIDELINES, reject="uses 11 distinct dataset fields"),
    Case(
        _fields(6)
        + " | "
        + 'EXCLUDE ItemID WHERE Items.G0 IN ("a") AND Items.G1 IN ("b") AND Items.G2 IN ("c") AND Items.G3 IN ("d") AND Items.G4 IN ("e")',
        GUIDELINES,
        reject="uses 11 distinct dataset fields",
    ),
    Case(_fields(10) + " AND Items.F1 < CurrentItem.F10", GUIDELINES, reject="uses 11 distinct dataset fields"),
    Case(_params(25), "GetRecommendations filterValues: at most 25 entries"),
    Case(_params(26), "GetRecommendations filterValues: at most 25 entries", reject="has 26 distinct $PARAMETERS"),
]

CASES = DOCUMENTED + ELEMENT_FORMS + RESTRICTIONS + LIMITS

"""Smoke test of a deployed campaign: recommendations for sample users, with and without each filter."""

from __future__ import annotations

import logging
from collections import Counter

from personalize_ops.dataset_kinds import BY_FILTER_NAME
from personalize_ops.filter_expression import parse_filter_expression
from personalize_ops.pipeline.s3csv import read_csv_columns
from personalize_ops.pipeline.values import StagedDataset

log = logging.getLogger(__name__)


class SmokeTestError(AssertionError):
    """A campaign answered badly (empty list, unknown items), or a filter parameter has no value to test with."""


def sample_users(s3, interactions_uri: str, n: int = 5) -> list[str]:
    """The ``n`` users with the most interactions in the first MiB of the staged interactions file."""
    users = read_csv_columns(s3, interactions_uri, ("USER_ID",), max_bytes=1 << 20)["USER_ID"]
    return [u for u, _ in Counter(users).most_common(n)]


def filter_values(expression: str, columns: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    """Values for the expression's ``$PARAM`` placeholders: the most common value of the field each one is compared
    with (read by the filter-expression parser). ``columns``: {dataset kind: {field: values}}."""
    values = {}
    for param, (dataset, field) in parse_filter_expression(expression).param_fields.items():
        kind = BY_FILTER_NAME.get(dataset)
        column = (columns.get(kind) or {}).get(field.upper()) or []
        counts = Counter(v for cell in column for v in str(cell).split("|") if v)
        if not counts:
            raise SmokeTestError(f"filter parameter ${param}: no values of {dataset}.{field} to test it with")
        values[param] = f'"{counts.most_common(1)[0][0]}"'
    return values


def dataset_columns(s3, cfg, staged: dict[str, StagedDataset]) -> dict[str, dict[str, list[str]]]:
    """Every field of the staged items and users files (what filter parameters can be compared with)."""
    out = {}
    for kind in ("items", "users"):
        ds = cfg.datasets.present().get(kind)
        if ds and staged.get(kind) and staged[kind].uri:
            out[kind] = read_csv_columns(s3, staged[kind].uri, tuple(f.name for f in ds.fields))
    return out


def run(cfg, s3, runtime, campaign_arns: list[str | None], filter_arns: dict[str, str],
        staged: dict[str, StagedDataset]) -> list[dict]:  # fmt: skip
    """The retrain DAG's smoke test: every deployed campaign, for the busiest users, unfiltered and per filter."""
    interactions = staged["interactions"].uri
    users = sample_users(s3, interactions)
    columns = dataset_columns(s3, cfg, staged)
    if "items" in columns:
        catalog = set(columns["items"]["ITEM_ID"])
    else:
        catalog = set(read_csv_columns(s3, interactions, ("ITEM_ID",))["ITEM_ID"])
    filters = {f.name: (filter_arns[f.name], filter_values(f.expression, columns)) for f in cfg.filters}
    return [check_campaign(runtime, arn, users, catalog, filters) for arn in campaign_arns if arn]


def check_campaign(runtime, campaign_arn: str, users: list[str], catalog: set[str], filters: dict) -> dict:
    """GetRecommendations per user, unfiltered and per filter; raise with details on any bad answer."""
    problems, counts = [], Counter()
    for user in users:
        for fname, (farn, fvalues) in {None: (None, None), **filters}.items():
            kwargs = {"campaignArn": campaign_arn, "userId": user, "numResults": 10}
            if farn:
                kwargs["filterArn"] = farn
                if fvalues:
                    kwargs["filterValues"] = fvalues
            items = [r["itemId"] for r in runtime.get_recommendations(**kwargs)["itemList"]]
            label = fname or "no filter"
            counts[label] += len(items)
            unknown = [i for i in items if i not in catalog]
            if not items:
                problems.append(f"user {user}, {label}: empty recommendation list")
            if unknown:
                problems.append(f"user {user}, {label}: items not in the catalog: {unknown[:5]}")
    if problems:
        raise SmokeTestError(f"smoke test of {campaign_arn} failed:\n  " + "\n  ".join(problems))
    log.info("Smoke test of %s passed for %d users: %s", campaign_arn, len(users), dict(counts))
    return {"campaign_arn": campaign_arn, "users": users, "items_returned": dict(counts)}

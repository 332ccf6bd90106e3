"""Smoke test of a deployed campaign: recommendations for sample users, with and without each filter."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter

from personalize_ops.pipeline.s3uri import split

log = logging.getLogger(__name__)
_PARAM_FIELD = re.compile(r"Items\.(\w+)\s+(?:NOT\s+)?IN\s*\(\s*\$(\w+)\s*\)", re.IGNORECASE)


def read_csv_columns(s3, uri: str, columns: tuple[str, ...], max_bytes: int | None = None) -> dict[str, list]:
    """Selected columns of a staged Personalize CSV (optionally only its first ``max_bytes``)."""
    bucket, key = split(uri)
    kwargs = {"Range": f"bytes=0-{max_bytes - 1}"} if max_bytes else {}
    text = s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read().decode("utf-8")
    if max_bytes:
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.DictReader(io.StringIO(text)))
    return {c: [r[c] for r in rows if r.get(c) not in (None, "")] for c in columns}


def sample_users(s3, interactions_uri: str, n: int = 5) -> list[str]:
    users = read_csv_columns(s3, interactions_uri, ("USER_ID",), max_bytes=1 << 20)["USER_ID"]
    return [u for u, _ in Counter(users).most_common(n)]


def filter_values(expression: str, items: dict[str, list] | None) -> dict[str, str]:
    """Values for ``$PARAM`` placeholders: the most common value of the item field the parameter filters."""
    values = {}
    for field, param in _PARAM_FIELD.findall(expression):
        column = (items or {}).get(field.upper()) or []
        counts = Counter(v for cell in column for v in str(cell).split("|") if v)
        if not counts:
            raise ValueError(f"filter parameter ${param}: no values of Items.{field} to test it with")
        values[param] = f'"{counts.most_common(1)[0][0]}"'
    return values


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
        raise AssertionError(f"smoke test of {campaign_arn} failed:\n  " + "\n  ".join(problems))
    log.info("Smoke test of %s passed for %d users: %s", campaign_arn, len(users), dict(counts))
    return {"campaign_arn": campaign_arn, "users": users, "items_returned": dict(counts)}

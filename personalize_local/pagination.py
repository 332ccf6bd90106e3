"""List pagination: `maxResults` items per page and an opaque `nextToken` that names where the next page starts."""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable

from personalize_local.aws_errors import InvalidNextToken


def page(
    member: str,
    items: list,
    params: dict,
    operation: str,
    project: Callable = lambda item: item,
    sort_key: Callable | None = None,
) -> dict:
    """The List* answer for `items`: {member: [project(item) ...], "nextToken": ...} with `maxResults` items
    (default 100) and a nextToken unless this is the last page.

    `items` are in `sort_key` order (default: their position). The token names the sort key of the last
    item returned, and the next page starts after it: resources created or deleted between two pages never
    shift one into the other or out of both (an offset token would skip an item whenever an earlier one
    finished deleting)."""
    keys = [tuple(sort_key(x)) for x in items] if sort_key else [(i,) for i in range(len(items))]
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            op, raw = base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)
            if op != operation:
                raise ValueError(op)
            start = bisect.bisect_right(keys, tuple(json.loads(raw)))
        except Exception as exc:  # noqa: BLE001
            raise InvalidNextToken(f"The nextToken {token!r} was not issued by {operation}.") from exc
    end = start + (params.get("maxResults") or 100)
    out = {member: [project(x) for x in items[start:end]]}
    if end < len(items):
        last = json.dumps(list(keys[end - 1]))
        out["nextToken"] = base64.urlsafe_b64encode(f"{operation}:{last}".encode()).decode()
    return out

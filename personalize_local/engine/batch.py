"""Batch inference over JSON Lines in Personalize's output format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator


def _error(inp, reason: str) -> str:
    """A failed line as Amazon Personalize writes one: the input, an empty recommendation list and the reason
    prefixed "User error: " (e.g. "User error: Required fields for the provided recipe are userId")."""
    return json.dumps({"input": inp, "output": {"recommendedItems": []}, "error": f"User error: {reason}"})


def run_batch_lines(
    model,
    lines: Iterable[str],
    num_results: int = 25,
    item_filter_factory: Callable[[dict], object] | None = None,
) -> Iterator[str]:
    """Yield one output line per non-blank input line: {"input", "output": {"recommendedItems", "scores"},
    "error": null}. `item_filter_factory(input_obj)` returns the item_filter for that line (e.g. a
    BoundFilter with the line's filterValues) or None. A bad line yields "output": {"recommendedItems": []} and
    "error": "User error: <reason>" (AWS's shape of a failed line); it never raises."""
    for lineno, raw in enumerate(lines, start=1):
        if not raw or not raw.strip():
            continue
        try:
            inp = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield _error(raw.strip(), f"line {lineno}: invalid JSON: {exc.msg}")
            continue
        if not isinstance(inp, dict):
            yield _error(inp, f"line {lineno}: expected a JSON object with userId or itemId")
            continue
        key = model.recipe.query
        if inp.get(key) in (None, ""):
            yield _error(inp, f"Required fields for the provided recipe are {key}")
            continue
        try:
            item_filter = item_filter_factory(inp) if item_filter_factory else None
            if "itemList" in inp and key == "userId":
                recs = model.rank(
                    str(inp["userId"]), [str(x) for x in inp["itemList"]], item_filter=item_filter
                )
            elif key == "itemId":
                recs = model.recommend(
                    item_id=str(inp["itemId"]), num_results=num_results, item_filter=item_filter
                )
            else:
                recs = model.recommend(
                    user_id=str(inp["userId"]), num_results=num_results, item_filter=item_filter
                )
        except Exception as exc:  # one bad line must never stop the job
            yield _error(inp, f"line {lineno}: {exc}")
            continue
        yield json.dumps(
            {
                "input": inp,
                "output": {"recommendedItems": [r[0] for r in recs], "scores": [r[1] for r in recs]},
                "error": None,
            }
        )

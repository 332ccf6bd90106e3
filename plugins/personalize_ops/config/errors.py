"""Config errors: what ``load_config`` raises, and how validators report several located problems at once."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

#: A problem a validator found: the key path below the validated value (``("campaigns", 0, "solution")``), why.
Problem = tuple[tuple[str | int, ...], str]
PROBLEM = "config_problem"  # pydantic error type of a Problem


class ConfigError(ValueError):
    """All problems found in one config file; ``errors`` holds the ``(key_path, reason)`` pairs."""

    def __init__(self, path: str | os.PathLike, errors: list[tuple[str, str]]):
        self.path, self.errors = str(path), errors
        super().__init__("\n".join(f"{self.path}: {loc or '<root>'}: {msg}" for loc, msg in errors))


def _problem(why: str) -> PydanticCustomError:
    return PydanticCustomError(PROBLEM, "{reason}", {"reason": why})


def _line_errors(error: ValidationError) -> list[InitErrorDetails]:
    """``error``'s errors, to raise again with more (a nested validator's problems included)."""
    out = []
    for e in error.errors():
        kind = _problem(e["ctx"]["reason"]) if e["type"] == PROBLEM else e["type"]
        out.append(
            InitErrorDetails(type=kind, loc=e["loc"], input=e["input"], **({"ctx": e["ctx"]} if "ctx" in e else {}))
        )
    return out


def validated_with(
    title: str, handler: Callable[[Any], Any], value: Any, problems: Callable[[Any | None], Sequence[Problem]]
) -> Any:
    """Validate ``value`` with pydantic's ``handler`` (in a wrap validator) and report ``problems`` with it.

    ``problems(validated)`` gets the validated value, or None when pydantic found errors (then it reports only what
    it can tell without it); its problems and pydantic's errors are raised together, each at its own key path.
    """
    try:
        validated, structural = handler(value), []
    except ValidationError as e:
        validated, structural = None, _line_errors(e)
    found = [InitErrorDetails(type=_problem(why), loc=loc, input=None) for loc, why in problems(validated)]
    if structural or found:
        raise ValidationError.from_exception_data(title, [*structural, *found])
    return validated

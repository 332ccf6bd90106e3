"""Checks the config models share: a value matching a pattern, names listed twice. Plain Python (the DAG files
import the config models at parse time, and ``experiments.config`` must not import the ``config`` package)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable


def repeated(names: Iterable[str]) -> list[str]:
    """The names that stand more than once, sorted."""
    names = list(names)
    return sorted({n for n in names if names.count(n) > 1})


def full_match(pattern: re.Pattern[str], message: str) -> Callable[[str | None], str | None]:
    """A field validator (``field_validator("x")(full_match(...))``): None passes; a string must match ``pattern``
    in full, else ``ValueError(message.format(v=value))``."""

    def check(v: str | None) -> str | None:
        if v is not None and not pattern.fullmatch(v):
            raise ValueError(message.format(v=v))
        return v

    return check

"""Reading algorithmHyperParameters (AWS passes every value as a string)."""

from __future__ import annotations

from collections.abc import Mapping


def get_float(hp: Mapping, names: tuple[str, ...], default: float) -> float:
    for n in names:
        if n in hp and str(hp[n]).strip() != "":
            try:
                return float(hp[n])
            except ValueError:
                raise ValueError(f"algorithmHyperParameters.{n}: expected a number, got {hp[n]!r}") from None
    return default


def get_int(hp: Mapping, names: tuple[str, ...], default: int) -> int:
    return int(round(get_float(hp, names, default)))


def get_bool(hp: Mapping, names: tuple[str, ...], default: bool) -> bool:
    for n in names:
        if n in hp:
            return str(hp[n]).strip().lower() in ("true", "1", "yes")
    return default

"""Deterministic assignment of users to an experiment's variants, reproducible in any language.

The hash: ``u = int(sha256(f"{experiment_id}:{user_id}" as UTF-8)[:8], big-endian) / 2**64``, a number in [0, 1).
Variants own consecutive ranges of [0, 1) in their config order, each as wide as its traffic share: with a 0.5/0.5
split, u < 0.5 is the first variant. The same user always gets the same variant of an experiment (no state to
store), users spread uniformly, and a different experiment id gives an independent assignment (the hash of
``"exp-b:u1"`` says nothing about ``"exp-a:u1"``). Changing the split moves only the users whose ``u`` crosses a
new boundary; renaming the experiment reshuffles everyone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

from personalize_ops.experiments.config import SPLIT_TOLERANCE, Experiment


def bucket(experiment_id: str, user_id: str) -> float:
    """The user's position in [0, 1) for this experiment (see the module docstring)."""
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _check_split(split: Mapping[str, float]) -> None:
    if not split:
        raise ValueError("split is empty: name at least one variant with its share of users")
    bad = {k: v for k, v in split.items() if not (isinstance(v, int | float) and 0 < v <= 1)}
    if bad:
        raise ValueError(f"shares must be in (0, 1]: {bad}")
    total = math.fsum(split.values())
    if not math.isclose(total, 1.0, abs_tol=SPLIT_TOLERANCE):
        raise ValueError(f"shares must sum to 1, got {total:g} ({dict(split)})")


def assign(experiment_id: str, user_id: str, split: Mapping[str, float]) -> str:
    """The variant (a key of ``split``, in its order) that ``user_id`` sees in ``experiment_id``."""
    _check_split(split)
    u, edge = bucket(experiment_id, user_id), 0.0
    for name, share in split.items():
        edge += share
        if u < edge:
            return name
    return name  # u above the last edge only by rounding of the shares' sum


def variant_for(experiment: Experiment, user_id: str) -> str:
    """The variant of a configured experiment that ``user_id`` sees."""
    return assign(experiment.name, user_id, experiment.split)


def attribution_source(experiment_id: str, variant: str) -> str:
    """The ``metricAttribution.eventAttributionSource`` an application sends with events caused by a variant's
    recommendations: ``"<experiment>:<variant>"``. Personalize attributes an event to this source rather than to
    the campaign of its ``recommendationId`` when both are given, so two variants on one campaign (an A/A test)
    stay apart."""
    return f"{experiment_id}:{variant}"


def parse_attribution_source(source: str) -> tuple[str, str] | None:
    """``(experiment, variant)`` of a source made by :func:`attribution_source`, else None."""
    experiment, sep, variant = source.partition(":")
    return (experiment, variant) if sep and experiment and variant and ":" not in variant else None

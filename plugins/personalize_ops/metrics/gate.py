"""Champion/challenger gate: should a new solution version replace the one a campaign serves?

Rule (pure, no I/O):
1. challenger must not score below the popularity baseline (when a baseline is given);
2. with no champion (campaign not created yet) the challenger is promoted;
3. otherwise the challenger must beat the champion by the relative margin:
   ``challenger >= champion * (1 + min_improvement)`` and ``challenger > champion`` (a tie never promotes).

Two rules come before these, once every metric is known to be a number:
- a campaign that already serves the challenger is left alone (``already_serving``): the gate re-running after its
  own deploy decides nothing again;
- ``skip``: promote whatever the comparison says; the decision records that the gate was skipped and what it said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any


class GateInputError(ValueError):
    """A metric is missing from, or not a finite number in, one of the metric sets given to the gate."""


@dataclass(frozen=True)
class Decision:
    """What a gate decides, either mode (this module's rule, or ``evaluation.decision``'s backtest); ``reason``
    states the numbers that led to it."""

    promoted: bool
    reason: str
    metric: str
    challenger_value: float
    champion_value: float | None
    baseline_value: float | None
    margin: float

    def record_fields(self) -> dict[str, Any]:
        """The decision's own fields, first in its record."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def record_extra(self) -> dict[str, Any]:
        """Fields after the common ones (none here)."""
        return {}

    def to_record(
        self,
        *,
        campaign: str,
        champion_arn: str | None,
        challenger_arn: str,
        run_id: str,
        decided_at: datetime | None = None,
    ) -> dict[str, Any]:
        """The gate-decision record stored by ``record_gate_decision`` (docs/INTERFACES.md, "Metric history"): the
        decision's fields, the campaign and versions it is about, the run and when (``decided_at``, default now,
        UTC), then :meth:`record_extra`."""
        return {
            **self.record_fields(),
            "campaign": campaign,
            "champion_arn": champion_arn,
            "challenger_arn": challenger_arn,
            "run_id": run_id,
            "decided_at": (decided_at or datetime.now(UTC)).isoformat(),
            **self.record_extra(),
        }


@dataclass(frozen=True)
class GateDecision(Decision):
    """Outcome of :func:`decide`."""

    skipped: bool = False
    already_serving: bool = False


def _value(metrics: Mapping[str, Any], metric: str, role: str) -> float:
    if metric not in metrics:
        available = ", ".join(sorted(metrics)) or "none"
        raise GateInputError(f"{role} metrics have no {metric!r}; available: {available}")
    value = metrics[metric]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GateInputError(f"{role} metric {metric!r} is {value!r}, expected a finite number")
    return float(value)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def decide(
    champion: Mapping[str, Any] | None,
    challenger: Mapping[str, Any],
    metric: str,
    min_improvement: float = 0.0,
    baseline: Mapping[str, Any] | None = None,
    *,
    skip: bool = False,
    already_serving: str | None = None,
) -> GateDecision:
    """Decide whether ``challenger`` replaces ``champion`` on ``metric`` (see module docstring).

    ``already_serving``: the challenger's ARN when the campaign already serves it (nothing to decide).
    ``skip``: the run asked to promote without the gate (``skip_gate``).
    """
    if min_improvement < 0 or math.isnan(min_improvement):
        raise GateInputError(f"min_improvement={min_improvement!r}: must be >= 0 (0.02 means 2% better)")
    new = _value(challenger, metric, "challenger")
    old = None if champion is None else _value(champion, metric, "champion")
    base = None if baseline is None else _value(baseline, metric, "baseline")
    numbers = (
        f"{metric}: challenger {_fmt(new)}, champion {_fmt(old)}, "
        f"popularity baseline {_fmt(base)}, required margin {min_improvement:.1%}"
    )

    def result(promoted: bool, why: str, **flags: bool) -> GateDecision:
        return GateDecision(promoted, f"{why} ({numbers})", metric, new, old, base, float(min_improvement), **flags)

    if already_serving:
        return GateDecision(False, f"campaign already serves {already_serving}", metric, new, old, base,
                            float(min_improvement), already_serving=True)  # fmt: skip
    verdict = _compare(new, old, base, min_improvement, result)
    if skip:
        return GateDecision(True, f"promoted: skip_gate set (gate said: {verdict.reason})", metric, new, old, base,
                            float(min_improvement), skipped=True)  # fmt: skip
    return verdict


def _compare(new: float, old: float | None, base: float | None, min_improvement: float, result) -> GateDecision:
    """Rules 1-3 of the module docstring."""
    if base is not None and new < base:
        return result(False, "not promoted: challenger scores below the popularity baseline")
    if old is None:
        return result(True, "promoted: no champion yet (campaign does not exist)")
    required = old * (1 + min_improvement)
    if new > old and (new >= required or math.isclose(new, required, rel_tol=1e-9, abs_tol=1e-12)):
        why = f"promoted: challenger beats champion by {_rel(new, old)} (needed {required:.4f})"
        return result(True, why)
    return result(False, f"not promoted: challenger {_rel(new, old)} vs champion, needed >= {required:.4f}")


def _rel(new: float, old: float) -> str:
    if old == 0:
        return "+inf%" if new > 0 else "+0.0%"
    return f"{(new - old) / old:+.1%}"

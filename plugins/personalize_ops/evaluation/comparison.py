"""Champion, challenger and baseline scored on one holdout: per-model metrics and the paired intervals.

:func:`compare_models` is pure: it takes the holdout and each model's :class:`~.scoring.Recommendations`, computes
the per-user metrics (:mod:`.metrics`) on the sampled users and the paired bootstrap (:mod:`.bootstrap`) of
the challenger against the champion and against the baseline on the gate's metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from personalize_ops.evaluation import metrics as M
from personalize_ops.evaluation.bootstrap import Interval, compare
from personalize_ops.evaluation.holdout import Holdout
from personalize_ops.evaluation.records import DictRecord
from personalize_ops.evaluation.scoring import Recommendations

ROLES = ("challenger", "champion", "baseline")


@dataclass(frozen=True)
class ModelResult(DictRecord):
    """One model on the holdout: mean of each per-user metric, coverage, how it was scored."""

    role: str
    solution_version_arn: str
    trained_until: int | None
    path: str
    answered: int
    errors: int
    coverage: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Evaluation:
    """Everything the gate decision and its record need: holdout summary, models, intervals, settings."""

    metric: str
    holdout: dict[str, Any]
    models: tuple[ModelResult, ...]
    versus_champion: Interval | None
    versus_baseline: Interval | None

    def model(self, role: str) -> ModelResult | None:
        return next((m for m in self.models if m.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "holdout": self.holdout,
            "models": [m.to_dict() for m in self.models],
            "versus_champion": None if self.versus_champion is None else self.versus_champion.to_dict(),
            "versus_baseline": None if self.versus_baseline is None else self.versus_baseline.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        vc, vb = data.get("versus_champion"), data.get("versus_baseline")
        return cls(
            metric=data["metric"],
            holdout=dict(data["holdout"]),
            models=tuple(ModelResult.from_dict(m) for m in data["models"]),
            versus_champion=None if vc is None else Interval.from_dict(vc),
            versus_baseline=None if vb is None else Interval.from_dict(vb),
        )


def compare_models(
    holdout: Holdout,
    recommendations: dict[str, Recommendations],
    *,
    metric: str,
    trained_until: dict[str, int | None] | None = None,
    confidence_level: float = 0.99,
    n_resamples: int = 5000,
    seed: int = 0,
) -> Evaluation:
    """Score each role of ``recommendations`` (``challenger`` required; ``champion``, ``baseline`` optional)."""
    unknown = sorted(set(recommendations) - set(ROLES))
    if unknown or "challenger" not in recommendations:
        raise ValueError(f"roles {sorted(recommendations)}: need 'challenger', may add 'champion' and 'baseline'")
    if metric not in M.PER_USER_METRICS:
        raise ValueError(f"{metric!r} is not a per-user metric (known: {', '.join(M.PER_USER_METRICS)})")
    users = holdout.users
    trained_until = trained_until or {}
    per_user, models = {}, []
    for role in ROLES:
        recs = recommendations.get(role)
        if recs is None:
            continue
        per_user[role] = M.per_user(recs.lists, holdout.truth, users)
        models.append(ModelResult(
            role=role,
            solution_version_arn=recs.solution_version_arn,
            trained_until=trained_until.get(role),
            path=recs.path,
            answered=sum(1 for u in users if u in recs.lists),
            errors=sum(1 for u in users if u in recs.errors),
            coverage=round(M.coverage((recs.lists.get(u, ()) for u in users), holdout.catalog_size), 6),
            metrics=M.means(per_user[role]),
        ))  # fmt: skip

    def versus(role: str) -> Interval | None:
        if role not in per_user:
            return None
        return compare(per_user["challenger"][metric], per_user[role][metric], metric=metric, versus=role,
                       confidence_level=confidence_level, n_resamples=n_resamples, seed=seed)  # fmt: skip

    return Evaluation(metric, holdout.summary(), tuple(models), versus("champion"), versus("baseline"))

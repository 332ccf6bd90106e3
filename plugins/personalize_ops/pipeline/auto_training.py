"""Automatic training: for a solution with ``perform_auto_training``, AWS trains the versions on the solution's
schedule (``solutionConfig.autoTrainingConfig.schedulingExpression``); the pipeline trains nothing and picks up the
newest ACTIVE version AWS trained, which then goes through metrics, the gate and deployment like a trained one.

AWS marks those versions ``trainingType`` AUTOMATIC (manual ones: MANUAL). Their ``trainingMode`` is FULL, or
AUTOTRAIN in the API's enum; either is accepted. AWS starts the first automatic training within an hour after the
solution is ACTIVE, and later ones only when interaction data arrived since the last training.
"""

from __future__ import annotations

from personalize_ops.resources import KINDS

SOLUTION_VERSION = KINDS["solution_version"]
AUTOMATIC = "AUTOMATIC"


def training_type(hook, summary: dict) -> str | None:
    """A version's ``trainingType`` (from its List summary, else its Describe)."""
    if "trainingType" in summary:
        return summary["trainingType"]
    return hook.describe(SOLUTION_VERSION, summary[SOLUTION_VERSION.arn_member]).get("trainingType")


def active_versions(hook, solution_arn: str) -> list[dict]:
    """The solution's ACTIVE versions (List summaries), newest first."""
    k = SOLUTION_VERSION
    active = [s for s in hook.list(k, solution_arn) if k.status_of(s) in k.success]
    return sorted(active, key=lambda s: s.get("creationDateTime") or 0, reverse=True)


def newest_automatic(hook, solution_arn: str) -> dict | None:
    """The newest ACTIVE version automatic training made (its List summary), or None."""
    return next((s for s in active_versions(hook, solution_arn) if training_type(hook, s) == AUTOMATIC), None)


def not_yet(solution: str) -> str:
    """Why there is nothing to pick up yet."""
    return (f"{solution}: automatic training has not made an ACTIVE version yet (AWS starts the first one within an "
            f"hour after the solution is ACTIVE, and trains only when new interaction data arrived); a later run "
            f"picks it up")  # fmt: skip

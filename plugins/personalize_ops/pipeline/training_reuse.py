"""No wasted training: decide per solution whether to train, reuse an unchanged version, or take AWS's automatic one.

A version the pipeline trains carries the tag ``airflow:training-input`` (``resources.TRAINING_INPUT_TAG``): the
SHA-256 of its training input, i.e. the staged files' hashes of every dataset, the datasets' schemas, the solution's
CreateSolution request and its training mode. When the solution's newest ACTIVE version carries the fingerprint of
this run's input, nothing changed: the run reuses that version (logs so, and the gate and deployment treat it like a
fresh one) unless the ``force_train`` param is set. The tag lives on the version itself, so the record cannot drift
from what Personalize holds, and a version trained any other way (by hand, by automatic training) never matches.

Not in the fingerprint: events recorded with PutEvents and data deletion jobs, which change the training data without
changing the staged files; run with ``force_train`` to retrain on them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from personalize_ops.operators.solution_version import (
    PersonalizeCreateSolutionVersionOperator,
    create_or_adopt_solution_version,
)
from personalize_ops.pipeline import auto_training, requests
from personalize_ops.pipeline.values import StagedDataset, TrainingPlan
from personalize_ops.resources import KINDS, TRAINING_INPUT_TAG

log = logging.getLogger(__name__)
SOLUTION_VERSION = KINDS["solution_version"]


def fingerprint(cfg, sol, staged: Mapping[str, StagedDataset]) -> str:
    """SHA-256 of a solution's training input: staged data hashes, schemas, solution request, training mode."""
    doc = {
        "data": {ds: staged[ds].sha256 for ds in sorted(staged)},
        "schemas": {ds: requests.schema_json(cfg, ds) for ds in sorted(staged)},
        "solution": requests.solution_request(sol),
        "training_mode": sol.training_mode,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def plan_training(hook, cfg, sol, solution_arn: str, staged: Mapping[str, StagedDataset], force: bool) -> TrainingPlan:
    """What the train step does for ``sol`` (see :class:`TrainingPlan`); the reason is logged."""
    fp = fingerprint(cfg, sol, staged)
    if sol.perform_auto_training:
        auto = auto_training.newest_automatic(hook, solution_arn)
        if auto is None:
            plan = TrainingPlan(sol.name, "none", auto_training.not_yet(sol.name), fp)
        else:
            arn = auto[SOLUTION_VERSION.arn_member]
            why = f"{sol.name}: automatic training is on; using the newest ACTIVE automatic version {arn}"
            plan = TrainingPlan(sol.name, "automatic", why, fp, arn)
    elif force:
        plan = TrainingPlan(sol.name, "train", f"{sol.name}: training (force_train)", fp)
    else:
        plan = _train_or_reuse(hook, sol.name, solution_arn, fp)
    log.info(plan.reason)
    return plan


def _train_or_reuse(hook, solution: str, solution_arn: str, fp: str) -> TrainingPlan:
    newest = next(iter(auto_training.active_versions(hook, solution_arn)), None)
    if newest is None:
        return TrainingPlan(solution, "train", f"{solution}: training (no ACTIVE version yet)", fp)
    arn = newest[SOLUTION_VERSION.arn_member]
    if hook.tags(arn).get(TRAINING_INPUT_TAG) == fp:
        why = (f"{solution}: not retrained: data and configuration unchanged since its newest ACTIVE version {arn} "
               f"(training input {fp[:12]}); reusing it (set force_train to retrain)")  # fmt: skip
        return TrainingPlan(solution, "reuse", why, fp, arn)
    return TrainingPlan(solution, "train", f"{solution}: training (data or configuration changed since {arn})", fp)


class PersonalizeTrainOrReuseOperator(PersonalizeCreateSolutionVersionOperator):
    """Carry out a :class:`TrainingPlan`: train a version tagged with the plan's fingerprint, or return the version
    the plan reuses (waiting until it is ACTIVE). ``plan`` is templated (XCom)."""

    template_fields = (*PersonalizeCreateSolutionVersionOperator.template_fields, "plan")

    def __init__(self, *, plan: TrainingPlan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan

    def execute(self, context) -> str:
        plan = self.plan
        if plan.version_arn:
            self.log.info("%s", plan.reason)
            self.persist_link(context, plan.version_arn)
            return self.wait_or_defer(context, SOLUTION_VERSION, plan.version_arn, "active")
        tags = {**(self.tags or {}), TRAINING_INPUT_TAG: plan.fingerprint}
        arn, _ = create_or_adopt_solution_version(
            self.hook, self.solution_arn, self.training_mode, self.token(context), self.name, self.log, tags
        )
        self.persist_link(context, arn)
        return self.wait_or_defer(context, SOLUTION_VERSION, arn, "active")

"""Train a solution version once per task run (retries adopt it), and stop a training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.hook import PersonalizeHook, run_token
from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.resources import KINDS, RUN_TAG
from personalize_ops.waiters import described_state

SOLUTION_VERSION = KINDS["solution_version"]


def create_or_adopt_solution_version(
    hook: PersonalizeHook, solution_arn: str, training_mode: str, token: str, name: str | None, log,
    tags: Mapping[str, str] | None = None,
) -> tuple[str, bool]:
    """The version tagged ``airflow:run=<token>`` on this solution (unless it failed), else a new one (with ``tags``
    besides the run tag).

    Returns ``(arn, adopted)``. This is what makes a retried task pay for one training, not two.
    """
    for summary in hook.list(SOLUTION_VERSION, solution_arn):
        arn = summary[SOLUTION_VERSION.arn_member]
        if hook.tags(arn).get(RUN_TAG) != token:
            continue
        if described_state(SOLUTION_VERSION, "active", summary) == "failure":
            log.info("Not adopting %s from an earlier try: it is %s", arn, SOLUTION_VERSION.status_of(summary))
            continue
        log.info("Adopting solution version %s started by an earlier try of this task", arn)
        return arn, True
    request = SOLUTION_VERSION.create_request(
        name or None, solution_arn, {"trainingMode": training_mode}, {**(tags or {}), RUN_TAG: token}
    )
    arn = hook.call(SOLUTION_VERSION.create_op, **request)[SOLUTION_VERSION.arn_member]
    log.info("Started training %s (%s) of %s", arn, training_mode, solution_arn)
    return arn, False


class PersonalizeCreateSolutionVersionOperator(PersonalizeBaseOperator):
    """Train a new solution version (``trainingMode`` FULL or UPDATE) and return its ARN.

    The version is tagged ``airflow:run`` = hash of (dag_id, run_id, task_id, map_index); a retried task finds
    the version its earlier try started and waits for it instead of training again.

    :param solution_arn: the solution to train. Templated.
    :param training_mode: ``"FULL"`` or ``"UPDATE"``.
    :param name: optional version name. Templated.
    :param run_identity: override the run identity hashed into the tag. Templated.
    :param tags: more tags on the new version, ``{key: value}``. Templated.
    """

    template_fields = aws_template_fields("solution_arn", "training_mode", "name", "run_identity", "tags")

    def __init__(
        self,
        *,
        solution_arn: str,
        training_mode: Literal["FULL", "UPDATE"] = "FULL",
        name: str | None = None,
        run_identity: str | None = None,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.solution_arn, self.training_mode = solution_arn, training_mode
        self.name, self.run_identity, self.tags = name, run_identity, tags

    def token(self, context) -> str:
        if self.run_identity:
            return run_token(self.run_identity)
        ti = context["ti"]
        return run_token(ti.dag_id, ti.run_id, ti.task_id, str(getattr(ti, "map_index", -1)))

    def execute(self, context) -> str:
        arn, _ = create_or_adopt_solution_version(
            self.hook, self.solution_arn, self.training_mode, self.token(context), self.name, self.log, self.tags
        )
        self.persist_link(context, arn)
        return self.wait_or_defer(context, SOLUTION_VERSION, arn, "active")


class PersonalizeStopSolutionVersionCreationOperator(PersonalizeBaseOperator):
    """Stop a training in progress; waits until it settled (CREATE STOPPED, or already ACTIVE / FAILED).

    Returns the final status when waiting, else the ARN.

    :param solution_version_arn: the version to stop. Templated.
    """

    template_fields = aws_template_fields("solution_version_arn")

    def __init__(self, *, solution_version_arn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.solution_version_arn = solution_version_arn

    def execute(self, context) -> str:
        arn = self.solution_version_arn
        self.persist_link(context, arn)
        if self.hook.stop_training(arn):
            self.log.info("Requested stop of %s", arn)
        self.wait_or_defer(context, SOLUTION_VERSION, arn, "stopped")
        return self.result_after_wait(arn)

    def result_after_wait(self, arn: str) -> Any:
        return self.hook.status(SOLUTION_VERSION, arn) if self.wait_for_completion else arn

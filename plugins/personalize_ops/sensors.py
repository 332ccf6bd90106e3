"""Sensor for a Personalize resource created outside the DAG."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.sdk import conf

from personalize_ops.hook import PersonalizeHook
from personalize_ops.links import PersonalizeConsoleLink, persist_link
from personalize_ops.resources import kind as _kind
from personalize_ops.triggers import defer_until, error_from_event


class PersonalizeResourceSensor(AwsBaseSensor[PersonalizeHook]):
    """Wait until a resource is ACTIVE (``target="active"``), or its latest update finished
    (``"updated"``), or it is gone (``"deleted"``). A failure state raises
    :class:`~personalize_ops.errors.PersonalizeResourceFailedError` with AWS's failureReason.

    :param kind: resource kind key (``"solution_version"``, ``"dataset_import_job"``, ...).
    :param arn: the resource to watch. Templated.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    """

    aws_hook_class = PersonalizeHook
    template_fields = aws_template_fields("arn")
    operator_extra_links = (PersonalizeConsoleLink(),)

    def __init__(
        self,
        *,
        kind: str,
        arn: str,
        target: str = "active",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource_kind = _kind(kind)  # resolved once; an unknown kind or target fails at parse time
        self.resource_kind.waiter_name(target)
        self.kind, self.arn, self.target, self.deferrable = kind, arn, target, deferrable

    def poke(self, context) -> bool:
        state = self.hook.state(self.resource_kind, self.arn, self.target)
        if state == "failure":
            raise self.hook.failure_error(self.resource_kind, self.arn)
        return state == "success"

    def execute(self, context) -> Any:
        persist_link(context, self, self.hook, self.arn)
        if not self.deferrable or self.poke(context):
            return super().execute(context) if not self.deferrable else self.arn
        delay = max(0.1, float(self.poke_interval))
        max_attempts = max(1, int(self.timeout // delay))
        defer_until(self, self.resource_kind, self.arn, self.target, delay=delay, max_attempts=max_attempts)

    def execute_complete(self, context, event: dict[str, Any] | None = None) -> str:
        if event and event.get("status") == "success":
            return self.arn
        raise error_from_event(self.hook, event)

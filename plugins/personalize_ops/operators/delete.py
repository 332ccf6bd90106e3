"""Delete any deletable Personalize resource and wait until it is gone."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.operators.base import PersonalizeBaseOperator
from personalize_ops.resources import kind as _kind


class PersonalizeDeleteResourceOperator(PersonalizeBaseOperator):
    """Delete a resource; a missing one is fine (idempotent). Returns the ARN.

    ResourceInUseException (dependents still being deleted, a training running) is retried with
    exponential backoff for up to ``in_use_timeout`` seconds, then ``PersonalizeTimeoutError``.

    :param kind: resource kind key (``"campaign"``, ``"filter"``, ``"dataset_group"``, ...).
    :param arn: the resource. Templated.
    :param in_use_timeout: seconds to keep retrying while the resource is in use.
    """

    template_fields = aws_template_fields("arn")

    def __init__(self, *, kind: str, arn: str, in_use_timeout: float = 1800, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_kind = _kind(kind)  # resolved once; an unknown kind fails at parse time
        if not self.resource_kind.deletable:
            raise ValueError(f"Personalize {kind} resources cannot be deleted through the API")
        self.kind, self.arn, self.in_use_timeout = kind, arn, in_use_timeout

    def execute(self, context) -> str:
        self.persist_link(context, self.arn)
        if not self.hook.delete(self.resource_kind, self.arn, timeout=self.in_use_timeout):
            self.log.info("%s %s is already gone", self.kind, self.arn)
            return self.arn
        return self.wait_or_defer(context, self.resource_kind, self.arn, "deleted")

"""What every Personalize operator shares: the hook, the console link, and wait-or-defer on a resource."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.sdk import conf

from personalize_ops.hook import PersonalizeHook
from personalize_ops.links import PersonalizeConsoleLink, persist_link
from personalize_ops.resources import ResourceKind
from personalize_ops.triggers import defer_until, error_from_event
from personalize_ops.waiters import DEFAULT_DELAY, DEFAULT_MAX_ATTEMPTS


class PersonalizeBaseOperator(AwsBaseOperator[PersonalizeHook]):
    """Base of the Personalize operators.

    :param wait_for_completion: wait until the resource reaches its target state (default True).
    :param deferrable: wait in the triggerer instead of a worker slot
        (default ``[operators] default_deferrable``).
    :param waiter_delay: seconds between status polls.
    :param waiter_max_attempts: polls before giving up with ``PersonalizeTimeoutError``.
    Plus the provider's ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``.
    """

    aws_hook_class = PersonalizeHook
    operator_extra_links = (PersonalizeConsoleLink(),)
    ui_color = "#f7e1c8"

    def __init__(
        self,
        *,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        waiter_delay: int = DEFAULT_DELAY,
        waiter_max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts

    def persist_link(self, context, arn: str) -> None:
        persist_link(context, self, self.hook, arn)

    def wait_or_defer(self, context, k: ResourceKind, arn: str, target: str = "active") -> str:
        """Return ``arn`` once the resource reached ``target``; defers when ``deferrable``."""
        if not self.wait_for_completion or self.hook.state(k, arn, target) == "success":
            return arn
        if self.deferrable:
            defer_until(self, k, arn, target, delay=self.waiter_delay, max_attempts=self.waiter_max_attempts)
        self.hook.wait(k, arn, target, delay=self.waiter_delay, max_attempts=self.waiter_max_attempts)
        return arn

    def execute_complete(self, context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: return the ARN, or raise the typed error with AWS's failureReason."""
        if event and event.get("status") == "success":
            return self.result_after_wait(event["resource"]["arn"])
        raise error_from_event(self.hook, event)

    def result_after_wait(self, arn: str) -> Any:
        """What the task returns after a deferred wait (the ARN unless a subclass says otherwise)."""
        return arn

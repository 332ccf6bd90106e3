"""Exceptions raised by the Personalize hooks, operators and sensors.

All derive from :class:`PersonalizeError` (an ``AirflowException``), so a task fails with a message saying
which resource, what state it is in and what to do.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException


class PersonalizeError(AirflowException):
    """Base class of every error raised by ``personalize_ops`` against the Personalize API."""


class PersonalizeResourceFailedError(PersonalizeError, AirflowFailException):
    """A resource reached a failure state (``CREATE FAILED``, ``CREATE STOPPED``, ...).

    Not retried by Airflow (it is an ``AirflowFailException``): the same input fails the same way.

    The message carries the kind, ARN, status and AWS's ``failureReason``; the same values are attributes.
    """

    def __init__(self, kind: str, arn: str, status: str | None, failure_reason: str | None):
        self.kind, self.arn, self.status, self.failure_reason = kind, arn, status, failure_reason
        super().__init__(f"Personalize {kind} {arn} is {status}: {failure_reason or 'no failureReason given by AWS'}")


class PersonalizeDriftError(PersonalizeError, AirflowFailException):
    """A resource with the requested name exists with a different configuration (not retried).

    ``differences`` maps each differing member to ``(wanted, found)``. Fix the config, rename the resource,
    or pass ``on_drift="replace"`` to delete and recreate it.
    """

    def __init__(self, kind: str, name: str, arn: str, differences: dict[str, tuple]):
        self.kind, self.name, self.arn, self.differences = kind, name, arn, differences
        lines = "\n".join(f"  {m}: wanted {w!r}, found {f!r}" for m, (w, f) in differences.items())
        super().__init__(
            f"Personalize {kind} {name!r} ({arn}) exists with a different configuration:\n{lines}\n"
            f"Change the config back, choose a new name, or set on_drift='replace' to delete and recreate it"
            f" (jobs and solution versions cannot be deleted: use a new name)."
        )


class PersonalizeTimeoutError(PersonalizeError):
    """A wait (for a status, or for a resource in use to be released) ran out of time."""

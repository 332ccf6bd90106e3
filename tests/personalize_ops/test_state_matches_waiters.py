"""``PersonalizeHook.state()`` and the generated waiters agree on every kind, target and status.

Both sides get the same Describe response from botocore's Stubber: the Personalize service (local or AWS)
cannot be put into every status on demand (DELETE FAILED, CREATE STOPPING, a status AWS has not documented).
The waiter side is the Amazon provider's ``wait()`` over ``hook.get_waiter()``, the path ``hook.wait()`` and the
trigger take, run for one poll: it returns (success), raises WaiterTerminalFailure or a non-retriable error
(failure), or runs out of attempts (pending).
"""

from __future__ import annotations

import pytest
from airflow.providers.amazon.aws.exceptions import WaiterMaxAttemptsError, WaiterTerminalFailure
from airflow.providers.amazon.aws.utils.waiter_with_logging import wait
from airflow.sdk.exceptions import AirflowException
from botocore import xform_name
from botocore.stub import Stubber
from personalize_ops import resources
from personalize_ops.hook import PersonalizeHook
from personalize_ops.resources import KINDS

UNKNOWN = "SOME STATUS AWS ADDS LATER"
TABLE_STATUSES = sorted(
    {
        *resources.IN_PROGRESS,
        *resources.ACTIVE,
        *resources.CREATE_FAILED,
        *resources.DELETING,
        *resources.DELETE_FAILED,
        *(s for k in KINDS.values() for s in (*k.in_progress, *k.success, *k.failure)),
    }
)
CASES = [
    (k, target)
    for k in KINDS.values()
    for target in ("active", "updated", "deleted", "stopped")
    if getattr(k, f"{target}_waiter")
]


def _responses(k, target):
    """(label, Describe response or error code) for every status the table names, plus an unknown one."""
    arn = f"arn:aws:personalize:us-east-1:000000000000:{k.key}/x"
    yield "ResourceNotFoundException", "ResourceNotFoundException"
    yield "ValidationException", "ValidationException"  # an error no acceptor names
    if not k.status_path:
        yield "exists", {k.describe_key: {k.arn_member: arn}}
        return
    for status in [*TABLE_STATUSES, UNKNOWN]:
        yield status, {k.describe_key: {k.arn_member: arn, k.status_path: status}}
        if target == "updated":
            latest = {k.update_status_path.split(".")[0]: {"status": status}}
            yield f"latest update {status}", {k.describe_key: {k.arn_member: arn, k.status_path: "ACTIVE", **latest}}


def _queue(stubber, k, response):
    op = xform_name(k.describe_op)
    if isinstance(response, str):
        stubber.add_client_error(op, service_error_code=response, http_status_code=400)
    else:
        stubber.add_response(op, response)


def _waiter_outcome(hook, k, target, arn) -> str:
    try:
        wait(
            waiter=hook.get_waiter(k.waiter_name(target)),
            waiter_delay=0,
            waiter_max_attempts=1,
            args={k.arn_member: arn},
            failure_message="failed",
            status_message="status",
            status_args=[],
        )
    except WaiterMaxAttemptsError:
        return "pending"
    except (WaiterTerminalFailure, AirflowException):
        return "failure"
    return "success"


@pytest.fixture(scope="module")
def hook():
    with pytest.MonkeyPatch.context() as mp:
        for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            mp.setenv(var, value)
        hook = PersonalizeHook(aws_conn_id=None, region_name="us-east-1")
        hook.conn  # noqa: B018 - the client is built (and keeps the credentials) while the env is set
        yield hook


@pytest.mark.parametrize(("k", "target"), CASES, ids=[f"{k.key}-{t}" for k, t in CASES])
def test_state_is_what_the_waiter_concludes(hook, k, target):
    arn = f"arn:aws:personalize:us-east-1:000000000000:{k.key}/x"
    disagreements = {}
    with Stubber(hook.conn) as stubber:
        for label, response in _responses(k, target):
            _queue(stubber, k, response)
            _queue(stubber, k, response)
            state, waiter = hook.state(k.key, arn, target), _waiter_outcome(hook, k, target, arn)
            if state != waiter:
                disagreements[label] = f"state() {state}, waiter {waiter}"
        stubber.assert_no_pending_responses()
    assert not disagreements, disagreements


def test_the_documented_decisions():
    """Unknown statuses wait; a training that failed while being stopped has nothing left to stop."""
    from personalize_ops.waiters import described_state

    version, group = KINDS["solution_version"], KINDS["dataset_group"]
    assert described_state(group, "active", {"status": UNKNOWN}) == "pending"
    assert described_state(version, "stopped", {"status": "FAILED"}) == "success"
    assert described_state(version, "stopped", {"status": "CREATE STOPPING"}) == "pending"
    assert described_state(version, "active", {"status": "CREATE STOPPING"}) == "failure"

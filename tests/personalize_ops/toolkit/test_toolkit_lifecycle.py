"""Ensure / delete operators against personalize_local + moto over HTTP, blocking waiters.

Covers the resource kinds that need no training: dataset group, schema, dataset, dataset import job,
solution, filter, event tracker. Each ensure runs twice and must create exactly one resource; a smaller run
has 30% of requests throttled.
"""

import pytest
from personalize_ops.errors import PersonalizeDriftError
from personalize_ops.operators import (
    PersonalizeDeleteResourceOperator,
    PersonalizeEnsureResourceOperator,
)
from personalize_ops.resources import KINDS, TEARDOWN_ORDER

from tests.personalize_ops.toolkit.helpers import (
    INTERACTIONS_SCHEMA,
    context,
    ensure_once,
    interactions_csv,
    put_s3,
    throttling,
)

FAST = {"waiter_delay": 0.3, "waiter_max_attempts": 400, "deferrable": False}
NO_SEEN = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'


@pytest.fixture
def ensure(aws_conn_id):
    """Run an ensure operator's execute() twice; assert both runs return the same ARN."""

    def _ensure(kind, name, parent_arn=None, config=None, **kw):
        arns = []
        for attempt in range(2):
            ctx = context(task_id=f"ensure_{kind}")
            op = PersonalizeEnsureResourceOperator(
                task_id=f"ensure_{kind}_{attempt}",
                kind=kind,
                name=name,
                parent_arn=parent_arn,
                config=config,
                aws_conn_id=aws_conn_id,
                **FAST,
                **kw,
            )
            arns.append(op.execute(ctx))
        assert arns[0] == arns[1], f"{kind}: second run created another resource"
        assert ctx["ti"].xcom["personalize_resource"]["arn"] == arns[0]
        return arns[0]

    return _ensure


def build_group(ensure, stack, uid):
    """Every training-free kind, each ensured twice. Returns {kind: arn}."""
    arns = {"dataset_group": ensure("dataset_group", f"tk-{uid}")}
    dsg = arns["dataset_group"]
    arns["schema"] = ensure("schema", f"tk-{uid}-interactions", config={"schema": INTERACTIONS_SCHEMA})
    arns["dataset"] = ensure(
        "dataset",
        f"tk-{uid}-interactions",
        dsg,
        {"datasetType": "INTERACTIONS", "schemaArn": arns["schema"]},
    )
    location = put_s3(stack, "toolkit-data", f"{uid}/interactions.csv", interactions_csv())
    arns["dataset_import_job"] = ensure(
        "dataset_import_job",
        f"tk-{uid}-import",
        arns["dataset"],
        {"dataSource": {"dataLocation": location}, "roleArn": "arn:aws:iam::000000000000:role/pz"},
    )
    arns["solution"] = ensure(
        "solution", f"tk-{uid}-pop", dsg, {"recipeArn": "arn:aws:personalize:::recipe/aws-popularity-count"}
    )
    arns["filter"] = ensure(
        "filter",
        f"tk-{uid}-no-seen",
        dsg,
        {"filterExpression": NO_SEEN},
    )
    arns["event_tracker"] = ensure("event_tracker", f"tk-{uid}-tracker", dsg)
    return arns


def assert_one_of_each(client, arns):
    for key, arn in arns.items():
        k = KINDS[key]
        parent_arn = arns.get(k.parent) if k.parent else None
        params = {k.list_parent_member: parent_arn} if parent_arn else {}
        page = client.__getattribute__(_snake(k.list_op))(**params)
        names = [s[k.arn_member] for s in page[k.list_key]]
        assert names.count(arn) == 1, (key, names)


def _snake(op: str) -> str:
    from botocore import xform_name

    return xform_name(op)


def _delete_all(conn, arns, twice=True):
    """PersonalizeDeleteResourceOperator on every resource, in the table's teardown order (twice each)."""
    for key in TEARDOWN_ORDER:
        if key in arns:
            op = PersonalizeDeleteResourceOperator(
                task_id=f"delete_{key}", kind=key, arn=arns[key], aws_conn_id=conn, **FAST
            )
            assert op.execute(context()) == arns[key]
            if twice:
                assert op.execute(context()) == arns[key]  # deleting what is gone is fine


def test_ensure_twice_creates_one_and_delete_in_teardown_order(pz_stack, aws_conn_id, ensure, uid):
    client = pz_stack.client("personalize")
    arns = build_group(ensure, pz_stack, uid)
    assert_one_of_each(client, arns)
    assert client.describe_solution(solutionArn=arns["solution"])["solution"]["performAutoTraining"] is False
    _delete_all(aws_conn_id, arns)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_dataset_group(datasetGroupArn=arns["dataset_group"])


def test_operators_pass_with_30pct_of_requests_throttled(pz_stack, aws_conn_id, uid):
    """The hook's botocore retry config (standard mode, 10 attempts) absorbs ThrottlingException and 5xx."""
    client, conn = pz_stack.client("personalize"), aws_conn_id
    with throttling(pz_stack, fraction=0.3, error500=0.05):
        dsg = ensure_once(conn, "dataset_group", f"tk-thr-{uid}")
        arns = {
            "dataset_group": dsg,
            "schema": ensure_once(conn, "schema", f"tk-thr-{uid}", config={"schema": INTERACTIONS_SCHEMA}),
            "filter": ensure_once(conn, "filter", f"tk-thr-{uid}", dsg, {"filterExpression": NO_SEEN}),
        }
        _delete_all(conn, arns, twice=False)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_filter(filterArn=arns["filter"])


def test_drift_is_explained_and_replace_recreates(pz_stack, aws_conn_id, ensure, uid):
    dsg = ensure("dataset_group", f"tk-drift-{uid}")
    old = ensure("filter", f"f-{uid}", dsg, {"filterExpression": 'EXCLUDE ItemID WHERE Items.GENRE IN ("a")'})
    changed = {"filterExpression": 'EXCLUDE ItemID WHERE Items.GENRE IN ("b")'}
    op = PersonalizeEnsureResourceOperator(
        task_id="f",
        kind="filter",
        name=f"f-{uid}",
        parent_arn=dsg,
        config=changed,
        aws_conn_id=aws_conn_id,
        **FAST,
    )
    with pytest.raises(PersonalizeDriftError) as err:
        op.execute(context())
    assert err.value.differences == {
        "filterExpression": (changed["filterExpression"], 'EXCLUDE ItemID WHERE Items.GENRE IN ("a")')
    }
    assert "filterExpression" in str(err.value) and "on_drift='replace'" in str(err.value)
    op.on_drift = "replace"
    new = op.execute(context())
    described = pz_stack.client("personalize").describe_filter(filterArn=new)["filter"]
    assert described["filterExpression"] == changed["filterExpression"]
    # the parent, ensured again by name, is the same resource
    same = PersonalizeEnsureResourceOperator(
        task_id="g", kind="dataset_group", name=f"tk-drift-{uid}", aws_conn_id=aws_conn_id
    )
    assert same.execute(context()) == dsg and old

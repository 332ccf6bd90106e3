"""personalize_teardown end to end (after the retrain and batch-export tests): dry run, refusal, the real teardown
next to a foreign dataset group that shares a schema, with a training in flight; S3 areas per option."""

from __future__ import annotations

import pytest

from tests.e2e.state import dataset_group_arn, inventory, schema_arns, task_states, xcom
from tests.e2e.test_20_batch_export import expected_chart

GROUP = "personalize-demo"
FOREIGN = "foreign-group"
POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"
ROLE = "arn:aws:iam::000000000000:role/PersonalizeS3Access"


def _hook():
    from personalize_ops.hook import PersonalizeHook

    return PersonalizeHook(aws_conn_id="aws_default")


def _create(hook, kind: str, **params) -> str:
    """Create one resource through the control plane and wait until it is ACTIVE; returns its ARN."""
    from personalize_ops.resources import KINDS

    k = KINDS[kind]
    arn = hook.call(k.create_op, **params)[k.arn_member]
    if k.status_path:
        hook.wait(k, arn, "active", delay=0.5, max_attempts=600)
    return arn


def build_foreign_group(pipeline, shared_schema: str, our_data: str) -> dict[str, str]:
    """Another team's dataset group: its dataset uses our interactions schema; it has a solution with an ACTIVE
    version, a campaign, a filter and an event tracker. Its data is a copy of ``our_data`` outside our prefix."""
    from tests.e2e.conftest import BUCKET

    hook = _hook()
    source_bucket, source_key = our_data[5:].split("/", 1)
    pipeline.s3.copy_object(Bucket=BUCKET, Key="foreign/interactions.csv",
                            CopySource={"Bucket": source_bucket, "Key": source_key})  # fmt: skip
    group = _create(hook, "dataset_group", name=FOREIGN)
    data = f"s3://{BUCKET}/foreign/interactions.csv"
    arns = {"dataset_group": group, "schema": shared_schema}
    arns["dataset"] = _create(hook, "dataset", name="foreign-interactions", schemaArn=shared_schema,
                              datasetGroupArn=group, datasetType="Interactions")  # fmt: skip
    arns["dataset_import_job"] = _create(hook, "dataset_import_job", jobName="foreign-import", roleArn=ROLE,
                                         datasetArn=arns["dataset"], dataSource={"dataLocation": data})  # fmt: skip
    arns["solution"] = _create(hook, "solution", name="foreign-popularity", recipeArn=POPULARITY, datasetGroupArn=group)
    arns["solution_version"] = _create(hook, "solution_version", solutionArn=arns["solution"])
    arns["campaign"] = _create(hook, "campaign", name="foreign-campaign", minProvisionedTPS=1,
                               solutionVersionArn=arns["solution_version"])  # fmt: skip
    arns["filter"] = _create(hook, "filter", name="foreign-filter", datasetGroupArn=group,
                             filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")')  # fmt: skip
    arns["event_tracker"] = _create(hook, "event_tracker", name="foreign-tracker", datasetGroupArn=group)
    return arns


def describe_all(arns: dict[str, str]) -> dict[str, dict]:
    hook = _hook()
    return {kind: hook.describe(kind, arn) for kind, arn in arns.items()}


def start_held_training(pipeline, solution_arn: str, seconds: float = 180) -> str:
    """A training of ours that the service keeps CREATE IN_PROGRESS (its ``job_delay``) until well after the
    teardown reaches it: the stop is observed, not raced."""
    import time

    pz = pipeline.personalize
    with pipeline.stack.faults_set(job_delay=seconds):
        arn = pz.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
        deadline = time.monotonic() + 60
        while (status := pz.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]["status"]) != (
            "CREATE IN_PROGRESS"
        ):
            assert status == "CREATE PENDING" and time.monotonic() < deadline, status
            time.sleep(0.1)
    return arn  # the job read its delay when it started; clearing the fault does not shorten it


@pytest.fixture(scope="module")
def before_teardown(pipeline):
    """The state the teardown starts from: our group (+ one training in flight) and a foreign group."""
    from personalize_ops.metrics import load_gate_decisions, load_history

    from tests.e2e.conftest import BUCKET

    pz = pipeline.personalize
    group_arn = dataset_group_arn(pz, GROUP)
    ours = inventory(pz, group_arn)
    described = [pz.describe_dataset(datasetArn=d)["dataset"] for d in ours["datasets"]]
    interactions = next(d for d in described if d["datasetType"].upper() == "INTERACTIONS")
    shared = interactions["schemaArn"]
    jobs = pz.list_dataset_import_jobs(datasetArn=interactions["datasetArn"])["datasetImportJobs"]
    job = pz.describe_dataset_import_job(datasetImportJobArn=jobs[0]["datasetImportJobArn"])["datasetImportJob"]
    foreign = build_foreign_group(pipeline, shared, job["dataSource"]["dataLocation"])
    popularity = next(s for s in ours["solutions"] if "popularity" in s)
    training = start_held_training(pipeline, popularity)
    return {
        "group_arn": group_arn,
        "inventory": inventory(pz, group_arn),
        "shared_schema": shared,
        "training": training,
        "foreign": foreign,
        "foreign_described": describe_all(foreign),
        "history": load_history(pipeline.s3, BUCKET, "personalize-demo", GROUP),
        "decisions": load_gate_decisions(pipeline.s3, BUCKET, "personalize-demo", GROUP),
    }


def test_teardown_dry_run_lists_resources_and_s3_areas_and_changes_nothing(pipeline, before_teardown):
    pz, before = pipeline.personalize, before_teardown
    dry = pipeline.run("personalize_teardown", {"delete_staging": True})
    assert dry.state == "success", task_states(dry)
    assert inventory(pz, before["group_arn"]) == before["inventory"]
    plan = xcom(dry, "plan")
    assert [s["result"] for s in xcom(dry, "delete")] == ["dry run"] * len(plan)
    stops = [s for s in plan if s["action"] == "stop"]
    assert [s["arn"] for s in stops] == [before["training"]]
    s3_rows = {s["kind"]: s for s in plan if s["kind"].startswith("s3:")}
    assert s3_rows["s3:staging"]["action"] == "delete" and s3_rows["s3:staging"]["objects"] >= 3
    assert (s3_rows["s3:history"]["action"], s3_rows["s3:history"]["objects"]) == ("keep", len(before["history"]))
    assert (s3_rows["s3:gate"]["action"], s3_rows["s3:gate"]["objects"]) == ("keep", len(before["decisions"]))
    assert s3_rows["s3:batch"]["action"] == "keep" and s3_rows["s3:batch"]["objects"] >= 1
    assert not {s["arn"] for s in plan} & (set(before["foreign"].values()) - {before["shared_schema"]})

    refused = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": "wrong", "delete_staging": True})
    assert refused.state == "failed"
    assert inventory(pz, before["group_arn"]) == before["inventory"]

    (alert,) = pipeline.alerts.messages(dry.run_id, "teardown")
    assert alert["Subject"] == f"[personalize {GROUP}] teardown dry run (nothing deleted)"
    assert before["training"] in alert["Message"]  # the report: what a real run would do
    assert pipeline.alerts.messages(dry.run_id, "deletion", want=0) == []
    (failed,) = pipeline.alerts.messages(refused.run_id, "failure")
    assert failed["Subject"] == f"[personalize {GROUP}] FAILED: personalize_teardown.plan"
    assert "refusing to delete: param confirm='wrong'" in failed["Message"]


@pytest.fixture(scope="module")
def torn_down(pipeline, before_teardown):
    """The real teardown of our dataset group, with the staging area deleted too."""
    run = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP, "delete_staging": True})
    assert run.state == "success", task_states(run)
    return run


def test_teardown_with_staging_deletion_keeps_metric_history_and_gate_decisions(pipeline, before_teardown, torn_down):
    """Deleting the staged files must not delete what records history; the plugin page still shows it."""
    from personalize_ops.metrics import load_gate_decisions, load_history
    from personalize_ui_app.data import load_page_data, load_settings
    from personalize_ui_app.page import render_page

    from tests.e2e.conftest import BUCKET
    from tests.fixtures.chromium import charts

    history = load_history(pipeline.s3, BUCKET, "personalize-demo", GROUP)
    decisions = load_gate_decisions(pipeline.s3, BUCKET, "personalize-demo", GROUP)
    assert history == before_teardown["history"] != []
    assert decisions == before_teardown["decisions"] != []

    settings = load_settings()
    metric = decisions[-1]["metric"]
    html = render_page(settings, load_page_data(settings, describe_campaigns=False), metric)
    shown = {name.split(" (")[0]: pts for name, pts in charts(html)[metric].items()}
    assert shown == expected_chart(history, decisions, metric)
    assert f"{len(history)} solution versions, {len(decisions)} gate decisions" in html

    from personalize_ops import s3_layout

    staging = s3_layout.area("personalize-demo", "staging", GROUP)
    assert pipeline.s3.list_objects_v2(Bucket=BUCKET, Prefix=staging)["KeyCount"] == 0, "the staging area is gone"


def test_teardown_stops_our_training_and_leaves_the_foreign_group_unchanged(pipeline, before_teardown, torn_down):
    pz, before = pipeline.personalize, before_teardown
    assert dataset_group_arn(pz, GROUP) is None
    assert describe_all(before["foreign"]) == before["foreign_described"]

    rows = xcom(torn_down, "delete")
    (stop,) = [r for r in rows if r["action"] == "stop"]
    assert stop["arn"] == before["training"] and stop["result"] == "CREATE STOPPED"

    schemas = {r["arn"]: r for r in rows if r["kind"] == "schema"}
    assert set(schemas) == set(before["inventory"]["schemas"])
    shared = schemas.pop(before["shared_schema"])
    assert (shared["action"], shared["result"]) == ("keep", "kept") and FOREIGN in shared["reason"]
    assert {r["result"] for r in schemas.values()} == {"deleted"}
    left = schema_arns(pz)
    assert before["shared_schema"] in left and not set(schemas) & left
    assert {r["kind"] for r in rows} >= {"campaign", "solution", "filter", "event_tracker", "dataset",
                                         "schema", "dataset_group", "s3:staging", "s3:history"}  # fmt: skip


def test_teardown_alerts_say_what_was_deleted(pipeline, before_teardown, torn_down):
    rows = xcom(torn_down, "delete")
    (finished,) = pipeline.alerts.messages(torn_down.run_id, "teardown")
    assert finished["Subject"] == f"[personalize {GROUP}] teardown finished"
    (deletion,) = pipeline.alerts.messages(torn_down.run_id, "deletion")
    deleted = [r for r in rows if r["result"] == "deleted"]
    staging = next(r for r in rows if r["kind"] == "s3:staging")
    assert staging["result"].endswith("objects deleted") and not staging["result"].startswith("0 ")
    assert deletion["Subject"] == f"[personalize {GROUP}] teardown deleted {len(deleted) + 1} item(s)"
    body = deletion["Message"]
    assert all(r["arn"] in body for r in deleted) and staging["name"] in body
    assert before_teardown["training"] not in body, "a stopped training is not a deletion"
    assert before_teardown["shared_schema"] not in body, "the kept schema is not a deletion"


def test_second_teardown_is_a_noop(pipeline, before_teardown, torn_down):
    again = pipeline.run("personalize_teardown", {"dry_run": False, "confirm": GROUP, "delete_staging": True})
    assert again.state == "success", task_states(again)
    rows = xcom(again, "delete")
    assert [(r["kind"], r["action"], r["result"]) for r in rows] == [
        ("s3:batch", "keep", "kept"), ("s3:history", "keep", "kept"), ("s3:gate", "keep", "kept")]  # fmt: skip
    assert describe_all(before_teardown["foreign"]) == before_teardown["foreign_described"]


def test_foreign_group_torn_down_by_its_own_plan(pipeline, before_teardown, torn_down):
    """Clean up, and the shared schema, now used by the foreign group alone, goes with it."""
    from personalize_ops.pipeline.teardown import discover, execute

    hook = _hook()
    plan = discover(hook, FOREIGN)
    assert {s["arn"] for s in plan} == set(before_teardown["foreign"].values()) - {
        before_teardown["foreign"]["dataset_import_job"], before_teardown["foreign"]["solution_version"]}  # fmt: skip
    execute(hook, plan, delay=0.5)
    assert dataset_group_arn(pipeline.personalize, FOREIGN) is None
    assert before_teardown["shared_schema"] not in schema_arns(pipeline.personalize)

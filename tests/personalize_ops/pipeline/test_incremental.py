"""The incremental cadence against the local stack: watermark, INCREMENTAL import of only the new events, AWS's
rules as skip reasons, UPDATE training, and the deploy rule for UPDATE versions. The tests run in file order on one
state (a full run, then increments)."""

from __future__ import annotations

import pytest

from tests.personalize_ops.pipeline.cadence import FAST, T0, Context, append_events, full_run, train, write_config


@pytest.fixture(scope="module")
def world(local_stack, aws_conn_id, tmp_path_factory):
    from personalize_ops.hook import PersonalizeHook

    folder = tmp_path_factory.mktemp("cadence")
    source = folder / "events.csv"
    newest = append_events(source, users=60, per_user=40, start=T0, seed=1)
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket="tk-cadence")
    cfg = write_config(folder, source, "tk-cadence", "tk-cadence", aws_conn_id)
    arns = full_run(cfg, s3, aws_conn_id)
    return {"cfg": cfg, "s3": s3, "hook": PersonalizeHook(aws_conn_id=aws_conn_id), "source": source,
            "newest": newest, "conn": aws_conn_id, **arns}  # fmt: skip


def _increment(world, run_id: str):
    from personalize_ops.pipeline import incremental

    return incremental.prepare_increment(world["hook"], world["s3"], world["cfg"], world["dataset"], run_id,
                                         run_id.ljust(8, "0"))  # fmt: skip


def test_the_watermark_starts_at_the_newest_event_of_the_full_import(world):
    from personalize_ops.pipeline import incremental

    mark, base = incremental.current_watermark(world["hook"], world["s3"], world["cfg"], "interactions",
                                               world["dataset"])  # fmt: skip
    assert mark == world["newest"] and base.startswith("full-")


def test_fewer_than_1000_new_events_skip_with_the_reason_and_keep_the_watermark(world):
    from personalize_ops.pipeline import incremental

    world["newest"] = append_events(world["source"], users=50, per_user=10, start=world["newest"] + 1, seed=2)
    with pytest.raises(incremental.CadenceSkip, match=r"500 event\(s\) newer than the watermark .*at least 1,000"):
        _increment(world, "manual__day1")
    assert incremental.read_watermark(world["s3"], world["cfg"], "interactions") is None


def test_the_new_events_are_imported_incrementally_and_move_the_watermark(world):
    import csv
    import io

    from personalize_ops.pipeline import incremental
    from personalize_ops.pipeline.imports import PersonalizeImportOperator

    first_new = world["newest"] - 499
    world["newest"] = append_events(world["source"], users=60, per_user=10, start=world["newest"] + 1, seed=3)
    inc = _increment(world, "manual__day2")
    assert (inc.rows, inc.watermark_to, inc.watermark_from) == (1100, world["newest"], first_new - 1)
    bucket, key = inc.data_location[5:].split("/", 1)
    rows = list(csv.DictReader(io.StringIO(world["s3"].get_object(Bucket=bucket, Key=key)["Body"].read().decode())))
    assert len(rows) == 1100 and min(int(r["TIMESTAMP"]) for r in rows) == first_new

    role = world["cfg"].dataset_group.role_arn
    op = PersonalizeImportOperator(task_id="import", plan=inc, parent_arn=world["dataset"], role_arn=role,
                                   import_mode="INCREMENTAL", aws_conn_id=world["conn"], **FAST)  # fmt: skip
    job = world["hook"].describe("dataset_import_job", op.execute(Context()))
    assert (job["status"], job["importMode"]) == ("ACTIVE", "INCREMENTAL")
    incremental.write_watermark(world["s3"], world["cfg"], inc)
    assert incremental.current_watermark(world["hook"], world["s3"], world["cfg"], "interactions",
                                         world["dataset"]) == (world["newest"], inc.base_import)  # fmt: skip
    with pytest.raises(incremental.CadenceSkip, match=r"0 event\(s\) newer"):
        _increment(world, "manual__day3")


def test_update_is_refused_with_a_reason_for_other_recipes_and_without_a_full_version(world):
    from personalize_ops.operators import PersonalizeEnsureResourceOperator
    from personalize_ops.pipeline import incremental

    hook, cfg = world["hook"], world["cfg"]
    with pytest.raises(incremental.CadenceSkip, match="aws-popularity-count cannot train trainingMode UPDATE"):
        incremental.plan_update(hook, cfg, "tk-cadence-pop")
    assert incremental.plan_update(hook, cfg, "tk-cadence-up") == world["tk-cadence-up"]
    bare = cfg.model_copy(update={"solutions": [cfg.solutions[0].model_copy(update={"name": "tk-cadence-bare"})]})
    PersonalizeEnsureResourceOperator(task_id="s", kind="solution", name="tk-cadence-bare", parent_arn=world["group"],
                                      config={"recipeArn": cfg.solutions[0].recipe_arn}, aws_conn_id=world["conn"],
                                      **FAST).execute(Context())  # fmt: skip
    with pytest.raises(incremental.CadenceSkip, match="no ACTIVE solution version trained with trainingMode FULL"):
        incremental.plan_update(hook, bare, "tk-cadence-bare")


def test_an_update_version_is_deployed_where_the_campaign_serves_its_full_parent(world):
    from personalize_ops.pipeline import incremental
    from personalize_ops.pipeline.deploy import PersonalizeDeployCampaignOperator

    hook, solution = world["hook"], world["tk-cadence-up"]
    version = train(world["conn"], solution, "UPDATE", "manual__day2")
    assert hook.describe("solution_version", version)["trainingMode"] == "UPDATE"
    decision = incremental.decide_update_deploy(hook, "tk-cadence-up", solution, version)
    assert decision.promote and decision.full_parent_arn == decision.served_arn == world["full_version"]
    deploy = PersonalizeDeployCampaignOperator(task_id="deploy", campaign_name="tk-cadence-up", solution_arn=solution,
                                               decision=decision, aws_conn_id=world["conn"], **FAST)  # fmt: skip
    deploy.execute(Context())
    assert hook.describe("campaign", world["campaign"])["solutionVersionArn"] == version
    world["update_version"] = version


def test_an_update_of_a_full_version_the_gate_did_not_promote_is_not_deployed(world):
    from personalize_ops.pipeline import incremental
    from personalize_ops.pipeline.imports import PersonalizeImportOperator

    hook, solution = world["hook"], world["tk-cadence-up"]
    newer_full = train(world["conn"], solution, "FULL", "manual__week2")  # trained, not promoted
    world["newest"] = append_events(world["source"], users=60, per_user=20, start=world["newest"] + 1, seed=4)
    inc = _increment(world, "manual__day9")
    PersonalizeImportOperator(task_id="import", plan=inc, parent_arn=world["dataset"], import_mode="INCREMENTAL",
                              role_arn=world["cfg"].dataset_group.role_arn, aws_conn_id=world["conn"],
                              **FAST).execute(Context())  # fmt: skip
    version = train(world["conn"], solution, "UPDATE", "manual__day9")
    decision = incremental.decide_update_deploy(hook, "tk-cadence-up", solution, version)
    assert not decision.promote and decision.full_parent_arn == newer_full
    assert decision.served_arn == world["update_version"] and "the next full run decides" in decision.reason


def test_a_rule_becomes_a_skip_with_its_reason_and_other_errors_stay_errors():
    from airflow.sdk.exceptions import AirflowSkipException
    from personalize_ops.pipeline import incremental

    with pytest.raises(AirflowSkipException, match="fewer than you need"):
        with incremental.skipping():
            raise incremental.CadenceSkip("fewer than you need")
    with pytest.raises(ValueError, match="a real error"):
        with incremental.skipping():
            raise ValueError("a real error")

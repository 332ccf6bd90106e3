"""The teardown's S3 part against a moto S3 server over HTTP: areas per dataset group, one option per area,
``delete_objects`` errors reported.

Every object is written by the pipeline's own writers (staging, batch inputs, metric history, gate decisions);
only the export file is put directly (its name belongs to the export step).
"""

from __future__ import annotations

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from personalize_ops.metrics import (
    decide,
    load_gate_decisions,
    load_history,
    make_version_record,
    record_gate_decision,
    record_version,
)
from personalize_ops.pipeline import batch_export
from personalize_ops.pipeline.teardown import (
    S3_OPTIONS,
    S3DeleteError,
    TeardownError,
    count_objects,
    delete_objects_under,
    discover,
    execute_s3,
    plan,
    plan_s3,
    report,
    run,
    s3_areas,
)
from personalize_ops.staging import stage_file

from tests.fixtures.moto_server import fresh_bucket, moto_server, s3_client
from tests.personalize_ops.pipeline.test_teardown_plan import FakePersonalize, build_group

PREFIX = "pz"
EVERYTHING = {o.param: True for o in S3_OPTIONS}


def with_quiet_mode(client):
    """DeleteObjects as S3 documents its quiet mode (moto ignores ``Quiet``): the answer lists only the errors."""

    def remember(params, context, **_):
        context["quiet"] = params.get("Delete", {}).get("Quiet", False)

    def answer(parsed, context, **_):
        if context.get("quiet"):
            parsed.pop("Deleted", None)

    client.meta.events.register("provide-client-params.s3.DeleteObjects", remember)
    client.meta.events.register("after-call.s3.DeleteObjects", answer)
    return client


@pytest.fixture(scope="module")
def s3():
    with moto_server() as endpoint:
        yield with_quiet_mode(s3_client(endpoint))


def test_the_test_client_answers_delete_objects_in_quiet_mode_as_s3_does(s3, bucket):
    for quiet in (True, False):
        s3.put_object(Bucket=bucket, Key="a", Body=b"")
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}], "Quiet": quiet})
        assert ("Deleted" in answer) is not quiet


@pytest.fixture
def bucket(s3):
    return fresh_bucket(s3, "teardown")


def config(bucket: str, group: str, destination: str | None = None):
    """The parts of a pipeline config the S3 areas depend on."""
    job = SimpleNamespace(name="daily", filter_values={},
                          destination=destination or f"s3://{bucket}/{PREFIX}/exports/{group}/")  # fmt: skip
    return SimpleNamespace(dataset_group=SimpleNamespace(name=group, bucket=bucket, prefix=PREFIX), batch_jobs=[job])


def populate(s3, cfg, tmp_path) -> dict:
    """One object in every area of ``cfg``'s dataset group, written as the pipeline writes them."""
    group, bucket = cfg.dataset_group.name, cfg.dataset_group.bucket
    data = tmp_path / "interactions.csv"
    data.write_text("USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1700000000\n")  # the same bytes for every group
    staged = stage_file(s3, bucket, PREFIX, "interactions", data, group=group)
    (part,) = batch_export.write_inputs(s3, cfg, cfg.batch_jobs[0], ["u1", "u2"], "token1")
    version = f"arn:aws:personalize:us-east-1:000000000000:solution/{group}-sol/v1"
    record_version(s3, bucket, PREFIX, make_version_record(
        dataset_group=group, solution=f"{group}-sol", recipe="aws-popularity-count", solution_version_arn=version,
        run_id="manual__1", metrics={"normalized_discounted_cumulative_gain_at_10": 0.2}))  # fmt: skip
    decision = decide(None, {"ndcg": 0.2}, "ndcg").to_record(
        campaign=f"{group}-camp", champion_arn=None, challenger_arn=version, run_id="manual__1"
    )
    record_gate_decision(s3, bucket, PREFIX, group, decision)
    export = cfg.batch_jobs[0].destination + "recommendations-1.csv"
    s3.put_object(Bucket=bucket, Key=export.split("/", 3)[3], Body=b"user_id,rank,item_id,score\n")
    return {"staged": staged.uri, "batch_input": part.input_path, "export": export}


def exists(s3, uri: str) -> bool:
    bucket, key = uri[5:].split("/", 1)
    return s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) == 1


def test_teardown_of_one_group_with_every_option_leaves_the_other_group_intact(s3, bucket, tmp_path):
    ours, theirs = config(bucket, "dg-a"), config(bucket, "dg-b")
    written = {"dg-a": populate(s3, ours, tmp_path), "dg-b": populate(s3, theirs, tmp_path)}
    assert written["dg-a"]["staged"] != written["dg-b"]["staged"], "same bytes, but each group has its own key"
    their_history = load_history(s3, bucket, PREFIX, "dg-b")
    their_decisions = load_gate_decisions(s3, bucket, PREFIX, "dg-b")

    plan = plan_s3(s3, ours, EVERYTHING)
    assert {(r["kind"], r["action"], r["objects"]) for r in plan} == {
        ("s3:staging", "delete", 1), ("s3:batch", "delete", 1), ("s3:exports", "delete", 1),
        ("s3:history", "delete", 1), ("s3:gate", "delete", 1)}  # fmt: skip
    assert all("dg-a" in r["name"] for r in plan)

    rows = run(None, s3, plan, dry_run=False)
    assert {r["result"] for r in rows} == {"1 objects deleted"}
    assert [count_objects(s3, a.location) for a in s3_areas(ours)] == [0] * 5

    assert all(exists(s3, uri) for uri in written["dg-b"].values())
    assert load_history(s3, bucket, PREFIX, "dg-b") == their_history != []
    assert load_gate_decisions(s3, bucket, PREFIX, "dg-b") == their_decisions != []
    assert [count_objects(s3, a.location) for a in s3_areas(theirs)] == [1] * 5


def test_staging_option_deletes_the_staging_area_only(s3, bucket, tmp_path):
    cfg = config(bucket, "dg")
    written = populate(s3, cfg, tmp_path)
    history, decisions = load_history(s3, bucket, PREFIX, "dg"), load_gate_decisions(s3, bucket, PREFIX, "dg")

    plan = plan_s3(s3, cfg, {"delete_staging": True})
    actions = {r["kind"]: (r["action"], r["reason"]) for r in plan}
    assert actions["s3:staging"] == ("delete", "delete_staging")
    assert actions["s3:history"] == ("keep", "delete_metric_history is false")
    assert {k for k, (a, _) in actions.items() if a == "keep"} == {"s3:batch", "s3:exports", "s3:history", "s3:gate"}
    run(None, s3, plan, dry_run=False)

    assert not exists(s3, written["staged"])
    assert exists(s3, written["batch_input"]) and exists(s3, written["export"])
    assert load_history(s3, bucket, PREFIX, "dg") == history != []
    assert load_gate_decisions(s3, bucket, PREFIX, "dg") == decisions != []


def test_dry_run_lists_every_area_with_its_object_count_and_deletes_nothing(s3, bucket, tmp_path):
    cfg = config(bucket, "dg")
    populate(s3, cfg, tmp_path)
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/staging/dg/items/abc.csv", Body=b"ITEM_ID\ni1\n")
    plan = plan_s3(s3, cfg, EVERYTHING)
    rows = run(None, s3, plan, dry_run=True)
    table = report(rows)
    for area in s3_areas(cfg):
        line = next(line for line in table.splitlines() if area.location in line)
        expected = 2 if area.area == "staging" else 1
        assert f" {expected} " in line and "delete" in line and "dry run" in line, line
    assert [count_objects(s3, a.location) for a in s3_areas(cfg)] == [2, 1, 1, 1, 1]


def test_empty_areas_are_not_listed_so_a_second_run_does_nothing(s3, bucket, tmp_path):
    cfg = config(bucket, "dg")
    populate(s3, cfg, tmp_path)
    run(None, s3, plan_s3(s3, cfg, EVERYTHING), dry_run=False)
    assert plan_s3(s3, cfg, EVERYTHING) == []


def test_export_destination_overlapping_the_pipeline_areas_is_refused(s3, bucket, tmp_path):
    for destination, why in ((f"s3://{bucket}/{PREFIX}/", "overlaps"), (f"s3://{bucket}/", "whole bucket"),
                             (f"s3://{bucket}/{PREFIX}/metrics/", "overlaps")):  # fmt: skip
        cfg = config(bucket, "dg", destination)
        with pytest.raises(TeardownError, match=why) as err:
            plan_s3(s3, cfg, {"delete_exports": True})
        assert "batch job(s) daily" in str(err.value) and destination in str(err.value)
        assert plan_s3(s3, cfg, {"delete_staging": True}) == [], "only checked when the exports are to go"
    local = config(bucket, "dg", str(tmp_path / "exports"))
    (row,) = plan_s3(s3, local, {"delete_exports": True})
    assert row["action"] == "keep" and "not in S3" in row["reason"]


def test_objects_s3_refuses_to_delete_fail_the_run_naming_keys_and_codes(s3, bucket, tmp_path, caplog):
    """A bucket policy denying s3:DeleteObject on one key: moto answers it inside delete_objects' Errors."""
    cfg = config(bucket, "dg")
    written = populate(s3, cfg, tmp_path)
    other = f"{PREFIX}/staging/dg/items/abc.csv"
    s3.put_object(Bucket=bucket, Key=other, Body=b"ITEM_ID\ni1\n")
    locked = written["staged"].split("/", 3)[3]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": f"arn:aws:s3:::{bucket}/{locked}"}]}))  # fmt: skip

    plan = plan_s3(s3, cfg, {"delete_staging": True, "delete_batch_work": True})
    with caplog.at_level(logging.INFO, logger="personalize_ops.pipeline.teardown"):
        with pytest.raises(S3DeleteError) as err:
            run(None, s3, plan, dry_run=False)
    message = str(err.value)
    assert f"{locked}: AccessDenied" in message and "1 object(s)" in message
    assert other not in message
    assert "1 objects deleted, 1 NOT deleted" in caplog.text, "the report comes before the failure"
    assert exists(s3, written["staged"]) and not exists(s3, f"s3://{bucket}/{other}")
    assert not exists(s3, written["batch_input"]), "the other areas are still deleted"


def test_a_bucket_that_does_not_exist_yet_has_nothing_to_delete(s3):
    assert plan_s3(s3, config(f"absent-{uuid.uuid4().hex[:12]}", "dg"), EVERYTHING) == []


def _deny_delete(s3, bucket: str, *keys: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": [f"arn:aws:s3:::{bucket}/{k}" for k in keys]}]}))  # fmt: skip


def test_plan_refuses_a_real_run_unless_confirmed_with_the_group_name(s3, bucket, tmp_path, caplog):
    cfg = config(bucket, "dg")
    populate(s3, cfg, tmp_path)
    pz = FakePersonalize()
    build_group(pz, "dg")
    build_group(pz, "other")
    for params in ({"dry_run": False, "confirm": "other"}, {"dry_run": False, "confirm": ""}):
        with pytest.raises(TeardownError) as err:
            plan(pz, s3, cfg, params)
        assert str(err.value) == (
            f"refusing to delete: param confirm={params['confirm']!r} must equal the dataset group name 'dg' "
            "(or run with dry_run=true to only list what would be deleted)"
        )
    for dry_run, confirm, title in ((False, "dg", "Plan:"), (True, "", "DRY RUN: would do")):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="personalize_ops.pipeline.teardown"):
            steps = plan(pz, s3, cfg, {"dry_run": dry_run, "confirm": confirm, "delete_gate_decisions": True})
        expected = discover(pz, "dg") + plan_s3(s3, cfg, {"delete_gate_decisions": True})
        assert steps == expected and {s["name"] for s in steps} >= {"dg", "dg-sol"}
        assert [s["action"] for s in steps if s["kind"] == "s3:gate"] == ["delete"]
        assert [r.getMessage() for r in caplog.records if "would do" in r.getMessage() or "Plan:" in r.getMessage()] \
            == [f"{title}\n{report(expected)}"]  # fmt: skip
    assert pz.calls == [], "planning changes nothing"


def test_delete_objects_under_refuses_what_is_not_a_folder(s3, bucket):
    for location in (f"s3://{bucket}/{PREFIX}", f"s3://{bucket}//", f"s3://{bucket}/"):
        with pytest.raises(TeardownError) as err:
            delete_objects_under(s3, location)
        assert str(err.value) == f"refusing to delete under {location}: not a folder-like key prefix"
    assert delete_objects_under(s3, f"s3://{bucket}/{PREFIX}/empty/") == (0, [])


def test_delete_objects_under_counts_and_reports_over_several_pages(s3, bucket):
    """More than one list page (1000 keys): counts add up across pages, and errors of every page are kept."""
    keys = [f"{PREFIX}/staging/dg/k{i:04d}" for i in range(1002)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b""), keys))
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/staging/dgx", Body=b"")  # same characters, not under the folder
    _deny_delete(s3, bucket, keys[0], keys[-1])
    deleted, errors = delete_objects_under(s3, f"s3://{bucket}/{PREFIX}/staging/dg/")
    assert deleted == 1000
    assert [(e["key"], e["code"]) for e in errors] == [(keys[0], "AccessDenied"), (keys[-1], "AccessDenied")]
    assert all(e["message"] == "Access Denied" for e in errors)
    remaining = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX)["Contents"]]
    assert remaining == [keys[0], keys[-1], f"{PREFIX}/staging/dgx"]


def test_execute_s3_keeps_what_is_kept_deletes_the_rest_and_logs_each_area(s3, bucket, tmp_path, caplog):
    cfg = config(bucket, "dg")
    written = populate(s3, cfg, tmp_path)
    steps = plan_s3(s3, cfg, {"delete_batch_work": True, "delete_gate_decisions": True})
    assert [s["action"] for s in steps] == ["keep", "delete", "keep", "keep", "delete"]
    with caplog.at_level(logging.INFO, logger="personalize_ops.pipeline.teardown"):
        rows = execute_s3(s3, steps)
    assert rows == [{**s, "result": "1 objects deleted" if s["action"] == "delete" else "kept"} for s in steps]
    assert [r.getMessage() for r in caplog.records if r.name == "personalize_ops.pipeline.teardown"] == [
        f"{s['name']}: 1 objects deleted" for s in steps if s["action"] == "delete"
    ]
    assert exists(s3, written["staged"]) and not exists(s3, written["batch_input"])


def test_plan_rows_exactly_with_a_local_export_destination_among_the_s3_areas(s3, bucket, tmp_path):
    cfg = config(bucket, "dg", str(tmp_path / "exports"))
    populate(s3, config(bucket, "dg"), tmp_path)
    rows = plan_s3(s3, cfg, {"delete_exports": True, "delete_gate_decisions": True})
    assert rows == [
        {"kind": "s3:staging", "arn": "", "name": f"s3://{bucket}/{PREFIX}/staging/dg/", "action": "keep",
         "reason": "delete_staging is false", "objects": 1},
        {"kind": "s3:batch", "arn": "", "name": f"s3://{bucket}/{PREFIX}/batch/dg/", "action": "keep",
         "reason": "delete_batch_work is false", "objects": 1},
        {"kind": "s3:exports", "arn": "", "name": str(tmp_path / "exports") + "/", "action": "keep",
         "reason": "not in S3: teardown deletes S3 objects only", "objects": None},
        {"kind": "s3:history", "arn": "", "name": f"s3://{bucket}/{PREFIX}/metrics/history/dg/", "action": "keep",
         "reason": "delete_metric_history is false", "objects": 1},
        {"kind": "s3:gate", "arn": "", "name": f"s3://{bucket}/{PREFIX}/metrics/gate/dg/", "action": "delete",
         "reason": "delete_gate_decisions", "objects": 1},
    ]  # fmt: skip


def test_a_folder_named_like_the_separator_is_still_a_folder(s3, bucket):
    s3.put_object(Bucket=bucket, Key="X/a", Body=b"")
    assert delete_objects_under(s3, f"s3://{bucket}/X/") == (1, [])

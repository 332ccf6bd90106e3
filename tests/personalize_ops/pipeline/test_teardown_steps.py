"""Each teardown step exactly: the plan rows discover() gives (kind, name, action, reason), the hook calls execute()
makes (with its waits' arguments), the operator's log lines and report, and the refusals of plan() and of an export
destination. Against the in-memory Personalize of test_teardown_plan (a fake hook, not a mock)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from personalize_ops.pipeline.teardown import (
    TeardownError,
    _check_export_destination,
    count_objects,
    discover,
    execute,
    report,
    run,
    s3_areas,
    s3_failures,
)

from tests.personalize_ops.pipeline.test_teardown_plan import IN_TRAINING, FakePersonalize, build_group

LOGGER = "personalize_ops.pipeline.teardown"


class RecordingPersonalize(FakePersonalize):
    """Also records every delete and wait with the arguments the hook would get, and checks the kind."""

    def delete(self, k, arn, timeout=600):
        self.calls.append(("delete-call", k, arn, timeout))
        return super().delete(k, arn, timeout)

    def wait(self, k, arn, target, **kwargs):
        self.calls.append(("wait", k, arn, target, kwargs))
        if arn in self.items:
            assert self.items[arn]["_kind"] == k
        return super().wait(k, arn, target, **kwargs) if arn in self.items else None


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_discover_gives_every_row_its_kind_name_action_and_reason():
    pz = FakePersonalize()
    foreign = build_group(pz, "foreign", training=True)  # its training must not be stopped by our teardown
    ours = build_group(pz, "ours", shared_schema=foreign["items_schema"], training=True)
    nameless = pz.add("filter", "x", ours["group"])
    del pz.items[nameless]["name"]
    replaced = pz.add("schema", "x")
    pz.items[replaced]["name"] = "ours-items-0123abcd"
    pz.items[pz.add("schema", "x")].pop("name")  # a schema listed without a name is nobody's
    plan = {s["arn"]: s for s in discover(pz, "ours")}

    def row(kind, name, action="delete", reason=""):
        return {"kind": kind, "name": name, "action": action, "reason": reason, "objects": None}

    expected = {
        ours["campaign"]: row("campaign", "ours-camp"),
        ours["training"]: row("solution_version", "", "stop", f"training {IN_TRAINING}"),
        ours["solution"]: row("solution", "ours-sol"),
        ours["filter"]: row("filter", "ours-filter"),
        nameless: row("filter", ""),
        ours["tracker"]: row("event_tracker", "ours-tracker"),
        ours["datasets"][0]: row("dataset", "ours-interactions"),
        ours["datasets"][1]: row("dataset", "ours-items"),
        ours["schema"]: row("schema", "ours-interactions"),
        replaced: row("schema", "ours-items-0123abcd", "delete", "replaced by a schema change; no dataset uses it"),
        foreign["items_schema"]: row("schema", "foreign-items", "keep", "also used by dataset group(s) foreign"),
        ours["group"]: row("dataset_group", "ours"),
    }
    assert plan == {arn: {"arn": arn, **r} for arn, r in expected.items()}


def test_a_schema_shared_with_groups_listed_after_ours_is_kept_naming_each_of_them():
    pz = FakePersonalize()
    ours = build_group(pz, "ours")
    build_group(pz, "zeta", shared_schema=ours["schema"])
    build_group(pz, "alpha", shared_schema=ours["schema"])
    pz.items[ours["items_schema"]].pop("name")
    plan = {s["arn"]: s for s in discover(pz, "ours") if s["kind"] == "schema"}
    assert plan[ours["schema"]] == {"kind": "schema", "arn": ours["schema"], "name": "ours-interactions",
                                    "action": "keep", "reason": "also used by dataset group(s) alpha, zeta",
                                    "objects": None}  # fmt: skip
    assert plan[ours["items_schema"]]["name"] == "" and plan[ours["items_schema"]]["action"] == "delete"


def test_discover_of_a_group_that_does_not_exist_says_so(caplog):
    pz = FakePersonalize()
    build_group(pz, "foreign")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert discover(pz, "ours") == []
    assert messages(caplog) == ["Dataset group ours does not exist: nothing to tear down"]


def test_execute_calls_the_hook_with_each_kind_and_the_waits_limits_and_logs_each_step(caplog):
    pz = RecordingPersonalize()
    ours = build_group(pz, "ours", training=True)
    steps = discover(pz, "ours")
    steps.insert(0, {**steps[0], "arn": steps[0]["arn"] + "-gone"})  # deleted meanwhile by someone else
    with caplog.at_level(logging.INFO, logger=LOGGER):
        rows = execute(pz, steps, delay=0.5, max_attempts=7)
    limits = {"delay": 0.5, "max_attempts": 7}
    waits = [c[1:] for c in pz.calls if c[0] == "wait"]
    deletes = [c[1:] for c in pz.calls if c[0] == "delete-call"]
    assert ("solution_version", ours["training"], "stopped", limits) in waits
    assert waits == [(s["kind"], s["arn"], "deleted" if s["action"] == "delete" else "stopped", limits) for s in steps]
    assert deletes == [(s["kind"], s["arn"], 3.5) for s in steps if s["action"] == "delete"]
    expected_log = [
        f"Stopped {s['kind']} {s['arn']}: CREATE STOPPED" if s["action"] == "stop"
        else f"{'Already gone:' if s['arn'].endswith('-gone') else 'Deleted'} {s['kind']} {s['arn']}"
        for s in steps
    ]  # fmt: skip
    assert messages(caplog) == expected_log
    assert [r["result"] for r in rows] == [
        "already gone" if s["arn"].endswith("-gone") else "CREATE STOPPED" if s["action"] == "stop" else "deleted"
        for s in steps
    ]


def test_execute_defaults_wait_five_seconds_up_to_an_hour():
    pz = RecordingPersonalize()
    build_group(pz, "ours", training=True)
    execute(pz, discover(pz, "ours"))
    assert {tuple(sorted(c[4].items())) for c in pz.calls if c[0] == "wait"} == {(("delay", 5), ("max_attempts", 720))}
    assert {c[3] for c in pz.calls if c[0] == "delete-call"} == {3600}


def test_a_version_gone_while_stopping_is_reported_gone(caplog):
    class Vanishing(RecordingPersonalize):
        def wait(self, k, arn, target, **kwargs):
            super().wait(k, arn, target, **kwargs)
            if target == "stopped":
                del self.items[arn]

    pz = Vanishing()
    ours = build_group(pz, "ours", training=True)
    step = next(s for s in discover(pz, "ours") if s["action"] == "stop")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        (row,) = execute(pz, [step], delay=0)
    assert row["result"] == "gone"
    assert messages(caplog) == [f"Stopped solution_version {ours['training']}: gone"]


def test_report_is_a_left_aligned_table_with_a_header():
    rows = [
        {"kind": "schema", "arn": "arn:s", "name": "n", "action": "keep", "reason": "shared", "objects": None,
         "result": "kept"},
        {"kind": "s3:staging", "arn": "", "name": "s3://b/p/", "action": "delete", "reason": "delete_staging",
         "objects": 12, "result": "12 objects deleted"},
    ]  # fmt: skip
    assert report(rows).split("\n") == [
        "kind        name       action  objects  result              reason          arn  ",
        "schema      n          keep             kept                shared          arn:s",
        "s3:staging  s3://b/p/  delete  12       12 objects deleted  delete_staging       ",
    ]
    assert report([]) == "nothing to tear down"


def _failures(n: int, areas=("s3://b/p/staging/dg/",)) -> list[dict]:
    errors = [{"key": f"k{i}", "code": "AccessDenied", "message": "" if i else "Access Denied"} for i in range(n)]
    return [{"name": a, "errors": errors} for a in areas] + [{"name": "s3://b/p/batch/dg/"}]


def test_s3_failures_lists_keys_codes_and_areas_up_to_the_limit():
    assert s3_failures([{"name": "s3://b/p/staging/dg/"}]) is None
    hint = "Fix the cause (permissions, bucket policy, object lock) and run the teardown again."
    assert s3_failures(_failures(2)) == "\n".join([
        "S3 did not delete 2 object(s) under s3://b/p/staging/dg/:",
        "  k0: AccessDenied Access Denied", "  k1: AccessDenied", hint])  # fmt: skip
    assert s3_failures(_failures(3), shown=3).count("\n") == 4, "exactly the limit: no '... more' line"
    assert s3_failures(_failures(2, areas=("s3://b/x/", "s3://b/y/")), shown=3).split("\n") == [
        "S3 did not delete 4 object(s) under s3://b/x/, s3://b/y/:",
        "  k0: AccessDenied Access Denied", "  k1: AccessDenied",
        "  k0: AccessDenied Access Denied", "  ... and 1 more", hint]  # fmt: skip


def test_s3_failures_default_shows_twenty():
    text = s3_failures(_failures(25))
    assert "  k19: AccessDenied" in text and "k20" not in text and "  ... and 5 more" in text


def _cfg(bucket="b", destinations=("s3://b/pz/staging/x/",)):
    jobs = [SimpleNamespace(name=f"job{i}", destination=d) for i, d in enumerate(destinations)]
    return SimpleNamespace(dataset_group=SimpleNamespace(name="dg", bucket=bucket, prefix="pz"), batch_jobs=jobs)


def test_an_overlapping_destination_names_every_job_and_a_destination_of_its_own():
    cfg = _cfg(destinations=("s3://b/pz/staging/X", "s3://b/pz/staging/X/", "s3://b/elsewhere/"))
    with pytest.raises(TeardownError) as err:
        _check_export_destination(cfg, "s3://b/pz/staging/X/")
    assert str(err.value) == (
        "delete_exports: batch job(s) job0, job1 export to s3://b/pz/staging/X/, which overlaps s3://b/pz/staging/ "
        "where the pipelines under prefix 'pz' keep staged data, batch work and metric history; refusing to delete "
        "it. Give batch_jobs[].destination a prefix of its own (e.g. s3://b/pz/exports/dg/), or delete those exports "
        "by hand."
    )


def test_destination_checks_whole_bucket_and_other_buckets():
    with pytest.raises(TeardownError, match="a whole bucket"):
        _check_export_destination(_cfg(), "s3://b//")
    _check_export_destination(_cfg(), "s3://b/X/")  # a prefix of its own
    _check_export_destination(_cfg(), "s3://other/pz/staging/")  # another bucket holds no pipeline area


def test_run_deletes_resources_then_s3_areas_and_logs_the_report(caplog):
    class S3Areas:
        """Just enough of an S3 client for one empty area (its list has no Contents)."""

        def get_paginator(self, name):
            assert name == "list_objects_v2"
            return SimpleNamespace(paginate=lambda **kw: iter([{"KeyCount": 0}]))

    pz = RecordingPersonalize()
    build_group(pz, "ours", training=True)
    area = {"kind": "s3:staging", "arn": "", "name": "s3://b/pz/staging/ours/", "action": "delete",
            "reason": "delete_staging", "objects": 0}  # fmt: skip
    steps = discover(pz, "ours")
    plan = [steps[0], area, *steps[1:]]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        dry = run(pz, S3Areas(), plan, dry_run=True)
    assert dry == [{**s, "result": "dry run"} for s in plan] and pz.calls == []
    assert messages(caplog) == [f"DRY RUN: nothing deleted\n{report(dry)}"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        rows = run(pz, S3Areas(), plan, dry_run=False, delay=0.25)
    assert [r["arn"] for r in rows] == [s["arn"] for s in steps] + [""]
    assert rows[-1] == {**area, "result": "0 objects deleted"}
    assert {c[4]["delay"] for c in pz.calls if c[0] == "wait"} == {0.25}
    assert messages(caplog)[-1] == f"Teardown:\n{report(rows)}"
    assert [d for d in pz.items.values() if d["name"].startswith("ours")] == []


def test_run_waits_five_seconds_by_default():
    pz = RecordingPersonalize()
    build_group(pz, "ours")
    run(pz, None, discover(pz, "ours"), dry_run=False)
    assert {c[4]["delay"] for c in pz.calls if c[0] == "wait"} == {5}


def test_an_export_destination_is_one_area_whatever_its_last_character():
    cfg = _cfg(destinations=("s3://b/out/X", "s3://b/out/X/", "s3://b/out/Y//"))
    assert [a.location for a in s3_areas(cfg) if a.area == "exports"] == ["s3://b/out/X/", "s3://b/out/Y/"]


def test_a_bucket_the_connection_may_not_list_is_a_clear_error():
    """moto does not enforce a bucket policy on ListObjectsV2, so this client answers as S3 does (AccessDenied)."""

    class Denied:
        def get_paginator(self, name):
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            return SimpleNamespace(paginate=lambda **kw: (_ for _ in ()).throw(ClientError(error, "ListObjectsV2")))

    location = "s3://b/pz/staging/dg/"
    with pytest.raises(TeardownError) as err:
        count_objects(Denied(), location)
    assert str(err.value) == f"cannot list {location} (AccessDenied): the connection needs s3:ListBucket on it"

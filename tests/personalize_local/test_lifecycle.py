"""Durability: kill -9 (or stop) the service mid-import and mid-transition, restart it, nothing is lost or stuck.

Uses the session stack (same port and data dir after the restart); jobs are held in flight with the
`job_delay` fault so that the crash surely hits them.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.personalize_local.helpers import TERMINAL, interactions_csv, make_bucket, put, uid, wait_status


@pytest.fixture()
def crashable(local_stack):
    """The session stack; restored to its default options afterwards if a test changed them."""
    yield local_stack
    local_stack.clear_faults()
    if local_stack.service_args:
        local_stack.service_args = []
        local_stack.kill_service()
        local_stack.start_service()


def import_status(stack, arn: str, until=TERMINAL) -> dict:
    pz = stack.client("personalize")
    return wait_status(lambda: pz.describe_dataset_import_job(datasetImportJobArn=arn), "datasetImportJob", until=until)


def test_kill_9_during_imports_then_restart(sc, crashable):
    group = sc.group()
    dataset = sc.dataset(group)
    bucket = make_bucket(sc.s3)
    crashable.set_faults(job_delay=30)
    good = sc.import_job(dataset, put(sc.s3, bucket, "i.csv", interactions_csv()), wait=False)
    bad = sc.import_job(dataset, put(sc.s3, bucket, "small.csv", interactions_csv(rows=10)), wait=False)
    import_status(crashable, good, until=("CREATE IN_PROGRESS",))
    pending_group = sc.pz.create_dataset_group(name=uid("born-before-crash"))["datasetGroupArn"]

    crashable.kill_service()
    crashable.start_service()  # faults are not persistent: the resumed jobs run at full speed

    pz = crashable.client("personalize")
    assert import_status(crashable, good)["status"] == "ACTIVE"
    failed = import_status(crashable, bad)
    assert failed["status"] == "CREATE FAILED" and "at least 1000" in failed["failureReason"]
    group_desc = wait_status(lambda: pz.describe_dataset_group(datasetGroupArn=pending_group), "datasetGroup")
    assert group_desc["status"] == "ACTIVE"
    assert {group, pending_group} <= {g["datasetGroupArn"] for g in pz.list_dataset_groups()["datasetGroups"]}
    assert pz.describe_dataset(datasetArn=dataset)["dataset"]["status"] == "ACTIVE"


def test_sigterm_during_an_import_stops_at_once_and_the_job_resumes_on_restart(sc, crashable):
    dataset = sc.dataset(sc.group())
    bucket = make_bucket(sc.s3)
    crashable.set_faults(job_delay=600)  # a stop that waited for the job would outlast the wait below
    job = sc.import_job(dataset, put(sc.s3, bucket, "i.csv", interactions_csv()), wait=False)
    import_status(crashable, job, until=("CREATE IN_PROGRESS",))
    proc = crashable.procs.pop("personalize")
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=120) == 0, "a stopped service exits cleanly without waiting for its running job"
    crashable.start_service()  # faults are not persistent: the resumed job runs at full speed
    assert import_status(crashable, job)["status"] == "ACTIVE"


def test_job_that_keeps_crashing_the_service_ends_failed_with_reason(sc, crashable):
    dataset = sc.dataset(sc.group())
    bucket = make_bucket(sc.s3)
    crashable.set_faults(job_delay=30)
    job = sc.import_job(dataset, put(sc.s3, bucket, "i.csv", interactions_csv()), wait=False)
    import_status(crashable, job, until=("CREATE IN_PROGRESS",))
    crashable.kill_service()
    crashable.service_args = ["--max-resumes", "1"]  # this was its last allowed attempt
    crashable.start_service()
    desc = import_status(crashable, job)
    assert desc["status"] == "CREATE FAILED" and "service restarts" in desc["failureReason"]

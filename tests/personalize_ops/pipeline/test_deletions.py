"""Privacy deletions against the local stack: the request's checks, the deny-list the prepare stage applies, and a
data deletion job that removes the users' rows (numDeleted reported)."""

from __future__ import annotations

import csv

import pytest

from tests.personalize_ops.pipeline.cadence import FAST, T0, Context, append_events, full_run, write_config


@pytest.fixture(scope="module")
def world(local_stack, aws_conn_id, tmp_path_factory):
    from personalize_ops.hook import PersonalizeHook

    folder = tmp_path_factory.mktemp("deletions")
    source = folder / "events.csv"
    append_events(source, users=60, per_user=30, start=T0, seed=5)
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket="tk-deletions")
    cfg = write_config(folder, source, "tk-deletions", "tk-deletions", aws_conn_id)
    arns = full_run(cfg, s3, aws_conn_id)
    return {"cfg": cfg, "s3": s3, "hook": PersonalizeHook(aws_conn_id=aws_conn_id), "conn": aws_conn_id, **arns}


def test_bad_requests_name_the_param_and_what_to_do(world):
    from personalize_ops.pipeline import deletions

    s3, cfg = world["s3"], world["cfg"]
    with pytest.raises(deletions.DeletionRequestError, match="no users to delete: give user_ids, or user_ids_s3"):
        deletions.requested_ids(s3, [], "")
    with pytest.raises(deletions.DeletionRequestError, match="user_ids: entry 2 is ' '; give each user id"):
        deletions.requested_ids(s3, ["u1", " "], "")
    with pytest.raises(deletions.DeletionRequestError, match="confirm: .* needs confirm = 'tk-deletions'"):
        deletions.plan(world["hook"], s3, cfg, ["u1"], "", dry_run=False, confirm="tk-deletion")
    s3.put_object(Bucket="tk-deletions", Key="req/two-columns.csv", Body=b"a,b\n1,2\n")
    with pytest.raises(deletions.DeletionRequestError, match="req/two-columns.csv: give a CSV file with a USER_ID"):
        deletions.requested_ids(s3, [], "s3://tk-deletions/req/two-columns.csv")
    with pytest.raises(deletions.DeletionRequestError, match="cannot read s3://tk-deletions/req/missing.csv"):
        deletions.requested_ids(s3, [], "s3://tk-deletions/req/missing.csv")


def test_ids_come_from_the_param_and_an_s3_file_in_either_format(world):
    from personalize_ops.pipeline import deletions

    s3 = world["s3"]
    s3.put_object(Bucket="tk-deletions", Key="req/with-header.csv", Body=b"EMAIL,USER_ID\nx,u3\ny,u4\n")
    s3.put_object(Bucket="tk-deletions", Key="req/lines.txt", Body=b"u5\n\nu6\n")
    assert deletions.requested_ids(s3, ["u1", "u3"], "s3://tk-deletions/req/with-header.csv") == ["u1", "u3", "u4"]
    assert deletions.requested_ids(s3, [], "s3://tk-deletions/req/lines.txt") == ["u5", "u6"]


def test_a_dry_run_counts_the_users_rows_and_changes_nothing(world):
    from personalize_ops.pipeline import deletions

    request = deletions.plan(world["hook"], world["s3"], world["cfg"], ["u7", "nobody"], "", True, "")
    assert (request.users, request.already_denied, request.dataset_group_arn) == (2, 0, world["group"])
    assert request.imported_rows == {"interactions": 30}  # u7's 30 events
    assert deletions.read_deny_list(world["s3"], world["cfg"]) == set()


def test_a_deletion_denies_the_users_then_deletes_their_rows(world, tmp_path):
    from personalize_ops.pipeline import deletions
    from personalize_ops.pipeline.prepare_stage import prepare_and_stage

    s3, cfg, hook = world["s3"], world["cfg"], world["hook"]
    request = deletions.plan(hook, s3, cfg, ["u7", "u8"], "", False, "tk-deletions")
    job = deletions.record(s3, cfg, request, ["u7", "u8"], "", "manual__del")
    assert (job.added_to_deny_list, job.deny_list_size) == (2, 2)
    assert deletions.read_deny_list(s3, cfg) == {"u7", "u8"}
    assert deletions.add_to_deny_list(s3, cfg, ["u8", "u9"]) == (1, 3)  # idempotent, adds only what is new

    op = deletions.PersonalizeDataDeletionOperator(task_id="delete", job=job, role_arn=cfg.dataset_group.role_arn,
                                                   aws_conn_id=world["conn"], **FAST)  # fmt: skip
    arn = op.execute(Context())
    out = deletions.report(hook, request, job, arn)
    assert out["job_status"] == "COMPLETED" and out["num_deleted"] == 60 and out["users"] == 2
    assert op.execute(Context()) == arn  # a retry ensures the same job

    staged = prepare_and_stage(cfg, "interactions", "manual__after", s3)
    assert staged["denied_rows"] == 90 and staged["rows_out"] == staged["rows_in"] - 90
    assert staged["staged"]["uri"] != world["staged"]
    bucket, key = staged["staged"]["uri"][5:].split("/", 1)
    path = tmp_path / "staged.csv"
    s3.download_file(bucket, key, str(path))
    with path.open() as fh:
        users = {row["USER_ID"] for row in csv.DictReader(fh)}
    assert not users & {"u7", "u8", "u9"} and "u10" in users


def test_without_a_deny_list_the_staged_file_is_unchanged(local_stack, aws_conn_id, tmp_path):
    from personalize_ops.pipeline.prepare_stage import prepare_and_stage

    source = tmp_path / "events.csv"
    append_events(source, users=40, per_user=30, start=T0, seed=6)
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket="tk-deletions-none")
    cfg = write_config(tmp_path, source, "tk-deletions-none", "tk-deletions-none", aws_conn_id)
    staged = prepare_and_stage(cfg, "interactions", "manual__x", s3)
    assert staged["denied_rows"] == 0 and staged["rows_out"] == 1200
    assert staged["staged"]["uri"].endswith(f"/{staged['sha256']}.csv")

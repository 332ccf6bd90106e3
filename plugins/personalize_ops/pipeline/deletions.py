"""Privacy deletions: the users to delete, the deny-list that keeps them out of later imports, the deletion job.

A request names users (the ``user_ids`` param, or an S3 file of ids). A real run (``dry_run`` false, ``confirm`` =
the dataset group's name) first adds them to the group's deny-list (``privacy/<group>/deny-list.csv``,
:mod:`personalize_ops.s3_layout`), then runs a Personalize data deletion job (CreateDataDeletionJob) on the
group with an input file of those ids. The deny-list is written first, so a failed deletion job leaves the users
out of every later import anyway and a re-run of the DAG repeats only the job.

The prepare stage applies the deny-list to every dataset with a USER_ID column (interactions, users) before it
stages the file (:func:`apply_deny_list`), in both cadences: a later FULL import never brings the users back.
Personalize itself removes their rows from the datasets; models keep what they learned until the next training,
so retrain after a deletion (AWS: "create a new solution version ... and update your campaigns").
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging

from personalize_ops.operators.ensure import PersonalizeEnsureResourceOperator
from personalize_ops.pipeline import s3uri
from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.pipeline.values import DeletionJobInput, DeletionRequest
from personalize_ops.resources import KINDS
from personalize_ops.s3_layout import deletion_input_key, deny_list_key

log = logging.getLogger(__name__)
DATA_DELETION_JOB = KINDS["data_deletion_job"]
MAX_ID_LENGTH = 256  # USER_ID: "a string with a maximum length of 256 characters"
HEADER = "USER_ID"
_TAKEN = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


class DeletionRequestError(PipelineError):
    """A deletion request the DAG cannot run (bad ids, bad file, missing confirmation): what to fix."""


def _code(err) -> str:
    return str(err.response.get("Error", {}).get("Code"))


def check_ids(ids, where: str) -> list[str]:
    """The ids, stripped and de-duplicated in order; an error naming ``where`` and the position of a bad one."""
    out: dict[str, None] = {}
    for n, raw in enumerate(ids, start=1):
        value = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(value, str) or not value:
            raise DeletionRequestError(f"{where}: entry {n} is {raw!r}; give each user id as a non-empty string")
        if len(value) > MAX_ID_LENGTH or any(c in value for c in "\r\n\x00"):
            raise DeletionRequestError(
                f"{where}: entry {n} ({value[:40]!r}...) is not a user id: at most {MAX_ID_LENGTH} characters, "
                "no line breaks"
            )
        out[value] = None
    return list(out)


def read_id_file(s3, uri: str) -> list[str]:
    """User ids from an S3 file: a CSV with a ``USER_ID`` column, or one id per line without a header."""
    from botocore.exceptions import ClientError

    bucket, key = s3uri.split(uri)
    try:
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    except ClientError as err:
        why = f"user_ids_s3: cannot read {uri} ({_code(err)}): check the path and the connection's access"
        raise DeletionRequestError(why) from None
    except UnicodeDecodeError:
        raise DeletionRequestError(f"user_ids_s3: {uri} is not UTF-8 text; give a CSV or one id per line") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if rows and HEADER in [c.strip() for c in rows[0]]:
        col = [c.strip() for c in rows[0]].index(HEADER)
        values = []
        for n, row in enumerate(rows[1:], start=2):
            if len(row) <= col:
                raise DeletionRequestError(f"user_ids_s3: {uri} line {n} has no {HEADER} value")
            values.append(row[col])
    elif rows and all(len(r) == 1 for r in rows):
        values = [r[0] for r in rows]
    else:
        raise DeletionRequestError(
            f"user_ids_s3: {uri}: give a CSV file with a {HEADER} column, or one user id per line"
        )
    return check_ids(values, f"user_ids_s3 ({uri})")


def requested_ids(s3, user_ids, user_ids_s3: str | None) -> list[str]:
    """Every user id of a request (the param list and the S3 file); an error when there are none."""
    ids = check_ids(user_ids or [], "user_ids")
    if user_ids_s3:
        if not user_ids_s3.startswith("s3://"):
            raise DeletionRequestError(f"user_ids_s3: {user_ids_s3!r} is not an s3:// URI")
        ids = list(dict.fromkeys([*ids, *read_id_file(s3, user_ids_s3)]))
    if not ids:
        raise DeletionRequestError("no users to delete: give user_ids, or user_ids_s3 (an S3 file of user ids)")
    return ids


# The deny-list ---------------------------------------------------------------------------------------------
def _read_deny(s3, cfg) -> tuple[list[str], str | None]:
    from botocore.exceptions import ClientError

    group = cfg.dataset_group
    try:
        obj = s3.get_object(Bucket=group.bucket, Key=deny_list_key(group.prefix, group.name))
    except ClientError as err:
        if _code(err) in ("NoSuchKey", "404", "NotFound"):
            return [], None
        raise
    rows = list(csv.reader(io.StringIO(obj["Body"].read().decode("utf-8"))))
    return [r[0] for r in rows[1:] if r], obj["ETag"]


def read_deny_list(s3, cfg) -> set[str]:
    """The dataset group's deny-list (empty when no user was ever deleted)."""
    return set(_read_deny(s3, cfg)[0])


def add_to_deny_list(s3, cfg, ids: list[str]) -> tuple[int, int]:
    """Add ``ids`` to the deny-list (a conditional write, so concurrent additions are not lost);
    returns (ids new to the list, size of the list)."""
    from botocore.exceptions import ClientError

    group = cfg.dataset_group
    key = deny_list_key(group.prefix, group.name)
    for _ in range(5):
        current, etag = _read_deny(s3, cfg)
        new = [i for i in ids if i not in set(current)]
        if not new:
            return 0, len(current)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([HEADER])
        writer.writerows([i] for i in [*current, *new])
        cond = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            s3.put_object(Bucket=group.bucket, Key=key, Body=buf.getvalue().encode(), **cond)
        except ClientError as err:
            if _code(err) in (*_TAKEN, "NoSuchKey", "404"):
                continue  # written by someone else in between: read again
            raise
        log.info("Deny-list s3://%s/%s: %d user(s) added, %d in all", group.bucket, key, len(new),
                 len(current) + len(new))  # fmt: skip
        return len(new), len(current) + len(new)
    raise RuntimeError(f"s3://{group.bucket}/{key} kept changing while adding {len(ids)} user(s); retry the task")


def apply_deny_list(s3, cfg, prepared: dict) -> dict:
    """Drop the deny-listed users' rows from a prepared file (the prepare stage's summary, updated in place:
    ``csv_path``, ``sha256``, ``rows_out``, ``output_bytes``, ``denied_rows``). Datasets without USER_ID and an
    empty deny-list leave the file as it is (same bytes, same content address)."""
    from personalize_ops.transform.row_filter import filter_csv, header_of

    prepared["denied_rows"] = 0
    if s3 is None or HEADER not in header_of(prepared["csv_path"]):
        return prepared
    deny = read_deny_list(s3, cfg)
    if not deny:
        return prepared
    import pyarrow as pa
    import pyarrow.compute as pc

    denied = pa.array(sorted(deny), pa.string())
    src = prepared["csv_path"]
    dst = src.removesuffix(".csv") + ".allowed.csv"
    out = filter_csv(src, dst, lambda t: pc.invert(pc.is_in(t.column(HEADER), value_set=denied)))
    prepared.update(csv_path=out.path, sha256=out.sha256, rows_out=out.rows_out, output_bytes=out.output_bytes,
                    denied_rows=out.rows_in - out.rows_out)  # fmt: skip
    log.info("%s: deny-list of %d user(s) applied: %d row(s) left out", prepared["name"], len(deny),
             prepared["denied_rows"])  # fmt: skip
    return prepared


# The deletion job ------------------------------------------------------------------------------------------
def job_name(ids: list[str], token: str) -> str:
    """Derived from the ids and the DAG run, so a retried task ensures the same job (<= 63 characters)."""
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:12]
    return f"delete-users-{digest}-{token[:8]}"


def check_confirmation(cfg, dry_run: bool, confirm: str | None) -> None:
    """A real deletion needs ``confirm`` = the dataset group's name (as the teardown does)."""
    name = cfg.dataset_group.name
    if not dry_run and confirm != name:
        raise DeletionRequestError(
            f"confirm: a deletion with dry_run false needs confirm = {name!r} (the dataset group's name); "
            f"got {confirm!r}. Run with dry_run true first to see what would be deleted."
        )


def imported_rows(hook, s3, cfg, ids: list[str]) -> tuple[str | None, dict[str, int]]:
    """(the group's ARN, {dataset: rows of these users in the files Personalize imported since its last FULL
    import}) for the datasets with a USER_ID column; (None, {}) when the group does not exist."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from personalize_ops.dataset_kinds import KINDS as DATASET_KINDS
    from personalize_ops.pipeline.imports import imports_since_full
    from personalize_ops.pipeline.requests import dataset_name
    from personalize_ops.pipeline.settings import work_dir

    group_arn = hook.find_by_name(KINDS["dataset_group"], cfg.dataset_group.name)
    if not group_arn:
        return None, {}
    wanted, counts = pa.array(ids, pa.string()), {}
    for ds in cfg.datasets.present():
        arn = HEADER in DATASET_KINDS[ds].id_fields and hook.find_by_name(KINDS["dataset"], dataset_name(cfg, ds),
                                                                         group_arn)  # fmt: skip
        for job in imports_since_full(hook, arn) if arn else []:
            bucket, key = s3uri.split(job["dataSource"]["dataLocation"])
            with work_dir("deletion-count") as work:
                path = str(work.path / "imported.csv")
                s3.download_file(bucket, key, path)
                users = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
                    include_columns=[HEADER], column_types={HEADER: pa.string()})).column(HEADER)  # fmt: skip
            counts[ds] = counts.get(ds, 0) + pc.sum(pc.is_in(users, value_set=wanted)).as_py()
    return group_arn, counts


def plan(hook, s3, cfg, user_ids, user_ids_s3: str | None, dry_run: bool, confirm: str | None) -> DeletionRequest:
    """Check the request and say what it would delete; nothing is written."""
    check_confirmation(cfg, dry_run, confirm)
    ids = requested_ids(s3, user_ids, user_ids_s3)
    group_arn, rows = imported_rows(hook, s3, cfg, ids)
    denied = read_deny_list(s3, cfg)
    already = sum(i in denied for i in ids)
    request = DeletionRequest(len(ids), group_arn, already, rows, dry_run)
    log.info("%s", render(request))
    return request


def record(s3, cfg, request: DeletionRequest, user_ids, user_ids_s3: str | None, token: str) -> DeletionJobInput:
    """Add the users to the deny-list, then write the deletion job's input (a CSV with a single USER_ID column)."""
    ids = requested_ids(s3, user_ids, user_ids_s3)
    added, size = add_to_deny_list(s3, cfg, ids)
    group, name = cfg.dataset_group, job_name(ids, token)
    key = deletion_input_key(group.prefix, group.name, name)
    s3.put_object(Bucket=group.bucket, Key=key, Body=("\n".join([HEADER, *ids]) + "\n").encode())
    return DeletionJobInput(name, f"s3://{group.bucket}/{key}", request.dataset_group_arn, added, size)


def render(request: DeletionRequest, job: DeletionJobInput | None = None, described: dict | None = None) -> str:
    """The deletion report: what was asked, what the data held, what was done."""
    lines = [
        f"users in the request: {request.users} ({request.already_denied} already on the deny-list)",
        f"dataset group: {request.dataset_group_arn or 'not found (nothing in Personalize to delete)'}",
        *(f"rows of these users in the imported {ds} data: {n}" for ds, n in sorted(request.imported_rows.items())),
    ]
    if request.dry_run:
        lines.append("dry_run: nothing deleted, the deny-list is unchanged")
    if job:
        lines.append(f"deny-list: {job.added_to_deny_list} user(s) added, {job.deny_list_size} in all")
    if described:
        lines.append(f"data deletion job {described.get('jobName')}: {described.get('status')}, "
                     f"{described.get('numDeleted', 0)} record(s) deleted")  # fmt: skip
    return "\n".join(lines)


def report(hook, request: DeletionRequest, job: DeletionJobInput | None, job_arn: str | None, cfg=None) -> dict:
    """Print the deletion report (with the job's numDeleted), send it as the ``deletion`` alert when a job ran
    (``cfg`` given) and return its counts."""
    described = hook.describe(DATA_DELETION_JOB, job_arn) if job_arn else None
    text = render(request, job, described)
    print(text)
    if cfg is not None and job is not None:
        from personalize_ops.pipeline.alerts import users_deleted

        users_deleted(cfg, request.users, text)
    return {"users": request.users, "already_denied": request.already_denied, "imported_rows": request.imported_rows,
            "added_to_deny_list": job.added_to_deny_list if job else 0,
            "deny_list_size": job.deny_list_size if job else None,
            "num_deleted": (described or {}).get("numDeleted"),
            "job_status": (described or {}).get("status")}  # fmt: skip


class PersonalizeDataDeletionOperator(PersonalizeEnsureResourceOperator):
    """Ensure the data deletion job a :class:`DeletionJobInput` names and wait until it is COMPLETED; skips when the
    dataset group does not exist (nothing in Personalize to delete; the deny-list still applies).

    :param job: the ``record_deny_list`` task's :class:`DeletionJobInput`. Templated (XCom).
    :param role_arn: the role Personalize reads the input file with.
    """

    template_fields = (*PersonalizeEnsureResourceOperator.template_fields, "job")
    default_kind = "data_deletion_job"

    def __init__(self, *, job: DeletionJobInput, role_arn: str, **kwargs) -> None:
        super().__init__(name="", **kwargs)
        self.job, self.role_arn = job, role_arn

    def request_config(self) -> dict:
        return {"dataSource": {"dataLocation": self.job.data_location}, "roleArn": self.role_arn}

    def execute(self, context) -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        if not self.job.dataset_group_arn:
            raise AirflowSkipException("the dataset group does not exist: nothing in Personalize to delete (the "
                                       "deny-list keeps these users out of every later import)")  # fmt: skip
        self.name, self.parent_arn = self.job.job_name, self.job.dataset_group_arn
        return super().execute(context)

"""Data deletion jobs: remove users and their data from a dataset group, as "Deleting users and their data with a
data deletion job" documents it.

Input: a CSV file (or a folder/ of them) with a single USER_ID column, at most 100 MB in all. The job removes
those users' rows from the group's datasets that hold users (Item interactions, Users, Action interactions)
and their PutEvents events (anonymous sessions linked to them included); numDeleted counts the records removed.
Trained models are not changed: as the guide says, create a new solution version (and update campaigns) after
the job completes. Data imported after the job is kept, whoever it is about: a deletion applies to the data
present when it runs.
"""

from __future__ import annotations

import csv
import io
import logging

from personalize_local.datasets import delete_rows
from personalize_local.jobs.context import JobFailed
from personalize_local.jobs.s3io import read_objects
from personalize_local.paths import dataset_file

log = logging.getLogger("personalize_local.data_deletion")
MAX_INPUT_BYTES = 100 * 1024 * 1024  # "The maximum total size of one or more data deletion input files is 100 MB"
USER_DATASETS = ("INTERACTIONS", "USERS", "ACTION_INTERACTIONS")


def run_data_deletion(ctx) -> dict:
    """Job runner for DataDeletionJob."""
    job = ctx.doc
    location = job["dataSource"]["dataLocation"]
    objects = read_objects(ctx.s3(), location)
    size = sum(len(body) for _, body in objects)
    if size > MAX_INPUT_BYTES:
        raise JobFailed(
            f"{location} holds {size} bytes; the data deletion input files may total at most 100 MB. Split the "
            "users across jobs."
        )
    users: set[str] = set()
    for url, body in objects:
        users |= user_ids(url, body)
    group = job["datasetGroupArn"]
    deleted = 0
    for dataset in ctx.children("Dataset", "datasetGroupArn", group):
        if dataset["datasetType"] in USER_DATASETS:
            deleted += delete_rows(dataset_file(ctx.data_dir, dataset["datasetArn"]), "USER_ID", users)
    deleted += ctx.forget_users(group, users)
    log.info("data deletion job %s: %d users, %d records deleted", job["dataDeletionJobArn"], len(users), deleted)
    return {"numDeleted": deleted}


def user_ids(url: str, body: bytes) -> set[str]:
    """The user ids of one input file: a CSV with the single column USER_ID; JobFailed naming the file and row."""
    text = body.decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    header = [c.strip() for c in rows[0]] if rows else []
    if header != ["USER_ID"]:
        raise JobFailed(
            f"{url}: the header is {header}; a data deletion file must be a CSV file with a single USER_ID column "
            "that lists the user IDs."
        )
    out = set()
    for n, row in enumerate(rows[1:], start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != 1:
            raise JobFailed(f"{url}: line {n} has {len(row)} values; each line holds one USER_ID.")
        out.add(row[0].strip())
    if not out:
        raise JobFailed(f"{url}: lists no user IDs under its USER_ID header.")
    return out

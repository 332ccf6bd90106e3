"""The incremental cadence: import only the new events, refresh models with trainingMode UPDATE, deploy them.

**Watermark.** The newest event TIMESTAMP the dataset group holds, per dataset, in
``cadence/<group>/watermark/<dataset>.json`` (:mod:`personalize_ops.s3_layout`), with the FULL import it builds on.
When the newest ACTIVE FULL import of the dataset is not that one (a full run imported since), the watermark is
computed again from the files of that FULL import and of the imports after it. So the full cadence needs no
change, and a full run always resets the incremental one.

**Increment.** The source goes through the prepare stage (the same quality suites and transform, and the
deny-list); only the rows with TIMESTAMP after the watermark are kept, staged under their content address and
imported with importMode INCREMENTAL. Events that arrive late with a TIMESTAMP at or before the watermark are not
imported by the incremental cadence; the next full run imports them.

**AWS's rules, as skips with a reason** (the run stays green; the reason is in the task's log):

- an INCREMENTAL import needs at least 1,000 new interaction records ("Minimum number of item interactions records
  per dataset import job with FULL or INCREMENTAL import mode") and a dataset that has data: fewer new events
  wait for the next run (the watermark stays);
- trainingMode UPDATE needs a recipe that supports it (the CreateSolutionVersion reference: User-Personalization,
  or the legacy HRNN-Coldstart) and an ACTIVE FULL version of the solution.

**Gate rule for UPDATE versions.** An UPDATE version is the model of its FULL parent (the solution's newest ACTIVE
FULL version) refreshed with the new items and users, not a retraining, and AWS computes no new offline metrics
for it, so there is nothing new for the champion/challenger gate to compare. The incremental cadence deploys it
to a campaign only when that campaign serves its FULL parent or an UPDATE of that parent, that is, a model the gate
of a full run already promoted. A campaign serving another version (the gate kept an older champion) is left
alone until the next full run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator

from personalize_ops.pipeline import s3uri
from personalize_ops.pipeline.imports import created, imports_since_full
from personalize_ops.pipeline.values import Increment, UpdateDecision
from personalize_ops.resources import KINDS
from personalize_ops.s3_layout import watermark_key

log = logging.getLogger(__name__)
MIN_NEW_INTERACTIONS = 1000
#: Recipes whose solutions may train trainingMode UPDATE (CreateSolutionVersion: "the input solution was trained
#: with the User-Personalization recipe or the legacy HRNN-Coldstart recipe").
UPDATE_RECIPES = ("aws-user-personalization", "aws-hrnn-coldstart")
IMPORT_JOB, SOLUTION_VERSION, CAMPAIGN = KINDS["dataset_import_job"], KINDS["solution_version"], KINDS["campaign"]
DATASET, SOLUTION = KINDS["dataset"], KINDS["solution"]


class CadenceSkip(Exception):
    """What AWS's rules do not allow now; the task turns it into a skip with this reason."""


@contextlib.contextmanager
def skipping() -> Iterator[None]:
    """Turn a :class:`CadenceSkip` into Airflow's skip (the task and those after it show as skipped, the run stays
    green); the reason is the task log's last line."""
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        yield
    except CadenceSkip as why:
        raise AirflowSkipException(str(why)) from None


# Imports and the watermark ---------------------------------------------------------------------------------------
def max_timestamp(s3, uri: str) -> int | None:
    """The newest TIMESTAMP of a staged interactions file in S3 (read as one column)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    from personalize_ops.pipeline.settings import work_dir

    bucket, key = s3uri.split(uri)
    with work_dir("watermark") as work:
        path = work.path / "staged.csv"
        s3.download_file(bucket, key, str(path))
        table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
            include_columns=["TIMESTAMP"], column_types={"TIMESTAMP": pa.int64()}))  # fmt: skip
    value = pc.max(table.column("TIMESTAMP")).as_py()
    return None if value is None else int(value)


def read_watermark(s3, cfg, dataset: str) -> dict | None:
    from botocore.exceptions import ClientError

    group = cfg.dataset_group
    try:
        body = s3.get_object(Bucket=group.bucket, Key=watermark_key(group.prefix, group.name, dataset))["Body"]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return json.loads(body.read())


def write_watermark(s3, cfg, increment: Increment) -> dict:
    """Record the increment's newest TIMESTAMP as the watermark (after its import is ACTIVE)."""
    group = cfg.dataset_group
    record = {"dataset": increment.dataset, "timestamp": increment.watermark_to, "base_import": increment.base_import,
              "last_import": increment.job_name, "rows": increment.rows, "recorded_at": time.time()}  # fmt: skip
    key = watermark_key(group.prefix, group.name, increment.dataset)
    s3.put_object(Bucket=group.bucket, Key=key, Body=json.dumps(record, indent=1).encode())
    log.info("Watermark of %s: %s (s3://%s/%s)", increment.dataset, increment.watermark_to, group.bucket, key)
    return record


def current_watermark(hook, s3, cfg, dataset: str, dataset_arn: str) -> tuple[int, str]:
    """(newest TIMESTAMP the dataset holds, the FULL import it builds on); CadenceSkip without a FULL import."""
    imports = imports_since_full(hook, dataset_arn)
    if not imports:
        raise CadenceSkip(
            f"{dataset}: the dataset has no ACTIVE FULL import yet; an INCREMENTAL import adds to imported data. "
            "Run the full cadence (personalize_retrain) first."
        )
    base = imports[0]["jobName"]
    stored = read_watermark(s3, cfg, dataset)
    if stored and stored.get("base_import") == base:
        return int(stored["timestamp"]), base
    found = [t for d in imports if (t := max_timestamp(s3, d["dataSource"]["dataLocation"])) is not None]
    if not found:
        raise CadenceSkip(f"{dataset}: the imported files hold no events; run the full cadence first")
    log.info("%s: watermark computed from the imports since FULL import %s: %d", dataset, base, max(found))
    return max(found), base


# The increment ---------------------------------------------------------------------------------------------------
def prepare_increment(hook, s3, cfg, dataset_arn: str, run_id: str, token: str) -> Increment:
    """Prepare the interactions source, keep the events after the watermark, stage them; CadenceSkip when fewer
    than 1,000 are new."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from personalize_ops.pipeline.deletions import apply_deny_list
    from personalize_ops.pipeline.prepare_stage import s3_options_from_connection, summary_line
    from personalize_ops.pipeline.settings import work_dir
    from personalize_ops.staging import stage_file
    from personalize_ops.transform.prepare import prepare_dataset
    from personalize_ops.transform.row_filter import filter_csv

    dataset, group = "interactions", cfg.dataset_group
    watermark, base = current_watermark(hook, s3, cfg, dataset, dataset_arn)
    spec = cfg.datasets.present()[dataset]
    s3_options = s3_options_from_connection(group.aws_conn_id) if spec.source.is_s3 else None
    with work_dir(f"increment-{dataset}") as work:
        log.info("run %s: work directory %s", run_id, work.path)
        prepared = prepare_dataset(cfg, dataset, work.path, s3_options=s3_options).to_dict()
        log.info(summary_line(prepared))
        apply_deny_list(s3, cfg, prepared)
        newest: list[int] = []

        def after_watermark(table: pa.Table) -> pa.Array:
            ts = pc.cast(table.column("TIMESTAMP"), pa.int64())
            keep = pc.greater(ts, watermark)
            kept_max = pc.max(pc.filter(ts, keep)).as_py()
            if kept_max is not None:
                newest.append(kept_max)
            return keep

        delta = filter_csv(prepared["csv_path"], str(work.path / "increment.csv"), after_watermark)
        enough = delta.rows_out >= MIN_NEW_INTERACTIONS
        if enough:
            staged = stage_file(s3, group.bucket, group.prefix, dataset, delta.path, delta.sha256, group=group.name)
    if not enough:  # raised outside the work directory's block: a skip is not a failure to keep files for
        raise CadenceSkip(
            f"{dataset}: {delta.rows_out} event(s) newer than the watermark {watermark}; an INCREMENTAL import "
            f"needs at least {MIN_NEW_INTERACTIONS:,} interaction records (AWS's minimum per import job). They "
            "wait for a later run (the watermark stays), or for the next full run."
        )
    log.info("%s: %d new event(s) after %d (up to %d) staged as %s", dataset, delta.rows_out, watermark, max(newest),
             staged.uri)  # fmt: skip
    return Increment(dataset=dataset, job_name=f"{dataset}-incr-{delta.sha256[:12]}-{token[:8]}", rows=delta.rows_out,
                     data_location=staged.uri, watermark_from=watermark, watermark_to=max(newest),
                     base_import=base)  # fmt: skip


def find_dataset(hook, cfg, dataset: str) -> str:
    """The ARN of the pipeline's dataset; CadenceSkip when the full cadence has not created it yet."""
    from personalize_ops.pipeline.requests import dataset_name

    group = hook.find_by_name(KINDS["dataset_group"], cfg.dataset_group.name)
    arn = group and hook.find_by_name(DATASET, dataset_name(cfg, dataset), group)
    if not arn:
        raise CadenceSkip(f"{dataset}: dataset not found; run the full cadence (personalize_retrain) first")
    return arn


# UPDATE training and deployment ----------------------------------------------------------------------------------
def supports_update(recipe_arn: str) -> bool:
    return recipe_arn.rsplit("/", 1)[-1] in UPDATE_RECIPES


def full_versions(hook, solution_arn: str, before: float | None = None) -> list[dict]:
    """The solution's ACTIVE FULL versions (created before ``before``), newest first."""
    out = []
    for s in hook.list(SOLUTION_VERSION, solution_arn):
        if s.get("status") != "ACTIVE" or (before is not None and created(s) >= before):
            continue
        mode = s.get("trainingMode") or hook.describe(SOLUTION_VERSION, s[SOLUTION_VERSION.arn_member]).get(
            "trainingMode", "FULL")  # fmt: skip
        if mode == "FULL":
            out.append(s)
    return sorted(out, key=created, reverse=True)


def plan_update(hook, cfg, solution: str) -> str:
    """The ARN of a solution that may train an UPDATE version now; CadenceSkip with AWS's rule otherwise."""
    spec = cfg.solution(solution)
    if not supports_update(spec.recipe_arn):
        raise CadenceSkip(
            f"{solution}: recipe {spec.recipe} cannot train trainingMode UPDATE (AWS allows it for "
            "User-Personalization and the legacy HRNN-Coldstart only); it learns the new events at the next full run."
        )
    group = hook.find_by_name(KINDS["dataset_group"], cfg.dataset_group.name)
    arn = group and hook.find_by_name(SOLUTION, solution, group)
    if not arn:
        raise CadenceSkip(f"{solution}: solution not found; run the full cadence (personalize_retrain) first")
    if not full_versions(hook, arn):
        raise CadenceSkip(
            f"{solution}: no ACTIVE solution version trained with trainingMode FULL; UPDATE refreshes one (AWS's "
            "rule). The next full run trains it."
        )
    return arn


def decide_update_deploy(hook, campaign: str, solution_arn: str, version_arn: str) -> UpdateDecision:
    """Whether the UPDATE version ``version_arn`` replaces what ``campaign`` serves (the rule in the module doc)."""
    version = hook.describe(SOLUTION_VERSION, version_arn)
    parents = full_versions(hook, solution_arn, before=created(version))
    parent = parents[0][SOLUTION_VERSION.arn_member] if parents else None
    arn = hook.find_by_name(CAMPAIGN, campaign, solution_arn)
    served = hook.describe(CAMPAIGN, arn).get("solutionVersionArn") if arn else None

    def decision(promote: bool, reason: str) -> UpdateDecision:
        log.info("%s: %s", campaign, reason)
        return UpdateDecision(campaign, arn, solution_arn, promote, reason, version_arn, parent, served)

    if arn is None:
        return decision(False, "campaign not found; the full cadence creates it with a version the gate promoted")
    if served == version_arn:
        return decision(False, f"already serves {version_arn}")
    if served == parent:
        return decision(True, f"serves {parent}, the FULL parent of UPDATE version {version_arn}: deployed")
    lineage = hook.describe(SOLUTION_VERSION, served) if served else {}
    if (lineage.get("solutionArn") == solution_arn and lineage.get("trainingMode") == "UPDATE" and parent
            and created(lineage) > created(parents[0])):  # fmt: skip
        return decision(True, f"serves {served}, an UPDATE of {parent}, the FULL parent of {version_arn}: deployed")
    return decision(False, f"serves {served}, not {parent} (the FULL version this UPDATE refreshes) or an UPDATE of "
                           "it: the gate kept another champion; the next full run decides")  # fmt: skip

"""Prepare one dataset (quality + transform) and stage the result in S3 under its content address.

Both happen in one task so that it works on any executor (no local files handed between workers), and so that
nothing reaches S3 unless every data-quality rule passed.
"""

from __future__ import annotations

import logging

from personalize_ops.pipeline.settings import work_dir

log = logging.getLogger(__name__)


def summary_line(p: dict) -> str:
    from personalize_ops.quality.checks import checks_line

    dropped = ", ".join(f"{k}={v}" for k, v in sorted(p["dropped"].items())) or "none"
    return (
        f"{p['name']}: {p['rows_in']} rows in, {p['rows_out']} out, dropped {dropped}; "
        f"users={p['users']} items={p['items']} time={p['time_min']}..{p['time_max']}; "
        f"reports: {p['report_paths']}\n" + checks_line("data quality", p.get("checks") or {})
    )


def s3_options_from_connection(conn_id: str) -> dict:
    """pyarrow S3FileSystem options from an Airflow AWS connection: its credentials (role, keys or the
    default chain, as the Amazon provider resolves them), region and S3 endpoint (``service_config.s3``
    or ``endpoint_url``). Temporary credentials are taken once: a read must finish before they expire."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=conn_id, client_type="s3")
    creds = hook.get_credentials()
    return {
        "access_key": creds.access_key,
        "secret_key": creds.secret_key,
        "session_token": creds.token,
        "region": hook.conn_region_name,
        "endpoint_override": hook.conn_config.get_service_endpoint_url("s3"),
    }


def prepare_and_stage(cfg, dataset: str, run_id: str, s3=None, dry_run: bool = False) -> dict:
    """Run the prepare stage for ``dataset``; upload unless ``dry_run``. Returns a JSON-safe summary.
    An s3:// source is read with the dataset group's Airflow AWS connection, like everything else.

    The files are written to a private work directory of this run (``settings.work_dir``), removed once the
    file is staged; it is kept (``work_dir`` in the summary) when the run fails, on ``dry_run`` (its reports are
    the result) and when rows were quarantined (the quarantine file holds them). Rows of users on the group's
    deny-list are left out before staging (not on ``dry_run``, which reads no S3)."""
    from personalize_ops.staging import stage_file
    from personalize_ops.transform.prepare import prepare_dataset

    group = cfg.dataset_group
    ds = cfg.datasets.present().get(dataset)
    s3_options = s3_options_from_connection(group.aws_conn_id) if ds and ds.source.is_s3 else None
    with work_dir(f"prepare-{dataset}") as work:
        log.info("run %s: work directory %s", run_id, work.path)
        if cfg.prepare.engine == "spark":  # local spark-submit; a cluster engine runs as its own tasks (spark_tasks)
            from personalize_ops.pipeline.spark_submit import run_local

            prepared = run_local(cfg, dataset, work.path)
        else:
            prepared = prepare_dataset(cfg, dataset, work.path, s3_options=s3_options).to_dict()
        log.info(summary_line(prepared))
        prepared["staged"] = None
        if not dry_run:  # users deleted on request never come back (pipeline/deletions.py)
            from personalize_ops.pipeline.deletions import apply_deny_list

            apply_deny_list(s3, cfg, prepared)
        if prepared["quarantine_path"]:
            work.keep(f"rows were quarantined: {prepared['quarantine_path']}")
        if dry_run:
            work.keep("dry_run: the data-quality reports are the result")
            log.info("dry_run: %s prepared but not uploaded", dataset)
        else:
            staged = stage_file(
                s3, group.bucket, group.prefix, dataset, prepared["csv_path"], prepared["sha256"], group=group.name
            )
            log.info("%s %s", "Uploaded" if staged.uploaded else "Already staged (unchanged data)", staged.uri)
            prepared["staged"] = staged.to_dict()
        prepared["work_dir"] = str(work.path) if work.kept else None
    return prepared

"""Running the prepare stage as a Spark job (``prepare.engine: spark``): locally with spark-submit, or staged to S3
and submitted to Amazon EMR Serverless or AWS Glue.

``run_local`` runs ``transform/spark/job.py`` with the spark-submit of this environment (local mode) and returns the
same summary as the single-machine engine; the prepare task then stages the file as usual. For a cluster,
``stage_job`` uploads the job script, this package (a zip for ``--py-files`` / ``--extra-py-files``) and the config
under ``spark.code_uri/<run>/``; ``emr_serverless_args`` / ``glue_args`` build the provider operators' arguments; the
job writes its summary (or its data-quality error) under ``spark.output_uri/<run>/<dataset>/``, which ``collect``
reads back into the prepare stage's summary, with the CSV parts folder as the staged location.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.pipeline.s3uri import split as split_s3_uri

log = logging.getLogger(__name__)
JOB = Path(__file__).resolve().parents[1] / "transform" / "spark" / "job.py"
PACKAGE = Path(__file__).resolve().parents[1]


def run_key(run_id: str) -> str:
    """``run_id`` as one S3/Hadoop-safe path segment (Hadoop paths reject ':')."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", run_id)


def _error(doc: dict):
    from personalize_ops.quality.errors import DataQualityError

    return DataQualityError(doc["error"], doc.get("failures"))


def spark_submit(python: Path | None = None) -> str:
    """The spark-submit beside ``python`` (default: this environment's), else the one on PATH; a PipelineError
    saying how to install it when there is none (PySpark comes with ``make install``, not with ``make demo``)."""
    submit = Path(python or sys.executable).with_name("spark-submit")
    found = str(submit) if submit.exists() else shutil.which("spark-submit")
    if not found:
        raise PipelineError(
            "prepare.engine is spark but this environment has no spark-submit: install PySpark and Java 17+ with "
            "`make install` (requirements-spark.txt, scripts/install_java.sh), or set prepare.engine: local"
        )
    return found


def run_local(cfg, dataset: str, out: Path, timeout_s: float = 3600) -> dict:
    """spark-submit (local mode, ``prepare.spark.master``) of the job; returns the summary dict or raises the job's
    DataQualityError (exit code 2) or PipelineError (any other failure, with the end of its log)."""
    spark = cfg.prepare.spark
    cmd = [spark_submit(), "--master", spark.master]
    for k, v in {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", **spark.conf}.items():
        cmd += ["--conf", f"{k}={v}"]
    cmd += [str(JOB), "--config", str(cfg.source_file), "--dataset", dataset, "--out", str(out)]
    path = os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, "PYTHONPATH": path}
    log.info("spark-submit: %s", " ".join(cmd))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    folder = out / dataset
    if proc.returncode == 2 and (folder / "error.json").exists():
        raise _error(json.loads((folder / "error.json").read_text()))
    if proc.returncode or not (folder / "summary.json").exists():
        raise PipelineError(f"the Spark job for {dataset} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads((folder / "summary.json").read_text())


def package_zip() -> bytes:
    """This package (personalize_ops, Python sources only) as a zip for --py-files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(PACKAGE.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".json"):
                z.write(p, p.relative_to(PACKAGE.parent).as_posix())
    return buf.getvalue()


def stage_job(cfg, s3, run_id: str) -> dict[str, str]:
    """Upload the job script, the package zip and the config to ``spark.code_uri/<run>/``; returns their URIs."""
    base = f"{cfg.prepare.spark.code_uri.rstrip('/')}/{run_key(run_id)}"
    files = {
        "entry_point": ("job.py", JOB.read_bytes()),
        "py_files": ("personalize_ops.zip", package_zip()),
        "config": (Path(cfg.source_file).name, Path(cfg.source_file).read_bytes()),
    }
    out = {}
    for key, (name, body) in files.items():
        bucket, prefix = split_s3_uri(f"{base}/{name}")
        s3.put_object(Bucket=bucket, Key=prefix, Body=body)
        out[key] = f"s3://{bucket}/{prefix}"
    log.info("staged the Spark job under %s", base)
    return out


def output_prefix(cfg, run_id: str) -> str:
    return f"{cfg.prepare.spark.output_uri.rstrip('/')}/{run_key(run_id)}"


def job_arguments(cfg, dataset: str, staged: dict, run_id: str) -> list[str]:
    return ["--config", staged["config"], "--dataset", dataset, "--out", output_prefix(cfg, run_id)]


def emr_serverless_args(cfg, dataset: str, staged: dict, run_id: str) -> dict:
    """Keyword arguments of ``EmrServerlessStartJobOperator`` (besides task_id/aws_conn_id/deferrable)."""
    spark = cfg.prepare.spark
    params = " ".join([f"--py-files {staged['py_files']}", *(f"--conf {k}={v}" for k, v in spark.conf.items())])
    return {
        "application_id": spark.application_id,
        "execution_role_arn": spark.execution_role_arn,
        "name": f"personalize-prepare-{cfg.dataset_group.name}-{dataset}",
        "job_driver": {"sparkSubmit": {"entryPoint": staged["entry_point"],
                                       "entryPointArguments": job_arguments(cfg, dataset, staged, run_id),
                                       "sparkSubmitParameters": params}},  # fmt: skip
        "configuration_overrides": {"monitoringConfiguration": {"s3MonitoringConfiguration": {
            "logUri": f"{output_prefix(cfg, run_id)}/logs/"}}},  # fmt: skip
    }


def glue_args(cfg, dataset: str, staged: dict, run_id: str) -> dict:
    """Keyword arguments of ``GlueJobOperator`` (besides task_id/aws_conn_id/deferrable). Glue passes job
    arguments as ``--key value`` pairs; ``--additional-python-modules`` and other Glue settings go in ``conf``."""
    spark = cfg.prepare.spark
    args = job_arguments(cfg, dataset, staged, run_id)
    defaults = {"--extra-py-files": staged["py_files"], **{k: v for k, v in spark.conf.items() if k.startswith("--")}}
    return {
        "job_name": spark.glue_job_name,
        "job_desc": f"Personalize prepare stage of {cfg.dataset_group.name}",
        "script_location": staged["entry_point"],
        "iam_role_arn": spark.glue_role_arn,
        "script_args": dict(zip(args[::2], args[1::2], strict=True)),
        "create_job_kwargs": {"GlueVersion": spark.glue_version, "WorkerType": spark.worker_type,
                              "NumberOfWorkers": spark.workers, "DefaultArguments": defaults},  # fmt: skip
        "update_config": True,
    }


def collect(cfg, dataset: str, s3, run_id: str) -> dict:
    """The job's summary from S3 as the prepare stage's summary (``staged`` = the CSV parts folder); raises the
    job's DataQualityError when it wrote one."""
    base = f"{output_prefix(cfg, run_id)}/{dataset}"
    for name in ("error.json", "summary.json"):
        bucket, key = split_s3_uri(f"{base}/{name}")
        try:
            doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            continue
        if name == "error.json":
            raise _error(doc)
        doc["staged"] = {"dataset": dataset, "uri": f"{base}/parts/", "sha256": doc["sha256"], "uploaded": True}
        doc["work_dir"] = None
        return doc
    raise PipelineError(f"the Spark job for {dataset} wrote no summary under {base}/: see its logs in {base}/../logs/")

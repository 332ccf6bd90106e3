"""The Spark engine's submission path: staging to S3, the EMR Serverless and Glue submissions through the Amazon
provider's hooks against a moto server over HTTP, reading the job's summary back, the DAG tasks built from the
config, and the local spark-submit mode of the prepare task against the single-machine engine."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from personalize_ops.config import load_config
from personalize_ops.pipeline import spark_submit
from personalize_ops.quality import DataQualityError
from personalize_ops.transform import prepare_dataset

from personalize_local.stack import airflow_connection_json
from tests.fixtures.moto_server import client
from tests.personalize_ops.transform.dataprep_helpers import BASE, interactions_rows, write_csv

RUN = "manual__2026-01-02T03:04:05+00:00"
ROLE = "arn:aws:iam::123456789012:role/SparkJob"  # moto's account: it refuses a cross-account role


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """(s3 client, endpoint); the Airflow connection ``aws_spark`` points at the moto server."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_SPARK", airflow_connection_json(moto_endpoint))
    s3 = client("s3", moto_endpoint)
    s3.create_bucket(Bucket="jobs")
    return s3, moto_endpoint


def _config(tmp_path: Path, spark: dict):
    import yaml

    cfg = json.loads(json.dumps(BASE))
    cfg["prepare"] = {"engine": "spark", "spark": spark}
    write_csv(tmp_path / "interactions.csv", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"],
              interactions_rows(1100) + interactions_rows(4))  # fmt: skip
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return load_config(tmp_path / "pipeline.yaml")


EMR = {"submit": "emr_serverless", "aws_conn_id": "aws_spark", "code_uri": "s3://jobs/code",
       "output_uri": "s3://jobs/out", "execution_role_arn": ROLE, "poll_seconds": 1,
       "conf": {"spark.archives": "s3://jobs/env/pyspark_env.tar.gz#environment"}}  # fmt: skip
GLUE = {"submit": "glue", "aws_conn_id": "aws_spark", "code_uri": "s3://jobs/code", "output_uri": "s3://jobs/out",
        "glue_job_name": "personalize-prepare", "glue_role_arn": ROLE, "poll_seconds": 1,
        "conf": {"--additional-python-modules": "great-expectations==1.24.1"}}  # fmt: skip


def test_stage_job_uploads_script_package_and_config(aws, tmp_path):
    s3, _ = aws
    cfg = _config(tmp_path, {**EMR, "application_id": "app"})
    staged = spark_submit.stage_job(cfg, s3, RUN)
    assert staged["entry_point"] == "s3://jobs/code/manual__2026-01-02T03-04-05-00-00/job.py"
    body = s3.get_object(Bucket="jobs", Key=staged["py_files"].removeprefix("s3://jobs/"))["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "personalize_ops/transform/spark/job.py" in names and "personalize_ops/transform/prepare.py" in names
    config = s3.get_object(Bucket="jobs", Key=staged["config"].removeprefix("s3://jobs/"))["Body"].read()
    assert config == (tmp_path / "pipeline.yaml").read_bytes()


def test_emr_serverless_job_run_through_the_provider_hook(aws, tmp_path):
    from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook

    s3, endpoint = aws
    emr = client("emr-serverless", endpoint)
    app = emr.create_application(name="prepare", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
    cfg = _config(tmp_path, {**EMR, "application_id": app})
    args = spark_submit.emr_serverless_args(cfg, "interactions", spark_submit.stage_job(cfg, s3, RUN), RUN)
    hook = EmrServerlessHook(aws_conn_id="aws_spark")
    run = hook.conn.start_job_run(applicationId=args["application_id"], executionRoleArn=args["execution_role_arn"],
                                  jobDriver=args["job_driver"], configurationOverrides=args["configuration_overrides"],
                                  name=args["name"], clientToken="t1")  # fmt: skip
    hook.get_waiter("serverless_job_completed").wait(
        applicationId=app, jobRunId=run["jobRunId"], WaiterConfig={"Delay": 1, "MaxAttempts": 10}
    )
    job = hook.conn.get_job_run(applicationId=app, jobRunId=run["jobRunId"])["jobRun"]
    submit = job["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"].endswith("/job.py")
    assert submit["entryPointArguments"][-2:] == ["--out", "s3://jobs/out/manual__2026-01-02T03-04-05-00-00"]
    assert "--py-files s3://jobs/code/" in submit["sparkSubmitParameters"]
    assert "spark.archives=s3://jobs/env/pyspark_env.tar.gz#environment" in submit["sparkSubmitParameters"]


def test_glue_job_created_and_run_through_the_provider_hook(aws, tmp_path):
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    s3, endpoint = aws
    cfg = _config(tmp_path, GLUE)
    args = spark_submit.glue_args(cfg, "interactions", spark_submit.stage_job(cfg, s3, RUN), RUN)
    hook = GlueJobHook(
        aws_conn_id="aws_spark", job_name=args["job_name"], desc=args["job_desc"],
        script_location=args["script_location"], iam_role_arn=args["iam_role_arn"],
        create_job_kwargs=args["create_job_kwargs"], update_config=True, job_poll_interval=1,
    )  # fmt: skip
    run_id = hook.initialize_job(args["script_args"])["JobRunId"]
    assert hook.job_completion(args["job_name"], run_id)["JobRunState"] == "SUCCEEDED"
    job = client("glue", endpoint).get_job(JobName="personalize-prepare")["Job"]
    assert job["Command"]["ScriptLocation"].endswith("/job.py") and job["GlueVersion"] == "5.0"
    assert job["DefaultArguments"]["--extra-py-files"].endswith("/personalize_ops.zip")
    assert args["script_args"]["--dataset"] == "interactions"


def test_collect_reads_the_summary_or_raises_the_jobs_data_quality_error(aws, tmp_path):
    s3, _ = aws
    cfg = _config(tmp_path, {**EMR, "application_id": "app"})
    summary = prepare_dataset(cfg, "interactions", tmp_path / "out").to_dict()
    base = "out/" + spark_submit.run_key(RUN) + "/interactions"
    s3.put_object(Bucket="jobs", Key=f"{base}/summary.json", Body=json.dumps(summary))
    doc = spark_submit.collect(cfg, "interactions", s3, RUN)
    assert doc["staged"]["uri"] == f"s3://jobs/{base}/parts/" and doc["rows_out"] == summary["rows_out"]
    error = {"error": "interactions: bad", "failures": [{"rule": "id_null"}]}
    s3.put_object(Bucket="jobs", Key=f"{base}/error.json", Body=json.dumps(error))
    with pytest.raises(DataQualityError, match="interactions: bad") as e:
        spark_submit.collect(cfg, "interactions", s3, RUN)
    assert e.value.failures == [{"rule": "id_null"}]


@pytest.mark.parametrize(
    "spark", [pytest.param({**EMR, "application_id": "app"}, id="emr"), pytest.param(GLUE, id="g")]
)
def test_dag_tasks_built_from_the_config(tmp_path, spark):
    from airflow.sdk import DAG
    from personalize_ops.pipeline.spark_tasks import spark_prepare

    cfg = _config(tmp_path, spark)
    with DAG("spark_prepare_test", schedule=None) as dag:
        spark_prepare(cfg, "interactions", "aws_default")
    submit = dag.get_task("prepare_interactions.submit")
    assert submit.deferrable and submit.aws_conn_id == "aws_spark"
    assert [t.task_id for t in submit.upstream_list] == ["prepare_interactions.stage"]
    assert [t.task_id for t in submit.downstream_list] == ["prepare_interactions.collect"]


def test_local_spark_submit_mode_gives_the_single_engine_result(tmp_path):
    from personalize_ops.pipeline.prepare_stage import prepare_and_stage

    cfg = _config(tmp_path, {"submit": "local", "master": "local[1]"})
    sparked = prepare_and_stage(cfg, "interactions", RUN, dry_run=True)
    single = prepare_dataset(cfg, "interactions", tmp_path / "single").to_dict()
    for key in ("rows_in", "rows_out", "dropped", "users", "items", "time_min", "time_max", "output_bytes"):
        assert sparked[key] == single[key], key
    assert sparked["dropped"] == {"duplicate": 4}
    lines = sorted(Path(sparked["csv_path"]).read_text().splitlines())
    assert lines == sorted(Path(single["csv_path"]).read_text().splitlines())


def test_spark_submit_is_found_beside_python_or_explained(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    python = tmp_path / "bin" / "python"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(spark_submit.PipelineError, match=r"no spark-submit.*make install.*prepare.engine: local"):
        spark_submit.spark_submit(python)
    (tmp_path / "bin" / "spark-submit").write_text("#!/bin/sh\n")
    assert spark_submit.spark_submit(python) == str(tmp_path / "bin" / "spark-submit")

"""How the prepare stage runs: on the Airflow worker (``engine: single``) or as a Spark job (``engine: spark``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from personalize_ops.config.base import Strict

ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$"


class Spark(Strict):
    """Where the Spark job runs and what it needs. ``submit: local`` runs ``spark-submit`` on the worker (local mode,
    for development and CI); ``emr_serverless`` and ``glue`` stage the job to S3 and submit it there."""

    submit: Literal["emr_serverless", "glue", "local"] = Field(
        "local", description="where the Spark job runs: spark-submit on the worker, EMR Serverless or AWS Glue"
    )
    aws_conn_id: str | None = Field(None, description="default: dataset_group.aws_conn_id", examples=["aws_default"])
    code_uri: str | None = Field(
        None, pattern=r"^s3://", description="S3 prefix the job script and its dependencies are staged to",
        examples=["s3://my-bucket/spark/code/"],
    )
    output_uri: str | None = Field(
        None, pattern=r"^s3://", description="S3 prefix the prepared CSV parts, quarantine and reports go to",
        examples=["s3://my-bucket/spark/output/"],
    )
    application_id: str | None = Field(None, description="emr_serverless: the EMR Serverless application",
                                          examples=["00fabcdefghij123"])
    execution_role_arn: str | None = Field(None, pattern=ROLE_ARN, description="emr_serverless: job runtime role",
                                              examples=["arn:aws:iam::123456789012:role/EmrServerlessJob"])
    glue_job_name: str | None = Field(None, description="glue: the job's name (created or updated by the task)",
                                         examples=["personalize-prepare"])
    glue_role_arn: str | None = Field(None, pattern=ROLE_ARN, description="glue: the job's IAM role",
                                         examples=["arn:aws:iam::123456789012:role/GluePrepare"])
    glue_version: str = Field("5.0", description="glue: the Glue version")
    worker_type: str = Field("G.1X", description="glue: worker type")
    workers: int = Field(2, ge=2, description="glue: number of workers")
    poll_seconds: int = Field(30, ge=1, description="emr_serverless, glue: seconds between job status checks")
    master: str = Field("local[2]", description="local: the Spark master")
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark properties (--conf key=value)",
                                 examples=[{"spark.sql.shuffle.partitions": "200"}])

    @model_validator(mode="after")
    def _needed(self) -> Spark:
        need = {
            "emr_serverless": ("code_uri", "output_uri", "application_id", "execution_role_arn"),
            "glue": ("code_uri", "output_uri", "glue_job_name", "glue_role_arn"),
            "local": (),
        }[self.submit]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"submit: {self.submit} needs {', '.join(missing)}")
        return self


class Prepare(Strict):
    """``engine: single`` (default) prepares on the Airflow worker in bounded memory; ``engine: spark`` runs the same
    rules and transform as a Spark job (see docs/scaling.md for when to switch)."""

    engine: Literal["single", "spark"] = Field("single", description="single: this machine (bounded memory); "
                                               "spark: the same rules and transform on Spark")
    spark: Spark = Field(Spark(), description="how and where the Spark engine runs")

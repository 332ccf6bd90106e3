"""Batch inference job: an ensure operator with the job's parameters spelled out."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from personalize_ops.operators.ensure import PersonalizeEnsureResourceOperator


class PersonalizeBatchInferenceJobOperator(PersonalizeEnsureResourceOperator):
    """Run a batch inference job, idempotent by ``job_name``: a rerun returns the existing job's ARN.

    :param job_name: unique job name, e.g. ``"export-{{ ds_nodash }}"``. Templated.
    :param solution_version_arn: the trained version to use. Templated.
    :param input_path: ``s3://bucket/key`` of the JSON-lines input (``{"userId": ...}`` per line). Templated.
    :param output_path: ``s3://bucket/prefix/`` for the results. Templated.
    :param role_arn: IAM role Personalize assumes to read and write S3. Templated.
    :param num_results: recommendations per input line.
    :param filter_arn: optional filter. Templated.
    :param batch_inference_job_config: optional ``batchInferenceJobConfig``. Templated.
    """

    default_kind = "batch_inference_job"
    template_fields = aws_template_fields(
        "name",
        "parent_arn",
        "tags",
        "input_path",
        "output_path",
        "role_arn",
        "filter_arn",
        "num_results",
        "batch_inference_job_config",
    )

    def __init__(
        self,
        *,
        job_name: str,
        solution_version_arn: str,
        input_path: str,
        output_path: str,
        role_arn: str,
        num_results: int | None = None,
        filter_arn: str | None = None,
        batch_inference_job_config: dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=job_name, parent_arn=solution_version_arn, **kwargs)
        self.input_path = input_path
        self.output_path = output_path
        self.role_arn = role_arn
        self.num_results = num_results
        self.filter_arn = filter_arn
        self.batch_inference_job_config = batch_inference_job_config

    def request_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "jobInput": {"s3DataSource": {"path": self.input_path}},
            "jobOutput": {"s3DataDestination": {"path": self.output_path}},
            "roleArn": self.role_arn,
        }
        if self.num_results is not None:
            config["numResults"] = int(self.num_results)
        if self.filter_arn:
            config["filterArn"] = self.filter_arn
        if self.batch_inference_job_config:
            config["batchInferenceJobConfig"] = self.batch_inference_job_config
        return {**config, **self.config}

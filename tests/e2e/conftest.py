"""e2e tier: the project's DAGs run with ``dag.test()`` against the local stack on generated sample data."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from personalize_local.stack import airflow_connection_json
from tests.fixtures.pipeline import connection_json, derived_config

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "pz-e2e"


class AlertInbox:
    """An SNS topic on the stack's moto server with an SQS queue subscribed: where the e2e runs' alerts land.

    The DAGs publish through the Airflow connection ``aws_alerts`` (``connection``), as a deployment would.
    """

    CONN_ID = "aws_alerts"

    def __init__(self, endpoint: str):
        import boto3

        keys = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing"}  # fmt: skip
        sns, self.sqs = boto3.client("sns", **keys), boto3.client("sqs", **keys)
        self.topic_arn = sns.create_topic(Name="personalize-e2e-alerts")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="personalize-e2e-alerts")["QueueUrl"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=attrs["QueueArn"])
        self.connection = airflow_connection_json(endpoint)
        self.seen: list[dict] = []

    def section(self) -> dict:
        """The config's ``notifications``: every event to the topic."""
        from personalize_ops.config import NOTIFY_EVENTS

        return {"sns": [{"topic_arn": self.topic_arn, "aws_conn_id": self.CONN_ID, "events": list(NOTIFY_EVENTS)}]}

    def messages(self, run_id: str, event: str | None = None, want: int = 1, deadline_s: float = 20) -> list[dict]:
        """The SNS envelopes of ``run_id`` (and ``event``) received so far, waiting until ``want`` have arrived."""

        def mine() -> list[dict]:
            return [m for m in self.seen if f"\nRun: {run_id}\n" in m["Message"]
                    and event in (None, m["MessageAttributes"]["event"]["Value"])]  # fmt: skip

        deadline = time.monotonic() + deadline_s
        while len(mine()) < want and time.monotonic() < deadline:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in got.get("Messages", []):
                self.seen.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])
        return mine()


class _Tee(io.TextIOBase):
    """Writes to the stream it wraps and keeps a copy (what a task prints is its log under ``dag.test()``)."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


class Pipeline:
    """Writes pipeline configs for the DAGs and runs them with ``dag.test()``."""

    def __init__(self, stack, sample_dir: Path, work: Path, env: pytest.MonkeyPatch, alerts: AlertInbox):
        self.stack, self.sample_dir, self.work, self.env, self.alerts = stack, sample_dir, work, env, alerts
        self.s3 = stack.client("s3")
        self.personalize = stack.client("personalize")
        self.printed: dict[str, str] = {}  # run_id -> what its tasks printed

    def config(self, mutate=None, name: str = "pipeline.yaml") -> Path:
        """A config derived from include/pipeline.yaml, alerting to ``alerts`` (``mutate(dict)`` edits it); made
        the active one."""

        def with_alerts(cfg: dict) -> None:
            cfg["notifications"] = self.alerts.section()
            if mutate:
                mutate(cfg)

        cfg = derived_config(self.sample_dir, self.work, BUCKET, with_alerts)
        path = self.work / name
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.env.setenv("PERSONALIZE_PIPELINE_CONFIG", str(path))
        return path

    def folder(self, configs: dict[str, dict]) -> Path:
        """A folder of pipeline configs ({pipeline name: config}) made the active one (``PERSONALIZE_PIPELINES_DIR``,
        no ``PERSONALIZE_PIPELINE_CONFIG``): its DAG ids are ``personalize_<kind>__<name>``."""
        folder = self.work / "pipelines"
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for name, cfg in configs.items():
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.env.delenv("PERSONALIZE_PIPELINE_CONFIG", raising=False)
        self.env.setenv("PERSONALIZE_PIPELINES_DIR", str(folder))
        return folder

    def a_user(self) -> str:
        """A user ID that occurs in the sample interactions."""
        import csv

        with open(self.sample_dir / "interactions.csv") as fh:
            return next(csv.DictReader(fh))["customer"]

    def run(self, dag_id: str, conf: dict | None = None, **test_kwargs):
        """``dag.test()`` of a project DAG, parsed fresh so it sees the active config; returns the DagRun.
        ``test_kwargs`` go to ``dag.test`` (e.g. ``logical_date=None``: a run as an Asset triggers it)."""
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id.split('__')[0]}.py"))  # a pipeline's: <kind>__<name>
        assert not bag.import_errors, bag.import_errors
        tee = _Tee(sys.stdout)
        with contextlib.redirect_stdout(tee):
            run = bag.get_dag(dag_id).test(run_conf=conf or {}, **test_kwargs)
        self.printed[run.run_id] = tee.copy.getvalue()
        return run


@pytest.fixture(scope="package")
def pipeline(local_stack, sample_dir, airflow_db, tmp_path_factory):
    """The e2e files' shared Pipeline. Package-scoped: the environment it sets (connections, the active config) is
    restored as soon as its worker leaves tests/e2e, so the tests it runs next see none of it."""
    alerts = AlertInbox(local_stack.s3_endpoint)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_json(local_stack))
        env.setenv("PERSONALIZE_WORK_DIR", str(tmp_path_factory.mktemp("work")))
        env.setenv(f"AIRFLOW_CONN_{AlertInbox.CONN_ID.upper()}", alerts.connection)
        p = Pipeline(local_stack, sample_dir, tmp_path_factory.mktemp("pipeline"), env, alerts)
        p.s3.create_bucket(Bucket=BUCKET)
        p.config()
        yield p

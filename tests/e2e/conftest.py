"""e2e tier: the project's DAGs run with ``dag.test()`` against the local stack on generated sample data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.fixtures.pipeline import connection_json, derived_config

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "pz-e2e"


class Pipeline:
    """Writes pipeline configs for the DAGs and runs them with ``dag.test()``."""

    def __init__(self, stack, sample_dir: Path, work: Path, env: pytest.MonkeyPatch):
        self.stack, self.sample_dir, self.work, self.env = stack, sample_dir, work, env
        self.s3 = stack.client("s3")
        self.personalize = stack.client("personalize")

    def config(self, mutate=None, name: str = "pipeline.yaml") -> Path:
        """A config derived from include/pipeline.yaml (``mutate(dict)`` edits it); made the active one."""
        cfg = derived_config(self.sample_dir, self.work, BUCKET, mutate)
        path = self.work / name
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.env.setenv("PERSONALIZE_PIPELINE_CONFIG", str(path))
        return path

    def a_user(self) -> str:
        """A user ID that occurs in the sample interactions."""
        import csv

        with open(self.sample_dir / "interactions.csv") as fh:
            return next(csv.DictReader(fh))["customer"]

    def run(self, dag_id: str, conf: dict | None = None, **test_kwargs):
        """``dag.test()`` of a project DAG, parsed fresh so it sees the active config; returns the DagRun.
        ``test_kwargs`` go to ``dag.test`` (e.g. ``logical_date=None``: a run as an Asset triggers it)."""
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py"))
        assert not bag.import_errors, bag.import_errors
        return bag.get_dag(dag_id).test(run_conf=conf or {}, **test_kwargs)


@pytest.fixture(scope="session")
def pipeline(local_stack, sample_dir, airflow_db, tmp_path_factory):
    """The e2e files' shared Pipeline; the environment it sets is restored at the end of the session."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_json(local_stack))
        env.setenv("PERSONALIZE_WORK_DIR", str(tmp_path_factory.mktemp("work")))
        p = Pipeline(local_stack, sample_dir, tmp_path_factory.mktemp("pipeline"), env)
        p.s3.create_bucket(Bucket=BUCKET)
        p.config()
        yield p

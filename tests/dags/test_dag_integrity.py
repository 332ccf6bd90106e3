"""Every file in dags/ imports cleanly, imports nothing heavy at parse time, and follows the house rules.

Parse *time* depends on the machine's load, so it is a benchmark (`python -m benchmarks.dag_parse`), not an
assertion here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
HEAVY = ("pandas", "great_expectations", "pyarrow", "implicit", "personalize_local", "scipy")

# Like the dag-processor: Airflow imported once in a parent, each DAG file parsed in a forked child; the child
# reports which heavy top-level packages the parse added to sys.modules.
PROBE = f"HEAVY = {HEAVY!r}\n" + """
import importlib.util, json, os, sys
import airflow.sdk, airflow.providers.amazon.aws.hooks.s3, airflow.providers.amazon.aws.operators.base_aws  # noqa
assert not set(HEAVY) & set(sys.modules), sorted(set(HEAVY) & set(sys.modules))  # Airflow itself loads none
out = {}
for path in sys.argv[1:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        before = set(sys.modules)
        spec = importlib.util.spec_from_file_location("dagfile", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        loaded = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(HEAVY))
        os.write(w, json.dumps(loaded).encode())
        os._exit(0)
    os.close(w)
    out[path] = json.loads(os.read(r, 65536))
    os.waitpid(pid, 0)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def heavy_imports():
    """DAG file path -> heavy packages its parse imported."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, DAG_FILES)], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


KINDS = ("retrain", "batch_export", "teardown", "incremental", "delete_users")


@pytest.fixture(autouse=True)
def default_setup(monkeypatch):
    """The default setup whatever ran before on this worker (the e2e tier points these at its own configs)."""
    monkeypatch.delenv("PERSONALIZE_PIPELINE_CONFIG", raising=False)
    monkeypatch.delenv("PERSONALIZE_PIPELINES_DIR", raising=False)


def test_every_dag_file_imports_without_errors():
    """The default: one set of DAGs per config of include/pipelines/ (the demo's shop and media)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {f"personalize_{k}__{p}" for k in KINDS for p in ("shop", "media")}


def test_no_heavy_imports_at_parse_time(heavy_imports):
    assert set(heavy_imports) == set(map(str, DAG_FILES))
    for path, heavy in heavy_imports.items():
        assert heavy == [], f"{path} imports heavy modules at parse time: {heavy}"


def test_house_rules():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.dags
    for dag in bag.dags.values():
        assert dag.doc_md and dag.tags and not dag.catchup and dag.max_active_runs == 1, dag.dag_id
        for t in dag.tasks:
            assert t.owner == "data-platform", (dag.dag_id, t.task_id)
    for name in ("shop", "media"):
        assert bag.dags[f"personalize_teardown__{name}"].schedule is None, "teardown must be manual only"
        assert bag.dags[f"personalize_delete_users__{name}"].schedule is None, "deletions must be manual only"
        assert bag.dags[f"personalize_incremental__{name}"].schedule is None, "the incremental cadence is opt-in"
        for kind in ("retrain", "incremental", "delete_users"):  # one active run per dataset group
            tasks = bag.dags[f"personalize_{kind}__{name}"].task_dict
            assert tasks["release_group_lock"].is_teardown and tasks["acquire_group_lock"].is_setup
        retrain = bag.dags[f"personalize_retrain__{name}"]
        assert set(retrain.params) == {"force_import", "force_train", "solutions", "skip_gate", "dry_run"}

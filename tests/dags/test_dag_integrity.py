"""Every file in dags/ imports cleanly, parses in under a second, and follows the house rules."""

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

# Like the dag-processor: Airflow imported once in a parent, each DAG file parsed in a forked child (so each file
# pays for its own imports, ours included). Three parses per file; the median is reported.
PROBE = f"HEAVY = {HEAVY!r}\n" + """
import importlib.util, json, os, statistics, sys, time
import airflow.sdk, airflow.providers.amazon.aws.hooks.s3, airflow.providers.amazon.aws.operators.base_aws  # noqa
out = {}
for path in sys.argv[1:]:
    samples, heavy = [], set()
    for i in range(3):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            before = set(sys.modules)
            t = time.perf_counter()
            spec = importlib.util.spec_from_file_location("dagfile", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            took = time.perf_counter() - t
            loaded = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(HEAVY))
            os.write(w, json.dumps([took, loaded]).encode())
            os._exit(0)
        os.close(w)
        took, loaded = json.loads(os.read(r, 65536))
        os.waitpid(pid, 0)
        samples.append(took)
        heavy.update(loaded)
    out[path] = {"median": statistics.median(samples), "heavy": sorted(heavy)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def parse_report():
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, DAG_FILES)], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_dag_file_imports_without_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"personalize_retrain", "personalize_batch_export", "personalize_teardown"}


def test_parse_time_under_one_second_and_no_heavy_imports(parse_report):
    for path, report in parse_report.items():
        print(f"{Path(path).name}: parsed in {report['median'] * 1000:.0f} ms (median of 3)")
        assert report["median"] < 1.0, f"{path} took {report['median']:.2f}s to parse"
        assert report["heavy"] == [], f"{path} imports heavy modules at parse time: {report['heavy']}"


def test_house_rules():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    for dag in bag.dags.values():
        assert dag.doc_md and dag.tags and not dag.catchup and dag.max_active_runs == 1, dag.dag_id
        for t in dag.tasks:
            assert t.owner == "data-platform", (dag.dag_id, t.task_id)
    assert bag.dags["personalize_teardown"].schedule is None, "teardown must be manual only"
    retrain = bag.dags["personalize_retrain"]
    assert set(retrain.params) == {"force_import", "solutions", "skip_gate", "dry_run"}

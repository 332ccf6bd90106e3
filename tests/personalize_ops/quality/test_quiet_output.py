"""The prepare output people read: the project's own lines, no third-party INFO noise (Great Expectations, ...),
and the real data-quality counts (rows checked, rows breaking each rule), in the CLI and in a task's log."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from personalize_ops.sample_data import generate

from tests.personalize_ops.transform.dataprep_helpers import REPO

LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) (?P<logger>[\w.]+): ")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quiet")
    generate(root / "shop", 3000, 5)
    return root


def _rows(path: Path) -> int:
    with open(path, newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def test_prepare_cli_prints_counts_and_no_third_party_info(sample, tmp_path):
    env = {**os.environ, "PZ_SAMPLE_DIR": str(sample)}
    cmd = [sys.executable, "-m", "personalize_ops", "prepare", "--config", "include/pipelines/shop.yaml",
           "--out", str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    records = [m for line in output.splitlines() if (m := LOG_RECORD.match(line))]
    assert records, output  # the project's own lines stay
    foreign = [m.group(0) for m in records if not m.group("logger").startswith("personalize_ops")]
    assert not foreign, foreign
    assert "great_expectations" not in output and "Great Expectations" not in output
    # the counts: rows checked per dataset = the rows written, every row rule with its count
    table = proc.stdout.split("data quality")[1].splitlines()
    header = ["data quality", *table[0].split()]
    cells = {line.split("  ")[0]: line.split()[-3:] for line in table[2:] if line.strip() and "  " in line}
    assert header[1:] == ["interactions", "items", "users"], table[:2]
    written = [_rows(tmp_path / "out" / k / f"{k}.csv") for k in header[1:]]
    assert [int(c.replace(",", "")) for c in cells["rows checked"]] == written and min(written) > 0
    assert cells["id_null"] == ["0", "0", "0"] and cells["timestamp_milliseconds"] == ["0", "0", "-"]
    results = json.loads((tmp_path / "out/interactions/interactions.gx_results.json").read_text())
    assert results["checks"]["rows_checked"] == written[0]
    assert {r["rule"] for r in results["checks"]["rules"]} >= {"id_null", "null_not_allowed", "timestamp_out_of_window"}
    assert {t["rule"]: t["observed"] for t in results["checks"]["totals"]}["min_interactions"] == written[0]


def test_task_log_has_counts_and_no_third_party_info(sample, tmp_path):
    """As in a task: the root logger at INFO (Airflow's default), the prepare task's own function."""
    script = textwrap.dedent("""
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from personalize_ops.config import load_config
        from personalize_ops.pipeline.prepare_stage import prepare_and_stage
        cfg = load_config("include/pipelines/shop.yaml")
        for name in ("interactions", "items"):
            prepare_and_stage(cfg, name, "manual__1", dry_run=True)
    """)
    env = {**os.environ, "PZ_SAMPLE_DIR": str(sample), "PERSONALIZE_WORK_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [m for line in proc.stdout.splitlines() if (m := LOG_RECORD.match(line))]
    foreign = [m.group(0) for m in records if not m.group("logger").startswith("personalize_ops")]
    assert not foreign, foreign
    checks = [line for line in proc.stdout.splitlines() if line.startswith("data quality: ")]
    assert len(checks) == 2, proc.stdout
    assert all(re.search(r"row rules checked [1-9][\d,]* rows: 0 unexpected", line) for line in checks), checks

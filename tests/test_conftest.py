"""tests/conftest.py works with and without xdist (the documented single-process command uses -p no:xdist)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("plugin_args", [["-p", "no:xdist"], ["-n", "1", "--dist", "loadgroup"]])
def test_suite_collects_and_runs(plugin_args):
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin_args, "-q", "tests/test_skeleton.py"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "INTERNALERROR" not in done.stdout, done.stdout[-3000:]
    assert re.search(r"\b\d+ passed in\b", done.stdout) and not re.search(r"failed|error", done.stdout), done.stdout


def test_long_groups_name_real_groups_and_are_scheduled_first():
    """Each entry of LONG_GROUPS is a group that exists (a renamed file would silently lose its place), and the
    collection `make test` hands xdist starts with them, in that order."""
    from tests.conftest import LONG_GROUPS

    for group in LONG_GROUPS:
        assert group == "e2e" or (ROOT / "tests" / group).is_file(), group
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "--collect-only", "-q",
           "tests/test_skeleton.py", "tests/e2e/test_make_demo.py", "tests/e2e/test_10_retrain.py"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    files = [line.split("::")[0] for line in done.stdout.splitlines() if "::" in line]
    order = list(dict.fromkeys(files))
    assert order == ["tests/e2e/test_10_retrain.py", "tests/e2e/test_make_demo.py", "tests/test_skeleton.py"], order

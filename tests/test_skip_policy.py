"""The CI skip policy (tests/fixtures/skip_policy.py), run by pytest in a subprocess on tiny test files.

The files sit at paths that give them the node IDs the policy judges: one at a node ID the tiny project's
pytest.ini allow-lists, one at a node ID that is not on the list.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LISTED = "tests/test_docker_compose.py::test_docker_compose_config"
WHY = "no Docker engine on this machine class"
SKIPPING = "import pytest\n\n\ndef {name}():\n    pytest.skip('{why}')\n\n\ndef test_passes():\n    assert True\n"


def _project(tmp_path: Path, unlisted: bool) -> Path:
    path, name = LISTED.split("::")
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nallowed_skips =\n    {LISTED}: {WHY}\n")
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(SKIPPING.format(name=name, why="no docker here"))
    if unlisted:
        (tmp_path / "tests" / "test_unlisted.py").write_text(SKIPPING.format(name="test_gone", why="service absent"))
    return tmp_path


def _pytest(project: Path, ci: str | None, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    cmd = [sys.executable, "-m", "pytest", "-p", "tests.fixtures.skip_policy", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_unlisted_skip_fails_a_ci_run_and_is_named(tmp_path):
    done = _pytest(_project(tmp_path, unlisted=True), "true", "-p", "no:xdist")
    assert done.returncode == 1, done.stdout
    assert "FORBIDDEN skip: tests/test_unlisted.py::test_gone: service absent" in done.stdout
    assert f"allowed skip: {LISTED}" in done.stdout
    assert "FORBIDDEN skip: " + LISTED not in done.stdout
    # the allow-list and its reasons are printed at the start
    header = done.stdout.split("collected", 1)[0]
    assert f"{LISTED}: {WHY}" in header


def test_unlisted_skip_fails_a_ci_run_under_xdist(tmp_path):
    """make test runs on xdist workers: the controller sees their skips and fails the run."""
    done = _pytest(_project(tmp_path, unlisted=True), "true", "-n", "2")
    assert done.returncode == 1, done.stdout
    assert "FORBIDDEN skip: tests/test_unlisted.py::test_gone" in done.stdout


def test_listed_skip_passes_a_ci_run(tmp_path):
    done = _pytest(_project(tmp_path, unlisted=False), "true", "-p", "no:xdist")
    assert done.returncode == 0, done.stdout
    assert f"allowed skip: {LISTED}" in done.stdout and "FORBIDDEN" not in done.stdout
    assert "1 passed, 1 skipped" in done.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_skips_do_not_fail_outside_ci(tmp_path, ci):
    done = _pytest(_project(tmp_path, unlisted=True), ci, "-p", "no:xdist")
    assert done.returncode == 0, done.stdout
    assert "2 passed, 2 skipped" in done.stdout
    assert "skip policy" not in done.stdout and "allow-list" not in done.stdout


def test_module_level_skip_counts_too(tmp_path):
    project = _project(tmp_path, unlisted=False)
    module_skip = "import pytest\n\npytest.skip('no module', allow_module_level=True)\n"
    (project / "tests" / "test_module.py").write_text(module_skip)
    done = _pytest(project, "true", "-p", "no:xdist")
    assert done.returncode == 1, done.stdout
    assert "FORBIDDEN skip: tests/test_module.py: no module" in done.stdout

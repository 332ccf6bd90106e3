"""The project is an installable distribution, and Airflow's plugins/ on sys.path still works without it.

``make install`` installs it editable (``uv pip install --no-deps --no-build-isolation -e .``); these tests run the
venv's Python in subprocesses with no PYTHONPATH, from a directory outside the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "GX_ANALYTICS_ENABLED": "False", **extra}


def _run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=_env(**extra), capture_output=True, text=True, timeout=300)


def test_python_m_personalize_ops_runs_from_any_directory(tmp_path):
    config = ROOT / "include" / "pipelines" / "shop.yaml"
    done = _run([sys.executable, "-m", "personalize_ops", "validate-config", str(config)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK - dataset group" in done.stdout


def test_console_scripts(tmp_path):
    ops = _run([str(BIN / "personalize-ops"), "--help"], cwd=tmp_path)
    assert ops.returncode == 0 and "validate-config" in ops.stdout, ops.stderr
    local = _run([str(BIN / "personalize-local"), "--help"], cwd=tmp_path)
    assert local.returncode == 0 and "serve" in local.stdout, local.stderr


def test_installed_modules_are_the_working_tree(tmp_path):
    """Editable: what the venv imports is the repository's source (plugins/ and personalize_local/)."""
    modules = "personalize_ops, personalize_ui, personalize_ui_app, personalize_local"
    code = f"import {modules}; print('\\n'.join(m.__file__ for m in ({modules})))"
    done = _run([sys.executable, "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    files = [Path(line) for line in done.stdout.split()]
    assert [f.relative_to(ROOT).parts[0] for f in files] == ["plugins", "plugins", "plugins", "personalize_local"]


def test_plugins_folder_on_sys_path_without_the_installed_package(tmp_path):
    """What Airflow does: plugins/ on sys.path. ``-S`` skips site-packages' .pth files (so the editable install's
    finder is absent); the dependencies are importable from their folder, put on PYTHONPATH."""
    code = (
        "import sys, personalize_ops.hook, personalize_ops.operators, personalize_ops.config, personalize_ui\n"
        "assert not any('editable' in type(f).__module__ for f in sys.meta_path), sys.meta_path\n"
        "print(personalize_ops.__file__)"
    )
    path = os.pathsep.join([str(ROOT / "plugins"), sysconfig.get_paths()["purelib"]])
    done = _run([sys.executable, "-S", "-c", code], cwd=tmp_path, PYTHONPATH=path)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "plugins" / "personalize_ops" / "__init__.py"

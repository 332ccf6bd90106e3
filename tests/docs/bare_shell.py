"""A fresh copy of the repository and a bare bash to run documented commands in, as a new user would.

The copy holds the repository's files (tracked, and new ones not ignored), nothing generated; its `.venv` links to
the installed environment, so `make` finds it up to date and installs nothing. Commands run through
`env -i HOME=<empty dir> PATH=/usr/bin:/bin bash -c ...`: none of make's exports, no activated venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
STAMP = VENV / ".installed"
DEV_STAMP = VENV / ".installed-dev"
# What the Makefile's two install stamps depend on (its `$(STAMP):` and `$(DEV_STAMP):` rules).
MAKE_INPUTS = ("requirements-uv.txt", "requirements.txt", "requirements-local.txt", "requirements-dev.txt",
               "requirements-spark.txt", "pyproject.toml", "Makefile")  # fmt: skip


def repository_files() -> list[str]:
    """The repository's own files: tracked, plus new ones git does not ignore."""
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return sorted({f for f in done.stdout.split("\0") if f and (ROOT / f).is_file()})


def fresh_copy(dest: Path) -> Path:
    """Copies the repository to ``dest/repo`` (with ``dest/home`` as an empty HOME); returns the copy."""
    repo, home = dest / "repo", dest / "home"
    for rel in repository_files():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    home.mkdir(parents=True, exist_ok=True)
    (repo / ".venv").symlink_to(VENV, target_is_directory=True)
    if STAMP.exists():  # the copy's make inputs are not newer than the installed environment
        stamp = min(s.stat().st_mtime for s in (STAMP, DEV_STAMP) if s.exists()) - 1
        for rel in MAKE_INPUTS:
            os.utime(repo / rel, (stamp, stamp))
    return repo


def bare_bash(script: str, repo: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """``script`` in a bare bash at the copy's root; ``env`` adds variables (none by default)."""
    extra = [f"{k}={v}" for k, v in env.items()]
    return subprocess.run(
        ["/usr/bin/env", "-i", f"HOME={repo.parent / 'home'}", "PATH=/usr/bin:/bin", *extra, "bash", "-c", script],
        cwd=repo, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def assert_make_installs_nothing(repo: Path) -> None:
    """Guards the shared environment: `make <target>` in the copy must find `.venv` up to date."""
    assert STAMP.exists() and DEV_STAMP.exists(), f"{STAMP} or {DEV_STAMP} is missing: run `make install` first"
    done = bare_bash("make -q .venv/.installed .venv/.installed-dev", repo)
    assert done.returncode == 0, f"make would reinstall .venv from the copy: {done.stdout}{done.stderr}"


def output(done: subprocess.CompletedProcess) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"

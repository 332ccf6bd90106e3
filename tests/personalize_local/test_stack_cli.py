"""`python -m personalize_local stack up/down`: loopback only, pid files, nothing left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "personalize_local", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_stack_up_binds_loopback_only_and_down_leaves_no_process(tmp_path):
    up = cli("stack", "up", "--dir", str(tmp_path))
    assert up.returncode == 0, up.stderr
    endpoints = json.loads((tmp_path / "endpoints.json").read_text())
    pids = {name: int((tmp_path / f"{name}.pid").read_text()) for name in ("moto", "personalize")}
    try:
        with urllib.request.urlopen(endpoints["personalize"] + "/_admin/health", timeout=10) as resp:
            assert json.loads(resp.read()) == {"status": "ok"}
        procs = [psutil.Process(pid) for pid in pids.values()]
        procs += [child for p in procs for child in p.children(recursive=True)]
        listening = [c.laddr for p in procs for c in p.net_connections(kind="inet") if c.status == "LISTEN"]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
        assert cli("stack", "up", "--dir", str(tmp_path)).returncode == 1  # refuses to start twice
    finally:
        down = cli("stack", "down", "--dir", str(tmp_path))
    assert down.returncode == 0 and "moto" in down.stdout and "personalize" in down.stdout, down
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    leftovers = [
        p.pid for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
    assert not (tmp_path / "endpoints.json").exists() and not list(tmp_path.glob("*.pid"))


def test_a_bad_account_id_is_refused_before_anything_starts(tmp_path, capsys, monkeypatch):
    from personalize_local.__main__ import ACCOUNT_ID_ENV, main

    for argv, env in ((["--account-id", "12ab"], None), ([], "99")):
        if env:
            monkeypatch.setenv(ACCOUNT_ID_ENV, env)
        with pytest.raises(SystemExit) as exit_:
            main(["serve", "--data-dir", str(tmp_path / "data"), *argv])
        assert exit_.value.code == 2
        assert "is not an AWS account id (12 digits" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_free_port_is_free_and_below_the_range_of_outgoing_connections():
    """A client's outgoing connection cannot take the port between the pick and a slow server's bind."""
    import socket

    from personalize_local.stack import _ephemeral_low, free_port

    ports = {free_port() for _ in range(20)}
    assert all(1024 <= p < _ephemeral_low() for p in ports) and len(ports) > 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))

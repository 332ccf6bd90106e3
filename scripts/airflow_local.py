"""`make airflow` / `make airflow-stop`: the Airflow UI on this machine, natively (no Docker).

    python scripts/airflow_local.py up   [--dir DIR] [--port 8080] [--events 50000] [--config FILE]
    python scripts/airflow_local.py down [--dir DIR]
    python scripts/airflow_local.py status [--dir DIR]     # running | partial | stopped

`up` starts, in this order: the local stack (moto S3 + personalize_local), the demo's sample data and S3 bucket,
Airflow's metadata DB (SQLite, migrated), then Airflow's api-server, scheduler, dag-processor and triggerer
(LocalExecutor; deferrable waits on; the `aws_default` connection points at the local stack). It returns once the
API answers and every component reports healthy, and prints the URL, and the admin password the first time Airflow
generates it. A second `up` while everything runs says so and prints the URL again. `down` stops all of it (each
process group, SIGTERM then SIGKILL) and removes the pid files; the data (metadata DB, logs, password file,
personalize_local's state) stays in DIR for the next `up`; delete DIR to start afresh.

Everything lives in DIR (default `.airflow-local/` in the repository): `<component>.pid`, `logs/`, `home/`
(AIRFLOW_HOME), `stack/` (the local stack's own pid files, endpoints and data), `sample-data/`, `work/`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from personalize_local.stack import LocalStack, free_port, log_tail, running_from_dir, stop_from_dir  # noqa: E402

HOST = "127.0.0.1"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTH = ("metadatabase", "scheduler", "triggerer", "dag_processor")
BUCKET = "personalize-demo"  # the shop demo config's default bucket (include/pipelines/shop.yaml)
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"  # Airflow's default name; it writes the password


class Deployment:
    """One local deployment, described by its state directory."""

    def __init__(self, directory: Path, port: int = 8080, events: int = 50_000, config: Path | None = None):
        self.dir = directory.resolve()
        self.port = port
        self.events = events
        self.config = (config or ROOT / "include" / "pipelines" / "shop.yaml").resolve()
        self.home = self.dir / "home"
        self.logs = self.dir / "logs"
        self.stack_dir = self.dir / "stack"
        self.state_file = self.dir / "deployment.json"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.home / PASSWORDS_FILE

    # -- environment -------------------------------------------------------------------------------------------
    def env(self, endpoints: dict, log_ports: tuple[int, int]) -> dict:
        conn = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {
                "region_name": "us-east-1",
                "endpoint_url": endpoints["personalize"],
                "service_config": {"s3": {"endpoint_url": endpoints["s3"]}},
            },
        }
        # AIRFLOW__* settings of the caller pass through (e.g. AIRFLOW__CORE__PARALLELISM); AWS_* never do: dummy keys.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_HOME", "AIRFLOW_CONN_", "AWS_"))}
        env.update(
            {
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__HOST": HOST,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_ports[1]),
                "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "GX_ANALYTICS_ENABLED": "False",
                "PERSONALIZE_PIPELINE_CONFIG": str(self.config),
                "PERSONALIZE_WORK_DIR": str(self.dir / "work"),
                "PZ_SAMPLE_DIR": str(self.dir / "sample-data"),
                "PZ_BUCKET": BUCKET,
                "PZ_EXPORT_DIR": str(self.dir / "work" / "exports"),
            }
        )
        env.setdefault("PERSONALIZE_POLL_SECONDS", "2")  # between status checks; the local stack settles in ~1 s
        env.setdefault("AIRFLOW__CORE__PARALLELISM", "8")  # task processes at once: a laptop's worth
        # A task's supervisor notices its process has exited within this many seconds (Airflow's default: 5). A
        # deferred task whose exit is reported that late can already be running again, resumed by a trigger that
        # fired at once against the local stack, and the scheduler then fails it ("finished with state success, but
        # the task instance's state attribute is running") into a retry 30 s later.
        env.setdefault("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")
        return env

    # -- what runs ---------------------------------------------------------------------------------------------
    def running(self) -> dict[str, int]:
        """{component: pid} of the Airflow processes recorded in DIR that are still alive."""
        alive = {}
        for name in COMPONENTS:
            if pid := _recorded_pid(self.dir / f"{name}.pid"):
                alive[name] = pid
        return alive

    def status(self) -> str:
        airflow, stack = self.running(), running_from_dir(self.stack_dir)
        if not airflow and not stack:
            return "stopped"
        return "running" if len(airflow) == len(COMPONENTS) and len(stack) == 2 else "partial"

    # -- up ------------------------------------------------------------------------------------------------------
    def up(self) -> int:
        state = self.status()
        if state == "running":
            url = json.loads(self.state_file.read_text())["url"] if self.state_file.exists() else self.url
            print(f"Airflow is already running from {self.dir}: {url}")
            print(f"login: admin; password in {self.password_file}. Stop it with: make airflow-stop")
            return 0
        if state == "partial":
            print(f"part of the deployment in {self.dir} is no longer running; stopping the rest first")
            self.down(quiet=True)
        self._clear_stale_pid_files()
        if not _port_free(self.port):
            print(
                f"port {self.port} on {HOST} is already in use by another program.\n"
                f"Stop that program, or choose another port: make airflow PORT={self.port + 1}",
                file=sys.stderr,
            )
            return 1
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.home.mkdir(exist_ok=True)
        try:
            self._start()
        except BaseException as exc:
            self.down(quiet=True)  # first: nothing may outlive a failed start, whatever happens while reporting it
            print(f"\nstarting failed, stopped what was started: {exc}", file=sys.stderr)
            return 1
        print(f"\nAirflow is up: {self.url}")
        shown = self.home / "password-shown"  # next to the password file: a new home, a new password, shown
        if not shown.exists():
            password = json.loads(self.password_file.read_text())["admin"]
            print(f"login: admin / {password}   (generated by Airflow, shown once; kept in {self.password_file})")
            shown.touch()
        else:
            print(f"login: admin; password in {self.password_file}")
        print(f"logs: {self.logs}    stop everything: make airflow-stop")
        return 0

    def _start(self) -> None:
        step(f"local stack (moto S3 + personalize_local) in {self.stack_dir}")
        stack = LocalStack(self.stack_dir, min_delay=0.2).start()
        stack.procs.clear()  # they keep running after this process ends; `down` stops them via their pid files
        endpoints = {"s3": stack.s3_endpoint, "personalize": stack.endpoint}
        env = self.env(endpoints, (free_port(), free_port()))

        sample = self.dir / "sample-data" / "shop"  # PZ_SAMPLE_DIR/shop, where the shop config reads it
        step(f"sample data ({self.events} interactions, seeded) in {sample}")
        if not (sample / "interactions.csv").exists():
            self._run(env, [sys.executable, "-m", "personalize_ops", "generate-sample", "--interactions",
                            str(self.events), "--out", str(sample), "--seed", "42"], "sample-data")  # fmt: skip
        step(f"pipeline config {self.config}")
        self._run(env, [sys.executable, "-m", "personalize_ops", "validate-config", str(self.config)], "config")

        step(f"S3 bucket s3://{BUCKET} (moto)")
        stack.client("s3").create_bucket(Bucket=BUCKET)

        step(f"Airflow metadata DB (SQLite) in {self.home}")
        self._run(env, ["airflow", "db", "migrate"], "db-migrate")

        step(f"Airflow api-server, scheduler, dag-processor, triggerer on {self.url}")
        procs: dict[str, subprocess.Popen] = {}
        for name in COMPONENTS:
            args = ["api-server", "--host", HOST, "--port", str(self.port)] if name == "api-server" else [name]
            with open(self.logs / f"{name}.log", "ab") as log:
                proc = subprocess.Popen(
                    ["airflow", *args], env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            (self.dir / f"{name}.pid").write_text(str(proc.pid))
            procs[name] = proc
        self.state_file.write_text(json.dumps({"url": self.url, "port": self.port, **endpoints}, indent=1))
        self._wait_healthy(procs, timeout=float(os.environ.get("AIRFLOW_LOCAL_START_TIMEOUT", "300")))

    def _run(self, env: dict, cmd: list[str], name: str) -> None:
        log = self.logs / f"{name}.log"
        with open(log, "wb") as out:
            done = subprocess.run(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        if done.returncode:
            shown = ["python", *cmd[1:]] if cmd[0] == sys.executable else cmd
            raise RuntimeError(f"`{' '.join(shown)}` failed (log: {log}):\n{log_tail(log, 25)}")

    def _wait_healthy(self, procs: dict[str, subprocess.Popen], timeout: float) -> None:
        """Until the health endpoint reports every part healthy; fails at once if a component exits.

        Liveness comes from the processes' own exit status, not from their command lines: Airflow retitles its
        processes while they start, and a command line read in the middle of that is empty.
        """
        deadline = time.monotonic() + timeout
        health: dict = {}
        while time.monotonic() < deadline:
            for name, proc in procs.items():
                if (code := proc.poll()) is not None:
                    raise RuntimeError(f"airflow {name} exited with code {code}; {self.logs / name}.log ends with:\n"
                                       + log_tail(self.logs / f"{name}.log", 25))  # fmt: skip
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as resp:
                    health = json.loads(resp.read())
            except (OSError, ValueError):
                health = {}
            if all((health.get(part) or {}).get("status") == "healthy" for part in HEALTH):
                return
            time.sleep(1)
        raise TimeoutError(f"Airflow did not report healthy within {timeout:.0f}s ({health}); logs in {self.logs}")

    # -- down ----------------------------------------------------------------------------------------------------
    def down(self, quiet: bool = False) -> int:
        stopped = []
        for name in reversed(COMPONENTS):
            pid_file = self.dir / f"{name}.pid"
            if pid := _recorded_pid(pid_file):
                _terminate_group(pid)
                stopped.append(f"airflow {name} (pid {pid})")
            pid_file.unlink(missing_ok=True)
        stopped += stop_from_dir(self.stack_dir) if self.stack_dir.exists() else []
        self.state_file.unlink(missing_ok=True)
        if not quiet:
            print("stopped: " + (", ".join(stopped) if stopped else f"nothing was running from {self.dir}"))
        return 0

    def _clear_stale_pid_files(self) -> None:
        for name in COMPONENTS:
            (self.dir / f"{name}.pid").unlink(missing_ok=True)
        if self.stack_dir.exists():
            stop_from_dir(self.stack_dir)


def step(text: str) -> None:
    print(f"== {text}", flush=True)


def _recorded_pid(path: Path) -> int | None:
    """The pid in `path` if that process still runs: an airflow process started before the file was written.

    (Airflow retitles its processes, e.g. "airflow api_server -- host:...", so the command line is only checked
    for "airflow", and read again when it comes back empty, as it does in the middle of a retitle; the start time
    rules out a pid the system has since given to another process.)
    """
    import psutil

    try:
        pid = int(path.read_text().strip())
        proc = psutil.Process(pid)
        if proc.create_time() > path.stat().st_mtime + 1 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        for _ in range(20):
            if cmdline := " ".join(proc.cmdline()).strip():
                return pid if "airflow" in cmdline else None
            time.sleep(0.05)
        return None
    except (OSError, ValueError, psutil.Error):
        return None


def _terminate_group(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM the process group led by `pid` (a component and the processes it started), SIGKILL what stays."""
    import psutil

    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(pid, psutil):
            time.sleep(0.2)
        if not _group_alive(pid, psutil):
            return


def _group_alive(pgid: int, psutil) -> bool:
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def _port_free(port: int) -> bool:
    """Nothing listens on HOST:port. (SO_REUSEADDR as uvicorn sets it: connections of an earlier server still in
    TIME_WAIT do not count; a listening socket does.)"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _locked(directory: Path):
    """One `up`/`down` at a time per state directory."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/airflow_local.py", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=ROOT / ".airflow-local", help="state directory")
    parser.add_argument("--port", type=int, default=8080, help="the UI's port on 127.0.0.1")
    parser.add_argument("--events", type=int, default=50_000, help="interactions in the generated sample data")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="pipeline config (default: the demo shop, include/pipelines/shop.yaml)",
    )
    args = parser.parse_args(argv)
    deployment = Deployment(args.dir, args.port, args.events, args.config)
    with _locked(deployment.dir):
        if args.action == "up":
            return deployment.up()
        if args.action == "down":
            return deployment.down()
        print(deployment.status())
        return 0


if __name__ == "__main__":
    sys.exit(main())

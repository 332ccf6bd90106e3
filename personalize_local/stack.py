"""The local stack: moto server (S3) + this service, as background processes on free 127.0.0.1 ports.

`LocalStack(dir)` starts both (pid files, logs, `endpoints.json` in `dir`), waits until they answer, and
stops them (whole process group, SIGTERM then SIGKILL). `stop_from_dir(dir)` stops a stack started by an
earlier process (`python -m personalize_local stack down --dir DIR`).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PROCESSES = {"moto": "moto.server", "personalize": "personalize_local"}


def airflow_connection(endpoint: str, s3_endpoint: str | None = None, region: str = "us-east-1") -> dict:
    """The Airflow AWS connection (as ``AIRFLOW_CONN_*`` JSON holds it) that sends Personalize, Personalize Runtime
    and Personalize Events to ``endpoint`` and S3 to ``s3_endpoint`` (omitted: every service to ``endpoint``),
    with dummy keys. The only difference from a connection to AWS is ``endpoint_url`` / ``service_config``."""
    extra: dict = {"region_name": region, "endpoint_url": endpoint}
    if s3_endpoint:
        extra["service_config"] = {"s3": {"endpoint_url": s3_endpoint}}
    return {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}


def airflow_connection_json(endpoint: str, s3_endpoint: str | None = None, region: str = "us-east-1") -> str:
    """:func:`airflow_connection` as the JSON an ``AIRFLOW_CONN_<ID>`` environment variable takes."""
    return json.dumps(airflow_connection(endpoint, s3_endpoint, region))


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections (Linux default 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = HOST) -> int:
    """A port free on ``host`` now, picked below the range the kernel gives outgoing connections: a server started
    seconds later (Airflow's api-server takes about 20 s) does not find it taken by a client's connection."""
    low = _ephemeral_low()
    for _ in range(100):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # everything tried was taken: any port the kernel has
        sock.bind((host, 0))
        return sock.getsockname()[1]


class LocalStack:
    """Context manager owning one moto server and one personalize_local service."""

    def __init__(
        self,
        directory: str | Path,
        min_delay: float = 0.2,
        faults: dict | None = None,
        ready_timeout: float = 60.0,
        account_id: str | None = None,
        check_roles: bool = False,
        auto_training_seconds_per_day: float | None = None,
        attribution_publish_seconds: float | None = None,
    ):
        self.dir = Path(directory).resolve()
        self.data_dir = self.dir / "data"
        self.min_delay = min_delay
        self.faults = faults
        self.account_id = account_id  # --account-id of the service (None: its default)
        self.check_roles = check_roles  # roleArn must exist in the moto server's IAM (--iam-endpoint)
        self.auto_training_seconds_per_day = auto_training_seconds_per_day  # None: real time (86400)
        self.attribution_publish_seconds = attribution_publish_seconds  # None: the service's default (900)
        self.service_args: list[str] = []  # extra `serve` options, e.g. ["--max-resumes", "1"]
        self.ready_timeout = ready_timeout
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.ports['moto']}"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.ports['personalize']}"

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- processes ----------------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = {"moto": free_port(), "personalize": free_port()}
        try:
            self._spawn("moto", [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.ports["moto"])])
            self._wait_ready("moto", self.s3_endpoint + "/")
            self.start_service()
        except BaseException:
            self.stop()
            raise
        (self.dir / "endpoints.json").write_text(json.dumps({"s3": self.s3_endpoint, "personalize": self.endpoint}))
        return self

    def start_service(self) -> None:
        """(Re)start the personalize_local process on its port, over the same data dir."""
        cmd = [
            sys.executable,
            "-m",
            "personalize_local",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.ports["personalize"]),
            "--data-dir",
            str(self.data_dir),
            "--s3-endpoint",
            self.s3_endpoint,
            "--min-delay",
            str(self.min_delay),
        ]
        if self.faults:
            cmd += ["--faults", json.dumps(self.faults)]
        if self.account_id:
            cmd += ["--account-id", self.account_id]
        if self.check_roles:
            cmd += ["--iam-endpoint", self.s3_endpoint]  # moto serves IAM on the same port
        if self.auto_training_seconds_per_day is not None:
            cmd += ["--auto-training-seconds-per-day", str(self.auto_training_seconds_per_day)]
        if self.attribution_publish_seconds is not None:
            cmd += ["--attribution-publish-seconds", str(self.attribution_publish_seconds)]
        cmd += self.service_args
        self._spawn("personalize", cmd)
        self._wait_ready("personalize", self.endpoint + "/_admin/health")

    def kill_service(self) -> None:
        """SIGKILL the service (crash simulation); `start_service()` brings it back."""
        proc = self.procs.pop("personalize")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.procs)[::-1]:
            _terminate_group(self.procs.pop(name))
            (self.dir / f"{name}.pid").unlink(missing_ok=True)
        (self.dir / "endpoints.json").unlink(missing_ok=True)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        env.setdefault("AWS_ACCESS_KEY_ID", "testing")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
        self.procs[name] = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        log.close()
        (self.dir / f"{name}.pid").write_text(str(self.procs[name].pid))

    def _wait_ready(self, name: str, url: str) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {self.procs[name].returncode}; see {self.dir / name}.log:\n"
                    + log_tail(self.dir / f"{name}.log")
                )
            try:
                urllib.request.urlopen(url, timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not answer {url} within {self.ready_timeout}s; see {self.dir / name}.log")

    # -- clients and admin ----------------------------------------------------------------------------------
    def airflow_connection_json(self) -> str:
        """The Airflow AWS connection to this stack (:func:`airflow_connection_json`)."""
        return airflow_connection_json(self.endpoint, self.s3_endpoint)

    def client(self, service_name: str, region_name: str = "us-east-1", **config):
        """A boto3 client for "personalize", "personalize-runtime", "personalize-events" (the service answers
        for the region it is signed for), or "s3" and "iam" (the moto server)."""
        import boto3
        from botocore.config import Config

        url = self.s3_endpoint if service_name in ("s3", "iam") else self.endpoint
        return boto3.client(
            service_name,
            endpoint_url=url,
            region_name=region_name,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**config) if config else None,
        )

    def admin(self, path: str, payload: dict | None = None) -> dict:
        """GET `path`, or POST `payload` to it as JSON (the admin routes that change state take POST only)."""
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        req = urllib.request.Request(
            self.endpoint + path, data=data, headers=headers, method="POST" if data is not None else "GET"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def set_faults(self, **faults) -> dict:
        """e.g. set_faults(throttle_fraction=0.3, seed=1) or set_faults(fail_next_import="reason")."""
        return self.admin("/_admin/faults", faults)

    def clear_faults(self) -> None:
        self.admin("/_admin/faults/clear", {})

    @contextlib.contextmanager
    def faults_set(self, **faults):
        """Faults active for a `with` block only (cleared afterwards, even on failure)."""
        self.set_faults(**faults)
        try:
            yield self
        finally:
            self.clear_faults()

    def describe(self, arn: str) -> dict:
        """GET /_admin/describe?arn=...: the Describe* response of any ARN."""
        from urllib.parse import quote

        return self.admin("/_admin/describe?arn=" + quote(arn, safe=""))


def _terminate_group(proc_or_pid, timeout: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it if still there after `timeout`; reap if it is our child."""
    pid = proc_or_pid if isinstance(proc_or_pid, int) else proc_or_pid.pid
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(proc_or_pid, wait):
            break


def _wait_gone(proc_or_pid, timeout: float) -> bool:
    if not isinstance(proc_or_pid, int):
        try:
            proc_or_pid.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    import psutil

    try:
        psutil.Process(proc_or_pid).wait(timeout=timeout)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        return False
    return True


def running_from_dir(directory: str | Path) -> dict[str, int]:
    """{name: pid} of the stack processes recorded in `directory` that are still alive."""
    import psutil

    alive = {}
    for name, marker in PROCESSES.items():
        pid_file = Path(directory) / f"{name}.pid"
        try:
            pid = int(pid_file.read_text().strip())
            if marker in " ".join(psutil.Process(pid).cmdline()):
                alive[name] = pid
        except (OSError, ValueError, psutil.Error):
            continue
    return alive


def stop_from_dir(directory: str | Path) -> list[str]:
    """Stop the stack whose pid files are in `directory`; returns what was stopped."""
    import psutil

    directory = Path(directory)
    stopped = []
    for name, marker in PROCESSES.items():
        pid_file = directory / f"{name}.pid"
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text().strip())
        try:
            if marker in " ".join(psutil.Process(pid).cmdline()):
                _terminate_group(pid)
                stopped.append(f"{name} (pid {pid})")
        except psutil.NoSuchProcess:
            pass
        pid_file.unlink(missing_ok=True)
    (directory / "endpoints.json").unlink(missing_ok=True)
    return stopped


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ("" when it cannot be read), for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

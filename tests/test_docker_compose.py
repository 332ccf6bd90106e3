"""Static checks of docker-compose.yaml + docker/ (no Docker engine on the test machines).

What `docker compose up` would catch late is checked here: topology, healthchecks, start order, the `local`
profile, ports on 127.0.0.1, the AWS connection (parsed by Airflow itself), and that every environment
variable our code reads (grepped from plugins/, dags/ and the include/ configs at test time) is set.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
LOCAL = {"moto", "personalize-local"}
# Read by our code but deliberately not set, with the reason.
NOT_SET = {"AWS_ENDPOINT_URL": "fallback of AWS_ENDPOINT_URL_S3 (set); would redirect every AWS service"}
LOCAL_ONLY = {"AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def env_file(target: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / f"docker/{target}.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return out


def env_vars_read_by_code() -> dict[str, str]:
    """Names of env vars read in plugins/ and dags/ (Python) and expanded in include/*.yaml, -> where."""
    found = {}
    py = re.compile(
        r"""(?:environ\.get|getenv|environ\.setdefault|environ\.pop)\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"""
        r"""|environ\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\]"""
    )
    for path in [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").rglob("*.py")]:
        for m in py.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(m.group(1) or m.group(2), str(path.relative_to(ROOT)))
    for path in (ROOT / "include").rglob("*.y*ml"):
        for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", path.read_text(encoding="utf-8")):
            found.setdefault(m.group(1), str(path.relative_to(ROOT)))
    return found


def dockerfile_env() -> set[str]:
    text = (ROOT / "docker/Dockerfile").read_text()
    return set(re.findall(r"^ENV\s+([A-Z_][A-Z0-9_]*)=", text, re.M))


def test_all_services_of_the_airflow3_topology_are_there():
    assert set(SERVICES) == {"postgres", "redis", "airflow-init", *AIRFLOW, *LOCAL}
    for name, command in AIRFLOW.items():
        assert SERVICES[name]["command"] == command
        build = {"context": ".", "dockerfile": "docker/Dockerfile", "target": "airflow"}
        assert SERVICES[name]["build"] == build
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] == "true"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) >= int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
    assert SERVICES["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"


def test_image_is_built_from_the_pinned_airflow_with_our_requirements():
    dockerfile = (ROOT / "docker/Dockerfile").read_text()
    pinned = re.search(r"^apache-airflow==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert f"ARG AIRFLOW_VERSION={pinned}" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION} AS airflow" in dockerfile
    assert "-r /tmp/requirements.txt" in dockerfile and "-r /tmp/requirements-local.txt" in dockerfile
    targets = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, re.M))
    assert {s["build"]["target"] for s in SERVICES.values() if "build" in s} <= targets


def test_healthchecks_and_start_order():
    for name, svc in SERVICES.items():
        if name != "airflow-init":
            assert svc["healthcheck"]["test"], name
    for name in AIRFLOW:
        deps = SERVICES[name]["depends_on"]
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy", name
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["personalize-local"] == {"condition": "service_healthy", "required": False}, name
    assert SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert SERVICES["personalize-local"]["depends_on"]["moto"]["condition"] == "service_healthy"
    for svc in SERVICES.values():
        for dep in svc.get("depends_on", {}):
            assert dep in SERVICES


def test_local_profile_and_ports_bound_to_loopback():
    for name, svc in SERVICES.items():
        assert svc.get("profiles") == (["local"] if name in LOCAL else None), name
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is published on all interfaces"
    serve = SERVICES["personalize-local"]["entrypoint"]
    assert serve[:4] == ["python", "-m", "personalize_local", "serve"]
    assert serve[serve.index("--host") + 1] == "0.0.0.0"
    assert serve[serve.index("--s3-endpoint") + 1] == "http://moto:5000"


@pytest.mark.parametrize("target", ["local", "aws"])
def test_aws_connection_parses_in_airflow_and_points_at_the_right_place(target):
    from airflow.models.connection import Connection
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    raw = env_file(target)["AIRFLOW_CONN_AWS_DEFAULT"]
    conn = AwsConnectionWrapper(Connection.from_json(raw, conn_id="aws_default"))
    assert conn.conn_type == "aws" and conn.region_name == "us-east-1"
    if target == "aws":
        assert conn.endpoint_url is None and not conn.service_config and conn.aws_access_key_id is None
        return
    assert (conn.aws_access_key_id, conn.aws_secret_access_key) == ("testing", "testing")
    serve = SERVICES["personalize-local"]["entrypoint"]
    assert conn.endpoint_url == f"http://personalize-local:{serve[serve.index('--port') + 1]}"
    assert conn.service_config["s3"]["endpoint_url"] == "http://moto:5000"
    assert "5000" in SERVICES["moto"]["entrypoint"]
    s3_for_pyarrow = env_file(target)["AWS_ENDPOINT_URL_S3"]
    assert json.loads(raw)["extra"]["service_config"]["s3"]["endpoint_url"] == s3_for_pyarrow


@pytest.mark.parametrize("target", ["local", "aws"])
def test_every_env_var_our_code_reads_is_set(target):
    read = env_vars_read_by_code()
    assert "PERSONALIZE_PIPELINE_CONFIG" in read  # the grep works
    for name in AIRFLOW:
        env = SERVICES[name]["environment"]
        provided = set(env) | set(env_file(target)) | dockerfile_env()
        missing = {
            var: where
            for var, where in read.items()
            if var not in provided and var not in NOT_SET and not (target == "aws" and var in LOCAL_ONLY)
        }
        assert not missing, f"{name} ({target}): read by our code, not set in docker-compose.yaml: {missing}"


def test_pipeline_config_default_points_at_a_mounted_file():
    env = SERVICES["airflow-scheduler"]["environment"]
    value = env["PERSONALIZE_PIPELINE_CONFIG"]
    default = re.fullmatch(r"\$\{PERSONALIZE_PIPELINE_CONFIG:-(.+)\}", value).group(1)
    mounts = dict(v.split(":")[:2][::-1] for v in SERVICES["airflow-scheduler"]["volumes"])
    assert mounts["/opt/airflow/include"] == "./include"
    assert (ROOT / "include" / Path(default).relative_to("/opt/airflow/include")).is_file()


def test_variables_have_defaults_except_required_secrets():
    text = (ROOT / "docker-compose.yaml").read_text()
    for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}", text):
        assert m.group(2).startswith((":-", ":?")), f"${{{m.group(1)}}} has no default and no error message"
    assert "${AIRFLOW_JWT_SECRET:?" in text


def _has_compose() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    return subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="no `docker compose` on this machine")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = {"AIRFLOW_JWT_SECRET": "x" * 64, "PATH": os.environ["PATH"]}
    proc = subprocess.run(
        [shutil.which("docker"), "compose", "--profile", "local", "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_named_volumes_are_declared():
    for name, svc in SERVICES.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in COMPOSE["volumes"], f"{name}: volume {source} is not declared"


def test_database_urls_name_a_driver_that_the_image_installs():
    """SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which the pinned set does not install:
    the metadata DB and the Celery result backend must name psycopg2 (caught by the Celery deployment test)."""
    from sqlalchemy.engine import make_url

    env = COMPOSE["x-airflow-common"]["environment"]
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        url = make_url(env[key].removeprefix("db+"))
        url.get_dialect().import_dbapi()  # raises ModuleNotFoundError when the driver is missing
        assert url.drivername == "postgresql+psycopg2", (key, url.drivername)

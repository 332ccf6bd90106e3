"""Offline checks of docker-compose.yaml + docker/ (no Docker engine on the test machines).

The file is read as Compose reads it (tests/compose_config.py: anchors, interpolation with a test .env, casts,
env_file/environment precedence) and validated against the Compose specification's JSON schema; then what
`docker compose up` would catch late is checked: topology, healthchecks, start order, the `local` profile and
the endpoint Airflow talks to, required secrets, ports on 127.0.0.1, the AWS connection (parsed by Airflow
itself), and that every environment variable our code reads is set. The local profile's bucket creation runs
here for real against the moto server.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import jsonschema
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema

from tests import compose_config
from tests.compose_config import InterpolationError, container_env, read_env_file

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
RAW = yaml.safe_load(COMPOSE_FILE.read_text())
AIRFLOW = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
AIRFLOW_IMAGE = {*AIRFLOW, "airflow-init"}
LOCAL = {"moto", "personalize-local", "create-buckets"}
ONE_SHOT = {"airflow-init", "create-buckets"}
# The variables .env must set (docs/deployment.md generates them); dummy values here.
SECRETS = {
    "AIRFLOW_FERNET_KEY": "ZmRmZGZkZmRmZGZkZmRmZGZkZmRmZGZkZmRmZGZkZmQ=",
    "AIRFLOW_JWT_SECRET": "j" * 64,
    "AIRFLOW_API_SECRET_KEY": "a" * 64,
    "_AIRFLOW_WWW_USER_PASSWORD": "not-airflow",
}
# The two ways to run it: plain `docker compose up` (AWS) and COMPOSE_PROFILES=local (offline).
ENVS = {"aws": dict(SECRETS), "local": {**SECRETS, "COMPOSE_PROFILES": "local"}}
COMPOSE = {target: compose_config.load(COMPOSE_FILE, env) for target, env in ENVS.items()}
SERVICES = COMPOSE["local"]["services"]
# Read by our code but deliberately not set, with the reason.
NOT_SET = {"AWS_ENDPOINT_URL": "fallback of AWS_ENDPOINT_URL_S3 (set); would redirect every AWS service"}
LOCAL_ONLY = {"AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def env_of(name: str, target: str) -> dict[str, str]:
    """What Compose puts into the container of service ``name`` when run for ``target``."""
    return container_env(COMPOSE[target]["services"][name], ROOT, ENVS[target])


def env_file(target: str) -> dict[str, str]:
    return read_env_file(ROOT / f"docker/{target}.env")


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


# --------------------------------------------------------------------------- the file as Compose reads it


def _messages(error: jsonschema.ValidationError) -> list[str]:
    """An error's message and those of the alternatives it failed (oneOf/anyOf)."""
    return [error.message, *(m for sub in error.context or [] for m in _messages(sub))]


@pytest.mark.parametrize("target", sorted(ENVS))
def test_compose_file_is_valid_against_the_compose_specification(target):
    """Interpolated as Compose does, the whole file (every profile) validates against compose-spec.json."""
    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(COMPOSE[target])]
    assert not errors, "\n".join(errors)
    # The schema has teeth: a misspelt key or an unknown depends_on condition is rejected.
    broken = json.loads(json.dumps(COMPOSE[target]))
    broken["services"]["redis"]["helthcheck"] = broken["services"]["redis"].pop("healthcheck")
    broken["services"]["airflow-init"]["depends_on"]["postgres"]["condition"] = "service_ready"
    messages = [m for e in validator.iter_errors(broken) for m in _messages(e)]
    assert any("'helthcheck' was unexpected" in m for m in messages), messages
    assert any("'service_ready' is not one of" in m for m in messages), messages


@pytest.mark.parametrize("variable", sorted(SECRETS))
def test_secrets_are_required_not_defaulted(variable):
    """Fernet key, JWT secret, API secret key and admin password: no defaults; a missing one stops Compose."""
    env = {k: v for k, v in SECRETS.items() if k != variable}
    with pytest.raises(InterpolationError, match=f"required variable {variable} is missing a value: set {variable}"):
        compose_config.load(COMPOSE_FILE, env)
    with pytest.raises(InterpolationError, match=variable):
        compose_config.load(COMPOSE_FILE, {**env, variable: ""})


def test_every_airflow_component_shares_the_secrets():
    """Without one [api] secret_key the UI cannot fetch logs of running/deferred tasks from workers/triggerer."""
    shared = {
        "AIRFLOW__CORE__FERNET_KEY": SECRETS["AIRFLOW_FERNET_KEY"],
        "AIRFLOW__API_AUTH__JWT_SECRET": SECRETS["AIRFLOW_JWT_SECRET"],
        "AIRFLOW__API__SECRET_KEY": SECRETS["AIRFLOW_API_SECRET_KEY"],
    }
    for name in AIRFLOW_IMAGE:
        env = env_of(name, "aws")
        assert {k: env.get(k) for k in shared} == shared, name
    from cryptography.fernet import Fernet

    Fernet(SECRETS["AIRFLOW_FERNET_KEY"])  # the dummy is a well-formed key, as Airflow requires
    admin = env_of("airflow-init", "aws")
    assert admin["_AIRFLOW_WWW_USER_PASSWORD"] == SECRETS["_AIRFLOW_WWW_USER_PASSWORD"]
    assert not any("_AIRFLOW_WWW_USER_PASSWORD" in env_of(name, "aws") for name in AIRFLOW), "only init needs it"


def test_documented_env_setup_sets_every_required_variable(tmp_path):
    """The .env recipe of docs/deployment.md, run as typed: every secret set, a valid Fernet key, mode 600."""
    from cryptography.fernet import Fernet

    docs = (ROOT / "docs/deployment.md").read_text()
    recipe = re.search(r"```bash\n(cat > \.env <<EOF\n.*?)```", docs, re.S).group(1)
    subprocess.run(["bash", "-euo", "pipefail", "-c", recipe], cwd=tmp_path, check=True, timeout=60)
    dot_env = read_env_file(tmp_path / ".env")
    assert set(SECRETS) <= {k for k, v in dot_env.items() if v}
    Fernet(dot_env["AIRFLOW_FERNET_KEY"])
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    compose_config.load(COMPOSE_FILE, dot_env)  # interpolates: nothing required is missing


def test_variables_have_defaults_except_required_secrets():
    text = COMPOSE_FILE.read_text()
    for m in re.finditer(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}", text):
        assert m.group(2).startswith((":-", ":?")), f"${{{m.group(1)}}} has no default and no error message"
    required = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*):\?", text))
    assert required == set(SECRETS)


def test_gitignore_keeps_secrets_and_run_output_out_of_git():
    paths = [".env", "logs/dag_id=x/run_id=y/task.log", ".demo/retrain.log"]
    proc = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.split() == paths, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- topology and start order


def test_all_services_of_the_airflow3_topology_are_there():
    assert set(SERVICES) == {"postgres", "redis", "airflow-init", *AIRFLOW, *LOCAL}
    for name, command in AIRFLOW.items():
        assert SERVICES[name]["command"] == command
        build = {"context": ".", "dockerfile": "docker/Dockerfile", "target": "airflow"}
        assert SERVICES[name]["build"] == build
    env = env_of("airflow-scheduler", "aws")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] == "true"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) >= int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
    assert env_of("airflow-init", "aws")["_AIRFLOW_DB_MIGRATE"] == "true"


def test_healthchecks_and_start_order():
    for name, svc in SERVICES.items():
        if name not in ONE_SHOT:
            assert svc["healthcheck"]["test"], name
    for name in AIRFLOW_IMAGE:
        deps = SERVICES[name]["depends_on"]
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["personalize-local"] == {"condition": "service_healthy", "required": False}, name
    assert SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert SERVICES["personalize-local"]["depends_on"]["moto"]["condition"] == "service_healthy"
    for svc in SERVICES.values():
        for dep in svc.get("depends_on", {}):
            assert dep in SERVICES


def test_a_server_never_runs_as_pid_1_without_an_init():
    """PID 1 gets no default signal handlers and must reap zombies: `init: true` (tini) wherever the image's own
    entrypoint is not an init. The Airflow image's ENTRYPOINT is dumb-init, so Airflow's servers that keep it
    need none; everything else (postgres, redis, the local stack, overridden entrypoints) has one."""
    for name, svc in SERVICES.items():
        keeps_dumb_init = name in AIRFLOW and "entrypoint" not in svc and svc["build"]["target"] == "airflow"
        assert keeps_dumb_init or svc.get("init") is True, f"{name}: its server would run as PID 1"


def test_local_profile_and_ports_bound_to_loopback():
    for name, svc in SERVICES.items():
        assert svc.get("profiles") == (["local"] if name in LOCAL else None), name
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is published on all interfaces"
    serve = SERVICES["personalize-local"]["entrypoint"]
    assert serve[:4] == ["python", "-m", "personalize_local", "serve"]
    assert serve[serve.index("--host") + 1] == "0.0.0.0"
    assert serve[serve.index("--s3-endpoint") + 1] == "http://moto:5000"


def test_named_volumes_are_declared():
    for name, svc in SERVICES.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in COMPOSE["local"]["volumes"], f"{name}: volume {source} is not declared"


def test_database_urls_name_a_driver_that_the_image_installs():
    """SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which the pinned set does not install:
    the metadata DB and the Celery result backend must name psycopg2 (caught by the Celery deployment test)."""
    from sqlalchemy.engine import make_url

    env = env_of("airflow-scheduler", "aws")
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        url = make_url(env[key].removeprefix("db+"))
        url.get_dialect().import_dbapi()  # raises ModuleNotFoundError when the driver is missing
        assert url.drivername == "postgresql+psycopg2", (key, url.drivername)


# --------------------------------------------------------------------------- local profile vs AWS


@pytest.mark.parametrize("target", sorted(ENVS))
def test_airflow_talks_to_aws_unless_the_local_profile_is_on(target):
    """One switch, COMPOSE_PROFILES, starts the local stand-ins and points Airflow at them; without it Airflow
    talks to AWS. Only docker/local.env names an endpoint."""
    from airflow.models.connection import Connection
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    local_on = LOCAL <= compose_config.active_services(COMPOSE[target], ENVS[target])
    assert local_on == (target == "local")
    for name in AIRFLOW_IMAGE:
        raw = env_of(name, target)["AIRFLOW_CONN_AWS_DEFAULT"]
        conn = AwsConnectionWrapper(Connection.from_json(raw, conn_id="aws_default"))
        assert conn.conn_type == "aws" and conn.region_name == "us-east-1"
        if not local_on:
            assert conn.endpoint_url is None and not conn.service_config and conn.aws_access_key_id is None, name
            continue
        assert (conn.aws_access_key_id, conn.aws_secret_access_key) == ("testing", "testing")
        serve = SERVICES["personalize-local"]["entrypoint"]
        assert conn.endpoint_url == f"http://personalize-local:{serve[serve.index('--port') + 1]}", name
        assert conn.service_config["s3"]["endpoint_url"] == "http://moto:5000"
        assert "5000" in SERVICES["moto"]["entrypoint"]
        assert env_of(name, target)["AWS_ENDPOINT_URL_S3"] == "http://moto:5000"
    aws = env_file("aws")
    assert not any(k.startswith("AWS_ENDPOINT_URL") or "endpoint" in v for k, v in aws.items()), aws


def test_airflow_init_refuses_to_start_when_profile_and_connection_disagree():
    """`--profile local` starts the stand-ins without switching the env file: airflow-init (which every Airflow
    service waits for) runs docker/check_target.sh with the same switch the env file uses, and it fails."""
    env_file_entry = RAW["x-airflow-common"]["env_file"][0]
    switch = re.fullmatch(r"docker/(\$\{COMPOSE_PROFILES:-aws\})\.env", env_file_entry).group(1)
    init_script = RAW["services"]["airflow-init"]["command"][1]
    assert init_script.splitlines()[0] == f'bash /opt/personalize/bin/check_target.sh "{switch}" || exit 1'

    def check(*args):
        return subprocess.run(["bash", str(ROOT / "docker/check_target.sh"), *args], capture_output=True, text=True)

    # On this machine the name personalize-local does not resolve (no local stack); localhost stands for one.
    assert check("aws").returncode == 0 and check("local", "localhost").returncode == 0
    refused = check("aws", "localhost")
    assert refused.returncode == 1 and "COMPOSE_PROFILES=local" in refused.stderr and "--profile" in refused.stderr
    down = check("local")
    assert down.returncode == 1 and "personalize-local is not running" in down.stderr
    assert check("staging").returncode == 1


@pytest.mark.parametrize("target", sorted(ENVS))
def test_env_files_are_not_overridden_by_environment(target):
    """`environment` beats `env_file` in Compose: a variable set in both would silently ignore the env file
    (the local stack polled every 30 s instead of 2 s that way)."""
    for name, svc in COMPOSE[target]["services"].items():
        for path in compose_config.env_files(svc, ROOT):
            both = set(read_env_file(path)) & set(compose_config.environment(svc))
            assert not both, f"{name}: {sorted(both)} set in {path.name} and in environment:, which wins"
    expected = {"local": "2", "aws": "30"}[target]
    for name in AIRFLOW_IMAGE:
        assert env_of(name, target)["PERSONALIZE_POLL_SECONDS"] == expected, name


@pytest.mark.parametrize("target", sorted(ENVS))
def test_every_env_var_our_code_reads_is_set(target):
    read = env_vars_read_by_code()
    assert "PERSONALIZE_PIPELINE_CONFIG" in read  # the grep works
    for name in AIRFLOW:
        provided = set(env_of(name, target)) | dockerfile_env()
        missing = {
            var: where
            for var, where in read.items()
            if var not in provided and var not in NOT_SET and not (target == "aws" and var in LOCAL_ONLY)
        }
        assert not missing, f"{name} ({target}): read by our code, not set in docker-compose.yaml: {missing}"


def test_pipeline_configs_default_to_a_mounted_folder_of_configs():
    value = RAW["x-pipeline-env"]["PERSONALIZE_PIPELINES_DIR"]
    default = re.fullmatch(r"\$\{PERSONALIZE_PIPELINES_DIR:-(.+)\}", value).group(1)
    assert env_of("airflow-scheduler", "aws")["PERSONALIZE_PIPELINES_DIR"] == default
    assert env_of("airflow-scheduler", "aws")["PERSONALIZE_PIPELINE_CONFIG"] == "", "one file only when asked"
    for name in ("airflow-scheduler", "create-buckets"):
        mounts = dict(v.split(":")[:2][::-1] for v in SERVICES[name]["volumes"])
        assert mounts["/opt/airflow/include"] == "./include", name
    assert list((ROOT / "include" / Path(default).relative_to("/opt/airflow/include")).glob("*.yaml"))


# --------------------------------------------------------------------------- the local profile's S3 buckets


def test_airflow_waits_for_the_local_buckets():
    """The first retrain stages to S3: in the local profile the bucket must exist before Airflow starts."""
    svc = SERVICES["create-buckets"]
    assert svc["profiles"] == ["local"] and svc["restart"] == "no"
    assert svc["entrypoint"] == ["python", "/opt/personalize/bin/create_buckets.py"]
    dockerfile = (ROOT / "docker/Dockerfile").read_text()
    assert "COPY docker/create_buckets.py /opt/personalize/bin/" in dockerfile
    assert svc["build"]["target"] == "local-stack" and svc["depends_on"]["moto"]["condition"] == "service_healthy"
    assert env_of("create-buckets", "local")["AWS_ENDPOINT_URL_S3"] == "http://moto:5000"
    mounts = dict(v.split(":")[:2][::-1] for v in svc["volumes"])
    assert mounts["/opt/airflow/plugins"] == "./plugins"
    config_vars = set(RAW["x-pipeline-env"])  # what the config expands: the same values as Airflow's
    for name in AIRFLOW_IMAGE:
        dep = SERVICES[name]["depends_on"]["create-buckets"]
        assert dep == {"condition": "service_completed_successfully", "required": False}, name
        airflow_env, buckets_env = env_of(name, "local"), env_of("create-buckets", "local")
        assert {k: airflow_env[k] for k in config_vars} == {k: buckets_env[k] for k in config_vars}, name


def _create_buckets(env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "plugins"), **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "docker/create_buckets.py")], env=env, capture_output=True, text=True, timeout=120
    )


def test_create_buckets_makes_the_configured_buckets_idempotently(local_stack):
    """docker/create_buckets.py against the moto server: the config's staging bucket and its s3:// export
    destination are created, a second run leaves them as they are, and the config the DAGs read decides."""
    staging, exports = f"staging-{uuid.uuid4().hex[:12]}", f"exports-{uuid.uuid4().hex[:12]}"
    env = {
        "AWS_ENDPOINT_URL_S3": local_stack.s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PERSONALIZE_PIPELINE_CONFIG": str(ROOT / "include/pipelines/shop.yaml"),
        "PZ_BUCKET": staging,
        "PZ_EXPORT_DIR": f"s3://{exports}/personalize-demo/exports/",
    }
    first = _create_buckets(env)
    assert first.returncode == 0, first.stderr
    assert f"s3://{staging} at {local_stack.s3_endpoint}: created" in first.stdout
    assert f"s3://{exports} at {local_stack.s3_endpoint}: created" in first.stdout
    s3 = boto3.client("s3", endpoint_url=local_stack.s3_endpoint, region_name="us-east-1")
    s3.put_object(Bucket=staging, Key="kept", Body=b"x")
    second = _create_buckets(env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count(": exists") == 2 and "created" not in second.stdout
    assert s3.get_object(Bucket=staging, Key="kept")["Body"].read() == b"x"


def test_create_buckets_refuses_real_aws_and_reports_a_broken_config(tmp_path, local_stack):
    no_endpoint = _create_buckets({"PERSONALIZE_PIPELINE_CONFIG": str(ROOT / "include/pipelines/shop.yaml")})
    assert no_endpoint.returncode == 2 and "AWS_ENDPOINT_URL_S3 is not set" in no_endpoint.stderr
    broken = tmp_path / "pipeline.yaml"
    broken.write_text(
        (ROOT / "include/pipelines/shop.yaml").read_text().replace("bucket: ${PZ_BUCKET", "bukket: ${PZ_BUCKET")
    )
    proc = _create_buckets({"AWS_ENDPOINT_URL_S3": local_stack.s3_endpoint, "PERSONALIZE_PIPELINE_CONFIG": str(broken)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{broken}: dataset_group.bukket: unknown key" in proc.stderr

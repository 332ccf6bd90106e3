"""The README's "Airflow connection" commands, run as written (ports filled in) against the local stack."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]


def readme_connection_commands() -> list[list[str]]:
    """The `airflow connections add ...` commands of the README's "The Airflow connection" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The Airflow connection", 1)[1].split("\n### ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    tokens = shlex.split(block, comments=True)
    starts = [i for i, t in enumerate(tokens) if t == "airflow"]
    return [tokens[a:b] for a, b in zip(starts, [*starts[1:], len(tokens)], strict=True)]


def stored_connection(conn_id: str) -> str:
    """The connection as the metadata DB holds it, as AIRFLOW_CONN_* JSON: its row read in this process (what
    ``airflow connections get`` prints, without another Airflow CLI start), its password and extra decrypted with
    the Fernet key the CLI encrypted them with (the one in AIRFLOW_HOME's airflow.cfg)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from cryptography.fernet import Fernet
    from sqlalchemy import select

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(Path(os.environ["AIRFLOW_HOME"]) / "airflow.cfg")
    fernet = Fernet(cfg["core"]["fernet_key"])
    columns = ("conn_type", "login", "host", "port", "_password", "is_encrypted", "_extra", "is_extra_encrypted")
    with create_session() as session:  # the columns, not the model: loading one decrypts with this process's key
        conn = session.execute(
            select(*(getattr(Connection, c) for c in columns)).where(Connection.conn_id == conn_id)
        ).one()
    row = {k: getattr(conn, k) for k in ("conn_type", "login", "host", "port")}
    password, extra = conn._password, conn._extra
    if password and conn.is_encrypted:
        password = fernet.decrypt(password.encode()).decode()
    if extra and conn.is_extra_encrypted:
        extra = fernet.decrypt(extra.encode()).decode()
    row["password"] = password
    return json.dumps({**{k: v for k, v in row.items() if v is not None}, "extra": json.loads(extra or "{}")})


def test_readme_connections_work(local_stack, airflow_db, monkeypatch):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    local, aws = readme_connection_commands()
    assert local[:3] == aws[:3] == ["airflow", "connections", "add"]
    ports = {"PORT": urlsplit(local_stack.endpoint).port, "S3PORT": urlsplit(local_stack.s3_endpoint).port}
    local = [local[0], local[1], local[2], "readme_local", *local[4:]]
    local = [re.sub(r"127\.0\.0\.1:(S3PORT|PORT)", lambda m: f"127.0.0.1:{ports[m.group(1)]}", t) for t in local]
    aws = [aws[0], aws[1], aws[2], "readme_aws", *aws[4:]]
    airflow = str(Path(sys.executable).with_name("airflow"))
    for cmd in (local, aws):
        done = subprocess.run([airflow, *cmd[1:]], capture_output=True, text=True, env=os.environ.copy())
        assert done.returncode == 0, done.stderr[-2000:]
        # hooks outside a task read connections from secrets backends: hand them what the DB stored
        monkeypatch.setenv(f"AIRFLOW_CONN_{cmd[3].upper()}", stored_connection(cmd[3]))

    local_stack.client("s3").create_bucket(Bucket="readme-bucket")
    pz = AwsBaseHook(aws_conn_id="readme_local", client_type="personalize").get_conn()
    assert "datasetGroups" in pz.list_dataset_groups()
    buckets = S3Hook(aws_conn_id="readme_local").get_conn().list_buckets()["Buckets"]
    assert "readme-bucket" in {b["Name"] for b in buckets}

    remote = AwsBaseHook(aws_conn_id="readme_aws", client_type="personalize")
    assert remote.conn_region_name == "eu-west-1"
    assert remote.conn_config.endpoint_url is None and remote.conn_config.get_service_endpoint_url("s3") is None
    assert remote.get_connection("readme_aws").login is None  # no keys stored: boto3's credential chain

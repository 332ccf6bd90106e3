"""The HTTP layer's gate: local Host names only, a body cap, JSON content types, state-changing admin routes
POST-only; unmodified boto3 clients of all three protocols pass it."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from personalize_local.access import ALLOWED_HOSTS_ENV, DEFAULT_MAX_BODY_BYTES, allowed_hosts, host_name
from personalize_local.backend import Backend
from personalize_local.server import PersonalizeServer
from personalize_local.service_model import ServiceModel
from personalize_local.stack import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def server(tmp_path, monkeypatch):
    """A service in this process on a free 127.0.0.1 port: body cap 64 KiB, `personalize-local` allowed by
    option and `pz.internal` through the environment."""
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "pz.internal, other.internal")
    backend = Backend(tmp_path / "data", min_delay=0.01, runners={})
    srv = PersonalizeServer(("127.0.0.1", 0), backend, max_body_bytes=64 * 1024, allow_hosts=("personalize-local",))
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)
    backend.close()


def request(srv, method: str, path: str, body: bytes | None = None, headers: dict | None = None, host=None):
    """(status, headers, JSON body) of one request on a fresh connection to a server or a (host, port)."""
    address = srv.server_address[:2] if hasattr(srv, "server_address") else srv
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=host is not None)
        if host:
            conn.putheader("Host", host)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def client(srv, service: str):
    return boto3.client(
        service,
        endpoint_url=srv.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def faults(srv) -> dict:
    return request(srv, "GET", "/_admin/faults")[2]["faults"]


JSON = {"Content-Type": "application/json"}
CONTROL = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonPersonalize.ListDatasetGroups"}


# -- body cap --------------------------------------------------------------------------------------------------
def test_a_body_over_the_cap_is_413_and_aws_shaped(server):
    status, headers, body = request(server, "POST", "/", b"{" + b" " * (64 * 1024) + b"}", CONTROL)
    assert status == 413
    assert body["__type"] == headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"
    assert "at most 65536" in body["message"] and headers["Connection"] == "close"
    status, _, body = request(server, "POST", "/", b"{}", CONTROL)  # at the cap or under: served
    assert status == 200 and body == {"datasetGroups": []}


def test_boto3_sees_the_413_as_a_client_error(server):
    with pytest.raises(ClientError) as err:
        client(server, "personalize").create_schema(name="big", schema="x" * (64 * 1024))
    assert err.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_the_cap_is_read_from_content_length_before_any_body_byte(local_stack):
    """The session service (default cap): a header announcing one byte too many is refused at once."""
    conn = http.client.HTTPConnection(local_stack.endpoint.removeprefix("http://"), timeout=10)
    try:
        conn.putrequest("POST", "/events")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(DEFAULT_MAX_BODY_BYTES + 1))
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413 and json.loads(resp.read())["__type"] == "RequestEntityTooLargeException"
    finally:
        conn.close()


def test_the_default_cap_admits_the_largest_put_items_batch(local_stack):
    """PutItems at the model's maxima (10 records, `properties` at its max length), all non-ASCII so that
    botocore escapes every character to 6 bytes: the largest request a boto3 client sends. It is read and
    answered (here: the dataset does not exist), not refused for its size."""
    model = ServiceModel("personalize-events")
    items_shape = model.shapes[model.members("PutItemsRequest")["items"]["shape"]]
    props_max = model.shapes[model.members("Item")["properties"]["shape"]]["max"]
    properties = json.dumps(
        {"genre": "é" * (props_max - len('{"genre":""}'))}, ensure_ascii=False, separators=(",", ":")
    )
    assert len(properties) == props_max
    items = [{"itemId": f"i{n}", "properties": properties} for n in range(items_shape["max"])]
    assert len(json.dumps({"items": items})) > 1_900_000  # what botocore sends (ensure_ascii escapes)
    dataset = "arn:aws:personalize:us-east-1:000000000000:dataset/no-such-group/ITEMS"
    with pytest.raises(ClientError) as err:
        local_stack.client("personalize-events").put_items(datasetArn=dataset, items=items)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_body_without_a_usable_length_is_refused(server):
    status, _, body = request(server, "POST", "/", None, {**CONTROL, "Transfer-Encoding": "chunked"})
    assert status == 411 and body["__type"] == "LengthRequiredException"
    for bad in ("-1", "12abc", "\u00b2"):
        status, headers, body = request(server, "POST", "/", None, {**CONTROL, "Content-Length": bad})
        assert (status, body["__type"], headers["Connection"]) == (400, "InvalidInputException", "close"), bad


# -- content types ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_a_json_route_refuses_other_content_types(server, content_type):
    headers = {"X-Amz-Target": "AmazonPersonalize.CreateDatasetGroup"}
    if content_type:
        headers["Content-Type"] = content_type
    status, _, body = request(server, "POST", "/", b'{"name": "from-a-web-page"}', headers)
    assert status == 415 and body["__type"] == "UnsupportedMediaTypeException"
    status, _, body = request(
        server, "POST", "/recommendations", b'{"campaignArn": "x"}', {"Content-Type": "text/plain"}
    )
    assert status == 415
    assert client(server, "personalize").list_dataset_groups()["datasetGroups"] == []


def test_a_text_plain_post_cannot_set_faults(server):
    """What a web page could do before: a simple cross-origin POST that throttled every request."""
    payload = json.dumps({"throttle_fraction": 1.0}).encode()
    status, _, body = request(server, "POST", "/_admin/faults", payload, {"Content-Type": "text/plain"})
    assert status == 415 and body["__type"] == "UnsupportedMediaTypeException"
    assert faults(server) == {}
    assert client(server, "personalize").list_recipes()["recipes"]
    status, _, body = request(server, "POST", "/_admin/faults", payload, JSON)  # the documented way still works
    assert (status, body) == (200, {"faults": {"throttle_fraction": 1.0}})


# -- admin methods ---------------------------------------------------------------------------------------------
def test_state_changing_admin_routes_are_post_only(server):
    request(server, "POST", "/_admin/faults", json.dumps({"job_delay": 5}).encode(), JSON)
    status, headers, body = request(server, "GET", "/_admin/faults/clear")
    assert status == 405 and body["__type"] == "MethodNotAllowedException" and headers["Allow"] == "POST"
    assert faults(server) == {"job_delay": 5}  # not cleared
    assert request(server, "DELETE", "/_admin/faults")[0] == 405
    assert request(server, "POST", "/_admin/faults/clear", b"{}", JSON)[:3:2] == (200, {"faults": {}})
    assert faults(server) == {}
    assert request(server, "GET", "/_admin/health")[2] == {"status": "ok"}


def test_the_control_plane_is_post_only(server):
    status, headers, _ = request(server, "GET", "/", None, {"X-Amz-Target": "AmazonPersonalize.ListRecipes"})
    assert status == 405 and headers["Allow"] == "POST"


# -- Host names ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example", "evil.example:4567", "127.0.0.1.evil.example", "localhostx", "[::2]"])
def test_a_foreign_host_is_refused(server, host):
    status, headers, body = request(server, "GET", "/_admin/health", host=host)
    assert status == 403 and body["__type"] == headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "--allow-host" in body["message"]
    status, _, _ = request(server, "POST", "/_admin/faults", b'{"throttle_fraction": 1}', JSON, host=host)
    assert status == 403 and faults(server) == {}


def test_a_request_without_host_is_refused(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    try:
        conn.putrequest("GET", "/_admin/health", skip_host=True)
        conn.endheaders()
        assert conn.getresponse().status == 403
    finally:
        conn.close()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:4567", "LOCALHOST:80", "[::1]:4567", "personalize-local:4567", "pz.internal"]
)
def test_local_and_configured_hosts_are_served(server, host):
    assert request(server, "GET", "/_admin/health", host=host)[:3:2] == (200, {"status": "ok"})


# -- boto3, all three protocols --------------------------------------------------------------------------------
def test_boto3_clients_pass_the_gate_with_the_content_types_botocore_sends(server):
    sent = []

    def record(request, **_):
        value = request.headers.get("Content-Type")
        sent.append(value.decode() if isinstance(value, bytes) else value)

    clients = {name: client(server, name) for name in ("personalize", "personalize-runtime", "personalize-events")}
    for c in clients.values():
        c.meta.events.register("before-send", record)
    group = clients["personalize"].create_dataset_group(name="gate-ok")["datasetGroupArn"]
    assert clients["personalize"].describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["name"] == "gate-ok"
    with pytest.raises(ClientError) as err:
        clients["personalize-runtime"].get_recommendations(campaignArn=group.replace("dataset-group", "campaign"))
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        clients["personalize-runtime"].get_recommendations()  # no member at all: botocore still sends {}
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    with pytest.raises(ClientError) as err:
        clients["personalize-events"].put_events(
            trackingId="no-such-tracker", sessionId="s", eventList=[{"eventType": "click", "sentAt": 1}]
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert set(sent) == {"application/x-amz-json-1.1", "application/json"}


# -- the command line ------------------------------------------------------------------------------------------
def test_serve_options_and_environment(tmp_path):
    port = free_port()
    env = {**os.environ, ALLOWED_HOSTS_ENV: "from-env"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "personalize_local",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--max-body-bytes",
            "100",
            "--allow-host",
            "personalize-local",
            "--allow-host",
            "second",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = ("127.0.0.1", port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert request(target, "GET", "/_admin/health")[0] == 200
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        for host in ("personalize-local:4567", "second", "from-env:1"):
            assert request(target, "GET", "/_admin/health", host=host)[0] == 200, host
        assert request(target, "GET", "/_admin/health", host="third")[0] == 403
        assert request(target, "POST", "/", b"{" + b" " * 99 + b"}", CONTROL)[0] == 413
        assert request(target, "POST", "/", b"{" + b" " * 98 + b"}", CONTROL)[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_compose_service_answers_the_host_airflow_connects_to():
    """docker-compose.yaml runs the service on 0.0.0.0 and Airflow's connection (docker/local.env) reaches it by
    its service name: that name must be among the Host names the service answers."""
    service = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["services"]["personalize-local"]
    serve = service["entrypoint"]
    extra = [serve[i + 1] for i, arg in enumerate(serve) if arg == "--allow-host"]
    env = {k: str(v) for k, v in service.get("environment", {}).items()}
    allowed = allowed_hosts(extra, bind_address=serve[serve.index("--host") + 1], environ=env)
    line = next(
        x for x in (REPO / "docker/local.env").read_text().splitlines() if x.startswith("AIRFLOW_CONN_AWS_DEFAULT=")
    )
    endpoint = json.loads(line.partition("=")[2].strip("'"))["extra"]["endpoint_url"]
    assert host_name(urlsplit(endpoint).netloc) in allowed, (endpoint, sorted(allowed))

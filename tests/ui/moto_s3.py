"""A moto S3 server over real HTTP on 127.0.0.1 (free port), for metrics and UI tests."""

import contextlib
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from personalize_local.stack import free_port


@contextlib.contextmanager
def moto_s3_server() -> Iterator[str]:
    """Yield the endpoint URL of a running moto server; stopped on exit."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

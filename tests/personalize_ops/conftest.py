"""Fixtures for the toolkit tests: an Airflow AWS connection pointing at the local stack; a plain moto server.

The connection is provided the way a deployment would: ``AIRFLOW_CONN_PZ_LOCAL`` (JSON) in the environment,
so hooks, ``dag.test()`` and deferred triggers all resolve it. Only local vs AWS is in its extra.
"""

from __future__ import annotations

import os
import uuid

import pytest

from personalize_local.stack import airflow_connection_json
from tests.fixtures.moto_server import moto_server

CONN_ID = "pz_local"
ENV = "AIRFLOW_CONN_" + CONN_ID.upper()


def connection_json(endpoint: str, s3_endpoint: str) -> str:
    return airflow_connection_json(endpoint, s3_endpoint)


@pytest.fixture(scope="session")
def pz_stack(request):
    """The session's local stack (personalize_local + moto S3) from tests/fixtures/stack.py."""
    return request.getfixturevalue("local_stack")


@pytest.fixture(scope="session")
def aws_conn_id(pz_stack):
    """ID of an Airflow AWS connection (env var JSON) for the local stack, set for the whole session."""
    old = os.environ.get(ENV)
    os.environ[ENV] = connection_json(pz_stack.endpoint, pz_stack.s3_endpoint)
    yield CONN_ID
    if old is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = old


@pytest.fixture(scope="module")
def moto_endpoint():
    """A moto server of the test module's own (S3, SNS, SQS, EMR Serverless, Glue): endpoint URL."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def uid() -> str:
    """A short unique suffix so tests sharing the session's stack never collide on names."""
    return uuid.uuid4().hex[:8]

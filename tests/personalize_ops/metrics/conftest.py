import uuid

import pytest

from tests.ui.moto_s3 import moto_s3_server, s3_client


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint):
    return s3_client(s3_endpoint)


@pytest.fixture
def bucket(s3):
    name = f"metrics-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name

"""One local SparkSession for every Spark test of a pytest process (JVM start-up is the slow part)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from personalize_ops.transform.spark.session import local_session

    session = local_session("local[1]", conf={"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()

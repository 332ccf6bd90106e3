"""A small local SparkSession (tests, the local spark-submit mode, benchmarks)."""

from __future__ import annotations

import logging
import os
import sys


def local_session(master: str = "local[2]", app: str = "personalize-prepare", conf: dict | None = None):
    """``master`` local[N]; the Python workers see this process's sys.path (custom transforms import there)."""
    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines at shutdown outlive pytest's log capture
    pythonpath = os.pathsep.join(p for p in sys.path if p)
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.executorEnv.PYTHONPATH", pythonpath)
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
    )
    for k, v in (conf or {}).items():
        builder = builder.config(k, v)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")]))
    return builder.getOrCreate()

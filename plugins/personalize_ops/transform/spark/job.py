"""The Spark job of the prepare stage: ``spark-submit job.py --config C --dataset D --out O [--master M]``.

Runs ``prepare_dataset_spark`` for one dataset of the pipeline config ``C`` (a local path or s3:// URI; sources of a
config run on a cluster must be s3:// URIs) and writes under ``O/<dataset>/`` (a local folder or an s3:// prefix):
``summary.json`` (the PreparedDataset) on success, ``error.json`` (message and failures) on bad data, plus the
schema, reports and quarantine file. On S3 the CSV parts go to ``O/<dataset>/parts/`` (the Personalize import
reads the folder); locally they are merged into ``O/<dataset>/<dataset>.csv``. Exit code 0 on success, 2 on bad data.
The same file is the entry point on EMR Serverless, AWS Glue and local spark-submit (``pipeline.spark_submit``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

SUMMARY, ERROR = "summary.json", "error.json"


def _fs(uri: str):
    import pyarrow.fs as pafs

    return pafs.FileSystem.from_uri(uri)


def _read_config(uri: str, tmp: Path):
    from personalize_ops.config import load_config

    if not uri.startswith("s3://"):
        return load_config(uri)
    fs, path = _fs(uri)
    local = tmp / Path(path).name
    with fs.open_input_stream(path) as f:
        local.write_bytes(f.read())
    return load_config(local)


def _upload(folder: Path, uri: str) -> None:
    """Copy the files of ``folder`` (recursively) under the s3:// prefix ``uri``."""
    fs, base = _fs(uri)
    for p in folder.rglob("*"):
        if p.is_file():
            with fs.open_output_stream(f"{base.rstrip('/')}/{p.relative_to(folder).as_posix()}") as out:
                out.write(p.read_bytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--master", default=None, help="e.g. local[2]; default: the one spark-submit set")
    args = ap.parse_args(argv)

    from pyspark.sql import SparkSession

    from personalize_ops.quality.errors import DataQualityError
    from personalize_ops.transform.spark.prepare import prepare_dataset_spark

    builder = SparkSession.builder.appName(f"personalize-prepare-{args.dataset}")
    spark = (builder.master(args.master) if args.master else builder).getOrCreate()
    remote = args.out.startswith("s3://")
    with tempfile.TemporaryDirectory(prefix="prepare-") as tmp:
        cfg = _read_config(args.config, Path(tmp))
        local_out = Path(tmp) / "out" if remote else Path(args.out)
        target = f"{args.out.rstrip('/')}/{args.dataset}"
        status = 0
        try:
            data_uri = f"{target}/parts" if remote else None
            prepared = prepare_dataset_spark(spark, cfg, args.dataset, local_out, data_uri=data_uri, merge=not remote)
            doc, name = prepared.to_dict(), SUMMARY
        except DataQualityError as e:
            doc, name, status = {"error": str(e), "failures": e.failures}, ERROR, 2
        folder = local_out / args.dataset
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(doc, indent=2, default=str))
        if remote:
            _upload(folder, target)
    spark.stop()
    if status:
        print(doc["error"], file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Batch inference jobs: JSON lines from S3 in, Personalize's output format out, one <name>.out per input file.

The input path is an S3 prefix, as AWS documents it: every file whose key starts with it is input ("s3://b/in"
reads in/ and in_test/ alike); end it with '/' to read one folder. At most MAX_INPUT_FILES files (AWS's quota).
"""

from __future__ import annotations

from personalize_local.jobs.context import JobFailed
from personalize_local.jobs.s3io import read_objects, write_object
from personalize_local.paths import model_dir

MAX_INPUT_FILES = 1000


def run_batch(ctx) -> dict:
    """Job runner for BatchInferenceJob: every input object -> <output path>/<its name>.out."""
    from personalize_local import engine

    job = ctx.doc
    version = ctx.get(job["solutionVersionArn"])
    if version is None or not version.get("_model_dir"):
        raise JobFailed(f"Solution version {job['solutionVersionArn']} has no trained model.")
    model = engine.load_model(model_dir(ctx.data_dir, version["solutionVersionArn"]))
    factory = filter_factory(ctx, engine, job)
    out_prefix = job["jobOutput"]["s3DataDestination"]["path"]
    if not out_prefix.endswith("/"):
        out_prefix += "/"
    s3 = ctx.s3()
    inputs = read_objects(s3, job["jobInput"]["s3DataSource"]["path"], prefix=True, max_files=MAX_INPUT_FILES)
    for url, body in inputs:
        lines = body.decode("utf-8").splitlines()
        out = "\n".join(
            engine.run_batch_lines(model, lines, num_results=job.get("numResults", 25), item_filter_factory=factory)
        )
        write_object(s3, out_prefix + url.rsplit("/", 1)[-1] + ".out", (out + "\n").encode())
    return {}


def filter_factory(ctx, engine, job: dict):
    """A per-line item filter factory for the batch job's filterArn, or None."""
    if not job.get("filterArn"):
        return None
    flt = ctx.get(job["filterArn"])
    if flt is None:
        raise JobFailed(f"Filter {job['filterArn']} no longer exists.")
    expr = engine.parse_filter(flt["filterExpression"])
    return lambda line: expr.bind(line.get("filterValues") or {})

"""An s3:// source is read through the dataset group's Airflow AWS connection (moto server over HTTP)."""

from __future__ import annotations

import pytest
import yaml
from personalize_ops.config import load_config
from personalize_ops.pipeline.prepare_stage import prepare_and_stage
from personalize_ops.quality import DataQualityError

from tests.fixtures.pipeline import derived_config


@pytest.fixture
def s3_setup(pz_stack, aws_conn_id, sample_dir, tmp_path, monkeypatch, uid):
    """Raw interactions uploaded to moto; no AWS endpoint in the environment, only in the connection."""
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PERSONALIZE_WORK_DIR", str(tmp_path / "work"))
    s3 = pz_stack.client("s3")
    bucket = f"pz-src-{uid}"
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(sample_dir / "interactions.csv"), bucket, "raw/2026/interactions.csv")

    def config(source_path: str, name: str):
        def mutate(cfg):
            cfg["dataset_group"]["aws_conn_id"] = aws_conn_id
            cfg["datasets"]["interactions"]["source"]["path"] = source_path

        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(derived_config(sample_dir, tmp_path, bucket, mutate)))
        return load_config(path)

    return s3, bucket, config


def test_s3_source_prepares_the_same_file_as_the_local_copy(s3_setup, sample_dir):
    s3, bucket, config = s3_setup
    local = prepare_and_stage(config(str(sample_dir / "interactions.csv"), "local"), "interactions", "r1", s3)
    remote = prepare_and_stage(config(f"s3://{bucket}/raw/2026/interactions.csv", "s3"), "interactions", "r2", s3)
    assert remote["rows_out"] == local["rows_out"] > 0
    assert remote["sha256"] == local["sha256"]
    assert remote["staged"]["uri"] == local["staged"]["uri"]  # content-addressed: the same object
    assert remote["staged"]["uploaded"] is False


def test_s3_source_folder_and_missing_key(s3_setup):
    s3, bucket, config = s3_setup
    folder = prepare_and_stage(config(f"s3://{bucket}/raw/", "folder"), "interactions", "r3", dry_run=True)
    assert folder["rows_out"] > 0 and folder["staged"] is None
    with pytest.raises(DataQualityError, match=f"source_missing: source s3://{bucket}/raw/nothing.csv does not exist"):
        prepare_and_stage(config(f"s3://{bucket}/raw/nothing.csv", "missing"), "interactions", "r4", dry_run=True)


def test_reader_takes_the_s3_options_as_a_parameter(s3_setup, aws_conn_id):
    """No module-level state: each read names how it opens S3, so two reads with different connections in one
    process (threads of a worker, dag.test) cannot see each other's options."""
    from personalize_ops.config import Source
    from personalize_ops.pipeline.prepare_stage import s3_options_from_connection
    from personalize_ops.transform import reader

    s3, bucket, _ = s3_setup
    options = s3_options_from_connection(aws_conn_id)
    source = Source(path=f"s3://{bucket}/raw/")
    assert reader.source_files(source, s3_options=options) == [f"{bucket}/raw/2026/interactions.csv"]
    rows = sum(c.batch.num_rows for c in reader.iter_source(source, s3_options=options))
    body = s3.get_object(Bucket=bucket, Key="raw/2026/interactions.csv")["Body"]
    assert rows == sum(1 for _ in body.iter_lines()) - 1  # the header is not a row
    assert not any(name.startswith("_S3") for name in vars(reader))

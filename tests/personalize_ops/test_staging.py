"""Content-addressed staging against moto server over HTTP."""

import pytest
from personalize_ops.staging import StagingError, stage_file, staging_key


@pytest.fixture
def s3(local_stack):
    return local_stack.client("s3")


def test_same_bytes_same_key_uploaded_once(s3, tmp_path):
    s3.create_bucket(Bucket="staging-test")
    f = tmp_path / "a.csv"
    f.write_text("USER_ID,ITEM_ID,TIMESTAMP\n1,2,3\n")
    first = stage_file(s3, "staging-test", "p", "interactions", f, group="dg")
    second = stage_file(s3, "staging-test", "p", "interactions", f, group="dg")
    assert first.uploaded and not second.uploaded and first.uri == second.uri
    assert first.uri == f"s3://staging-test/{staging_key('p', 'dg', 'interactions', first.sha256)}"
    f.write_text("USER_ID,ITEM_ID,TIMESTAMP\n1,2,4\n")
    assert stage_file(s3, "staging-test", "p", "interactions", f, group="dg").uri != first.uri


def test_missing_bucket_is_a_clear_error(s3, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x\n")
    with pytest.raises(StagingError, match="'no-such-bucket' .* does not exist"):
        stage_file(s3, "no-such-bucket", "p", "interactions", f, group="dg")

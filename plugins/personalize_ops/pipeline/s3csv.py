"""Read columns of a CSV file in S3 (a staged Personalize file): the one reader the smoke test, the batch export
and the demo report share."""

from __future__ import annotations

import io

from personalize_ops.pipeline.s3uri import split


def read_csv_columns(s3, uri: str, columns: tuple[str, ...], max_bytes: int | None = None) -> dict[str, list[str]]:
    """``columns`` of the CSV at ``uri`` as strings, empty cells left out (a missing column reads as empty).

    ``max_bytes``: read only the first bytes of the object (whole lines), e.g. to sample a large file.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    bucket, key = split(uri)
    ranged = {"Range": f"bytes=0-{max_bytes - 1}"} if max_bytes else {}
    body = s3.get_object(Bucket=bucket, Key=key, **ranged)["Body"]
    if max_bytes:
        data = body.read()
        body = io.BytesIO(data[: data.rfind(b"\n") + 1])
    options = pcsv.ConvertOptions(
        include_columns=list(columns), include_missing_columns=True, strings_can_be_null=False,
        column_types={c: pa.string() for c in columns},
    )  # fmt: skip
    table = pcsv.read_csv(body, convert_options=options)
    return {c: [v for v in table[c].to_pylist() if v] for c in columns}

"""Names of the row-level data-quality rules: what a config's ``quality.rules`` may name (rules.py builds them).

Import-light (no pyarrow), so the config model can check rule names at DAG parse time.
"""

ID_NULL = "id_null"
TIMESTAMP_UNPARSEABLE = "timestamp_unparseable"
TIMESTAMP_OUT_OF_WINDOW = "timestamp_out_of_window"
NULL_NOT_ALLOWED = "null_not_allowed"
ID_TOO_LONG = "id_too_long"
TIMESTAMP_MILLISECONDS = "timestamp_milliseconds"
CATEGORICAL_TOO_LONG = "categorical_too_long"
# Found while parsing the source (transform/reader.py), before any column is typed.
RAGGED_ROW = "ragged_row"
BAD_ENCODING = "bad_encoding"
BAD_QUOTING = "bad_quoting"

#: Rows the source parser could not turn into fields (transform/reader.py); the rest are checked on typed rows.
PARSE_RULES = (RAGGED_ROW, BAD_ENCODING, BAD_QUOTING)

#: Every row rule, in the order a row's quarantine reason is decided (source suite first).
ROW_RULES = (
    ID_NULL,
    TIMESTAMP_UNPARSEABLE,
    TIMESTAMP_OUT_OF_WINDOW,
    NULL_NOT_ALLOWED,
    ID_TOO_LONG,
    TIMESTAMP_MILLISECONDS,
    CATEGORICAL_TOO_LONG,
    *PARSE_RULES,
)

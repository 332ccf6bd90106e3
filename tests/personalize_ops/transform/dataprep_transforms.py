"""Custom transforms used by the data-prep tests (config ``transform: module:function``)."""

import pyarrow as pa
import pyarrow.compute as pc


def upper_titles(t: pa.Table) -> pa.Table:
    i = t.schema.get_field_index("title")
    return t.set_column(i, "title", pc.utf8_upper(t["title"]))

"""Custom transforms of the cookbook's catalog (config: ``transform: catalog_transforms:clean_catalog``)."""

import pyarrow as pa
import pyarrow.compute as pc


def clean_catalog(table: pa.Table) -> pa.Table:
    """One chunk of raw rows: every CSV column as a string, plus ``__source_row``. Returns the chunk with
    ``title`` trimmed and capitalized and ``price`` ('12,50 €') as a decimal number ('12.50')."""
    title = pc.utf8_capitalize(pc.utf8_trim_whitespace(table["title"]))
    price = pc.replace_substring(pc.replace_substring_regex(table["price"], r"[^0-9,]", ""), ",", ".")
    table = table.set_column(table.schema.get_field_index("title"), "title", title)
    return table.set_column(table.schema.get_field_index("price"), "price", price)

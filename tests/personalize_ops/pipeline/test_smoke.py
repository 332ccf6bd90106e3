"""The smoke test's inputs: filter parameters read by the real filter-expression parser, CSV columns read from S3."""

from __future__ import annotations

import pytest
from personalize_ops.pipeline.s3csv import read_csv_columns
from personalize_ops.pipeline.smoke import SmokeTestError, filter_values

ITEMS = {"items": {"ITEM_ID": ["i1", "i2", "i3"], "GENRE": ["Drama|Comedy", "Drama", "Action"],
                   "PRICE": ["5", "7", "7"]},
         "users": {"USER_ID": ["u1", "u2"], "COUNTRY": ["FR", "FR"]}}  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)", {"GENRE": '"Drama"'}),
        ("include itemid where items.genre in ($G)", {"G": '"Drama"'}),  # any case, as Personalize accepts
        ("EXCLUDE ItemID WHERE Items.PRICE > $MIN | INCLUDE ItemID WHERE Items.GENRE IN ($G, \"Action\")",
         {"MIN": '"7"', "G": '"Drama"'}),
        ("INCLUDE ItemID WHERE Items.GENRE IN ($G) IF CurrentUser.COUNTRY = $C", {"G": '"Drama"', "C": '"FR"'}),
        ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', {}),
    ],
)  # fmt: skip
def test_each_parameter_gets_the_most_common_value_of_the_field_it_is_compared_with(expression, expected):
    assert filter_values(expression, ITEMS) == expected


def test_a_parameter_without_values_to_test_it_with_is_named():
    with pytest.raises(SmokeTestError, match=r"filter parameter \$TAG: no values of Items.TAGS"):
        filter_values("INCLUDE ItemID WHERE Items.TAGS IN ($TAG)", ITEMS)


def test_csv_columns_whole_file_and_first_bytes(local_stack):
    s3 = local_stack.client("s3")
    s3.create_bucket(Bucket="smoke-csv")
    rows = "".join(f"u{i % 3},i{i},{1700000000 + i}\n" for i in range(200))
    s3.put_object(Bucket="smoke-csv", Key="x.csv", Body=("USER_ID,ITEM_ID,TIMESTAMP\n" + rows + "u9,,5\n").encode())
    got = read_csv_columns(s3, "s3://smoke-csv/x.csv", ("USER_ID", "ITEM_ID", "MISSING"))
    assert got["USER_ID"][:4] == ["u0", "u1", "u2", "u0"] and len(got["USER_ID"]) == 201
    assert len(got["ITEM_ID"]) == 200, "empty cells are left out"
    assert got["MISSING"] == []
    head = read_csv_columns(s3, "s3://smoke-csv/x.csv", ("ITEM_ID",), max_bytes=100)
    assert head["ITEM_ID"] == [f"i{i}" for i in range(len(head["ITEM_ID"]))] and 0 < len(head["ITEM_ID"]) < 10

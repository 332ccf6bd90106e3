"""``one_hot``: flag columns turned into one multi-valued field (a built-in mapping option)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from personalize_ops.config import ConfigError, FieldSpec
from personalize_ops.quality import DataQualityError
from personalize_ops.transform import prepare_dataset
from personalize_ops.transform.mapping import one_hot_field
from pydantic import ValidationError

from tests.personalize_ops.transform.dataprep_helpers import make_config, write_raw


def test_set_flags_become_labels_joined_in_column_order():
    f = FieldSpec(name="GENRES", categorical=True, one_hot=["Action", "Comedy", "Drama"])
    t = pa.table({"Action": ["1", "0", "0", "true", None], "Comedy": ["1", "0", "", "YES", "0"],
                  "Drama": ["0", "1", "0", " t ", "n"]})  # fmt: skip
    out, bad, examples = one_hot_field(f, t)
    assert out.to_pylist() == ["Action|Comedy", "Drama", None, "Action|Comedy|Drama", None]
    assert bad is None and examples == []


def test_a_mapping_gives_labels_and_odd_flags_are_flagged():
    f = FieldSpec(name="GENRES", one_hot={"Childrens": "Children", "Sci-Fi": "Science fiction"})
    t = pa.table({"Childrens": ["1", "2", "0"], "Sci-Fi": ["1", "0", "maybe"]})
    out, bad, examples = one_hot_field(f, t)
    assert out.to_pylist() == ["Children|Science fiction", None, None]
    assert bad.to_pylist() == [False, True, True] and examples == ["Childrens=2", "Sci-Fi=maybe"]


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({"one_hot": ["a", "b"], "source": "x"}, "one_hot reads its own columns; remove source"),
        ({"one_hot": ["a", "b"], "split": ";"}, "remove split"),
        ({"one_hot": ["a", "b"], "type": "long"}, "set type: string"),
        ({"one_hot": ["a", "a"]}, "one_hot lists column(s) twice: a"),
        ({"one_hot": {"a": "x|y"}}, "must be non-empty and hold no '|'"),
        ({"one_hot": []}, "at least 1"),
    ],
)
def test_config_refuses_inconsistent_one_hot(spec, said):
    with pytest.raises(ValidationError) as e:
        FieldSpec(name="GENRES", **spec)
    assert said in str(e.value)


def _items(tmp_path, text: str, nullable: bool = False):
    write_raw(tmp_path, "items.csv", text)

    def items(c):
        c["datasets"]["items"] = {"source": {"path": "items.csv"}, "fields": [
            {"name": "ITEM_ID", "source": "id"},
            {"name": "GENRES", "categorical": True, "nullable": nullable, "one_hot": ["Action", "Comedy", "Drama"]},
        ]}  # fmt: skip

    return make_config(tmp_path, items)


def test_prepare_writes_the_multi_valued_field(tmp_path):
    cfg = _items(tmp_path, "id,title,Action,Comedy,Drama\ni1,A,1,0,1\ni2,B,0,1,0\ni3,C,0,0,0\n", nullable=True)
    res = prepare_dataset(cfg, "items", tmp_path / "out")
    assert (tmp_path / "out/items/items.csv").read_text().splitlines() == [
        "ITEM_ID,GENRES", "i1,Action|Drama", "i2,Comedy", "i3,"]  # fmt: skip
    assert res.rows_out == 3


def test_an_odd_flag_fails_with_the_value_named(tmp_path):
    cfg = _items(tmp_path, "id,Action,Comedy,Drama\ni1,1,0,1\ni2,0,x,0\n")
    with pytest.raises(DataQualityError) as e:
        prepare_dataset(cfg, "items", tmp_path / "out")
    assert {f["rule"] for f in e.value.failures} == {"null_not_allowed"}
    assert "Comedy=x" in str(e.value) and "'source_row': 1" in str(e.value)


def test_a_missing_flag_column_is_named(tmp_path):
    cfg = _items(tmp_path, "id,Action,Drama\ni1,1,0\n")
    with pytest.raises(DataQualityError) as e:
        prepare_dataset(cfg, "items", tmp_path / "out")
    assert "required columns missing" in str(e.value) and "Comedy" in str(e.value)


def test_config_error_names_the_key(tmp_path):
    def bad(c):
        c["datasets"]["interactions"]["fields"].append({"name": "GENRES", "one_hot": ["a"], "source": "g"})

    with pytest.raises(ConfigError) as e:
        make_config(tmp_path, bad)
    assert "datasets.interactions.fields[4]" in str(e.value) and "one_hot" in str(e.value)

"""ONE table of the dataset kinds a dataset group holds (interactions, items, users).

The config's keys, Personalize's ``datasetType``, the fields each kind needs, its ID fields and the names filter
expressions use for it all come from here; nothing else spells them out. Pure data: imported at DAG parse time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetKind:
    key: str  # the config's key under ``datasets:`` (and the task-id suffix)
    dataset_type: str  # CreateDataset ``datasetType``, upper-cased as Describe answers it
    required_fields: tuple[str, ...]  # fields a config must map (Personalize's required schema fields)
    id_fields: tuple[str, ...]  # identifier fields (never null, at most 256 characters)
    filter_names: tuple[str, ...]  # how filter expressions refer to it (``Items.X``, ``CurrentItem.X``)

    @property
    def record_name(self) -> str:
        """The Avro record name of its schema (``Interactions``)."""
        return self.key.capitalize()


KINDS: dict[str, DatasetKind] = {
    k.key: k
    for k in (
        DatasetKind("interactions", "INTERACTIONS", ("USER_ID", "ITEM_ID", "TIMESTAMP"), ("USER_ID", "ITEM_ID"),
                    ("Interactions",)),  # fmt: skip
        DatasetKind("items", "ITEMS", ("ITEM_ID",), ("ITEM_ID",), ("Items", "CurrentItem")),
        DatasetKind("users", "USERS", ("USER_ID",), ("USER_ID",), ("Users", "CurrentUser")),
    )
}
#: Filter-expression dataset name -> dataset kind key (``CurrentItem`` -> ``items``).
BY_FILTER_NAME: dict[str, str] = {name: k.key for k in KINDS.values() for name in k.filter_names}

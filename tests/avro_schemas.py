"""Personalize Avro schemas for the tests: one builder of the record JSON that CreateSchema takes."""

from __future__ import annotations

import json


def avro_record(name: str, *fields: tuple[str, object] | dict) -> str:
    """The schema text of the Personalize record ``name`` (Interactions, Items, Users): ``fields`` as
    ``(field, avro type)`` pairs, or whole field dicts (for ``categorical`` and the like)."""
    return json.dumps({
        "type": "record",
        "name": name,
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [f if isinstance(f, dict) else {"name": f[0], "type": f[1]} for f in fields],
        "version": "1.0",
    })  # fmt: skip

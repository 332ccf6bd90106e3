"""botocore's service model as the contract: generic request validation and response projection.

Nothing here knows a particular operation: every check (required members, types, enums, lengths, ranges,
patterns) is read from the shapes of `botocore/data/<service>/<version>/service-2.json`.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from functools import cache, lru_cache
from pathlib import Path

from personalize_local.errors import InvalidInput


@cache
def load_model(service: str = "personalize") -> dict:
    """The raw service-2.json of `service` as shipped with the installed botocore (read without importing
    botocore, which keeps the service's start-up fast)."""
    data = Path(importlib.util.find_spec("botocore").origin).parent / "data" / service
    version = sorted(p for p in data.iterdir() if p.is_dir())[-1]
    for name, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
        if (version / name).exists():
            with opener(version / name, "rt", encoding="utf-8") as fh:
                return json.load(fh)
    raise FileNotFoundError(f"no service-2.json for {service} under {version}")


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


class ServiceModel:
    """Shapes and operations of one service, with `validate` (requests) and `project` (responses)."""

    def __init__(self, service: str = "personalize"):
        raw = load_model(service)
        self.shapes: dict = raw["shapes"]
        self.operations: dict = raw["operations"]

    def input_shape(self, operation: str) -> str | None:
        return self.operations[operation].get("input", {}).get("shape")

    def output_shape(self, operation: str) -> str | None:
        return self.operations[operation].get("output", {}).get("shape")

    def members(self, shape: str) -> dict:
        return self.shapes[shape].get("members", {})

    # -- validation -------------------------------------------------------------------------------------
    def validate(self, operation: str, params: dict) -> None:
        """Raise InvalidInputException listing every constraint `params` violates (AWS's message style)."""
        shape = self.input_shape(operation)
        errors: list[str] = []
        if shape:
            self._check(shape, params, "", errors)
        if errors:
            head = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
            raise InvalidInput(head + "; ".join(errors))

    def _check(self, shape_name: str, value, path: str, errors: list[str]) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        where = path or "request"

        def fail(constraint: str) -> None:
            shown = value if not isinstance(value, dict | list) else type(value).__name__
            errors.append(f"Value '{shown}' at '{where}' failed to satisfy constraint: {constraint}")

        if kind == "structure":
            if not isinstance(value, dict):
                return fail("Member must be an object")
            for req in shape.get("required", []):
                if value.get(req) is None:
                    errors.append(
                        f"Value null at '{_join(path, req)}' failed to satisfy constraint: "
                        "Member must not be null"
                    )
            for name, ref in shape.get("members", {}).items():
                if value.get(name) is not None:
                    self._check(ref["shape"], value[name], _join(path, name), errors)
        elif kind == "list":
            if not isinstance(value, list):
                return fail("Member must be a list")
            self._length(shape, len(value), fail)
            for i, item in enumerate(value):
                self._check(shape["member"]["shape"], item, f"{where}.{i + 1}.member", errors)
        elif kind == "map":
            if not isinstance(value, dict):
                return fail("Member must be a map")
            self._length(shape, len(value), fail)
            for k, v in value.items():
                self._check(shape["key"]["shape"], k, f"{where}.key", errors)
                self._check(shape["value"]["shape"], v, f"{where}.{k}", errors)
        elif kind == "string":
            if not isinstance(value, str):
                return fail("Member must be a string")
            if "enum" in shape and value not in shape["enum"]:
                return fail(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
            self._length(shape, len(value), fail)
            rx = _regex(shape["pattern"]) if "pattern" in shape else None
            if rx is not None and not rx.search(value):
                fail(f"Member must satisfy regular expression pattern: {shape['pattern']}")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                return fail("Member must be an integer")
            self._range(shape, value, fail)
        elif kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return fail("Member must be a number")
            self._range(shape, value, fail)
        elif kind == "boolean":
            if not isinstance(value, bool):
                fail("Member must be a boolean")
        elif kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                fail("Member must be a timestamp")

    @staticmethod
    def _length(shape: dict, n: int, fail) -> None:
        if "min" in shape and n < shape["min"]:
            fail(f"Member must have length greater than or equal to {shape['min']}")
        elif "max" in shape and n > shape["max"]:
            fail(f"Member must have length less than or equal to {shape['max']}")

    @staticmethod
    def _range(shape: dict, n, fail) -> None:
        if "min" in shape and n < shape["min"]:
            fail(f"Member must have value greater than or equal to {shape['min']}")
        elif "max" in shape and n > shape["max"]:
            fail(f"Member must have value less than or equal to {shape['max']}")

    # -- responses --------------------------------------------------------------------------------------
    def project(self, shape_name: str, value):
        """`value` restricted to what `shape_name` declares (drops internal keys and Nones)."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and isinstance(value, dict):
            out = {}
            for name, ref in shape.get("members", {}).items():
                if value.get(name) is not None:
                    out[name] = self.project(ref["shape"], value[name])
            return out
        if kind == "list" and isinstance(value, list):
            return [self.project(shape["member"]["shape"], v) for v in value]
        return value

    def list_member(self, operation: str) -> tuple[str, str]:
        """(output member name, element shape) of a List* operation's one list-typed output member."""
        for name, ref in self.members(self.output_shape(operation)).items():
            target = self.shapes[ref["shape"]]
            if target["type"] == "list":
                return name, target["member"]["shape"]
        raise KeyError(f"{operation} has no list output member")

    def single_member(self, operation: str) -> tuple[str, str]:
        """(member, shape) of a Describe* operation's one structure-typed output member."""
        for name, ref in self.members(self.output_shape(operation)).items():
            if self.shapes[ref["shape"]]["type"] == "structure":
                return name, ref["shape"]
        raise KeyError(f"{operation} has no structure output member")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

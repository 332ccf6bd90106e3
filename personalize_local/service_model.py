"""botocore's service model as the contract: generic request validation and response projection.

Nothing here knows a particular operation: every check (required members, types, enums, lengths, ranges,
patterns) is read from the shapes of `botocore/data/<service>/<version>/service-2.json`.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import re
import sys
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from personalize_local.aws_errors import InvalidInput

log = logging.getLogger("personalize_local")


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
    r"""`pattern` (Java regex syntax, as AWS's services evaluate it) compiled for the stdlib `re`: the `\p{...}`
    classes botocore's models use become explicit code point ranges, and \d, \w, \s mean ASCII as in Java.
    None (logged) for a pattern that cannot be translated, so one odd shape never rejects every request."""
    try:
        return re.compile(_translate(pattern), re.ASCII)
    except (re.error, ValueError) as exc:
        log.warning("service model pattern %r is not checked: %s", pattern, exc)
        return None


def matches(rx: re.Pattern, value: str) -> bool:
    """AWS checks a value against the WHOLE pattern (Java's `matches`), anchors or not: `^[a-z]+` rejects "a.b"."""
    return rx.fullmatch(value) is not None


def _translate(pattern: str) -> str:
    r"""`\p{Name}` -> the code points of that Unicode general category ("L", "Lu", "N", "Z", ...) or of "ASCII",
    as a character class, or as ranges inside an enclosing [...]."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and pattern.startswith(("p{", "P{"), i + 1):
            end = pattern.index("}", i)
            if pattern[i + 1] == "P":
                raise ValueError(f"negated class {pattern[i : end + 1]} is not supported")
            ranges = _class_ranges(pattern[i + 3 : end])
            out.append(ranges if in_class else f"[{ranges}]")
            i = end + 1
            continue
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@cache
def _class_ranges(name: str) -> str:
    if name == "ASCII":
        return r"\x00-\x7f"
    categories = _categories()
    if len(name) not in (1, 2) or not any(cat.startswith(name) for cat in categories):
        raise ValueError(f"unknown Unicode class \\p{{{name}}}")
    spans = sorted(span for cat, spans in categories.items() if cat.startswith(name) for span in spans)
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo == merged[-1][1] + 1:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in merged)


@cache
def _categories() -> dict[str, list[tuple[int, int]]]:
    """{general category: [(first, last) code point]} of the running Python's Unicode database (one pass, ~0.3 s,
    done once and only if a pattern uses a Unicode class)."""
    spans: dict[str, list[list[int]]] = {}
    for code in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(code))
        runs = spans.setdefault(cat, [])
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return {cat: [tuple(r) for r in runs] for cat, runs in spans.items()}


def compile_patterns(service: str) -> int:
    """Compile every pattern of `service` now (the Unicode tables take a moment); returns how many compile."""
    shapes = load_model(service)["shapes"].values()
    return sum(_regex(s["pattern"]) is not None for s in shapes if "pattern" in s)


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
            if rx is not None and not matches(rx, value):
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

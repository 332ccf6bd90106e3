"""Every documented constraint of every implemented operation, generated from botocore's service models.

For each operation the service implements (personalize, personalize-runtime, personalize-events), every
constraint reachable from its input shape (required members, string min/max length, the whole-value pattern
including ``\\p{...}`` classes, enums, numeric ranges, list and map sizes) gets one valid and one invalid value at
its path, all other members minimal and valid. Each request goes over HTTP through a boto3 client whose own
parameter validation is off, so the server's validation answers: an invalid value is InvalidInputException (400,
"N validation error(s) detected: ... failed to satisfy constraint: <the documented constraint>", as AWS's
services word it); a valid value is never a validation error (it may still be, e.g., ResourceNotFoundException).

The valid and invalid sample values per pattern are written out here by hand (not derived from the service's
own regex translation), so a pattern the server translates too strictly or too loosely fails a case.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from personalize_local.service_model import load_model
from personalize_local.stack import LocalStack
from tests.fixtures.stack import MIN_DELAY

SERVICES = ("personalize", "personalize-runtime", "personalize-events")
ARN = "arn:aws:personalize:us-east-1:000000000000:dataset-group/constraint-test"


class Pattern:
    """`make(n)`: a valid value of length n (None if the pattern has none); `good`: more valid values (e.g.
    non-ASCII letters where the pattern has \\p{L}); `bad`: a value of ordinary length the pattern rejects."""

    def __init__(self, make: Callable[[int], str | None], good: tuple[str, ...], bad: str | None):
        self.make, self.good, self.bad = make, good, bad


def _fill(head: str, filler: str, n: int, tail: str = "") -> str | None:
    return head + filler * (n - len(head) - len(tail)) + tail if n >= len(head) + len(tail) + 1 else None


PATTERNS: dict[str, Pattern] = {
    "(s3|http|https)://.+": Pattern(lambda n: _fill("s3://b/", "k", n), ("https://host/x",), "ftp://bucket/key"),
    "[A-Za-z_][A-Za-z\\d_]*": Pattern(lambda n: "E" * n, ("_Col_9",), "9starts-with-a-digit"),
    "\\p{ASCII}{0,1500}": Pattern(lambda n: "t" * n, ("", "~!@ token\t"), "tok\u00e9n"),
    "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$": Pattern(
        lambda n: "v" * n, ("\u00e9quipe:\u00dcn\u00ef \u0669 /=+-@_.", "\u4f60\u597d"), "bad#value"
    ),
    "^[A-Za-z_]+$": Pattern(lambda n: "A" * n, ("EVENT_TYPE",), "EVENT1"),
    "^[a-zA-Z0-9][a-zA-Z0-9\\-_]*": Pattern(lambda n: "a" * n, ("A-b_9",), "-starts-with-a-dash.x"),
    "arn:([a-z\\d-]+):iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+": Pattern(
        lambda n: _fill("arn:aws:iam::000000000000:role/", "p", n),
        ("arn:aws-cn:iam::123456789012:role/path/name+=,.@-",),
        "arn:aws:s3:::bucket",
    ),
    "arn:([a-z\\d-]+):personalize:.*:.*:.+": Pattern(
        lambda n: _fill("arn:aws:personalize:us-east-1:000000000000:dataset-group/", "x", n),
        ("arn:aws:personalize:::recipe/aws-sims",),
        "not-an-arn",
    ),
    "arn:aws.*:kms:.*:[0-9]{12}:key/.*": Pattern(
        lambda n: _fill("arn:aws:kms:us-east-1:000000000000:key/", "k", n), (), "arn:aws:kms:us-east-1:1:key/k"
    ),
    "rate\\(\\d+ days?\\)": Pattern(lambda n: _fill("rate(", "1", n, " days)"), ("rate(1 day)",), "rate(1 week)"),
    "^[\\x20-\\x7E]*[\\x21-\\x7E]+[\\x20-\\x7E]*$": Pattern(lambda n: "s" * n, (" a b ",), "   "),
    "[A-Za-z0-9_]+": Pattern(lambda n: "K" * n, ("key_9",), "bad-key"),
    "[A-Za-z\\d_]+": Pattern(lambda n: "K" * n, ("DEVICE_9",), "bad key"),
}


class Case:
    """One request: `params`, whether it is `valid`, and (invalid) the constraint text the answer must hold."""

    def __init__(self, label: str, params: dict, valid: bool, expect: str = ""):
        self.label, self.params, self.valid, self.expect = label, params, valid, expect


class Generator:
    """Valid minimal values and constraint cases for one service model."""

    def __init__(self, service: str):
        self.shapes = load_model(service)["shapes"]

    # -- minimal valid values ----------------------------------------------------------------------------------
    def string(self, shape: dict, n: int | None = None) -> str | None:
        """A valid value of `shape`, of length `n` if given (None if the pattern has no value that long)."""
        if "enum" in shape:
            return shape["enum"][0]
        if n is None:
            if "pattern" in shape:
                return PATTERNS[shape["pattern"]].good[0] or PATTERNS[shape["pattern"]].make(8)
            return "a" * max(shape.get("min", 0), min(shape.get("max", 8), 8))
        if "pattern" not in shape:
            return "a" * n
        value = PATTERNS[shape["pattern"]].make(n)
        return value if value is not None and len(value) == n else None

    def minimal(self, name: str, depth: int = 0):
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure":
            return {m: self.minimal(shape["members"][m]["shape"], depth + 1) for m in shape.get("required", [])}
        if kind == "list":
            return [self.minimal(shape["member"]["shape"], depth + 1) for _ in range(shape.get("min", 0))]
        if kind == "map":
            return {self.key(shape, i): self.minimal(shape["value"]["shape"]) for i in range(shape.get("min", 0))}
        if kind == "string":
            return self.string(shape)
        if kind in ("integer", "long"):
            return shape.get("min", 1)
        if kind in ("float", "double"):
            return float(shape.get("min", 0.5))
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return 1_700_000_000
        raise AssertionError(f"no minimal value for {name} ({kind})")

    def key(self, map_shape: dict, i: int) -> str:
        key_shape = self.shapes[map_shape["key"]["shape"]]
        if "enum" in key_shape:
            return key_shape["enum"][i % len(key_shape["enum"])]
        if "pattern" in key_shape:  # distinct valid keys: lengths 1, 2, 3, ...
            return PATTERNS[key_shape["pattern"]].make(i + 1) or PATTERNS[key_shape["pattern"]].good[0]
        return f"K{i}"

    # -- cases --------------------------------------------------------------------------------------------------
    def cases(self, input_shape: str) -> Iterator[Case]:
        base = self.minimal(input_shape)
        yield Case("minimal request", base, True)
        yield from self._walk(input_shape, base, [], set())

    def _walk(self, name: str, base: dict, path: list, seen: set) -> Iterator[Case]:
        shape = self.shapes[name]
        if name in seen or len(path) > 8:
            return
        seen = seen | {name}
        where = _where(path)
        kind = shape["type"]
        if kind == "structure":
            for member in shape.get("required", []):
                req = _without(base, [*path, member], self)
                yield Case(f"{_where([*path, member])} missing", req, False, "Member must not be null")
            for member, ref in shape.get("members", {}).items():
                yield from self._walk(ref["shape"], base, [*path, member], seen)
            return
        if kind == "list":
            item = self.minimal(shape["member"]["shape"])
            yield from self._sizes(shape, base, path, lambda n: [copy.deepcopy(item) for _ in range(n)], "length")
            yield from self._walk(shape["member"]["shape"], base, [*path, 0], seen)
            return
        if kind == "map":
            value = self.minimal(shape["value"]["shape"])
            yield from self._sizes(
                shape, base, path, lambda n: {self.key(shape, i): copy.deepcopy(value) for i in range(n)}, "length"
            )
            yield from self._walk(shape["key"]["shape"], base, [*path, KEY], seen)
            yield from self._walk(shape["value"]["shape"], base, [*path, self.key(shape, 0)], seen)
            return
        if kind == "string":
            if "enum" in shape:
                yield Case(f"{where} = {shape['enum'][-1]}", _with(base, path, shape["enum"][-1], self), True)
                yield Case(
                    f"{where} not in enum",
                    _with(base, path, "NOT_ONE_OF_THEM", self),
                    False,
                    f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]",
                )
                return
            yield from self._sizes(shape, base, path, lambda n: self.string(shape, n), "length")
            if "pattern" in shape:
                pattern = PATTERNS[shape["pattern"]]
                for good in pattern.good:
                    if shape.get("min", 0) <= len(good) <= shape.get("max", 10**6):
                        yield Case(f"{where} = {good!r}", _with(base, path, good, self), True)
                if pattern.bad is not None:
                    yield Case(
                        f"{where} = {pattern.bad!r}",
                        _with(base, path, pattern.bad, self),
                        False,
                        f"Member must satisfy regular expression pattern: {shape['pattern']}",
                    )
            return
        if kind in ("integer", "long", "float", "double"):
            step = 1 if kind in ("integer", "long") else 0.5
            cast = int if kind in ("integer", "long") else float
            for bound, sign, words in (("min", -1, "greater than or equal to"), ("max", 1, "less than or equal to")):
                if bound in shape:
                    limit = shape[bound]
                    yield Case(f"{where} = {bound} {limit}", _with(base, path, cast(limit), self), True)
                    yield Case(
                        f"{where} past {bound}",
                        _with(base, path, cast(limit + sign * step), self),
                        False,
                        f"Member must have value {words} {limit}",
                    )

    def _sizes(self, shape: dict, base: dict, path: list, make, what: str) -> Iterator[Case]:
        where = _where(path)
        if shape.get("min", 0) > 0:
            low = shape["min"]
            value = make(low)
            if value is not None:
                yield Case(f"{where} at min {what} {low}", _with(base, path, value, self), True)
            yield Case(
                f"{where} under min {what}",
                _with(base, path, _shorter(make, low - 1), self),
                False,
                f"Member must have {what} greater than or equal to {low}",
            )
        if "max" in shape:
            high = shape["max"]
            value = make(high)
            if value is not None:
                yield Case(f"{where} at max {what} {high}", _with(base, path, value, self), True)
            over = make(high + 1)
            if over is not None:
                yield Case(
                    f"{where} over max {what}",
                    _with(base, path, over, self),
                    False,
                    f"Member must have {what} less than or equal to {high}",
                )


KEY = ("map key",)  # a path step: the key of a map's one entry (other map steps name the entry's key)


def _shorter(make, n: int):
    value = make(n)
    return value if value is not None else ""


def _where(path: list) -> str:
    """The path as AWS's messages write it: members joined by '.', list items as '<list>.<n>.member'."""
    out = ""
    for part in path:
        if part == KEY:
            out += ".key"
        elif isinstance(part, int):
            out += f".{part + 1}.member"
        else:
            out = f"{out}.{part}" if out else part
    return out


def _parent(gen: Generator, params: dict, path: list) -> tuple[object, object, dict]:
    """(container, last step, container shape) of `path` in `params`, with minimal valid containers created on
    the way (a list gets items up to the index, a map its one entry)."""
    name, node = gen.input_shape, params
    for step in path[:-1]:
        shape = gen.shapes[name]
        if shape["type"] == "list":
            name = shape["member"]["shape"]
            while len(node) <= step:
                node.append(gen.minimal(name))
        elif shape["type"] == "map":
            name = shape["value"]["shape"]
            if step not in node:
                node.clear()
                node[step] = gen.minimal(name)
        else:
            name = shape["members"][step]["shape"]
            if node.get(step) is None:
                node[step] = gen.minimal(name)
        node = node[step]
    return node, path[-1], gen.shapes[name]


def _with(base: dict, path: list, value, gen: Generator) -> dict:
    params = copy.deepcopy(base)
    node, step, shape = _parent(gen, params, path)
    if step == KEY:
        node.clear()
        node[value] = gen.minimal(shape["value"]["shape"])
    elif shape["type"] == "map":
        node.clear()
        node[step] = value
    elif shape["type"] == "list":
        while len(node) <= step:
            node.append(value)
        node[step] = value
    else:
        node[step] = value
    return params


def _without(base: dict, path: list, gen: Generator) -> dict:
    params = copy.deepcopy(base)
    node, step, _ = _parent(gen, params, path)
    node.pop(step, None)
    return params


# -- the stack and the operations it implements ------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LocalStack(tmp_path_factory.mktemp("constraints"), min_delay=MIN_DELAY) as st:
        yield st


def _operations() -> list[tuple[str, str]]:
    return [(service, op) for service in SERVICES for op in load_model(service)["operations"]]


def _call(client, operation: str, params: dict) -> tuple[str | None, str, int]:
    method = getattr(client, _snake(operation))
    try:
        method(**params)
    except ClientError as exc:
        err = exc.response["Error"]
        return err.get("Code"), err.get("Message", ""), exc.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, "", 200


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@pytest.fixture(scope="module")
def clients(stack):
    return {
        service: stack.client(service, parameter_validation=False, retries={"max_attempts": 1}) for service in SERVICES
    }


@pytest.mark.parametrize("service, operation", _operations(), ids=[f"{s}:{o}" for s, o in _operations()])
def test_every_constraint_of_the_operation_is_enforced_as_documented(clients, service, operation):
    client = clients[service]
    code, message, status = _call(client, operation, {})
    if code == "NotImplementedException":
        assert status == 501 and message == f"not implemented by personalize_local: {operation}"
        return  # not implemented: nothing is validated, and the answer says so
    spec = load_model(service)["operations"][operation]
    if "input" not in spec:
        return
    gen = Generator(service)
    gen.input_shape = spec["input"]["shape"]
    wrong = []
    cases = list(gen.cases(gen.input_shape))
    assert len(cases) > 1 or not gen.shapes[gen.input_shape].get("members")
    for case in cases:
        code, message, status = _call(client, operation, case.params)
        validation_error = code == "InvalidInputException" and "validation error" in message
        if case.valid and validation_error:
            wrong.append(f"valid {case.label}: rejected: {message}")
        elif not case.valid and not (
            validation_error and status == 400 and case.expect in message and "failed to satisfy constraint" in message
        ):
            wrong.append(f"invalid {case.label}: answered {code} {status} {message!r}, expected {case.expect!r}")
    assert not wrong, f"{service} {operation} ({len(cases)} cases):\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "operation",
    ["UpdateDataset", "UpdateSolution", "CreateDataDeletionJob", "DescribeDataDeletionJob", "ListDataDeletionJobs",
     "CreateMetricAttribution"],
)  # fmt: skip
def test_schema_replacement_and_data_deletion_are_validated_not_answered_501(clients, operation):
    """Replacing a schema, automatic training settings, data deletion and metric attributions are implemented: their
    requests are validated (an empty one names its missing members) instead of answered NotImplementedException."""
    code, message, status = _call(clients["personalize"], operation, {})
    model = load_model("personalize")
    if model["shapes"][model["operations"][operation]["input"]["shape"]].get("required"):
        assert (code, status) == ("InvalidInputException", 400) and "Member must not be null" in message, message
    else:
        assert code is None, message


def test_the_generator_covers_each_kind_of_constraint():
    """The generated cases include every kind of constraint the models use (so none is silently skipped)."""
    seen = set()
    for service in SERVICES:
        gen = Generator(service)
        for spec in load_model(service)["operations"].values():
            if "input" in spec:
                gen.input_shape = spec["input"]["shape"]
                seen.update(" ".join(c.expect.split(" ")[:4]) for c in gen.cases(gen.input_shape) if not c.valid)
    assert seen == {
        "Member must not be",
        "Member must have length",
        "Member must have value",
        "Member must satisfy regular",
        "Member must satisfy enum",
    }

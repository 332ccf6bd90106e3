"""Durable metric history in S3: one JSON object per solution version's metrics and one per gate decision.

The keys (areas ``history`` and ``gate``, per dataset group) come from :mod:`personalize_ops.s3_layout`; the
record fields are listed in docs/INTERFACES.md, "Metric history".
Writes are idempotent: writing the same record again is a no-op, writing a *different* record to an existing
key raises :class:`HistoryConflictError` instead of silently overwriting history. "The same" ignores the
bookkeeping fields a retry or a later run naturally changes (:data:`VERSION_BOOKKEEPING`,
:data:`GATE_BOOKKEEPING`); the first write's values are kept.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from personalize_ops import s3_layout

VERSION_FIELDS = (
    "dataset_group",
    "solution",
    "recipe",
    "solution_version_arn",
    "run_id",
    "data_hash",
    "created_at",
    "metrics",
)
GATE_FIELDS = (
    "campaign",
    "champion_arn",
    "challenger_arn",
    "metric",
    "champion_value",
    "challenger_value",
    "baseline_value",
    "margin",
    "promoted",
    "reason",
    "run_id",
    "decided_at",
)
#: Gate-record fields added later: records written before them read as False.
GATE_FLAGS = ("skipped", "already_serving")


#: Optional version-record fields: ``trained_until`` is the newest event (epoch seconds) the version was trained on,
#: which the backtest gate's leakage rule reads for the champion (docs/gate.md, "Leakage").
VERSION_OPTIONAL_FIELDS = ("trained_until",)


# A version's record is about the version: a task retry (new created_at default) or a later run that
# re-logs the same version (new run_id / data_hash) must not fail; the run that first logged it is kept.
VERSION_BOOKKEEPING = ("created_at", "run_id", "data_hash")
# A gate decision is per run: a retry of the gate task re-decides at a new time.
GATE_BOOKKEEPING = ("decided_at",)
#: Optional gate-record fields: ``evaluation`` holds a backtest's holdout, per-model metrics and intervals.
GATE_OPTIONAL_FIELDS = ("evaluation",)


class HistoryRecordError(ValueError):
    """A record is missing fields or has a value of the wrong kind."""


class HistoryConflictError(RuntimeError):
    """A different record already exists under the key this record maps to."""


def _key(make, *args: str) -> str:
    """A key from :mod:`personalize_ops.s3_layout`; a bad key part is a record error."""
    try:
        return make(*args)
    except s3_layout.KeyPartError as err:
        raise HistoryRecordError(str(err)) from err


def history_key(prefix: str, dataset_group: str, solution: str, solution_version_arn: str) -> str:
    """S3 key of one solution version's record; the version id is the last segment of its ARN."""
    version_id = solution_version_arn.rstrip("/").rsplit("/", 1)[-1]
    return _key(s3_layout.history_key, prefix, dataset_group, solution, version_id)


def gate_key(prefix: str, dataset_group: str, campaign: str, run_id: str) -> str:
    """S3 key of one gate decision (one per campaign and DAG run)."""
    return _key(s3_layout.gate_key, prefix, dataset_group, campaign, run_id)


def _iso_utc(value: Any, field: str) -> str:
    """ISO-8601 UTC text for a datetime or an ISO string (naive values are taken as UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise HistoryRecordError(f"{field}={value!r}: not an ISO-8601 timestamp") from err
    if not isinstance(value, datetime):
        raise HistoryRecordError(f"{field}={value!r}: expected a datetime or an ISO-8601 string")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _number(value: Any, field: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    try:
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an int too big for a float
        number = math.nan
    if not math.isfinite(number):
        raise HistoryRecordError(f"{field}={value!r}: expected a finite number")
    return number


def _required(record: Mapping[str, Any], fields: tuple[str, ...], kind: str, strings: tuple[str, ...]) -> dict:
    """The record's ``fields`` (all required; ``strings`` non-empty strings), nothing else."""
    missing = [f for f in fields if f not in record]
    if missing:
        raise HistoryRecordError(
            f"{kind} record is missing {', '.join(missing)}; required: {', '.join(fields)}"
        )
    out = {f: record[f] for f in fields}
    for field in strings:
        if not isinstance(out[field], str) or not out[field]:
            raise HistoryRecordError(f"{field}={out[field]!r}: must be a non-empty string")
    return out


def validate_version_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Check a solution-version record and return it normalised (floats, UTC timestamp, known fields only)."""
    out = _required(record, VERSION_FIELDS, "solution version",
                    ("dataset_group", "solution", "recipe", "solution_version_arn", "run_id"))  # fmt: skip
    out["created_at"] = _iso_utc(out["created_at"], "created_at")
    if not isinstance(out["metrics"], Mapping):
        raise HistoryRecordError(f"metrics={out['metrics']!r}: expected a mapping of metric name to number")
    out["metrics"] = {str(k): _number(v, f"metrics.{k}") for k, v in sorted(out["metrics"].items())}
    until = record.get("trained_until")
    if until is not None:
        if isinstance(until, bool) or not isinstance(until, int):
            raise HistoryRecordError(f"trained_until={until!r}: expected whole epoch seconds or null")
        out["trained_until"] = until
    return out


def validate_gate_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Check a gate-decision record and return it normalised."""
    out = _required(record, GATE_FIELDS, "gate decision", ("campaign", "challenger_arn", "metric", "reason", "run_id"))
    if out["champion_arn"] is not None and not isinstance(out["champion_arn"], str):
        raise HistoryRecordError(f"champion_arn={out['champion_arn']!r}: must be a string or null")
    for field in ("champion_value", "baseline_value"):
        out[field] = _number(out[field], field, optional=True)
    out["challenger_value"] = _number(out["challenger_value"], "challenger_value")
    out["margin"] = _number(out["margin"], "margin")
    if not isinstance(out["promoted"], bool):
        raise HistoryRecordError(f"promoted={out['promoted']!r}: expected true or false")
    out["decided_at"] = _iso_utc(out["decided_at"], "decided_at")
    for flag in GATE_FLAGS:
        out[flag] = record.get(flag, False)
        if not isinstance(out[flag], bool):
            raise HistoryRecordError(f"{flag}={out[flag]!r}: expected true or false")
    if record.get("evaluation") is not None:  # backtest details (evaluation/decision.py), kept as given
        if not isinstance(record["evaluation"], Mapping):
            raise HistoryRecordError(f"evaluation={record['evaluation']!r}: expected a mapping")
        try:
            out["evaluation"] = json.loads(json.dumps(record["evaluation"], allow_nan=False))
        except (TypeError, ValueError) as err:
            raise HistoryRecordError(f"evaluation: not plain JSON (numbers must be finite): {err}") from err
    return out


def make_version_record(
    *,
    dataset_group: str,
    solution: str,
    recipe: str,
    solution_version_arn: str,
    run_id: str,
    metrics: Mapping[str, float],
    data_hash: str | None = None,
    created_at: datetime | str | None = None,
    trained_until: int | None = None,
) -> dict[str, Any]:
    """Build a validated solution-version record (``created_at`` defaults to now, UTC)."""
    return validate_version_record(
        {
            "dataset_group": dataset_group,
            "solution": solution,
            "recipe": recipe,
            "solution_version_arn": solution_version_arn,
            "run_id": run_id,
            "data_hash": data_hash,
            "created_at": created_at or datetime.now(UTC),
            "metrics": metrics,
            "trained_until": trained_until,
        }
    )


def version_record_from_api(
    *,
    dataset_group: str,
    solution: str,
    solution_version: Mapping[str, Any],
    solution_metrics: Mapping[str, Any],
    run_id: str,
    data_hash: str | None = None,
) -> dict[str, Any]:
    """Record from ``describe_solution_version(...)["solutionVersion"]`` + ``get_solution_metrics(...)``.

    Both responses must be for the same version; ``created_at`` is the version's ``creationDateTime``.
    """
    arn = solution_version.get("solutionVersionArn")
    if solution_metrics.get("solutionVersionArn") not in (None, arn):
        raise HistoryRecordError(
            f"metrics are for {solution_metrics['solutionVersionArn']}, the description for {arn}; "
            "pass the responses of the same solution version"
        )
    return make_version_record(
        dataset_group=dataset_group,
        solution=solution,
        recipe=solution_version.get("recipeArn") or "",
        solution_version_arn=arn or "",
        run_id=run_id,
        data_hash=data_hash,
        created_at=solution_version.get("creationDateTime"),
        metrics=solution_metrics.get("metrics", {}),
    )


def history_rows(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, float]]]:
    """``(solution/version_id, metrics)`` pairs of history records, for ``render_metrics_table``."""
    return [
        (f"{r['solution']}/{r['solution_version_arn'].rsplit('/', 1)[-1]}", r["metrics"])
        for r in records
    ]


def _get_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError as err:
        raise HistoryRecordError(f"s3://{bucket}/{key}: not valid JSON ({err}); fix or delete it") from err


def _put_once(s3: Any, bucket: str, key: str, record: dict[str, Any], bookkeeping: tuple[str, ...]) -> bool:
    """Write ``record`` unless the key holds it already (bookkeeping fields aside). True when written."""
    existing = _get_json(s3, bucket, key)
    if existing is not None:

        def substance(r: Mapping[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in r.items() if k not in bookkeeping}

        if substance(existing) == substance(record):
            return False
        raise HistoryConflictError(
            f"s3://{bucket}/{key} already holds a different record; not overwriting. "
            f"existing={json.dumps(existing, sort_keys=True)} new={json.dumps(record, sort_keys=True)}. "
            "Delete the object on purpose if the stored one is wrong."
        )
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(record, sort_keys=True, indent=1).encode(),
        ContentType="application/json",
    )
    return True


def record_version(s3: Any, bucket: str, prefix: str, record: Mapping[str, Any]) -> str:
    """Store one solution version's metrics; returns the S3 key.

    Idempotent: the same version again (even from a retry or a later run) is a no-op keeping the first
    record; the same version with different metrics or recipe raises :class:`HistoryConflictError`.
    """
    rec = validate_version_record(record)
    key = history_key(prefix, rec["dataset_group"], rec["solution"], rec["solution_version_arn"])
    _put_once(s3, bucket, key, rec, VERSION_BOOKKEEPING)
    return key


def record_gate_decision(
    s3: Any, bucket: str, prefix: str, dataset_group: str, record: Mapping[str, Any]
) -> str:
    """Store one gate decision (see ``GateDecision.to_record``); returns the S3 key. Idempotent."""
    rec = validate_gate_record(record)
    key = gate_key(prefix, dataset_group, rec["campaign"], rec["run_id"])
    _put_once(s3, bucket, key, rec, GATE_BOOKKEEPING)
    return key


def load_gate_decision(
    s3: Any, bucket: str, prefix: str, dataset_group: str, campaign: str, run_id: str
) -> dict[str, Any] | None:
    """The gate decision recorded for ``campaign`` in DAG run ``run_id``, or None."""
    return _load_one(s3, bucket, gate_key(prefix, dataset_group, campaign, run_id), validate_gate_record)


def load_version(s3: Any, bucket: str, prefix: str, dataset_group: str, solution: str,
                 solution_version_arn: str) -> dict[str, Any] | None:  # fmt: skip
    """The history record of one solution version, or None when it was never logged."""
    key = history_key(prefix, dataset_group, solution, solution_version_arn)
    return _load_one(s3, bucket, key, validate_version_record)


def _load_one(s3: Any, bucket: str, key: str, validate) -> dict[str, Any] | None:
    """The record at ``key`` validated (a bad one fails naming its key), or None when there is none."""
    raw = _get_json(s3, bucket, key)
    return None if raw is None else _validated(bucket, key, raw, validate)


def _validated(bucket: str, key: str, raw: dict[str, Any], validate) -> dict[str, Any]:
    try:
        return validate(raw)
    except HistoryRecordError as err:
        raise HistoryRecordError(f"s3://{bucket}/{key}: {err}") from err


def _iter_json(s3: Any, bucket: str, key_prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".json"):
                record = _get_json(s3, bucket, obj["Key"])
                if record is not None:
                    yield obj["Key"], record


def _version_order(record: Mapping[str, Any]) -> tuple:
    return record["created_at"], record["solution"], record["solution_version_arn"]


def _gate_order(record: Mapping[str, Any]) -> tuple:
    return record["decided_at"], record["campaign"], record["run_id"]


#: The two record folders: how a record is validated, and the order of a listing (oldest first).
FOLDERS = {"history": (validate_version_record, _version_order), "gate": (validate_gate_record, _gate_order)}


def _load_all(s3: Any, bucket: str, prefix: str, folder: str, *where: str) -> list[dict[str, Any]]:
    """Every record of ``folder`` under ``where`` (dataset group, optional solution or campaign), validated (a bad
    one fails naming its key), oldest first."""
    validate, order = FOLDERS[folder]
    found = _iter_json(s3, bucket, _key(s3_layout.area, prefix, folder, *where))
    return sorted((_validated(bucket, key, raw, validate) for key, raw in found), key=order)


def load_history(
    s3: Any, bucket: str, prefix: str, dataset_group: str, solution: str | None = None
) -> list[dict[str, Any]]:
    """All solution-version records of a dataset group (optionally one solution), oldest first."""
    return _load_all(s3, bucket, prefix, "history", dataset_group, *([] if solution is None else [solution]))


def load_gate_decisions(
    s3: Any, bucket: str, prefix: str, dataset_group: str, campaign: str | None = None
) -> list[dict[str, Any]]:
    """All gate decisions of a dataset group (optionally one campaign), oldest first."""
    return _load_all(s3, bucket, prefix, "gate", dataset_group, *([] if campaign is None else [campaign]))


# --------------------------------------------------------------------------- bounded, tolerant reads (the UI)


#: A bounded read lists at most this many keys of one folder.
SCAN_LIST_LIMIT = 100_000


@dataclasses.dataclass
class Scan:
    """What a bounded read of a record folder found: valid records (oldest first), the unreadable ones as
    ``(s3 uri, reason)``, and how many records exist when more than ``max_records`` (else None)."""

    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    total: int | None = None


def _scan(s3: Any, bucket: str, key_prefix: str, validate, max_records: int, max_bytes: int) -> Scan:
    """Read at most ``max_records`` records (the newest by S3 LastModified) of at most ``max_bytes`` each.

    A record that is too big, not JSON or fails ``validate`` becomes a problem naming its key, never an
    exception; listing stops after :data:`SCAN_LIST_LIMIT` keys."""
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
        listed += [o for o in page.get("Contents", []) if o["Key"].endswith(".json")]
        if len(listed) >= SCAN_LIST_LIMIT:
            break
    newest = sorted(listed, key=lambda o: (o["LastModified"], o["Key"]), reverse=True)[:max_records]
    scan = Scan(total=len(listed) if len(listed) > max_records else None)
    for obj in newest:
        uri = f"s3://{bucket}/{obj['Key']}"
        if obj["Size"] > max_bytes:
            too_big = f"{obj['Size']:,} bytes, more than the {max_bytes:,} a record may have; not read"
            scan.problems.append((uri, too_big))
            continue
        try:
            body = s3.get_object(Bucket=bucket, Key=obj["Key"], Range=f"bytes=0-{max_bytes}")["Body"].read()
        except s3.exceptions.NoSuchKey:
            continue  # deleted since the listing
        if len(body) > max_bytes:
            scan.problems.append((uri, f"more than the {max_bytes:,} bytes a record may have; not read"))
            continue
        try:
            raw = json.loads(body)
            if not isinstance(raw, dict):
                raise HistoryRecordError(f"expected a JSON object, found {type(raw).__name__}")
            scan.records.append(validate(raw))
        except (ValueError, HistoryRecordError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = f"not valid JSON ({err})" if not isinstance(err, HistoryRecordError) else str(err)
            scan.problems.append((uri, reason if len(reason) <= 300 else reason[:297] + "..."))
    return scan



def _scan_sorted(s3: Any, bucket: str, prefix: str, folder: str, dataset_group: str, max_records: int,
                 max_bytes: int) -> Scan:  # fmt: skip
    validate, order = FOLDERS[folder]
    scan = _scan(s3, bucket, _key(s3_layout.area, prefix, folder, dataset_group), validate, max_records, max_bytes)
    scan.records.sort(key=order)
    return scan


def scan_history(
    s3: Any, bucket: str, prefix: str, dataset_group: str, *, max_records: int, max_bytes: int
) -> Scan:
    """Like :func:`load_history`, bounded and tolerant: bad records are reported, not raised."""
    return _scan_sorted(s3, bucket, prefix, "history", dataset_group, max_records, max_bytes)


def scan_gate_decisions(
    s3: Any, bucket: str, prefix: str, dataset_group: str, *, max_records: int, max_bytes: int
) -> Scan:
    """Like :func:`load_gate_decisions`, bounded and tolerant: bad records are reported, not raised."""
    return _scan_sorted(s3, bucket, prefix, "gate", dataset_group, max_records, max_bytes)

"""The backtest's out-of-time holdout, cut from the staged interactions CSV (Personalize's format).

- The cut C: ``window`` (the newest N seconds: ``C = newest TIMESTAMP + 1 - N``) or ``share`` (C is the
  timestamp of the newest ``ceil(share * events)``-th event; events tied with it are all after C).
  Events with ``TIMESTAMP < C`` are *before* (the challenger's training data), ``>= C`` *after* (the holdout).
- The leakage rule (:func:`find_cut`): a champion whose training data reaches C has seen the holdout.
  ``shrink`` moves C to just after the champion's newest training event; ``refuse`` keeps C and marks the cut
  refused. An unknown champion cut-off is marked ``unknown`` (the decision refuses it: docs/gate.md).
- The sample: users with at least one event (any type) before C and at least one *relevant* event (type in
  ``event_types``, default every type) after C; ``sample_size`` of them drawn with ``numpy``'s seeded
  generator from the sorted candidate ids, so the same file, cut and seed give the same users.
- The truth of a sampled user: their distinct relevant items after C in time order, minus the items they
  interacted with before C (the recipes exclude a user's history from recommendations, so those could never
  count; Personalize's own offline split drops them likewise). Users left with nothing are dropped, counted.

The file is streamed with pyarrow in blocks (a few passes, each reading only the columns it needs): memory
holds the users active after C, the catalog's item ids and the sampled users' events, never the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from personalize_ops.evaluation.records import DictRecord

REQUIRED = ("USER_ID", "ITEM_ID", "TIMESTAMP")
BLOCK_SIZE = 8 << 20
_DAY = 86400


class HoldoutError(ValueError):
    """The interactions file cannot give a holdout (missing column, bad timestamp, nothing to cut)."""


def iso(ts: int | None) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (``-`` for None)."""
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Cut(DictRecord):
    """Where the holdout starts and why. ``leakage``: none | shrunk | refused | unknown | no champion."""

    cutoff: int
    rule: str
    requested_cutoff: int
    data_start: int
    data_end: int
    events: int
    champion_trained_until: int | None
    leakage: str

    @property
    def usable(self) -> bool:
        """Can champion and challenger be compared on this cut (no leakage left, or no champion)?"""
        return self.leakage in ("none", "shrunk", "no champion")


@dataclass(frozen=True)
class TrainingFile(DictRecord):
    """The events before C, written in the input's columns (for the challenger's training import)."""

    path: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Holdout:
    """The sampled users and their truth after C; ``truth`` maps user -> items (sorted users on output)."""

    cut: Cut
    seed: int
    sample_size: int
    event_types: tuple[str, ...] | None
    events_before: int
    events_after: int
    candidates: int
    dropped: int
    catalog_size: int
    truth: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def users(self) -> list[str]:
        return sorted(self.truth)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cut"] = self.cut.to_dict()
        out["event_types"] = None if self.event_types is None else list(self.event_types)
        out["truth"] = {u: list(self.truth[u]) for u in self.users}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Holdout:
        d = dict(data)
        d["cut"] = Cut.from_dict(d["cut"])
        d["event_types"] = None if d["event_types"] is None else tuple(d["event_types"])
        d["truth"] = {u: tuple(items) for u, items in d["truth"].items()}
        return cls(**d)

    def summary(self) -> dict[str, Any]:
        """Everything but the per-user truth (for records and logs)."""
        out = self.to_dict()
        out["n_users"] = len(self.truth)
        del out["truth"]
        return out


# --------------------------------------------------------------------------------------------- reading


def _columns(path: Path) -> list[str]:
    import pyarrow.csv as pcsv

    try:
        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE))
    except FileNotFoundError:
        raise HoldoutError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid for an empty or unreadable file
        raise HoldoutError(f"{path}: not a readable CSV with a header: {e}") from None
    names = reader.schema.names
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise HoldoutError(f"{path}: no {', '.join(missing)} column (header: {', '.join(names)}); "
                           "the holdout reads the staged interactions file in Personalize's format")  # fmt: skip
    return names


def _batches(path: Path, columns: list[str], *, all_strings: bool = False) -> Iterator[Any]:
    """Record batches of ``columns``; TIMESTAMP as int64 unless ``all_strings`` (then as read)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {c: pa.string() for c in columns}
    if not all_strings:
        types["TIMESTAMP"] = pa.int64()
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE),
            convert_options=pcsv.ConvertOptions(include_columns=columns, column_types=types,
                                                strings_can_be_null=False),
        )  # fmt: skip
        yield from reader
    except pa.ArrowInvalid as e:
        raise _bad_timestamp(path, e) from None


def _bad_timestamp(path: Path, error: Exception) -> HoldoutError:
    """The error for a TIMESTAMP pyarrow could not read as int64, naming the first bad line of the file."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE),
                           convert_options=pcsv.ConvertOptions(include_columns=["TIMESTAMP"],
                                                               column_types={"TIMESTAMP": pa.string()}))  # fmt: skip
    line = 2  # line 1 is the header
    for batch in reader:
        for value in batch.column("TIMESTAMP").to_pylist():
            if value is None or not value.strip().lstrip("-").isdigit():
                return HoldoutError(f"{path}: line {line}: TIMESTAMP {value!r} is not whole epoch seconds; "
                                    "fix the staged file (every event needs its time)")  # fmt: skip
            line += 1
    return HoldoutError(f"{path}: TIMESTAMP: {error}")


def _times(batch) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = batch.column("TIMESTAMP")
    if ts.type != pa.int64():
        try:
            ts = pc.cast(ts, pa.int64())
        except pa.ArrowInvalid as e:
            raise HoldoutError(f"TIMESTAMP: {e}; TIMESTAMP must be whole epoch seconds in every row") from None
    if ts.null_count:
        raise HoldoutError("TIMESTAMP is empty in some rows; every event needs a time")
    return ts


# --------------------------------------------------------------------------------------------- the cut


def _duration(seconds: int) -> str:
    for unit, size in (("d", _DAY), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _share_cutoff(path: Path, days: dict[int, int], n_after: int) -> int:
    """The timestamp of the ``n_after``-th newest event: day counts first, then seconds within that day."""
    import numpy as np
    import pyarrow.compute as pc

    seen = 0
    for day in sorted(days, reverse=True):
        if seen + days[day] >= n_after:
            break
        seen += days[day]
    lo = day * _DAY
    seconds = np.zeros(_DAY, dtype=np.int64)
    for batch in _batches(path, ["TIMESTAMP"]):
        ts = _times(batch)
        inside = pc.and_(pc.greater_equal(ts, lo), pc.less(ts, lo + _DAY))
        offsets = pc.subtract(pc.filter(ts, inside), lo).to_numpy(zero_copy_only=False)
        seconds += np.bincount(offsets, minlength=_DAY)
    newest_first = np.cumsum(seconds[::-1])
    k = int(np.searchsorted(newest_first, n_after - seen))  # k-th second from the day's end holds the event
    return lo + _DAY - 1 - k


def find_cut(
    path: str | Path,
    *,
    window_seconds: int | None = None,
    share: float | None = None,
    has_champion: bool = True,
    champion_trained_until: int | None = None,
    leakage_rule: str = "shrink",
) -> Cut:
    """The cut C of ``path`` for a window or a share, after the leakage rule (module docstring)."""
    import numpy as np
    import pyarrow.compute as pc

    path = Path(path)
    if (window_seconds is None) == (share is None):
        raise ValueError("give exactly one of window_seconds and share")
    if leakage_rule not in ("shrink", "refuse"):
        raise ValueError(f"leakage_rule={leakage_rule!r}: use 'shrink' or 'refuse'")
    _columns(path)
    n, start, end, days = 0, None, None, {}
    for batch in _batches(path, ["TIMESTAMP"]):
        ts = _times(batch)
        if not len(ts):
            continue
        mm = pc.min_max(ts).as_py()
        start = mm["min"] if start is None else min(start, mm["min"])
        end = mm["max"] if end is None else max(end, mm["max"])
        n += len(ts)
        d, counts = np.unique(pc.floor(pc.divide(ts, float(_DAY))).to_numpy().astype(np.int64), return_counts=True)
        for day, count in zip(d.tolist(), counts.tolist(), strict=True):
            days[day] = days.get(day, 0) + count
    if n == 0:
        raise HoldoutError(f"{path}: no events; nothing to hold out")
    if window_seconds is not None:
        if window_seconds <= 0:
            raise ValueError(f"window_seconds={window_seconds}: must be positive")
        requested, rule = end + 1 - window_seconds, f"newest {_duration(window_seconds)}"
    else:
        if not 0 < share < 1:
            raise ValueError(f"share={share}: must be between 0 and 1")
        requested, rule = _share_cutoff(path, days, max(1, math.ceil(share * n))), f"newest {share:g} of events"
    cut = Cut(requested, rule, requested, start, end, n, champion_trained_until, "none")
    if not has_champion:
        return replace(cut, leakage="no champion")
    if champion_trained_until is None:
        return replace(cut, leakage="unknown")
    if champion_trained_until < requested:
        return cut
    if leakage_rule == "refuse" or champion_trained_until >= end:
        return replace(cut, leakage="refused")
    return replace(cut, cutoff=champion_trained_until + 1, leakage="shrunk")


# --------------------------------------------------------------------------------------------- the sample


def _event_filter(batch, event_types: tuple[str, ...] | None, path: Path):
    import pyarrow as pa
    import pyarrow.compute as pc

    if event_types is None:
        return None
    if "EVENT_TYPE" not in batch.schema.names:
        raise HoldoutError(f"{path}: event_types {list(event_types)} given but the file has no EVENT_TYPE column")
    return pc.is_in(batch.column("EVENT_TYPE"), value_set=pa.array(list(event_types), pa.string()))


def build_holdout(
    path: str | Path,
    cut: Cut,
    *,
    sample_size: int,
    seed: int,
    event_types: list[str] | tuple[str, ...] | None = None,
    training_out: str | Path | None = None,
) -> tuple[Holdout, TrainingFile | None]:
    """Sample the users and their truth after ``cut``; with ``training_out`` also write the events before C."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    path = Path(path)
    names = _columns(path)
    types = None if event_types is None else tuple(dict.fromkeys(event_types))
    if types is not None and "EVENT_TYPE" not in names:
        raise HoldoutError(f"{path}: event_types {list(types)} given but the file has no EVENT_TYPE column")
    if sample_size < 1:
        raise ValueError(f"sample_size={sample_size}: must be at least 1")
    c = cut.cutoff
    cols = ["USER_ID", "ITEM_ID", "TIMESTAMP", *(["EVENT_TYPE"] if types is not None else [])]

    # pass 1: users with a relevant event after C; counts
    after_users: set[str] = set()
    n_before = n_after = 0
    for batch in _batches(path, cols):
        after = pc.greater_equal(_times(batch), c)
        n_after += pc.sum(after).as_py() or 0
        n_before += len(batch) - (pc.sum(after).as_py() or 0)
        relevant = _event_filter(batch, types, path)
        keep = after if relevant is None else pc.and_(after, relevant)
        after_users.update(pc.unique(pc.filter(batch.column("USER_ID"), keep)).to_pylist())

    # pass 2: which of them have history before C; the catalog; the training file
    after_set = pa.array(sorted(after_users), pa.string())
    candidates: set[str] = set()
    catalog: set[str] = set()
    sink = None
    if training_out is not None:
        from personalize_ops.transform.writer import CsvSink

        sink = CsvSink(Path(training_out), names)
    try:
        for batch in _batches(path, names if sink else cols, all_strings=sink is not None):
            before = pc.less(_times(batch), c)
            rows = batch.filter(before)
            users = pc.unique(rows.column("USER_ID"))
            candidates.update(pc.filter(users, pc.is_in(users, value_set=after_set)).to_pylist())
            catalog.update(pc.unique(rows.column("ITEM_ID")).to_pylist())
            if sink is not None:
                sink.write(pa.Table.from_batches([rows]))
        training = None
        if sink is not None:
            out = sink.close()
            training = TrainingFile(str(out), sink.rows, sink.sha.hexdigest())
            sink = None
    finally:
        if sink is not None:
            sink.abort()

    ordered = sorted(candidates)
    rng = np.random.default_rng(seed)
    picked = sorted(ordered[i] for i in rng.choice(len(ordered), size=min(sample_size, len(ordered)), replace=False))

    # pass 3: the sampled users' history before C and relevant events after C
    sample = pa.array(picked, pa.string())
    history: dict[str, set[str]] = {u: set() for u in picked}
    later: list[tuple[str, int, int, str]] = []
    row0 = 0
    for batch in _batches(path, cols):
        mine = pc.is_in(batch.column("USER_ID"), value_set=sample)
        ts = _times(batch)
        before = pc.and_(mine, pc.less(ts, c))
        for u, i in zip(pc.filter(batch.column("USER_ID"), before).to_pylist(),
                        pc.filter(batch.column("ITEM_ID"), before).to_pylist(), strict=True):  # fmt: skip
            history[u].add(i)
        relevant = _event_filter(batch, types, path)
        after = pc.and_(mine, pc.greater_equal(ts, c))
        after = after if relevant is None else pc.and_(after, relevant)
        idx = pc.indices_nonzero(after)
        for r, u, t, i in zip(idx.to_pylist(), pc.take(batch.column("USER_ID"), idx).to_pylist(),
                              pc.take(ts, idx).to_pylist(), pc.take(batch.column("ITEM_ID"), idx).to_pylist(),
                              strict=True):  # fmt: skip
            later.append((u, t, row0 + r, i))
        row0 += len(batch)
    truth: dict[str, list[str]] = {u: [] for u in picked}
    for u, _, _, i in sorted(later):
        if i not in history[u] and i not in truth[u]:
            truth[u].append(i)
    kept = {u: tuple(items) for u, items in truth.items() if items}
    holdout = Holdout(
        cut=cut,
        seed=seed,
        sample_size=sample_size,
        event_types=types,
        events_before=n_before,
        events_after=n_after,
        candidates=len(ordered),
        dropped=len(picked) - len(kept),
        catalog_size=len(catalog),
        truth=kept,
    )
    return holdout, training


def download(s3, uri: str, directory: str | Path) -> Path:
    """Copy the object at ``uri`` (e.g. the staged interactions file) to ``directory``; returns the path."""
    from personalize_ops.pipeline import s3uri

    bucket, key = s3uri.split(uri)
    dest = Path(directory) / Path(key).name
    s3.download_file(bucket, key, str(dest))
    return dest

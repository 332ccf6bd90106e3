"""Row hashing and a compact set of 64-bit hashes (exact-duplicate removal, distinct counts).

Strings are hashed with numpy over Arrow's offset/data buffers (see ``_string_hash``).
Memory: 8 bytes per distinct value kept (e.g. 50M distinct rows -> 400 MB), stored as sorted
numpy runs merged like a binary counter, so adding N hashes costs O(N log N) and lookups touch
O(log N) runs. Two different rows collide with probability ~ n^2 / 2^65 (about 7e-5 at 50M rows);
a collision would drop one row as a "duplicate".
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NULL = np.uint64(0x2545F4914F6CDD1D)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (vectorized, wraps mod 2^64)."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


_MULT = _mix(np.arange(1, 4097, dtype=np.uint64)) | np.uint64(1)  # odd multiplier per byte position


def _string_hash(arr: pa.Array) -> np.ndarray:
    """Vectorized hash of every string: sum(byte * odd_multiplier[position]) mod 2^64, mixed with the
    length (no per-value Python, no dictionary). Different strings collide with probability ~2^-64."""
    arr = pc.cast(arr, pa.large_string()) if not pa.types.is_large_string(arr.type) else arr
    _, offs_buf, data_buf = arr.buffers()
    offs = np.frombuffer(offs_buf, np.int64)[arr.offset : arr.offset + len(arr) + 1]
    lens = np.diff(offs).astype(np.int64)
    start, end = int(offs[0]), int(offs[-1])
    data = np.frombuffer(data_buf, np.uint8)[start:end] if data_buf is not None else np.zeros(0, np.uint8)
    with np.errstate(over="ignore"):
        if len(arr) and lens.min() == lens.max() and 0 < lens[0] <= 64:  # fixed width: no gather needed
            m = data.reshape(len(arr), int(lens[0]))
            sums = np.zeros(len(arr), np.uint64)
            for k in range(m.shape[1]):
                sums += m[:, k].astype(np.uint64) * _MULT[k]
            return _mix(sums ^ (lens.astype(np.uint64) << np.uint64(48)))
        pos = np.arange(end - start, dtype=np.int64) - np.repeat(offs[:-1] - start, lens)
        weighted = data.astype(np.uint64) * _MULT[pos % len(_MULT)]
        sums = np.zeros(len(arr), np.uint64)
        nonempty = lens > 0
        if nonempty.any():
            sums[nonempty] = np.add.reduceat(weighted, (offs[:-1] - start)[nonempty])
        return _mix(sums ^ (lens.astype(np.uint64) << np.uint64(48)))


def column_hash(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """uint64 per value (nulls get their own constant)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        out = _string_hash(arr)
    else:
        if pa.types.is_boolean(arr.type):
            arr = pc.cast(arr, pa.int8())
        wide = pc.cast(arr, pa.float64()) if pa.types.is_floating(arr.type) else pc.cast(arr, pa.int64())
        out = _mix(pc.fill_null(wide, 0).to_numpy(zero_copy_only=False).view(np.uint64))
    if arr.null_count:
        out[arr.is_null().to_numpy(zero_copy_only=False)] = _NULL
    return out


def row_hash(t: pa.Table, column_hashes: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """uint64 per row from the column hashes (pass ``column_hashes`` to reuse ones already computed)."""
    h = np.zeros(t.num_rows, np.uint64)
    with np.errstate(over="ignore"):
        for i, name in enumerate(t.column_names):
            ch = column_hashes[name] if column_hashes and name in column_hashes else column_hash(t[name])
            h = _mix(h ^ ch ^ np.uint64(i))
    return h


class HashSet:
    """Set of uint64 in sorted runs; ``add`` returns which inputs are new (first occurrence only)."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs)

    def contains(self, uniq: np.ndarray) -> np.ndarray:
        seen = np.zeros(len(uniq), bool)
        for r in self.runs:
            pos = np.minimum(np.searchsorted(r, uniq), len(r) - 1)
            seen |= r[pos] == uniq
        return seen

    def add(self, h: np.ndarray) -> np.ndarray:
        uniq, first = np.unique(h, return_index=True)
        seen = self.contains(uniq)
        new = uniq[~seen]
        mask = np.zeros(len(h), bool)
        mask[first[~seen]] = True
        if len(new):
            self.runs.append(new)
            while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
                b, a = self.runs.pop(), self.runs.pop()
                self.runs.append(np.sort(np.concatenate([a, b]), kind="stable"))
        return mask

"""Row hashing and a compact set of 64-bit hashes (exact-duplicate removal, distinct counts).

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


def column_hash(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """uint64 per value; strings are hashed once per distinct value in the chunk (dictionary encode)."""
    from pandas.util import hash_array

    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        d = pc.dictionary_encode(arr)
        hv = hash_array(d.dictionary.to_numpy(zero_copy_only=False), categorize=False)
        hv = np.append(hv, _NULL)
        idx = pc.fill_null(d.indices, len(d.dictionary)).to_numpy(zero_copy_only=False)
        return hv[idx]
    if pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.int8())
    vals = pc.fill_null(
        pc.cast(arr, pa.float64()) if pa.types.is_floating(arr.type) else pc.cast(arr, pa.int64()), 0
    )
    out = _mix(vals.to_numpy(zero_copy_only=False).view(np.uint64))
    if arr.null_count:
        out[arr.is_null().to_numpy(zero_copy_only=False)] = _NULL
    return out


def row_hash(t: pa.Table) -> np.ndarray:
    h = np.zeros(t.num_rows, np.uint64)
    with np.errstate(over="ignore"):
        for i, col in enumerate(t.columns):
            h = _mix(h ^ column_hash(col) ^ np.uint64(i))
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

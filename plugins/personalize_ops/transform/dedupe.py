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


def _string_hash(arr: pa.Array, dictionary: bool = False) -> np.ndarray:
    """Vectorized hash of every string: sum(byte * odd_multiplier[position]) mod 2^64, mixed with the
    length (no per-value Python, no dictionary). Different strings collide with probability ~2^-64."""
    if not len(arr):
        return np.zeros(0, np.uint64)
    _, offs_buf, data_buf = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offs = np.frombuffer(offs_buf, width)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    lens = np.diff(offs)
    start, end = int(offs[0]), int(offs[-1])
    data = np.frombuffer(data_buf, np.uint8)[start:end] if data_buf is not None else np.zeros(0, np.uint8)
    with np.errstate(over="ignore"):
        if len(arr) and lens.min() == lens.max() and 0 < lens[0] <= 64:  # fixed width: no gather needed
            m = data.reshape(len(arr), int(lens[0]))
            sums = np.zeros(len(arr), np.uint64)
            for k in range(m.shape[1]):
                sums += m[:, k].astype(np.uint64) * _MULT[k]
            return _mix(sums ^ (lens.astype(np.uint64) << np.uint64(48)))
        if len(arr) > 4096 and not dictionary:  # variable width: hash each distinct value once
            d = pc.dictionary_encode(arr)
            return _string_hash(d.dictionary, dictionary=True)[d.indices.fill_null(0).to_numpy()]
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


def sorted_unique(values: np.ndarray, counts: bool = False):
    """np.unique via one sort (numpy's hash-based unique is slower for uint64 here)."""
    s = np.sort(values)
    first = np.ones(len(s), bool)
    first[1:] = s[1:] != s[:-1]
    if not counts:
        return s[first]
    starts = np.flatnonzero(first)
    return s[first], np.diff(np.append(starts, len(s)))


class HashSet:
    """Set of uint64 in sorted runs; ``add`` returns which inputs are new (first occurrence only).

    ``bloom_log2`` adds a presence table of 2**bloom_log2 bits (2**30 = 128 MB) indexed by the top hash
    bits: most new values miss it, so only hits pay for the exact binary search through the runs. At
    50M distinct rows ~5% of lookups hit a 2**30-bit table.
    """

    EAGER = 1 << 21

    def __init__(self, bloom_log2: int | None = None) -> None:
        self.runs: list[np.ndarray] = []
        self.log2 = bloom_log2
        self.bits = np.zeros(1 << max(0, bloom_log2 - 3), np.uint8) if bloom_log2 else None

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs) + (self.bits.nbytes if self.bits is not None else 0)

    def contains(self, values: np.ndarray) -> np.ndarray:
        seen = np.zeros(len(values), bool)
        for r in self.runs:
            pos = np.minimum(np.searchsorted(r, values), len(r) - 1)
            seen |= r[pos] == values
        return seen

    def update(self, values: np.ndarray) -> None:
        """Add values when no per-row answer is needed (sorted queries make the search cache-friendly)."""
        self.add_unique(sorted_unique(values))

    def _push(self, new_sorted: np.ndarray) -> None:
        """Append a sorted run; merge while the previous run is not much larger (a binary counter) or
        small (below ``EAGER`` values, so small sets such as distinct IDs stay in one or two runs)."""
        if len(new_sorted):
            self.runs.append(new_sorted)
            while len(self.runs) > 1 and (
                len(self.runs[-2]) <= 2 * len(self.runs[-1]) or len(self.runs[-2]) <= self.EAGER
            ):
                b, a = self.runs.pop(), self.runs.pop()
                if 8 * len(b) < len(a):  # small into large: one pass of memmove
                    merged = np.insert(a, np.searchsorted(a, b), b)
                else:
                    merged = np.concatenate([a, b])
                    merged.sort(kind="stable")  # in place (timsort merges the two runs); no third copy
                self.runs.append(merged)

    def add_unique(self, u: np.ndarray) -> np.ndarray:
        """Add sorted unique values ``u``; returns which were already present. Queries go in sorted
        order, which keeps the presence table and the binary searches cache-friendly (~5x faster)."""
        seen = np.zeros(len(u), bool)
        if self.bits is not None:
            slot = u >> np.uint64(64 - self.log2)
            byte = (slot >> np.uint64(3)).astype(np.intp)
            bit = np.left_shift(np.uint8(1), (slot & np.uint64(7)).astype(np.uint8))
            cand = np.flatnonzero(self.bits[byte] & bit)
        else:
            cand = np.arange(len(u)) if self.runs else np.zeros(0, np.int64)
        if len(cand) and self.runs:
            seen[cand] = self.contains(u[cand])
        new = ~seen
        if self.bits is not None and new.any():  # byte indices are sorted: OR the bits per byte first
            b, v = byte[new], bit[new]
            first = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
            b = b[first]
            self.bits[b] |= np.bitwise_or.reduceat(v, first)
        self._push(u[new])
        return seen

    def add(self, h: np.ndarray) -> np.ndarray:
        """Add ``h``; returns a mask of rows whose value is new (first occurrence in this batch only)."""
        order = np.argsort(h)
        s = h[order]
        first = np.ones(len(s), bool)
        first[1:] = s[1:] != s[:-1]
        starts = np.flatnonzero(first)
        # a value repeated inside the batch keeps its earliest row (argsort is not stable)
        rows = order[starts] if len(starts) == len(s) else np.minimum.reduceat(order, starts)
        seen = self.add_unique(s[starts])
        keep = np.zeros(len(h), bool)
        keep[rows[~seen]] = True
        return keep


class HashTable:
    """Open-addressing set of uint64 (linear probing, vectorized, load <= 1/2) for sets queried mostly
    with values already present, such as distinct user/item IDs: a lookup is ~1.5 random reads, where
    sorted runs need a binary search per run. 16 to 32 bytes per value; 0 marks empty slots, so the
    value 0 is tracked apart."""

    def __init__(self, log2: int = 16) -> None:
        self.table = np.zeros(1 << log2, np.uint64)
        self.n, self.has_zero = 0, False

    def __len__(self) -> int:
        return self.n + int(self.has_zero)

    @property
    def nbytes(self) -> int:
        return self.table.nbytes

    def update(self, values: np.ndarray) -> None:
        self.add_unique(sorted_unique(values))

    def add_unique(self, u: np.ndarray) -> np.ndarray:
        """Add unique values ``u`` (sorted is faster: the probes then walk the table in order);
        returns which were already present."""
        seen = np.zeros(len(u), bool)
        zero = u == 0
        if zero.any():
            seen[zero], self.has_zero = self.has_zero, True
            rest = np.flatnonzero(~zero)
            seen[rest] = self._insert(u[rest])
            return seen
        return self._insert(u)

    def _insert(self, v: np.ndarray) -> np.ndarray:
        while 2 * (self.n + len(v)) > len(self.table):
            old = self.table[self.table != 0]
            self.table, self.n = np.zeros(2 * len(self.table), np.uint64), 0
            self._insert(old)
        mask = np.uint64(len(self.table) - 1)
        pos = (v & mask).astype(np.intp)
        found = np.zeros(len(v), bool)
        todo = np.arange(len(v))
        while len(todo):
            p, want = pos[todo], v[todo]
            cur = self.table[p]
            hit, empty = cur == want, cur == 0
            found[todo[hit]] = True
            claim = todo[empty]
            self.table[pos[claim]] = v[claim]  # several values may race for one slot: one wins
            won = self.table[pos[claim]] == v[claim]
            self.n += int(won.sum())
            moved = todo[~hit & ~empty]
            pos[moved] = (pos[moved] + 1) & int(mask)
            todo = np.concatenate([moved, claim[~won]])  # losers probe their slot again
        return found

"""Shared matrix building: recency-weighted user x item matrices and item metadata token features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def event_weights(u: np.ndarray, ts: np.ndarray, half_life: float | None) -> np.ndarray:
    """Per-event weight in (0, 1]: 0.5 ** (events newer than this one by the same user / half_life).
    half_life None or <= 0 gives every event weight 1."""
    if not half_life or half_life <= 0 or len(u) == 0:
        return np.ones(len(u), dtype=np.float32)
    order = np.lexsort((np.arange(len(u)), ts, u))
    uo = u[order]
    starts = np.r_[0, np.flatnonzero(np.diff(uo)) + 1]
    lengths = np.diff(np.r_[starts, len(uo)])
    from_end = np.repeat(starts + lengths - 1, lengths) - np.arange(len(uo))
    w = np.empty(len(u), dtype=np.float32)
    w[order] = np.power(0.5, from_end / float(half_life)).astype(np.float32)
    return w


def user_item_matrix(u, i, w, n_users: int, n_items: int) -> sp.csr_matrix:
    """Sum of event weights per (user, item) as CSR float32."""
    m = sp.csr_matrix((w.astype(np.float32), (u, i)), shape=(n_users, n_items), dtype=np.float32)
    m.sum_duplicates()
    return m


def item_tokens(items: pd.DataFrame | None, item_ids: np.ndarray, bins: int = 8) -> sp.csr_matrix:
    """Binary items x tokens matrix from metadata: each categorical value (| separated) is a token,
    numeric columns are bucketed into quantile bins. Rows follow `item_ids`; no metadata -> 0 columns."""
    n = len(item_ids)
    if items is None or "ITEM_ID" not in items.columns or len(items) == 0:
        return sp.csr_matrix((n, 0), dtype=np.float32)
    meta = items.drop_duplicates("ITEM_ID", keep="last").copy()
    meta.index = meta["ITEM_ID"].astype(str)
    meta = meta.reindex(pd.Index(item_ids)).drop(columns=["ITEM_ID"])
    rows, tokens = [], []
    for col in meta.columns:
        if col.upper() in ("CREATION_TIMESTAMP",):
            continue
        s = meta[col]
        num = pd.to_numeric(s, errors="coerce")
        if num.notna().mean() > 0.9 and s.notna().any():
            try:
                q = pd.qcut(num, bins, labels=False, duplicates="drop")
            except ValueError:
                continue
            ok = q.notna().to_numpy()
            rows.append(np.flatnonzero(ok))
            tokens.append(np.char.add(f"{col}#", q[ok].astype(int).astype(str).to_numpy()))
        else:
            ex = s.astype("string").str.split("|").explode().dropna()
            ex = ex[ex != ""]
            pos = pd.Index(item_ids).get_indexer(ex.index)
            rows.append(pos)
            tokens.append(np.char.add(f"{col}=", ex.to_numpy().astype(str)))
    if not rows:
        return sp.csr_matrix((n, 0), dtype=np.float32)
    r = np.concatenate(rows)
    codes, _ = pd.factorize(np.concatenate(tokens))
    f = sp.csr_matrix((np.ones(len(r), dtype=np.float32), (r, codes)), shape=(n, codes.max() + 1))
    f.data[:] = 1.0
    return f


def propagate_to_cold(values: np.ndarray, tokens: sp.csr_matrix, warm: np.ndarray) -> np.ndarray:
    """For rows not in `warm`, the average of warm rows' `values` sharing metadata tokens
    (token embedding = mean over warm items with the token; cold item = mean of its tokens' embeddings)."""
    out = values.copy()
    cold = ~warm
    if tokens.shape[1] == 0 or not cold.any() or not warm.any():
        return out
    fw = tokens[warm]
    counts = np.asarray(fw.sum(axis=0)).ravel()
    emb = (fw.T @ values[warm]) / np.maximum(counts, 1)[:, None]
    fc = tokens[cold]
    deg = np.asarray(fc.sum(axis=1)).ravel()
    out[cold] = (fc @ emb) / np.maximum(deg, 1)[:, None]
    return out


def column_moments(x: np.ndarray | sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Column means and population covariance (float64) of the rows of a dense or sparse matrix: the mean
    and variance over rows of x @ v are then mean @ v and v @ cov @ v, for any v."""
    x64 = x.astype(np.float64)
    mean = np.asarray(x64.mean(axis=0)).ravel()
    second = x64.T @ x64
    second = np.asarray(second.todense() if sp.issparse(second) else second) / max(x.shape[0], 1)
    return mean, second - np.outer(mean, mean)

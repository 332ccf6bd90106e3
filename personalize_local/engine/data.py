"""Training data as imported into a dataset group, event selection and integer encoding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from personalize_local.engine.errors import InsufficientDataError

MIN_INTERACTIONS = 1000
MIN_USERS = 25


@dataclass
class TrainingData:
    """Dataset group contents: interactions (USER_ID, ITEM_ID, TIMESTAMP[, EVENT_TYPE, EVENT_VALUE, ...]),
    optional items (ITEM_ID + metadata) and users (USER_ID + metadata) frames."""

    interactions: pd.DataFrame
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None


@dataclass
class Encoded:
    """Interactions as integer codes. `item_ids` is the catalog: interacted items first, then metadata-only
    items (cold). Arrays `u`, `i`, `ts` are per event, in input order."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    n_warm_items: int
    u: np.ndarray
    i: np.ndarray
    ts: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def select_events(df: pd.DataFrame, event_type: str | None, threshold: float | None) -> pd.DataFrame:
    """Keep the events a solution trains on: only `event_type` if given, only EVENT_VALUE >= threshold."""
    for col in ("USER_ID", "ITEM_ID", "TIMESTAMP"):
        if col not in df.columns:
            raise InsufficientDataError(f"Interactions dataset has no {col} column.")
    if event_type:
        if "EVENT_TYPE" not in df.columns:
            df = df.iloc[0:0]
        else:
            df = df[df["EVENT_TYPE"].astype(str) == str(event_type)]
    if threshold is not None and str(threshold) != "":
        if "EVENT_VALUE" not in df.columns:
            df = df.iloc[0:0]
        else:
            values = pd.to_numeric(df["EVENT_VALUE"], errors="coerce")
            df = df[values >= float(threshold)]
    return df


def check_sufficient(df: pd.DataFrame, event_type: str | None = None) -> None:
    """Raise InsufficientDataError with AWS's reasons when the data cannot train a solution."""
    n = len(df)
    if n < MIN_INTERACTIONS:
        suffix = f" after filtering by event type: {event_type}" if event_type else ""
        raise InsufficientDataError(
            f"Dataset has fewer than {MIN_INTERACTIONS} interactions{suffix}. Found {n} interactions."
        )
    counts = df["USER_ID"].value_counts()
    users_ok = int((counts >= 2).sum())
    if users_ok < MIN_USERS:
        raise InsufficientDataError(
            f"There should be at least {MIN_USERS} unique users with at least 2 interactions each. "
            f"Found {users_ok} users with at least 2 interactions."
        )


def encode(df: pd.DataFrame, items: pd.DataFrame | None = None) -> Encoded:
    """Factorize user and item ids; metadata-only items are appended to the catalog as cold items."""
    u, user_ids = pd.factorize(df["USER_ID"].astype(str) if df["USER_ID"].dtype == object else df["USER_ID"])
    i, item_uniques = pd.factorize(df["ITEM_ID"])
    item_ids = np.asarray(item_uniques).astype(str)
    n_warm = len(item_ids)
    if items is not None and "ITEM_ID" in items.columns and len(items):
        meta_ids = items["ITEM_ID"].astype(str).unique()
        cold = meta_ids[~pd.Index(meta_ids).isin(item_ids)]
        item_ids = np.concatenate([item_ids, cold.astype(str)])
    ts = pd.to_numeric(df["TIMESTAMP"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    return Encoded(
        user_ids=np.asarray(user_ids).astype(str),
        item_ids=item_ids,
        n_warm_items=n_warm,
        u=u.astype(np.int32),
        i=i.astype(np.int32),
        ts=ts,
    )

"""Contextual metadata (GetRecommendations / GetPersonalizedRanking `context`, e.g. {"DEVICE": "mobile"}).

Personalize uses the categorical metadata fields of the Interactions dataset as context: a request names the
field and the value of the moment, and items that users pick in that context rank higher. Here: for each
categorical interactions field, the smoothed log-lift of every item under each of its (up to 100 most frequent)
values, log P(item | value) - log P(item); a request adds the z-scored sum of the lifts of the values it names
to the recipe's scores, with weight WEIGHT. Fields and values the training data did not have change nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Interactions columns that are not context (reserved fields, impressions, recommendation ids).
NOT_CONTEXT = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "IMPRESSION", "RECOMMENDATION_ID")
MAX_VALUES = 100
SMOOTHING = 1.0
WEIGHT = 1.0


def fit(interactions: pd.DataFrame, item_ids: np.ndarray) -> dict:
    """Arrays of the context lifts: ctx_fields (names), ctx_values ("FIELD=value" per row of ctx_lift),
    ctx_lift (values x items, float32). Empty without categorical context fields."""
    item = pd.Index(item_ids).get_indexer(interactions["ITEM_ID"].astype(str))
    known = item >= 0
    n_items = len(item_ids)
    base = np.bincount(item[known], minlength=n_items) + SMOOTHING
    base = np.log(base / base.sum())
    fields, labels, rows = [], [], []
    for column in interactions.columns:
        if column.upper() in NOT_CONTEXT or pd.api.types.is_numeric_dtype(interactions[column]):
            continue
        values = interactions[column].astype("string")[known]
        top = values.value_counts().index[:MAX_VALUES]
        if not len(top):
            continue
        fields.append(column.upper())
        for value in top:
            picked = item[known][(values == value).fillna(False).to_numpy()]
            counts = np.bincount(picked, minlength=n_items) + SMOOTHING
            rows.append((np.log(counts / counts.sum()) - base).astype(np.float32))
            labels.append(f"{column.upper()}={value}")
    if not rows:
        return {}
    return {"ctx_fields": np.array(fields), "ctx_values": np.array(labels), "ctx_lift": np.vstack(rows)}


class ContextAffinity:
    """The serving form: `scores(context)` -> the weighted z-scored lift over the items, or None."""

    def __init__(self, arrays: dict):
        self.rows = {str(v): k for k, v in enumerate(arrays["ctx_values"])}
        self.lift = arrays["ctx_lift"]

    def scores(self, context: dict | None) -> np.ndarray | None:
        picked = [self.rows.get(f"{str(k).upper()}={v}") for k, v in (context or {}).items()]
        picked = [k for k in picked if k is not None]
        if not picked:
            return None
        s = self.lift[picked].sum(axis=0).astype(np.float64)
        return WEIGHT * (s - s.mean()) / (s.std() + 1e-9)

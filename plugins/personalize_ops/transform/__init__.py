"""Raw source -> Personalize CSV + Avro schema, streamed (see prepare.py). Heavy imports are lazy."""

from __future__ import annotations

__all__ = ["PreparedDataset", "prepare_all", "prepare_dataset"]


def __getattr__(name: str):
    if name in __all__:
        from personalize_ops.transform import prepare

        return getattr(prepare, name)
    raise AttributeError(name)

"""The evaluation's flat records (a cut, an interval, a model's result): to a dict of their fields and back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Self


class DictRecord:
    """Mixin of a dataclass whose ``to_dict`` is ``dataclasses.asdict`` and whose ``from_dict`` takes it back."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)

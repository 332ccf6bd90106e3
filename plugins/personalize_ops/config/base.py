"""What every section of the config shares: strict models, Personalize's name rule, paths relative to the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")
NAME_RULE = "Personalize's name rule: 1-63 letters, digits, '-' or '_', starting with a letter or digit"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _name(v: str) -> str:
    if len(v) > 63:
        raise ValueError(f"name {v!r} is {len(v)} characters; Personalize allows at most 63")
    if not NAME_RE.fullmatch(v):
        raise ValueError(f"name {v!r} must match ^[a-zA-Z0-9][a-zA-Z0-9\\-_]* (letters, digits, '-', '_')")
    return v


ResourceName = Annotated[str, Field(min_length=1)]


def _resolve(v: str | None, info: ValidationInfo) -> str | None:
    """Relative local paths resolve against the config file's folder; s3:// URIs stay as they are."""
    if v is None or v.startswith("s3://"):
        return v
    base = (info.context or {}).get("base_dir")
    p = Path(v).expanduser()
    return str(p if p.is_absolute() or base is None else (Path(base) / p).resolve())

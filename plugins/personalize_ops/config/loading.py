"""Loading a config file: YAML, ``${VAR}`` expansion (allowed prefixes only), validation, one error listing all.

``load_config(path) -> PipelineConfig`` raises ``ConfigError`` whose message has one line per problem:
``<file>: <key.path>: <reason>``. ``${VAR}`` / ``${VAR:-default}`` expand only variables with an allowed prefix
(``env_prefixes``); an error never shows a value that came from the environment (the ``${VAR}`` it came from is
named instead).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from personalize_ops.config.errors import ConfigError
from personalize_ops.config.model import PipelineConfig

ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: A config may expand only environment variables with these prefixes (see ``env_prefixes``): a config must not
#: be able to read the deployment's connection strings or secrets into values that errors and the UI show.
ENV_PREFIXES = ("PERSONALIZE_", "PZ_", "MOVIELENS_")


def env_prefixes() -> tuple[str, ...]:
    """Prefixes of the environment variables a config may expand: :data:`ENV_PREFIXES` plus the
    comma-separated ones in ``PERSONALIZE_CONFIG_ENV_PREFIXES``."""
    extra = os.environ.get("PERSONALIZE_CONFIG_ENV_PREFIXES", "")
    return ENV_PREFIXES + tuple(p.strip() for p in extra.split(",") if p.strip())


@dataclasses.dataclass
class _Expansion:
    """What ``_expand_env`` did: errors, and which keys took which variables' values (to keep them out of
    messages)."""

    errors: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    used: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # key path -> variables expanded into it
    values: dict[str, str] = dataclasses.field(default_factory=dict)  # variable -> its expanded value
    refused: set[str] = dataclasses.field(default_factory=set)  # key paths whose ${VAR} was not expanded

    def redact(self, msg: str) -> str:
        """``msg`` with every expanded value replaced by the ``${VAR}`` reference it came from."""
        for var, value in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            if value:
                msg = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", f"${{{var}}}", msg)
        return msg


def _expand_env(node: Any, loc: str, exp: _Expansion) -> Any:
    """Replace ${VAR} / ${VAR:-default} in every string. Only variables named with an allowed prefix
    (:func:`env_prefixes`) are read; another variable, or an unset one without default, is an error naming
    the key and the variable, never a value."""
    if isinstance(node, dict):
        return {k: _expand_env(v, f"{loc}.{k}" if loc else str(k), exp) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, f"{loc}[{i}]", exp) for i, v in enumerate(node)]
    if isinstance(node, str):
        prefixes = env_prefixes()

        def sub(m: re.Match) -> str:
            var = m.group(1)
            if not var.startswith(prefixes):
                exp.refused.add(loc)
                exp.errors.append((loc, f"${{{var}}}: a config may only expand environment variables named "
                                        f"{', '.join(p + '*' for p in prefixes)} (allow more prefixes with "
                                        "PERSONALIZE_CONFIG_ENV_PREFIXES)"))  # fmt: skip
                return m.group(0)
            val = os.environ.get(var, m.group(2))
            if val is None:
                exp.refused.add(loc)
                exp.errors.append((loc, f"environment variable {var} is not set (or use ${{{var}:-default}})"))
                return m.group(0)
            if var in os.environ:
                exp.used.setdefault(loc, []).append(var)
                exp.values[var] = val
            return val

        return ENV_RE.sub(sub, node)
    return node


_UNION_TAGS = {"str", "float", "int", "bool", "constrained-str"}


def _loc(parts: tuple) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not (str(p).startswith(("function-", "literal[", "list[", "dict[")) or p in _UNION_TAGS):
            out += f".{p}" if out else str(p)
    return out


def _reason(err: dict) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    return msg.removeprefix("Value error, ")


def _without_values(loc: str, msg: str, exp: _Expansion) -> tuple[str, str]:
    """An error as shown to people: no value that came from the environment, and the variables named."""
    msg = exp.redact(msg)
    if loc in exp.used:
        msg += f" (value from {', '.join(f'${{{v}}}' for v in dict.fromkeys(exp.used[loc]))}, not shown)"
    return loc, msg


def load_config(path: str | os.PathLike) -> PipelineConfig:
    """Load, expand ${VAR}s and validate ``path`` (cross references included); raise ConfigError listing every
    problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(path, [("", f"cannot read: {e.strerror or e}")]) from None
    except yaml.YAMLError as e:
        raise ConfigError(path, [("", f"not valid YAML: {e}")]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, [("", "the top level must be a mapping")])
    exp = _Expansion()
    raw = _expand_env(raw, "", exp)
    cfg, found = None, []
    try:
        cfg = PipelineConfig.model_validate(raw, context={"base_dir": str(path.parent.resolve())})
    except ValidationError as e:
        found += [(_loc(err["loc"]), _reason(err)) for err in e.errors()]
    errors = exp.errors + [_without_values(loc, msg, exp) for loc, msg in found if loc not in exp.refused]
    if errors:
        raise ConfigError(path, errors)
    return cfg.model_copy(update={"source_file": str(path)})

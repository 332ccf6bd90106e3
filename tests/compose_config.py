"""A compose file as Docker Compose reads it, for tests on machines without Docker.

Compose (compose-go's loader) parses the YAML (anchors and ``<<`` merge keys resolved), interpolates every string
value from the project environment (``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}``, nested), casts the interpolated values of
typed fields (``init``, ``depends_on.*.required`` ...), then validates the result against the Compose
specification's JSON schema. A container's environment is its ``env_file`` entries in order, then its
``environment`` on top: the ``environment`` attribute wins (Compose's documented precedence).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
BRACED = re.compile(r"([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-?+])(.*))?\Z", re.S)

# compose-go loader/interpolate.go interpolateTypeCastMapping, the entries this project can meet.
BOOLEAN_FIELDS = {
    ("init",),
    ("depends_on", "*", "required"),
    ("depends_on", "*", "restart"),
    ("healthcheck", "disable"),
}
INTEGER_FIELDS = {("healthcheck", "retries"), ("scale",)}


class InterpolationError(ValueError):
    """``${VAR:?message}`` (or ``?``) met an unset (or empty) variable, or a ``$`` that starts no variable."""


def substitute(text: str, env: dict[str, str]) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 1)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        elif m := NAME.match(text, i + 1):
            out.append(env.get(m.group(0), ""))
            i = m.end()
        else:
            raise InterpolationError(f"invalid template: {text!r}")
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for pos in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[pos], 0)
        if depth == 0:
            return pos
    raise InterpolationError(f"invalid template (unclosed brace): {text!r}")


def _expand(body: str, env: dict[str, str]) -> str:
    m = BRACED.match(body)
    if not m:
        raise InterpolationError(f"invalid template: ${{{body}}}")
    name, op, arg = m.group(1), m.group(2), m.group(3) or ""
    value, is_set = env.get(name), name in env
    usable = is_set if op in ("-", "?", "+") else bool(value)
    if op is None:
        return value or ""
    if op in (":-", "-"):
        return value if usable else substitute(arg, env)
    if op in (":?", "?"):
        if not usable:
            raise InterpolationError(f"required variable {name} is missing a value: {substitute(arg, env)}")
        return value
    return substitute(arg, env) if usable else ""  # :+ and +


def interpolate(node, env: dict[str, str], path: tuple = ()):
    """Every string value of ``node`` interpolated; typed service fields cast as Compose casts them."""
    if isinstance(node, dict):
        return {k: interpolate(v, env, (*path, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env, (*path, i)) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    value = substitute(node, env)
    field = path[2:] if path[:1] == ("services",) else ()
    if any(_matches(field, pattern) for pattern in BOOLEAN_FIELDS):
        if value.lower() not in ("true", "false"):
            raise InterpolationError(f"{'.'.join(map(str, path))}: {value!r} is not a boolean")
        return value.lower() == "true"
    if any(_matches(field, pattern) for pattern in INTEGER_FIELDS):
        return int(value)
    return value


def _matches(field: tuple, pattern: tuple) -> bool:
    return len(field) == len(pattern) and all(p in ("*", f) for f, p in zip(field, pattern, strict=True))


def load(path: Path, env: dict[str, str]) -> dict:
    """The compose file as Compose validates it: YAML resolved, interpolated with ``env``, typed fields cast."""
    return interpolate(yaml.safe_load(path.read_text(encoding="utf-8")), env)


def active_services(compose: dict, env: dict[str, str]) -> set[str]:
    """Services enabled by ``COMPOSE_PROFILES`` in ``env`` (a service without ``profiles`` is always enabled)."""
    profiles = {p for p in env.get("COMPOSE_PROFILES", "").split(",") if p}
    return {
        name for name, svc in compose["services"].items() if not svc.get("profiles") or profiles & set(svc["profiles"])
    }


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (``export`` prefix allowed); '...' literal, "..." with escapes; comments and blanks skipped."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].encode().decode("unicode_escape")
        else:
            value = re.sub(r"\s+#.*$", "", value)
        out[key.strip()] = value
    return out


def env_files(service: dict, root: Path) -> list[Path]:
    entries = service.get("env_file") or []
    entries = [entries] if isinstance(entries, str) else entries
    return [root / (e if isinstance(e, str) else e["path"]) for e in entries]


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] if "=" in item else (item, None) for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def container_env(service: dict, root: Path, project_env: dict[str, str]) -> dict[str, str]:
    """The environment Compose gives the container (the image's own ENV aside)."""
    out: dict[str, str] = {}
    for path in env_files(service, root):
        out.update(read_env_file(path))
    for key, value in environment(service).items():
        if value is None:  # `- NAME` / `NAME:` without a value: taken from the project environment, if set there
            if key in project_env:
                out[key] = project_env[key]
        else:
            out[key] = value
    return out

"""Custom transforms (``datasets.<name>.transform``): import, check and run the function a config names.

The contract (docs/cookbook.md, "A custom transform"): ``fn(table: pyarrow.Table) -> pyarrow.Table``, called once
per chunk of raw rows before the field mapping. The table holds the source's columns as read (every CSV/TSV column
is a string; Parquet and JSON lines keep their types) plus ``__source_row`` (int64, the row's 0-based index in the
source). It returns a table that keeps ``__source_row`` and holds the columns ``fields`` read; it may add, drop or
rewrite columns and drop rows. The module is imported by name on every machine that runs the prepare task, so it
must be importable there: in Airflow, a module in plugins/ (on every component's sys.path) or an installed package.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from functools import cache

import pyarrow as pa

from personalize_ops.transform.reader import ROW

WHERE_TO_PUT_IT = (
    "put the module where the workers can import it: in Airflow, a module in the plugins/ folder (on every "
    "component's sys.path) or an installed package; for the CLI, its folder on PYTHONPATH"
)


class TransformError(ValueError):
    """A custom transform cannot be imported, has the wrong signature, or returned something else than promised."""


def _split(path: str) -> tuple[str, str]:
    return path.partition(":")[::2] if ":" in path else path.rpartition(".")[::2]


@cache
def load_transform(path: str) -> Callable[[pa.Table], pa.Table]:
    """Import ``'pkg.mod:func'`` (or ``'pkg.mod.func'``) and check it can be called with one table; raise
    TransformError saying what is wrong and what to do."""
    module, name = _split(path)
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise TransformError(f"cannot import module {module!r} ({e}). To fix: {WHERE_TO_PUT_IT}") from None
    except Exception as e:  # noqa: BLE001 - the user's module failed while importing: say so, without a traceback
        raise TransformError(f"importing module {module!r} failed: {type(e).__name__}: {e}") from None
    fn = getattr(mod, name, None)
    if fn is None:
        have = sorted(n for n, v in vars(mod).items() if callable(v) and not n.startswith("_"))
        raise TransformError(f"module {module!r} has no {name!r} (callables in it: {', '.join(have) or 'none'})")
    if not callable(fn):
        raise TransformError(f"{path} is a {type(fn).__name__}, not a function")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return fn
    try:
        signature.bind(pa.table({}))
    except TypeError:
        raise TransformError(
            f"{path}{signature} cannot be called with one argument; a transform is "
            "def fn(table: pyarrow.Table) -> pyarrow.Table"
        ) from None
    return fn


def run_transform(path: str, table: pa.Table) -> pa.Table:
    """``table`` through the transform ``path``; TransformError when the result breaks the contract."""
    out = load_transform(path)(table)
    if not isinstance(out, pa.Table):
        raise TransformError(f"{path} returned a {type(out).__name__}; it must return a pyarrow.Table")
    if ROW not in out.column_names:
        raise TransformError(f"{path} dropped the {ROW} column; keep it (it numbers the rows in messages)")
    return out


def transform_problems(cfg) -> list[tuple[str, str]]:
    """``(config key, reason)`` for every custom transform of ``cfg`` that cannot be imported or called."""
    found = []
    for kind, ds in cfg.datasets.present().items():
        if ds.transform:
            try:
                load_transform(ds.transform)
            except TransformError as e:
                found.append((f"datasets.{kind}.transform", str(e)))
    return found

"""No import cycles: the modules of personalize_local and of plugins/ form a directed acyclic graph.

Every `import` counts, at module level or inside a function (a deferred import hides a cycle, it does not remove
it). An edge goes to the module named, or to the package when the name is an attribute of its `__init__`; the
parent packages Python initialises on the way are not edges (they are not what the importer depends on).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = {"personalize_local": ROOT, "plugins": ROOT / "plugins"}


def modules(base: Path, top: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under base/top (or the single module base/top.py)."""
    out = {}
    files = [base / f"{top}.py"] if (base / f"{top}.py").exists() else sorted((base / top).rglob("*.py"))
    for path in files:
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imported_names(name: str, path: Path) -> set[str]:
    """Absolute dotted names imported anywhere in the module (`from a import b` gives a.b)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The known module `name` refers to: itself, or the nearest package/module that holds it."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    graph = {}
    for name, path in known.items():
        targets = {resolve(n, known) for n in imported_names(name, path)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected component with more than one node."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_path_through(graph, set(component), min(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path_through(graph: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """A shortest path start -> ... -> start inside the component (breadth first)."""
    previous, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(component)


def tree_modules(tree: str) -> dict[str, Path]:
    base = TREES[tree]
    if tree == "personalize_local":
        return modules(base, "personalize_local")
    known = {}
    for entry in sorted(base.iterdir()):
        if entry.suffix == ".py" or (entry.is_dir() and (entry / "__init__.py").exists()):
            known.update(modules(base, entry.stem if entry.suffix else entry.name))
    return known


@pytest.mark.parametrize("tree", sorted(TREES))
def test_the_import_graph_has_no_cycle(tree):
    known = tree_modules(tree)
    assert len(known) > 10, known  # the tree was found
    found = cycles(import_graph(known))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


PL = "personalize_local"
# personalize_local's layers (its README): protocol -> backend dispatch -> jobs -> engine.
# (rule, modules it applies to, modules exempt from it, modules they must not import, modules exempt from that)
LAYER_RULES = [
    ("the engine is a library of its own", (f"{PL}.engine",), (), (f"{PL}.",), (f"{PL}.engine",)),
    (
        "jobs do not reach back into dispatch or protocol",
        (f"{PL}.jobs",),
        (),
        tuple(f"{PL}.{m}" for m in ("backend", "lifecycle", "semantics", "catalog", "server", "rest", "serving")),
        (),
    ),
    (
        "only the protocol layer knows HTTP",
        (f"{PL}.",),
        tuple(f"{PL}.{m}" for m in ("server", "rest", "__main__")),
        tuple(f"{PL}.{m}" for m in ("server", "rest", "access", "__main__")),
        (),
    ),
]


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p.rstrip(".") or name.startswith(p if p.endswith(".") else p + ".") for p in prefixes)


@pytest.mark.parametrize("rule, sources, exempt, targets, allowed", LAYER_RULES, ids=[r[0] for r in LAYER_RULES])
def test_personalize_local_imports_follow_its_layers(rule, sources, exempt, targets, allowed):
    graph = import_graph(tree_modules("personalize_local"))
    wrong = sorted(
        (source, target)
        for source, imported in graph.items()
        if _within(source, sources) and not _within(source, exempt)
        for target in imported
        if _within(target, targets) and not _within(target, allowed)
    )
    assert not wrong, f"{rule}: {wrong}"


def test_the_cycle_finder_finds_a_cycle_and_names_its_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_imports_resolve_to_the_module_or_the_package_holding_the_name(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.sub import helper\n")
    (pkg / "sub" / "__init__.py").write_text("VALUE = 1\n")
    (pkg / "sub" / "helper.py").write_text("def f():\n    from .. import other\n    from . import VALUE\n")
    (pkg / "other.py").write_text("import pkg.sub.helper\nimport json\n")
    graph = import_graph(modules(tmp_path, "pkg"))
    assert graph == {
        "pkg": {"pkg.sub.helper"},
        "pkg.sub": set(),
        "pkg.sub.helper": {"pkg.other", "pkg.sub"},
        "pkg.other": {"pkg.sub.helper"},
    }
    assert cycles(graph) == [["pkg.other", "pkg.sub.helper", "pkg.other"]]

"""The house's import rules, checked over every module's imports (ast, function-level and
``TYPE_CHECKING`` imports included): a layer never imports a layer above it, the front-end
rules inside ``server/`` hold, and no group of modules imports itself round in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LAYERS: list[tuple[str, ...]] = [
    ("server",),
    ("optimizer",),
    ("collection",),
    ("wal", "segments", "inference"),
]
"""Top to bottom. A package may import the packages of lower rows only (not its own row)."""

FORBIDDEN: list[tuple[str, str]] = [
    ("server.api", "server.rest"),  # the transport-neutral layer knows no front end
    ("server.api", "server.grpc"),
]
"""(importer, imported) module prefixes that must never be linked, whatever the layers say."""

Graph = dict[str, set[str]]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` reads from (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def build_graph(sources: Mapping[str, tuple[str, bool]]) -> Graph:
    """Module -> the project modules it imports, from ``{name: (source, is_package)}``."""
    known = set(sources)
    graph: Graph = {name: set() for name in sources}
    for name, (text, is_package) in sources.items():
        for node in ast.walk(ast.parse(text)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = _resolve(name, is_package, node)
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in known else module)
            for target in targets:
                while target and target not in known:  # ``import a.b.c`` of a name: its module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def project_graph() -> Graph:
    sources: dict[str, tuple[str, bool]] = {}
    for row in LAYERS:
        for package in row:
            for path in sorted((ROOT / package).rglob("*.py")):
                sources[_module_name(path)] = (path.read_text(), path.name == "__init__.py")
    return build_graph(sources)


def _rank(module: str) -> tuple[int, str]:
    top = module.split(".")[0]
    for rank, row in enumerate(LAYERS):
        if top in row:
            return rank, top
    raise AssertionError(f"module {module} is in no layer")


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_violations(graph: Graph) -> list[str]:
    """Every import that goes up (or sideways) a layer, or matches a forbidden pair."""
    out = []
    for importer, targets in sorted(graph.items()):
        (rank, top) = _rank(importer)
        for target in sorted(targets):
            (target_rank, target_top) = _rank(target)
            if target_top != top and target_rank <= rank:
                out.append(f"{importer} imports {target} (layer {target_top} is not below {top})")
            for a, b in FORBIDDEN:
                if _under(importer, a) and _under(target, b):
                    out.append(f"{importer} imports {target} ({a} must not import {b})")
    return out


def cycles(graph: Graph) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a circle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph_of(files: Iterable[tuple[str, str]]) -> Graph:
    return build_graph({name: (text, name.count(".") == 0) for name, text in files})


def test_the_checker_catches_upward_imports_forbidden_pairs_and_circles() -> None:
    graph = _graph_of([
        ("segments.a", "def f():\n    from collection.b import x\n"),
        ("collection.b", "import segments.a\n"),
        ("wal.c", "from segments import a\n"),
        ("server.api.d", "from server.rest.e import y\n"),
        ("server.rest.e", "from server.api import d\n"),
        ("server", ""),
        ("server.api", ""),
        ("server.rest", ""),
        ("segments", ""),
    ])
    assert graph["wal.c"] == {"segments.a"}
    assert graph["server.rest.e"] == {"server.api.d"}
    problems = layer_violations(graph)
    assert any(p.startswith("segments.a imports collection.b") for p in problems)
    assert any(p.startswith("wal.c imports segments.a") for p in problems)
    assert any("server.api must not import server.rest" in p for p in problems)
    assert not any(p.startswith("collection.b") or p.startswith("server.rest.e") for p in problems)
    assert cycles(graph) == [["collection.b", "segments.a"], ["server.api.d", "server.rest.e"]]


def test_relative_imports_resolve_to_their_modules() -> None:
    graph = build_graph({
        "segments": ("", True),
        "segments.filter": ("from .model import Filter\nfrom . import plan\n", True),
        "segments.filter.model": ("from ..ids import PointId\n", False),
        "segments.filter.plan": ("from .model import Filter\n", False),
        "segments.ids": ("", False),
    })
    assert graph["segments.filter"] == {"segments.filter.model", "segments.filter.plan"}
    assert graph["segments.filter.model"] == {"segments.ids"}


def test_no_layer_imports_a_layer_above_it() -> None:
    graph = project_graph()
    assert len(graph) > 40 and graph["collection.handle"]  # the walk found the project
    assert layer_violations(graph) == []


def test_no_modules_import_each_other() -> None:
    assert cycles(project_graph()) == []

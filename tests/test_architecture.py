"""The package's shape: which of its modules import which.

An import here is any ``import`` or ``from … import`` run when a module is loaded, including
those under ``if TYPE_CHECKING:`` (a cycle there still ties the files together for a reader
and for the type checker); imports inside functions are not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

import esploro_async

PACKAGE_DIR = Path(esploro_async.__file__).parent
PACKAGE = "esploro_async"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _module_level_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements run on import: the body, and what ``if``/``try``/``with`` hold."""
    found: list[ast.stmt] = []
    for stmt in body:
        found.append(stmt)
        if isinstance(stmt, ast.If):
            found += _module_level_statements(stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            handlers = [s for h in stmt.handlers for s in h.body]
            found += _module_level_statements(stmt.body + handlers + stmt.orelse + stmt.finalbody)
        elif isinstance(stmt, ast.With):
            found += _module_level_statements(stmt.body)
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imported_names(
    stmt: ast.AST, name: str, is_package: bool, paths: Collection[str]
) -> list[str]:
    """The dotted names an import statement of module ``name`` loads (none for others)."""
    if isinstance(stmt, ast.Import):
        return [alias.name for alias in stmt.names]
    if isinstance(stmt, ast.ImportFrom):
        base = _resolve(name, is_package, stmt)
        # ``from pkg import mod`` imports the submodule when there is one.
        targets = [f"{base}.{a.name}" for a in stmt.names if f"{base}.{a.name}" in paths]
        return targets or [base]
    return []


def _package_module(target: str, paths: Collection[str]) -> str:
    """The package's module ``target`` names (or lies in); ``""`` when none."""
    while target and target not in paths:
        target = target.rpartition(".")[0]
    return target


def import_graph(*, deferred: bool = False) -> dict[str, set[str]]:
    """Module name -> the package's modules it imports when loaded (``deferred``: or later,
    inside a function)."""
    paths = {_module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        statements = ast.walk(tree) if deferred else _module_level_statements(tree.body)
        for stmt in statements:
            for imported in _imported_names(stmt, name, is_package, paths):
                target = _package_module(imported, paths)
                if target.startswith(PACKAGE) and target != name:
                    graph[name].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_known_imports() -> None:
    graph = import_graph()
    assert "esploro_async.testing.faults" in graph["esploro_async.testing.gateway"]
    assert "esploro_async.session.base" in graph["esploro_async.client"]
    assert "esploro_async.testing.api._base" in graph["esploro_async.testing.api.researchers"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_no_import_cycle_within_the_simulator() -> None:
    cycles = [c for c in strongly_connected(import_graph()) if any(".testing" in m for m in c)]
    assert cycles == []


def test_no_import_cycle_in_the_package() -> None:
    assert strongly_connected(import_graph()) == []


def test_no_command_imports_the_command_group_even_when_it_runs() -> None:
    graph = import_graph(deferred=True)
    cli = {
        name: {t for t in targets if t.startswith("esploro_async.cli")}
        for name, targets in graph.items()
        if name.startswith("esploro_async.cli")
    }
    assert [name for name, targets in cli.items() if "esploro_async.cli.app" in targets] == [
        "esploro_async.cli"  # the entry point
    ]
    assert strongly_connected(cli) == []


def test_the_runners_do_not_import_the_gateway() -> None:
    graph = import_graph()
    for runner in ("transport", "server", "process", "_hostile"):
        assert "esploro_async.testing.gateway" not in graph[f"esploro_async.testing.{runner}"]


if __name__ == "__main__":
    for component in strongly_connected(import_graph()):
        print(len(component), " ".join(component))

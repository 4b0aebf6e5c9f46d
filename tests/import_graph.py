"""The import graph of a package, read with `ast`: which module imports which, and the cycles in it.

Every import counts: at module level, inside functions, and under `if TYPE_CHECKING:` unless asked to
leave those out. An edge goes to the most specific module of the package an import names
(`from picextract.fake import objects` → `picextract.fake.objects`); imports from outside the package
are not edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ImportGraph = dict[str, set[str]]  # module → the package's modules it imports


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted name → file of every module under `package_dir` (a package's `__init__.py` is the package)."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST, type_checking: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and not type_checking and _is_type_checking(child):
            yield from _import_nodes(ast.Module(body=child.orelse, type_ignores=[]), type_checking)  # its `else:` runs
        else:
            yield from _import_nodes(child, type_checking)


def _named(name: str, modules: Mapping[str, Path]) -> str | None:
    """The most specific module of the package that `name` (a dotted path) is or lies in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: Mapping[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        found = {_named(alias.name, modules) for alias in node.names}
    else:
        base = node.module or ""
        if node.level:
            anchor = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                anchor = anchor.rpartition(".")[0]
            base = f"{anchor}.{base}".rstrip(".")
        found = {_named(f"{base}.{alias.name}", modules) for alias in node.names}
    return {target for target in found if target is not None and target != module}


def import_graph(package_dir: Path, *, type_checking: bool = True) -> ImportGraph:
    """Every module of the package at `package_dir` and the package's modules it imports."""
    modules = module_names(package_dir)
    graph: ImportGraph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        graph[module] = {
            target for node in _import_nodes(tree, type_checking) for target in _targets(node, module, is_package, modules)
        }
    return graph


def within(graph: ImportGraph, prefix: str) -> ImportGraph:
    """The part of the graph among the modules of one sub-package (`prefix` itself included)."""
    inside = {module for module in graph if module == prefix or module.startswith(prefix + ".")}
    return {module: graph[module] & inside for module in sorted(inside)}


def collapse(graph: ImportGraph, depth: int) -> ImportGraph:
    """The graph between the first `depth` parts of the names: `picextract.fake.server` is `picextract.fake` at depth 2."""

    def cut(module: str) -> str:
        return ".".join(module.split(".")[:depth])

    collapsed: ImportGraph = {}
    for module, targets in graph.items():
        collapsed.setdefault(cut(module), set()).update(cut(target) for target in targets)
    return {module: targets - {module} for module, targets in collapsed.items()}


def reachable(graph: ImportGraph, start: str) -> set[str]:
    """Every module `start` imports, directly or through others (itself only when it is on a circle)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def cycles(graph: ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other round a circle, each sorted, in order."""
    reach = {module: reachable(graph, module) for module in graph}
    groups = {
        frozenset(other for other in reach[module] if module in reach.get(other, ()))
        for module in graph
        if module in reach[module]
    }
    return sorted(sorted(group) for group in groups)

"""The import graph of the package: imports go one way between layers.

Every ``import bruno_memory...`` of every module is read from its source (module level,
inside functions, and under ``TYPE_CHECKING``) and folded into layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import bruno_memory

PACKAGE = Path(bruno_memory.__file__).parent

#: Layers that must not import another (even for typing): ports see neither their
#: implementations nor the SQL storage; adapters and repositories do not see each other.
FORBIDDEN = {
    "ports": ("adapters", "repositories", "uow", "managers", "backends", "root"),
    "adapters": ("repositories", "uow", "managers", "backends", "root"),
    "repositories": ("adapters", "uow", "managers", "backends", "root"),
    "uow": ("adapters", "managers", "backends", "root"),
    "managers": ("backends", "root"),
    "retrieval": ("managers", "backends", "repositories", "uow", "root"),
}
ROOT = {"bootstrap", "memory", "sync", "copying", "__init__"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    return "root" if parts[1] in ROOT else parts[1]


def _typing_only(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, *, typing: bool) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _typing_only(node) and not typing:
            yield from (n for child in node.orelse for n in (child, *_nodes(child, typing=typing)))
            continue
        yield node
        yield from _nodes(node, typing=typing)


def _imports(path: Path, *, typing: bool) -> set[str]:
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8")), typing=typing):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("bruno_memory"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bruno_memory"))
    return found


def _graph(*, typing: bool) -> dict[str, set[str]]:
    modules = dict(_modules())
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _imports(path, typing=typing)
        graph[name] = {target for target in imported if target in modules} - {name}
    return graph


def test_layers_import_one_way() -> None:
    """No layer imports one it must not (ports <- adapters, ports <- repositories <- uow <-
    managers <- backends, the composition root on top)."""
    wrong = sorted(
        (module, target)
        for module, targets in _graph(typing=True).items()
        for target in targets
        if _layer(target) in FORBIDDEN.get(_layer(module), ())
    )
    assert wrong == []


def test_no_import_cycle_between_layers() -> None:
    """Folded into layers, the graph of imports that run (not only for typing) has no cycle."""
    graph = _graph(typing=False)
    layers: dict[str, set[str]] = {}
    for module, targets in graph.items():
        for target in targets:
            if _layer(target) != _layer(module):
                layers.setdefault(_layer(module), set()).add(_layer(target))
    done: set[str] = set()

    def visit(layer: str, path: tuple[str, ...]) -> None:
        assert layer not in path, f"import cycle: {' -> '.join((*path, layer))}"
        if layer in done:
            return
        for target in sorted(layers.get(layer, ())):
            visit(target, (*path, layer))
        done.add(layer)

    for layer in sorted(layers):
        visit(layer, ())

"""The import graph of src/reslstm, read with ast (nothing is imported): no cycle between its
packages and top-level modules, and training and decoding never import each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SRC

PACKAGE = "reslstm"
SEPARATE = [("train", "decode")]  # stages that share code through the top-level modules only


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every reslstm module ``path`` imports, at any depth of the file (relative ones resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.module


def unit(module: str) -> str | None:
    """The package or top-level module of ``reslstm`` that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        source = unit(module_name(path))
        if source is None:
            continue
        edges = graph.setdefault(source, set())
        for target in map(unit, imported_modules(path)):
            if target is not None and target != source:
                edges.add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read() -> None:
    graph = unit_graph()
    assert {"train", "decode", "ctc", "batches", "checkpoint", "cli"} <= set(graph)
    assert "ctc" in graph["train"] and "ctc" in graph["decode"]


def test_no_cycle_between_packages() -> None:
    cycle = find_cycle(unit_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("a, b", SEPARATE)
def test_stages_do_not_import_each_other(a: str, b: str) -> None:
    graph = unit_graph()
    assert b not in graph[a] and a not in graph[b]


def test_only_entry_points_import_the_cli() -> None:
    graph = unit_graph()
    assert [u for u, targets in graph.items() if "cli" in targets] == []


def test_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None

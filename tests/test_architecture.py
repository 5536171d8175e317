"""The structure rules, read from the source with ``ast`` (nothing is imported):

* no import cycle among the modules of clawsched.sched, .workers, .beat and .cli;
* dependencies point one way: ``beat -> sched``, ``workers -> sched``; sched imports none of workers, beat
  or cli, and beat does not import workers;
* workers and beat do not import SQLAlchemy, except for type hints under ``if TYPE_CHECKING:``;
* every module is at most 400 lines and every function or method at most 40 (migrations aside).

An import is any ``import``/``from ... import`` statement anywhere in a module (inside functions too), or
``importlib.import_module``/``__import__`` with a literal name. It lands in the deepest package module its
name reaches (``from a.b import c`` is ``a.b.c`` when that is a module, else ``a.b``). Imports under
``if TYPE_CHECKING:`` never run, so they make no cycle; they still count as a dependency for the direction
rules.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # as conftest.py decides anyway: these tests use no fixture

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"sched": "clawsched.sched", "workers": "clawsched.workers", "beat": "clawsched.beat",
            "cli": "clawsched.cli"}
SIZE_ROOTS = ("sched", "workers", "beat", "cli", "bench", "tests")
SIZE_EXEMPT = ("sched/store/migrations/versions",)  # generated migrations
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


@dataclass(frozen=True)
class Import:
    target: str  # the dotted name imported: a module, or module.name for ``from module import name``
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT))

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def _python_files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts)


@functools.cache
def modules() -> dict[str, Module]:
    """Every module of the four packages, by dotted name."""
    found: dict[str, Module] = {}
    for folder, package in PACKAGES.items():
        for path in _python_files(ROOT / folder):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            found[name] = Module(name, path)
    return found


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: Module) -> None:
        self.module = module
        self.found: list[Import] = []
        self.type_only = False

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self.type_only = self.type_only, True
        for child in node.body:
            self.visit(child)
        self.type_only = outer
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.extend(Import(alias.name, node.lineno, self.type_only) for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.package.split(".")
            anchor = ".".join(package[: len(package) - (node.level - 1)])
            base = f"{anchor}.{base}" if base else anchor
        for alias in node.names:
            target = base if alias.name == "*" else f"{base}.{alias.name}"
            self.found.append(Import(target, node.lineno, self.type_only))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        first = node.args[0] if node.args else None
        if name in ("import_module", "__import__") and isinstance(first, ast.Constant) and isinstance(first.value, str):
            self.found.append(Import(first.value, node.lineno, self.type_only))
        self.generic_visit(node)


@functools.cache
def imports_of(name: str) -> tuple[Import, ...]:
    module = modules()[name]
    collector = _ImportCollector(module)
    collector.visit(parsed(module.path))
    return tuple(collector.found)


def resolve(target: str) -> str | None:
    """The package module a dotted import name lands in (``a.b.func`` -> ``a.b``), or None if outside."""
    known = modules()
    parts = target.split(".")
    while parts:
        if (name := ".".join(parts)) in known:
            return name
        parts.pop()
    return None


@functools.cache
def graph() -> dict[str, dict[str, int]]:
    """module -> {module it imports at run time: the line of the first such import}."""
    edges: dict[str, dict[str, int]] = {}
    for name in modules():
        out = edges.setdefault(name, {})
        for imp in imports_of(name):
            target = resolve(imp.target)
            if target and target != name and not imp.type_only:
                out.setdefault(target, imp.line)
    return edges


def strongly_connected(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's components, iteratively (the graph may be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    found.append(_pop_component(node, stack, on_stack))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _pop_component(node: str, stack: list[str], on_stack: set[str]) -> list[str]:
    component: list[str] = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
            return sorted(component)


def cycle_through(start: str, component: set[str], edges: dict[str, dict[str, int]]) -> list[str]:
    """A shortest import path from ``start`` back to itself inside ``component``."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(edges[node]):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child in component and child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in a component but on no cycle")


def describe_cycle(path: list[str], edges: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} ({modules()[a].where}:{edges[a][b]})" for a, b in zip(path, path[1:], strict=False)]
    return " -> ".join([*steps, path[-1]])


def test_the_four_packages_are_found():
    names = set(modules())
    assert set(PACKAGES.values()) <= names
    assert len(names) > 20, names


def test_no_module_imports_one_that_imports_it_back():
    edges = graph()
    components = [c for c in strongly_connected(edges) if len(c) > 1]
    cycles = [describe_cycle(cycle_through(c[0], set(c), edges), edges) for c in components]
    sizes = [len(c) for c in components]
    assert not cycles, f"{len(cycles)} import cycle(s) (component sizes {sizes}); one cycle of each:\n" + "\n".join(
        cycles)


def _imports_from(package: str) -> Iterator[tuple[Module, Import]]:
    for name, module in modules().items():
        if name == package or name.startswith(f"{package}."):
            for imp in imports_of(name):
                yield module, imp


def _within(target: str, packages: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(f"{p}.") for p in packages)


@pytest.mark.parametrize("package,forbidden", [
    ("clawsched.sched", ("clawsched.workers", "clawsched.beat", "clawsched.cli")),
    ("clawsched.beat", ("clawsched.workers",)),
])
def test_dependencies_point_towards_sched(package, forbidden):
    wrong = [f"{m.where}:{imp.line} imports {imp.target}" for m, imp in _imports_from(package)
             if _within(imp.target, forbidden)]
    assert not wrong, f"{package} must not import {', '.join(forbidden)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", ["clawsched.workers", "clawsched.beat"])
def test_workers_and_beat_do_not_import_sqlalchemy(package):
    wrong = [f"{m.where}:{imp.line} imports {imp.target}" for m, imp in _imports_from(package)
             if _within(imp.target, ("sqlalchemy",)) and not imp.type_only]
    assert not wrong, f"{package} reaches the database through clawsched.sched only:\n" + "\n".join(wrong)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    return {line for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node.test)
            for body in node.body for line in range(body.lineno, (body.end_lineno or body.lineno) + 1)}


@pytest.mark.parametrize("folder", ["workers", "beat"])
def test_grep_finds_no_sqlalchemy_in_workers_or_beat(folder):
    """The issue's own check, ``grep -rl sqlalchemy workers beat``, over the sources (type-only imports aside)."""
    wrong = []
    for path in _python_files(ROOT / folder):
        allowed = _type_checking_lines(parsed(path))
        wrong += [f"{path.relative_to(ROOT)}:{n}: {text.strip()}"
                  for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                  if "sqlalchemy" in text and n not in allowed]
    assert not wrong, "\n".join(wrong)


def _sized_files() -> Iterator[Path]:
    for folder in SIZE_ROOTS:
        for path in _python_files(ROOT / folder):
            if not any(path.is_relative_to(ROOT / exempt) for exempt in SIZE_EXEMPT):
                yield path


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones too, by qualified name (expressions hold no ``def``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{child.name}", child
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        elif not isinstance(child, ast.expr):
            yield from _functions(child, prefix)


def test_every_module_is_at_most_400_lines():
    long = [(n, str(p.relative_to(ROOT))) for p in _sized_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, f"{len(long)} module(s) over {MAX_MODULE_LINES} lines:\n" + "\n".join(
        f"{where}: {n} lines" for n, where in sorted(long, reverse=True))


def test_every_function_is_at_most_40_lines():
    long = []
    for path in _sized_files():
        for name, func in _functions(parsed(path)):
            size = (func.end_lineno or func.lineno) - func.lineno + 1
            if size > MAX_FUNCTION_LINES:
                long.append((size, f"{path.relative_to(ROOT)}:{func.lineno} {name}"))
    assert not long, f"{len(long)} function(s) over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(
        f"{where}: {n} lines" for n, where in sorted(long, reverse=True))


def test_the_cycle_finder_finds_a_cycle_and_names_its_lines():
    """The checker itself, on a made-up graph: a -> b -> c -> a is one cycle; d only hangs off it."""
    edges = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 7, "d": 9}, "d": {}}
    components = [c for c in strongly_connected(edges) if len(c) > 1]
    assert components == [["a", "b", "c"]]
    assert cycle_through("b", set(components[0]), edges) == ["b", "c", "a", "b"]


def test_imports_are_read_relative_inside_functions_and_type_only():
    """The collector itself: relative imports resolve from the module's package, and nested ones count."""
    module = Module("clawsched.sched.store.claims", ROOT / "sched/store/claims.py")
    collector = _ImportCollector(module)
    collector.visit(ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from . import engine\n"
        "from ..rules.schedules import next_after\n"
        "if TYPE_CHECKING:\n"
        "    import sqlalchemy\n"
        "def later():\n"
        "    import clawsched.workers.app\n"
        "    importlib.import_module('clawsched.beat.scheduler')\n"))
    assert [(i.target, i.line, i.type_only) for i in collector.found] == [
        ("typing.TYPE_CHECKING", 1, False), ("clawsched.sched.store.engine", 2, False),
        ("clawsched.sched.rules.schedules.next_after", 3, False), ("sqlalchemy", 5, True),
        ("clawsched.workers.app", 7, False), ("clawsched.beat.scheduler", 8, False)]

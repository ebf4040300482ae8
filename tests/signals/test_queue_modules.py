"""The referral queue's modules import one another without a cycle.

The graph is read from the source with `ast`, not from `sys.modules`: importing any module of
the package runs signals/queue/__init__.py first, which imports nearly everything, so a cycle
would not show at run time until someone imports the modules in another order.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import signals.queue

PACKAGE = "signals.queue"
SOURCE = Path(signals.queue.__file__).parent


def _module(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules of this package that an import statement loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level:  # relative: from . import x, from .x import y
        base = PACKAGE + (f".{node.module}" if node.module else "")
        names = [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
    elif node.module == PACKAGE:  # a submodule, or a name the package's __init__ exports
        names = [f"{PACKAGE}.{alias.name}" if (SOURCE / f"{alias.name}.py").exists() else PACKAGE
                 for alias in node.names]
    else:
        names = [node.module or ""]
    found = []
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            found.append(".".join(name.split(".")[:3]))
    return found


def _imports(path: Path) -> list[tuple[str, int, bool, bool]]:
    """(imported module, line, inside a function or class, under `if TYPE_CHECKING:`) for
    every import of this package anywhere in the file."""
    found: list[tuple[str, int, bool, bool]] = []

    def walk(node: ast.AST, nested: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((target, child.lineno, nested, typing_only) for target in _targets(child))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    walk(ast.Module(body=[stmt], type_ignores=[]), nested, True)
                for stmt in child.orelse:
                    walk(ast.Module(body=[stmt], type_ignores=[]), nested, typing_only)
            else:
                inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
                walk(child, inner, typing_only)

    walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), False, False)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports when it runs. `if TYPE_CHECKING:` imports are
    left out: they never run, and the type checker resolves them without an import order."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SOURCE.glob("*.py")):
        module = _module(path)
        graph[module] = {target for target, _, _, typing_only in _imports(path)
                         if not typing_only and target != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph.get(module, ())):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module)
        if found:
            return found
    return None


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_import_walk_sees_the_package():
    graph = _graph()
    assert {"signals.queue.store", "signals.queue.auth", "signals.queue.actors"} <= set(graph)
    assert "signals.queue.actors" in graph["signals.queue.auth"]
    assert "signals.queue.actors" in graph["signals.queue.store"]


def test_the_queue_modules_import_one_another_without_a_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_would_be_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_a_sibling_inside_a_function():
    # An import inside a function is how a cycle hides: the module loads, and the cycle
    # bites only on the first call.
    nested = [f"{path.name}:{line} imports {target}"
              for path in sorted(SOURCE.glob("*.py"))
              for target, line, inside, _ in _imports(path) if inside]
    assert nested == []


def test_the_store_and_the_user_records_do_not_reach_the_account_functions():
    graph = _graph()
    assert "signals.queue.auth" not in _reachable(graph, "signals.queue.store")
    assert not {"signals.queue.auth", "signals.queue.store"} & _reachable(graph, "signals.queue.actors")


def test_auth_imports_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, "-c", "import signals.queue.auth"], capture_output=True, text=True,
                          cwd=SOURCE.parent.parent, check=False)
    assert done.returncode == 0, done.stderr

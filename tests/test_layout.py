"""The one-way house (HOUSE.md), checked from the source: no import cycle, no project import
hidden inside a function, no suffix-grown module siblings. The floor order itself is checked by
import-linter's contracts in pyproject.toml (`make lint`)."""

import ast
from pathlib import Path

import grimp
from django.conf import settings

PACKAGES = ("core", "rollout", "accounts", "config")
BASE = Path(settings.BASE_DIR)


def _sources() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((BASE / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    modules = sorted(m for m in graph.modules if ".migrations" not in m)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
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
    return found


def test_no_import_cycle_in_the_projects_code():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]


def _imports_inside_functions(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of project imports inside a function other than AppConfig.ready."""
    found = []

    def visit(node: ast.AST, in_function: bool, allowed: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, True, allowed or child.name == "ready")
            elif isinstance(child, ast.Import | ast.ImportFrom) and in_function and not allowed:
                names = (
                    [child.module or ""]
                    if isinstance(child, ast.ImportFrom)
                    else [alias.name for alias in child.names]
                )
                if isinstance(child, ast.ImportFrom) and child.level:
                    found.append((child.lineno, "." * child.level + (child.module or "")))
                for name in names:
                    if name.split(".")[0] in PACKAGES:
                        found.append((child.lineno, name))
            else:
                visit(child, in_function, allowed)

    visit(tree, False, False)
    return found


def test_no_project_import_inside_a_function_except_appconfig_ready():
    hidden = {
        f"{path.relative_to(BASE)}:{line} {module}"
        for path in _sources()
        for line, module in _imports_inside_functions(ast.parse(path.read_text()))
    }
    assert hidden == set()


def test_the_hidden_import_finder_finds_one():
    tree = ast.parse(
        "class C:\n"
        "    def ready(self):\n"
        "        from rollout import tasks\n"
        "def f():\n"
        "    import json\n"
        "    from rollout.models import Workflow\n"
    )
    assert _imports_inside_functions(tree) == [(6, "rollout.models")]


def test_packages_instead_of_suffix_siblings():
    rollout = BASE / "rollout"
    assert sorted(rollout.glob("forms_*.py")) == []
    assert sorted(rollout.glob("gate_conditions*.py")) == []
    assert sorted((rollout / "management").glob("demo_*.py")) == []

"""The rooms of the code and what each may import (docs/architecture.md), checked on every
``make test``.

- Layers stack catalog -> graph -> ingestors -> scaffolder -> schema -> api: a module imports only its own
  layer and the ones below it (so nothing imports ``api``), and ``catalog`` imports no other
  project package. No product module imports ``tests`` or ``bench``.
- Only ``graph`` imports the ``neo4j`` driver or ``sqlite3``.
- No import cycles between product modules. Imports inside functions count (they only
  postpone the cycle to run time); imports under ``if TYPE_CHECKING:`` are aside (mypy's
  business, never executed). A string in ``strawberry.lazy("schema.x")`` is no import.
- No product module has more than 400 lines unless a line of its module docstring starts
  with ``long:`` and says why.

The checker reads the source with :mod:`ast` (nothing is imported) and returns violations as
strings; the tests at the bottom run it on the tree and on small synthetic trees.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("catalog", "graph", "ingestors", "scaffolder", "schema", "api")
"""The product packages, lowest first."""
OUTSIDE = ("tests", "bench")
"""Project packages no product module may import."""
STORE_DRIVERS = ("neo4j", "sqlite3")
"""Libraries only ``graph`` may import."""
MAX_LINES = 400

# Violations allowed until the branch that fixes them merges (test_known_violations_still_occur
# names the entries that went stale). None today: every long module gives its reason in a
# `long:` line.
KNOWN_UNTIL_MERGE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. schema.entity
    path: Path
    layer: str  # the top-level package


def product_modules(root: Path) -> dict[str, Module]:
    """Every module of the product packages under ``root``, by dotted name."""
    found: dict[str, Module] = {}
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = Module(".".join(parts), path, layer)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, except in the body of an
    ``if TYPE_CHECKING:`` (its ``else`` branch runs, so it counts)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for branch in child.orelse:
                yield from _import_nodes_of(branch)
        else:
            yield from _import_nodes(child)


def _import_nodes_of(node: ast.stmt) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def imported_names(module: Module, modules: dict[str, Module] | None = None) -> set[str]:
    """The dotted names ``module`` imports, relative imports resolved. ``from a import b``
    gives ``a.b`` when that is a module of ``modules`` (importing a submodule is no import
    of its package's ``__init__``), else ``a`` (and ``a.b``, for the driver checks)."""
    tree = ast.parse(module.path.read_text(), str(module.path))
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    names: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if modules is not None and full in modules:
                names.add(full)
            else:
                names.add(base)
                if alias.name != "*":
                    names.add(full)
    return names


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def import_graph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Product module -> the product modules it imports."""
    return {
        name: {
            imported
            for imported in imported_names(module, modules)
            if imported in modules and imported != name
        }
        for name, module in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
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

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)


def _docstring_says_long(path: Path) -> bool:
    docstring = ast.get_docstring(ast.parse(path.read_text(), str(path))) or ""
    return any(line.strip().startswith("long:") for line in docstring.splitlines())


def violations(root: Path) -> list[str]:
    """What breaks the rules in the module docstring, one line each."""
    modules = product_modules(root)
    rank = {layer: position for position, layer in enumerate(LAYERS)}
    found: list[str] = []
    for name, module in modules.items():
        for imported in sorted(imported_names(module)):
            top = _top(imported)
            if top in rank and rank[top] > rank[module.layer]:
                found.append(f"upward: {name} imports {imported} ({module.layer} is below {top})")
            elif top in OUTSIDE and (root / top).is_dir():
                found.append(f"outside: {name} imports {imported}")
            elif top in STORE_DRIVERS and module.layer != "graph":
                found.append(f"driver: {name} imports {imported}; only graph/ may")
        lines = len(module.path.read_text().splitlines())
        if lines > MAX_LINES and not _docstring_says_long(module.path):
            relative = module.path.relative_to(root).as_posix()
            found.append(f"long: {relative} has {lines} lines")
    found += [f"cycle: {', '.join(members)}" for members in cycles(import_graph(modules))]
    return sorted(set(found))


def _known(violation: str, known: frozenset[str]) -> bool:
    if violation in known:
        return True
    if violation.startswith("cycle: "):
        members = set(violation.removeprefix("cycle: ").split(", "))
        return any(
            k.startswith("cycle: ") and members <= set(k.removeprefix("cycle: ").split(", "))
            for k in known
        )
    if violation.startswith("long: "):  # the same file, grown or shrunk a little
        path = violation.split(" has ", 1)[0]
        return any(k.split(" has ", 1)[0] == path for k in known)
    return False


# --- the tree ------------------------------------------------------------------------------


def test_the_tree_keeps_the_layers_and_has_no_new_cycles_or_long_modules() -> None:
    new = [v for v in violations(ROOT) if not _known(v, KNOWN_UNTIL_MERGE)]

    assert new == [], (
        "architecture rules broken (see docs/architecture.md for the rooms and what each "
        "may import; break a cycle by moving the shared piece into a module both import, "
        "or give a long module a `long:` line in its docstring):\n" + "\n".join(new)
    )


def test_known_violations_still_occur() -> None:
    """A fixed violation leaves the allowlist, so it cannot come back unnoticed."""
    found = violations(ROOT)
    stale = [k for k in KNOWN_UNTIL_MERGE if not any(_known(v, frozenset({k})) for v in found)]

    assert stale == [], "no longer occur, remove from KNOWN_UNTIL_MERGE:\n" + "\n".join(stale)


# --- the checker, on synthetic trees -------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for layer in LAYERS:
        (root / layer).mkdir(exist_ok=True)
        (root / layer / "__init__.py").touch()
    return root


def test_a_clean_tree_has_no_violations(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "catalog/refs.py": "import re\n",
            "graph/store.py": "import sqlite3\nfrom catalog.refs import re\n",
            "schema/entity.py": (
                "from typing import TYPE_CHECKING\n"
                "from graph import store\n"
                "if TYPE_CHECKING:\n    from schema.kinds import Component\n"
            ),
            "schema/kinds.py": "from schema.entity import TYPE_CHECKING\n",
            "api/app.py": "from . import cli\nfrom schema import kinds\n",
            "api/cli.py": "import argparse\n",
        },
    )

    assert violations(root) == []


def test_an_upward_import_is_a_violation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "graph/store.py": "def f() -> None:\n    from schema.entity import x\n",
            "schema/entity.py": "x = 1\n",
            "catalog/refs.py": "import graph\n",
        },
    )

    assert violations(root) == [
        "upward: catalog.refs imports graph (catalog is below graph)",
        "upward: graph.store imports schema.entity (graph is below schema)",
        "upward: graph.store imports schema.entity.x (graph is below schema)",
    ]


def test_nothing_imports_api(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"schema/query.py": "from api.settings import Settings\n"})

    assert [v.split(" (")[0] for v in violations(root)] == [
        "upward: schema.query imports api.settings",
        "upward: schema.query imports api.settings.Settings",
    ]


def test_a_cycle_through_a_function_level_import_is_a_violation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "schema/entity.py": "def to_graphql() -> None:\n    from schema.kinds import T\n",
            "schema/kinds.py": "from schema.entity import to_graphql\nT = 1\n",
            "schema/query.py": "from . import entity\n",
        },
    )

    assert violations(root) == ["cycle: schema.entity, schema.kinds"]


def test_a_relative_cycle_through_a_package_init_is_a_violation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "ingestors/git/__init__.py": "from .get import fetch\n",
            "ingestors/git/get.py": "from ingestors import git\n",
        },
    )

    assert violations(root) == ["cycle: ingestors.git, ingestors.git.get"]


def test_type_checking_imports_are_aside_but_their_else_branch_counts(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "schema/entity.py": (
                "import typing\n"
                "if typing.TYPE_CHECKING:\n    from schema.kinds import K\n"
                "else:\n    from schema.runs import R\n"
            ),
            "schema/kinds.py": "from schema.entity import typing\n",
            "schema/runs.py": "from schema.entity import typing\n",
        },
    )

    assert violations(root) == ["cycle: schema.entity, schema.runs"]


def test_only_graph_imports_the_store_drivers(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "graph/neo4j_store.py": "from neo4j import AsyncDriver\n",
            "ingestors/lease.py": "import sqlite3\n",
            "schema/loaders.py": "def f() -> None:\n    import neo4j.exceptions\n",
        },
    )

    assert violations(root) == [
        "driver: ingestors.lease imports sqlite3; only graph/ may",
        "driver: schema.loaders imports neo4j.exceptions; only graph/ may",
    ]


def test_product_code_does_not_import_tests(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"ingestors/runner.py": "from tests.factories import record\n"})
    (tmp_path / "tests").mkdir()

    assert violations(root) == [
        "outside: ingestors.runner imports tests.factories",
        "outside: ingestors.runner imports tests.factories.record",
    ]


def test_a_long_module_needs_a_reason_in_its_docstring(tmp_path: Path) -> None:
    body = "x = 1\n" * MAX_LINES
    root = _tree(
        tmp_path,
        {
            "graph/big.py": '"""Big."""\n' + body,
            "graph/reasoned.py": '"""Big.\n\nlong: one SQL dialect, kept whole.\n"""\n' + body,
            "graph/fits.py": body,
        },
    )

    assert violations(root) == [f"long: graph/big.py has {MAX_LINES + 1} lines"]


def test_a_known_cycle_covers_a_smaller_one_but_not_a_larger_one() -> None:
    known = frozenset({"cycle: a.x, a.y, a.z"})

    assert _known("cycle: a.x, a.y", known)
    assert not _known("cycle: a.w, a.x", known)
    assert _known(
        "long: graph/big.py has 500 lines", frozenset({"long: graph/big.py has 480 lines"})
    )

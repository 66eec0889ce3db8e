"""The package's layers, checked over its folders (each folder's README.md states its rule).

Every import of every module counts, those inside functions too (a lazy import is still a
dependency); ``if TYPE_CHECKING:`` blocks count for the layer rule but not for cycles.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.airflow_env import ROOT
from tests.processes import imported_after

PACKAGE = "airflow_webhook_trigger"
SOURCE = ROOT / PACKAGE
LAYERS = ("core", "storage", "airflow_seam", "web", "cli")
#: which of our folders each folder may import
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "storage": {"core", "storage"},
    "airflow_seam": {"core", "storage", "airflow_seam"},
    "web": {"core", "storage", "airflow_seam", "web"},
    "cli": {"core", "storage", "airflow_seam", "cli"},
}
WEB = {"fastapi", "starlette", "flask", "werkzeug", "anyio", "uvicorn"}
DB = {"sqlalchemy", "alembic", "psycopg2"}
#: third-party packages a folder never imports
FORBIDDEN: dict[str, set[str]] = {
    "core": {"airflow", *WEB, *DB, "jsonschema"},
    "storage": {"airflow", *WEB},
    "airflow_seam": WEB,
    "web": {"airflow"},
    "cli": {"airflow", *WEB},
}
#: the only crossings, each with its reason
EXCEPTIONS = {
    # alembic runs this file inside `airflow db migrate`: it reads Airflow's engine
    ("storage.migrations.env", "airflow"),
    # Airflow's auth manager is reached through FastAPI dependencies (its api-server is FastAPI)
    ("airflow_seam.dag_access", "fastapi"),
}
#: top-level modules: the composition root and the public names users import or configure
TOP = {"__init__", "plugin", "operators", "db_manager"}


@dataclass(frozen=True)
class Import:
    target: str  # dotted, absolute
    typing_only: bool
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in sorted(SOURCE.rglob("*.py"))
        if "versions" not in p.parts  # alembic revisions: SQLAlchemy and alembic only
    }


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    visit_one(sub, True)
                for sub in child.orelse:
                    visit_one(sub, typing_only)
            else:
                visit_one(child, typing_only)

    def visit_one(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, typing_only, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PACKAGE:  # `from airflow_webhook_trigger import x`: x is a module
                found.extend(Import(f"{PACKAGE}.{a.name}", typing_only, node.lineno) for a in node.names)
            else:
                found.append(Import(node.module, typing_only, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import (the house imports absolutely)")
        visit(node, typing_only)

    visit(ast.parse(path.read_text()), False)
    return found


def _layer(module: str) -> str | None:
    head = module.split(".")[0]
    return head if head in LAYERS else None


def _ours(target: str) -> str | None:
    """The module of ours an import names (relative to the package), else None."""
    if target == PACKAGE:
        return "__init__"
    if target.startswith(PACKAGE + "."):
        return target[len(PACKAGE) + 1 :]
    return None


def test_every_module_lives_in_a_layer_or_is_a_named_top_level_module() -> None:
    stray = [m for m in _modules() if _layer(m) is None and m not in TOP]
    assert not stray, f"modules outside core/storage/airflow_seam/web/cli: {stray}"


def test_every_layer_states_its_rule() -> None:
    for layer in LAYERS:
        readme = SOURCE / layer / "README.md"
        assert readme.is_file(), readme
        assert "import" in readme.read_text().lower(), f"{readme} states no import rule"


def test_each_layer_imports_only_the_layers_below_it() -> None:
    broken: list[str] = []
    for module, path in _modules().items():
        layer = _layer(module)
        if layer is None:
            continue
        for imp in _imports(path):
            ours = _ours(imp.target)
            if ours is not None:
                target_layer = _layer(ours)
                if target_layer not in ALLOWED[layer]:
                    broken.append(f"{module}:{imp.line} imports {ours} ({target_layer or 'top level'})")
                continue
            top = imp.target.split(".")[0]
            if top in FORBIDDEN[layer] and (module, top) not in EXCEPTIONS:
                broken.append(f"{module}:{imp.line} imports {imp.target}")
    assert not broken, "\n".join(broken)


def test_the_public_top_level_modules_only_re_export_the_seam() -> None:
    for name in ("operators", "db_manager"):
        targets = {_ours(i.target) for i in _imports(SOURCE / f"{name}.py")}
        assert targets == {f"airflow_seam.{name}"}, (name, targets)


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for imp in _imports(path):
            ours = _ours(imp.target)
            if ours is not None and not imp.typing_only and ours in modules and ours != module:
                graph[module].add(ours)
    # Tarjan's strongly connected components: any with two or more modules is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            connect(node)
    assert not cycles, cycles


def test_the_rule_catches_a_crossing(tmp_path: Path) -> None:
    """The checks above would see a core module importing the storage layer, or SQLAlchemy."""
    bad = tmp_path / "bad.py"
    bad.write_text(f"def f():\n    import sqlalchemy\n    from {PACKAGE}.storage import engine\n")
    targets = {i.target for i in _imports(bad)}
    assert targets == {"sqlalchemy", f"{PACKAGE}.storage"}
    assert _layer(_ours(f"{PACKAGE}.storage.engine") or "") not in ALLOWED["core"]


@pytest.mark.parametrize("layer", ["core", "storage", "cli"])
def test_importing_a_layer_loads_nothing_it_may_not_import(layer: str) -> None:
    names = [
        f"{PACKAGE}.{m}"
        for m in _modules()
        if _layer(m) == layer and m not in {"cli.__main__", "storage.migrations.env"}
    ]
    assert names
    loaded = imported_after(names)
    assert loaded.isdisjoint(FORBIDDEN[layer]), loaded & FORBIDDEN[layer]

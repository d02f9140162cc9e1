"""The code's layout, held: packages that read one way, no import cycle, no long module or function, and
commands and pages that load only what they use."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from etl.paths import PROJECT_ROOT

PACKAGES = ("etl", "dashboard")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
LONG_FUNCTION_EXCEPTIONS: dict[str, str] = {}  # each with its reason
# etl's stages, each importing only from those before it: extract → store → curate → workbook → jobs.
ETL_LAYERS = {"": 0, "extract": 1, "store": 2, "curate": 3, "workbook": 4, "jobs": 5, "__main__": 6}
ETL_SUBPACKAGES = {"extract", "curate", "store", "jobs", "workbook"}
ETL_TOP_MODULES = {"__init__", "__main__", "paths", "parallel", "vocabulary"}


def module_files() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (`etl.store.schema.facts` → etl.store.schema)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports anywhere in it: at the top, in functions, under TYPE_CHECKING."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_resolve(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.update(_resolve(f"{base}.{a.name}") or _resolve(base) for a in node.names)
    packages = {m for m, path in MODULES.items() if path.name == "__init__.py"}
    return found - {None, module} - packages  # an (empty) __init__ is no dependency


GRAPH = {module: imports_of(module) for module in MODULES}


def test_no_import_cycle_among_the_project_modules():
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def _layer(module: str) -> int:
    parts = module.split(".")
    return ETL_LAYERS[parts[1] if len(parts) > 1 and parts[1] in ETL_LAYERS else ""]


def test_etl_reads_one_way_from_extraction_to_the_jobs_and_never_imports_the_dashboard():
    backwards = [(a, b) for a in GRAPH if a.startswith("etl") for b in GRAPH[a]
                 if b.startswith("dashboard") or (b.startswith("etl") and _layer(b) > _layer(a))]
    assert not backwards, backwards


def test_the_etl_folders_name_its_stages():
    etl = PROJECT_ROOT / "etl"
    assert {p.name for p in etl.iterdir() if (p / "__init__.py").exists()} == ETL_SUBPACKAGES
    assert {p.stem for p in etl.glob("*.py")} == ETL_TOP_MODULES
    assert all(not (etl / package / "__init__.py").read_text() for package in ETL_SUBPACKAGES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_600_lines(module):
    assert len(MODULES[module].read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


def long_functions() -> list[str]:
    found = []
    files = [*MODULES.values(), *sorted((PROJECT_ROOT / "scripts").glob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES):
                found.append(f"{path.relative_to(PROJECT_ROOT).as_posix()}::{node.name}")
    return found


def test_no_function_is_longer_than_60_lines_outside_tests_and_bench():
    assert sorted(long_functions()) == sorted(LONG_FUNCTION_EXCEPTIONS)


def loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after running `code`."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


def test_the_command_line_parses_its_arguments_without_the_data_libraries():
    code = ("from etl.jobs.cli import build_parser\n"
            "for words in (['run'], ['refresh'], ['schedule'], ['migrate'], ['export', '--out', 'x.xlsx']):\n"
            "    build_parser().parse_args(words)")
    assert loaded_after(code, ("pandas", "openpyxl", "sqlalchemy", "cn2an", "pandera", "apscheduler")) == []


def test_the_dashboard_loads_no_extraction_job_or_workbook_code():
    heavy = ("cn2an", "pandera", "openpyxl", "apscheduler", "etl.extract.facts", "etl.jobs.refresh",
             "etl.workbook.export")
    assert loaded_after("import dashboard.app", heavy) == []

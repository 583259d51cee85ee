"""dq_core imports no Azure SDK, no database driver and reads no environment."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BLOCKER = """
import importlib.abc, importlib.util, pkgutil, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("azure", "psycopg", "psycopg_pool", "psycopg2"):
            raise ImportError(f"dq_core must not import {name}")
        return None

sys.meta_path.insert(0, Block())
import dq_core
names = [m.name for m in pkgutil.walk_packages(dq_core.__path__, "dq_core.") if m.name != "dq_core.__main__"]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_every_dq_core_module_imports_with_azure_and_drivers_blocked() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 15  # the walk really found the package's modules


def test_blocker_would_catch_an_azure_import() -> None:
    code = BLOCKER.replace("import dq_core\n", "import dq_core\nimport azure.functions\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "must not import azure" in result.stderr


def _names(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.add(f"{node.value.id}.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_dq_core_reads_no_environment_variables() -> None:
    offenders = []
    for path in (ROOT / "dq_core").rglob("*.py"):
        names = _names(ast.parse(path.read_text(encoding="utf-8")))
        if names & {"os.environ", "os.getenv"}:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_function_app_only_composes() -> None:
    tree = ast.parse((ROOT / "function_app.py").read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "Import", "ImportFrom", "Assign"}, kinds
    assert not any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) for node in ast.walk(tree))


def test_sources_are_python_files_under_layout() -> None:
    for folder in ("dq_core", "activities", "orchestrators", "triggers", "libraries", "tests", "infra/bicep"):
        assert (ROOT / folder).is_dir(), folder
    for name in (
        "function_app.py",
        "host.json",
        "local.settings.sample.json",
        "requirements.txt",
        "pyproject.toml",
        ".funcignore",
        "README.md",
    ):
        assert (ROOT / name).is_file(), name
    assert Path(ROOT / ".ci" / "run").is_file()


ORCHESTRATOR_IMPORTS = {
    "__future__",
    "collections.abc",
    "typing",
    "datetime",
    "azure.durable_functions",
    "dq_core.runs.payloads",
    "dq_core.results.run",
    "dq_core.libraries.actions",
    "orchestrators.run_job",
}
NONDETERMINISTIC = {"datetime.now", "datetime.utcnow", "time.time", "uuid.uuid4", "random.random", "os.environ"}


def test_orchestrators_import_only_the_durable_sdk_and_payload_models() -> None:
    for path in (ROOT / "orchestrators").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {
            node.module if node.module in ORCHESTRATOR_IMPORTS else f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert modules <= ORCHESTRATOR_IMPORTS, (path.name, modules - ORCHESTRATOR_IMPORTS)
        assert not _names(tree) & NONDETERMINISTIC, path.name
        calls = {
            node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & {"open", "print", "input"}, path.name


# The SDK's own retries (and ``task_any``, the other half of durable-python#603: runs that stay
# Running forever after a retry) are not used by orchestrators: activities retry themselves
# (dq_core/runs/retrying.py) and fan-outs wait with ``task_all``.
ORCHESTRATOR_FORBIDDEN = {"call_activity_with_retry", "call_sub_orchestrator_with_retry", "RetryOptions", "task_any"}


def _durable_retries(tree: ast.AST) -> set[str]:
    found = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    found |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    return found & ORCHESTRATOR_FORBIDDEN


def test_orchestrators_never_use_the_sdks_retries_or_task_any() -> None:
    paths = list((ROOT / "orchestrators").glob("*.py"))
    assert paths
    for path in paths:
        assert not _durable_retries(ast.parse(path.read_text(encoding="utf-8"))), path.name


def test_the_retry_rule_would_catch_the_pattern_of_issue_603() -> None:
    source = """
import azure.durable_functions as df
from azure.durable_functions import RetryOptions
RETRY = df.RetryOptions(2000, 3)
def orchestrator(context):
    tasks = [context.call_activity_with_retry("a", RETRY, 1), context.call_sub_orchestrator_with_retry("o", RETRY)]
    yield context.task_any(tasks)
"""
    assert _durable_retries(ast.parse(source)) == ORCHESTRATOR_FORBIDDEN


def test_activities_stay_thin() -> None:
    """Activities only wire payloads to stages: no polars, no SDK clients of their own."""
    for path in (ROOT / "activities").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "import polars" not in source and "azure.storage" not in source and "azure.data" not in source
        assert len(source.splitlines()) < 120, f"{path.name} is growing logic: move it to dq_core.runs.stages"

"""The folder tree is the architecture (docs/architecture.md), and these tests hold it there.

Layers, inner to outer: the domain core (``dq_core``); the adapters and the use cases
(``adapters``, ``services``), which depend on the core only; the composition root (``app``),
which picks the adapters; the edges (``api``, ``cli``, ``local_host``, ``monitoring``,
``triggers``, ``activities``, ``orchestrators``, ``function_app``), which may use everything
inside them. Every import of the tree is read with ``ast`` (lazy imports inside functions
included), so a rule cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from tests.conftest import ROOT

CORE = "dq_core"
ADAPTERS, SERVICES, COMPOSITION = "adapters", "services", "app"
EDGES = ("api", "cli", "local_host", "monitoring", "triggers", "activities", "orchestrators", "function_app")
PACKAGES = (CORE, ADAPTERS, SERVICES, COMPOSITION, *EDGES)

# What each layer may import from the project (its own package always).
ALLOWED: Mapping[str, frozenset[str]] = {
    CORE: frozenset(),
    ADAPTERS: frozenset({CORE}),
    SERVICES: frozenset({CORE}),
    COMPOSITION: frozenset({CORE, ADAPTERS, SERVICES}),
    **{edge: frozenset({CORE, SERVICES, COMPOSITION, *EDGES}) for edge in EDGES},
}

# The core computes; it opens no connection, loads no driver or cloud SDK, hosts no server.
CORE_FORBIDDEN = (
    "azure",
    "psycopg",
    "psycopg_pool",
    "psycopg2",
    "httpx",
    "requests",
    "urllib3",
    "urllib.request",
    "http.client",
    "smtplib",
    "socket",
    "aiohttp",
    "fastapi",
    "starlette",
    "uvicorn",
    "openlineage.client.transport",
    "openlineage.client.client",
    "ssl",
    "jwt.jwks_client",
    "jwt.PyJWKClient",
    "opentelemetry",
)


def _module_files() -> dict[str, Path]:
    found: dict[str, Path] = {"function_app": ROOT / "function_app.py"}
    for package in PACKAGES:
        if package == "function_app":
            continue
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


@cache
def modules() -> dict[str, Path]:
    return _module_files()


def imported_names(source: str) -> set[str]:
    """Every module name an import statement anywhere in ``source`` names (``from a import b``
    gives ``a.b``: a submodule when there is one, else a name in ``a``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _ours(name: str, known: Mapping[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    known = dict.fromkeys(sources, Path())
    return {
        module: {found for name in imported_names(text) if (found := _ours(name, known)) and found != module}
        for module, text in sources.items()
    }


@cache
def project_graph() -> dict[str, set[str]]:
    return graph({name: path.read_text(encoding="utf-8") for name, path in modules().items()})


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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


def layer_violations(edges: Mapping[str, Iterable[str]]) -> list[str]:
    wrong = []
    for module, targets in edges.items():
        layer = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != layer and other not in ALLOWED[layer]:
                wrong.append(f"{module} imports {target} ({layer} may not depend on {other})")
    return sorted(wrong)


def test_the_walk_sees_every_layer() -> None:
    seen = {module.split(".")[0] for module in modules()}
    assert seen == set(PACKAGES)
    assert len(modules()) > 150


def test_no_import_circle_anywhere_in_the_tree() -> None:
    assert cycles(project_graph()) == []


def test_the_cycle_check_would_catch_a_circle() -> None:
    sources = {
        "cli.main": "from cli.run_command import add_run_parser\n",
        "cli.run_command": "def f():\n    from cli.main import build_parser\n",
        "cli.output": "import json\n",
    }
    assert cycles(graph(sources)) == [["cli.main", "cli.run_command"]]


def test_every_import_points_inward() -> None:
    assert layer_violations(project_graph()) == []


def test_the_layer_rule_would_catch_an_arrow_the_wrong_way() -> None:
    sources = {
        "dq_core.runs.stages": "def f():\n    from app.bootstrap import stores\n",
        "services.runs": "from adapters.azure.blob_store import AzureBlobStore\n",
        "app.bootstrap": "from dq_core.ports import BlobStore\n",
        "app.runtime": "",
        "adapters.azure.blob_store": "",
        "dq_core.ports": "",
    }
    assert layer_violations(graph(sources)) == [
        "dq_core.runs.stages imports app.bootstrap (dq_core may not depend on app)",
        "services.runs imports adapters.azure.blob_store (services may not depend on adapters)",
    ]


def attribute_uses(source: str) -> set[str]:
    """``module.name`` for every attribute read off a plain name (``jwt.PyJWKClient``)."""
    return {
        f"{node.value.id}.{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }


def forbidden_in_core(name: str) -> bool:
    return any(name == banned or name.startswith(f"{banned}.") for banned in CORE_FORBIDDEN)


def _all_names(source: str) -> set[str]:
    return imported_names(source) | attribute_uses(source)


def test_the_core_imports_no_network_client_driver_sdk_or_server() -> None:
    offenders = sorted(
        f"{module}: {name}"
        for module, path in modules().items()
        if module.split(".")[0] == CORE
        for name in _all_names(path.read_text(encoding="utf-8"))
        if forbidden_in_core(name)
    )
    assert offenders == []


def test_the_core_rule_would_catch_a_network_client() -> None:
    names = _all_names("import httpx\nimport jwt\ndef f():\n    from smtplib import SMTP\n    jwt.PyJWKClient('u')\n")
    assert sorted(name for name in names if forbidden_in_core(name)) == ["httpx", "jwt.PyJWKClient", "smtplib.SMTP"]
    assert not forbidden_in_core("polars") and not forbidden_in_core("socketserver")


def _string_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        target = node.args[0].value
        if name in {"import_module", "__import__"} and isinstance(target, str):
            found.append(target)
    return found


def test_no_string_imports_of_the_projects_packages_anywhere() -> None:
    """``importlib.import_module("app.bootstrap")`` hides an arrow from every checker above."""
    paths = [*modules().values(), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    paths += list((ROOT / "scripts").rglob("*.py"))
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {target}"
        for path in paths
        for target in _string_imports(path.read_text(encoding="utf-8"))
        if target.split(".")[0] in PACKAGES
    )
    assert offenders == []
    assert _string_imports('import importlib\nimportlib.import_module("app.bootstrap")\n') == ["app.bootstrap"]


def test_the_composition_root_holds_only_composition() -> None:
    """``app/`` builds the adapters from settings; the API, hosts, monitoring and use cases live elsewhere."""
    names = {path.stem for path in (ROOT / "app").glob("*.py")}
    assert names <= {"__init__", "auth", "bootstrap", "cursor_keys", "runtime", "settings"}, names

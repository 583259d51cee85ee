"""requirements.txt (the Functions manifest) agrees with pyproject; settings files are sane."""

from __future__ import annotations

import json
import os
import re
import tomllib
from functools import cache
from pathlib import Path

import pathspec
import pytest

from tests.conftest import ROOT


def _requirement(line: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s;]+)", line.strip())
    assert match, f"not pinned with ==: {line!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() + (match.group(2) or ""), match.group(3)


def test_requirements_match_pyproject_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    from_pyproject = dict(_requirement(dep) for dep in project["dependencies"])
    lines = [
        line
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    from_requirements = dict(_requirement(line) for line in lines)
    assert from_requirements == from_pyproject
    assert "azure-functions-worker" not in from_requirements
    assert from_requirements["azure-functions-durable"] == "1.7.0"


def test_dev_dependencies_are_pinned_and_console_script_exists() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for dep in project["optional-dependencies"]["dev"]:
        _requirement(dep)
    assert project["scripts"]["dq"] == "cli:run"  # main(), then exit with its code (gc frozen first)


def test_host_json_and_local_settings() -> None:
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensions"]["durableTask"]["hubName"] == "%TASKHUB_NAME%"
    values = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"


# --- the deployment package: what .funcignore lets through ------------------------------------

PLANTED = (  # what a working copy holds after the demo, the tests and a benchmark (made up here)
    ".dq/auth/local-signing-key.pem",
    ".dq/serve/auth/local-signing-key.pem",
    ".dq/registry.db",
    ".dq/lineage.db",
    ".dq/mask-salt",
    ".dq/blobs/contoso/runs/r-1/rejects.parquet",
    "out/demo/run/result.json",
    "out/demo/cleanse/customers.csv",
    "out/demo/api/report.html",
    ".services/postgres/data/base/1/1259",
    ".services/azurite/__blobstorage__/1.json",
    ".venv/lib/python3.11/site-packages/httpx/__init__.py",
    "dq_platform.egg-info/PKG-INFO",
    "bench/data/customers_1m.csv",
    "bench/run_bench.py",
    "tests/data/odcs-examples/full.yaml",
    "tests/unit/test_packaging.py",
    "dq_core/reporting/tests/test_report.py",
    "dq_core/conftest.py",
    "libraries/contoso/samples/customers.csv",
    "signing.pem",
    "app/auth/private.key",
    "adapters/local/cache.sqlite",
    "app/run.sqlite3",
    "dq_core/data/sample.parquet",
    "activities/export.xlsx",
    "orchestrators/rows.jsonl",
    ".env",
    "local.settings.json",
)
KEY_FILES = (".pem", ".key", ".pfx")
DATABASES = (".db", ".sqlite", ".sqlite3", ".db-journal", ".db-wal")
DATA_FILES = (".csv", ".csv.gz", ".parquet", ".xlsx", ".jsonl")
NEVER_DIRECTORIES = {".dq", "out", ".services", ".venv", "tests", "test", "bench", "benchmarks", "auth", ".git"}
APP_NEEDS = (  # non-Python files the app reads from its package
    "host.json",
    "requirements.txt",
    "dq_core/reporting/templates/report.html.j2",
    "adapters/postgres/migrations/0001_registry.sql",
)


@cache
def funcignore() -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines((ROOT / ".funcignore").read_text(encoding="utf-8").splitlines())


def packaged(path: str) -> bool:
    """Whether Core Tools would upload ``path`` (relative, with /): gitignore semantics, so a file
    under an excluded folder stays out whatever the other patterns say."""
    parts = path.split("/")
    folders = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts) - 1)]
    return not any(funcignore().match_file(folder) for folder in folders) and not funcignore().match_file(path)


def package_files() -> list[str]:
    """The deployment package's file list: the repository tree as it is here, through .funcignore."""
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        relative = Path(folder).relative_to(ROOT).as_posix()
        prefix = "" if relative == "." else relative + "/"
        subfolders[:] = [d for d in subfolders if not funcignore().match_file(f"{prefix}{d}/")]
        files += [prefix + name for name in names if packaged(prefix + name)]
    return sorted(files)


def _why_not(path: str) -> str | None:
    """Why ``path`` must not be in the package (None: it may be)."""
    parts = path.split("/")
    name = parts[-1]
    if name.endswith(KEY_FILES) or name == ".env":
        return "a key"
    if name.endswith(DATABASES):
        return "a database"
    if name.endswith(DATA_FILES):
        return "a data file"
    if NEVER_DIRECTORIES & set(parts[:-1]) or any(part.endswith(".egg-info") for part in parts[:-1]):
        return "local state, a test or a benchmark"
    if name.startswith("test_") or name == "conftest.py":
        return "a test"
    if name == "local.settings.json" or parts[0] == ".dq":
        return "local settings or state"
    return None


def test_the_package_holds_the_app_and_nothing_of_the_working_copy() -> None:
    files = package_files()
    leaks = [f"{path}: {_why_not(path)}" for path in files if _why_not(path)]
    assert leaks == []
    for needed in ("function_app.py", *APP_NEEDS):
        assert needed in files
    for package in (
        "dq_core",
        "app",
        "adapters",
        "services",
        "api",
        "monitoring",
        "activities",
        "orchestrators",
        "triggers",
    ):
        assert f"{package}/__init__.py" in files


@pytest.mark.parametrize("path", PLANTED)
def test_a_key_database_data_file_or_test_anywhere_stays_out_of_the_package(path: str) -> None:
    assert _why_not(path) is not None or path.startswith((".dq/", "out/", ".services/", "bench/")), path
    assert not packaged(path), f"{path} would be deployed"


def test_the_demo_leaves_its_signing_key_where_the_package_does_not_look() -> None:
    """scripts/demo.sh writes the local signing key under .dq/ (dq token keygen --home .dq/serve)."""
    demo = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert "serve_home=.dq/serve" in demo and "dq token keygen --home" in demo
    assert not packaged(".dq/serve/auth/local-signing-key.pem")


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test.sh" in ci
    assert "scripts/test.sh" in readme
    assert "scripts/demo.sh" in readme


def test_host_json_sets_sampling_explicitly_and_never_samples_requests_or_exceptions() -> None:
    """The host's adaptive sampling is on by default; it is set here on purpose: function invocations
    (requests) and exceptions are kept whole, the host's own traces and dependencies are sampled. The
    run's telemetry (dq.* spans, metrics, dq log records) is exported by the worker itself, unsampled."""
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    sampling = host["logging"]["applicationInsights"]["samplingSettings"]
    assert sampling["isEnabled"] is True and sampling["maxTelemetryItemsPerSecond"] > 0
    excluded = set(sampling["excludedTypes"].split(";"))
    assert {"Request", "Exception"} <= excluded
    assert excluded <= {"Dependency", "Event", "Exception", "PageView", "Request", "Trace"}  # the types it knows

"""requirements.txt (the Functions manifest) agrees with pyproject; settings files are sane."""

from __future__ import annotations

import json
import re
import tomllib

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
    assert project["scripts"]["dq"] == "dq_core.cli:main"


def test_host_json_and_local_settings() -> None:
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensions"]["durableTask"]["hubName"] == "%TASKHUB_NAME%"
    values = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"


def test_funcignore_keeps_tests_and_infra_out_of_the_package() -> None:
    ignored = set((ROOT / ".funcignore").read_text(encoding="utf-8").split())
    assert {"tests", "infra", ".venv", "local.settings.json"} <= ignored
    assert "dq_core" not in ignored


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

"""Shared fixtures: paths of the repository, the demo libraries, the ODCS examples."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests explore the same examples on every run: CI must not be flaky.
settings.register_profile("dq", derandomize=True, print_blob=True)
settings.load_profile("dq")

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ROOT / "libraries"
DEMO = LIBRARIES / "contoso" / "dev"
ODCS_EXAMPLES = ROOT.parent / "shared" / "odcs-examples"
if not ODCS_EXAMPLES.is_dir():  # CI clones the repository alone: use the vendored copy
    ODCS_EXAMPLES = ROOT / "tests" / "data" / "odcs-examples"


@pytest.fixture(autouse=True)
def _no_cli_defaults_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """DQ_LIBRARIES / DQ_TENANT / DQ_ENV give the CLI its defaults: a developer's shell that
    sets them must not change what the tests see (a test that needs them sets them itself)."""
    for name in ("DQ_LIBRARIES", "DQ_TENANT", "DQ_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def libraries_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo libraries, for breaking on purpose."""
    target = tmp_path / "libraries"
    shutil.copytree(LIBRARIES, target)
    return target


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    """Every registered function of the Functions app, by name. ``FunctionApp.get_functions()``
    may be called once per process, so the app is indexed here, once per session, for every test."""
    import function_app  # the whole app: only the tests that use it pay for the import

    return {fn.get_function_name(): fn for fn in function_app.app.get_functions()}

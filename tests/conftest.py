"""Shared fixtures: paths of the repository, the demo libraries, the ODCS examples."""

from __future__ import annotations

import shutil
from pathlib import Path

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


@pytest.fixture
def libraries_copy(tmp_path: Path) -> Path:
    """A writable copy of the demo libraries, for breaking on purpose."""
    target = tmp_path / "libraries"
    shutil.copytree(LIBRARIES, target)
    return target

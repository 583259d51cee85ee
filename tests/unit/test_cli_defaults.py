"""The CLI's DQ_LIBRARIES, DQ_TENANT and DQ_ENV defaults: empty is unset, names in any case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import environment


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    environment.defaults.cache_clear()
    yield
    environment.defaults.cache_clear()


def test_the_variables_are_read_and_empty_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQ_LIBRARIES", "/srv/libraries")
    monkeypatch.setenv("DQ_TENANT", "acme")
    monkeypatch.setenv("DQ_ENV", "")
    assert environment.defaults() == environment.CliDefaults(libraries=Path("/srv/libraries"), tenant="acme")
    assert environment.option_default("env", required=True) == {"required": True}
    assert environment.option_default("tenant") == {"default": "acme"}


def test_a_lower_case_name_counts_as_pydantic_settings_counted_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DQ_TENANT", raising=False)
    monkeypatch.setenv("dq_tenant", "acme")
    assert environment.defaults().tenant == "acme"

"""Defaults of the options most commands share, read from the environment (the CLI layer only).

``DQ_LIBRARIES`` (for ``--libraries`` and ``dq libraries check``'s directory), ``DQ_TENANT``
(``--tenant``) and ``DQ_ENV`` (``--env``) save repeating them; an option given on the command
line wins. An empty variable counts as unset. Options that are otherwise required become
optional when their variable is set.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_settings import BaseSettings, SettingsConfigDict

TENANT, ENVIRONMENT = "tenant", "env"


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


class CliDefaults(BaseSettings):
    """DQ_LIBRARIES, DQ_TENANT, DQ_ENV."""

    model_config = SettingsConfigDict(env_prefix="DQ_", frozen=True, extra="ignore")

    libraries: Annotated[Path | None, BeforeValidator(_empty_is_none)] = None
    tenant: Annotated[str | None, BeforeValidator(_empty_is_none)] = None
    env: Annotated[str | None, BeforeValidator(_empty_is_none)] = None


@cache
def defaults() -> CliDefaults:
    """The variables, read once per process (every parser option asks)."""
    return CliDefaults()


def libraries_default() -> Path:
    return defaults().libraries or Path("libraries")


def option_default(name: str, *, required: bool = False) -> dict[str, Any]:
    """``add_argument`` keywords for ``--tenant`` / ``--env``: the variable's value as the default;
    without one, required when ``required``."""
    value = getattr(defaults(), name)
    if value is not None:
        return {"default": value}
    return {"required": True} if required else {}

"""Defaults of the options most commands share, read from the environment (the CLI layer only).

``DQ_LIBRARIES`` (for ``--libraries`` and ``dq libraries check``'s directory), ``DQ_TENANT``
(``--tenant``) and ``DQ_ENV`` (``--env``) save repeating them; an option given on the command
line wins. An empty variable counts as unset. Options that are otherwise required become
optional when their variable is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TENANT, ENVIRONMENT = "tenant", "env"


@dataclass(frozen=True)
class CliDefaults:
    """DQ_LIBRARIES, DQ_TENANT, DQ_ENV: three optional strings, read as argparse defaults. Plain
    ``os.environ`` rather than pydantic-settings, whose import (asyncio, dotenv, its sources) cost every
    command 0.07 s; there is nothing to validate beyond "empty is unset"."""

    libraries: Path | None = None
    tenant: str | None = None
    env: str | None = None

    @classmethod
    def read(cls) -> CliDefaults:
        """The variables' names in any case (``dq_tenant`` too), as pydantic-settings read them."""
        found = {key.lower(): value for key, value in os.environ.items() if key.lower().startswith("dq_")}
        values = {name: found.get(f"dq_{name}") or None for name in ("libraries", "tenant", "env")}
        libraries = values.pop("libraries")
        return cls(libraries=Path(libraries) if libraries else None, **values)


@cache
def defaults() -> CliDefaults:
    """The variables, read once per process (every parser option asks)."""
    return CliDefaults.read()


def libraries_default() -> Path:
    return defaults().libraries or Path("libraries")


def option_default(name: str, *, required: bool = False) -> dict[str, Any]:
    """``add_argument`` keywords for ``--tenant`` / ``--env``: the variable's value as the default;
    without one, required when ``required``."""
    value = getattr(defaults(), name)
    if value is not None:
        return {"default": value}
    return {"required": True} if required else {}

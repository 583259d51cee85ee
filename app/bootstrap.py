"""Wiring: which adapter serves which port, from settings. Built on first use, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.settings import get_settings
from dq_core.errors import ConfigError


def contract_store(target: str, home: Path) -> Any:
    """``sqlite`` (the embedded registry under ``home``) or ``postgres`` (DQ_PG_DSN)."""
    if target == "sqlite":
        from dq_core.local.sqlite_contracts import SqliteContractStore  # noqa: PLC0415

        home.mkdir(parents=True, exist_ok=True)
        return SqliteContractStore(home / "registry.db")
    if target == "postgres":
        dsn = get_settings().pg_dsn
        if dsn is None:
            msg = "set DQ_PG_DSN to the PostgreSQL connection string (in Azure it comes from Key Vault)"
            raise ConfigError(msg)
        from adapters.postgres.contract_store import PostgresContractStore  # noqa: PLC0415

        return PostgresContractStore.connect(dsn.get_secret_value(), schema=get_settings().pg_schema)
    msg = f"unknown store {target!r} (use sqlite or postgres)"
    raise ConfigError(msg)

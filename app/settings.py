"""Application settings, read from the environment (``DQ_`` prefix) once, on first use.

In Azure the values come from app settings (secrets as Key Vault references);
locally from the shell or local.settings.json. dq_core never reads these itself.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dq_core.config.base import Environment


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DQ_", frozen=True, extra="ignore")

    environment: Environment = Environment.LOCAL
    pg_dsn: SecretStr | None = None  # DQ_PG_DSN: the contract registry (PostgreSQL)
    pg_schema: str = "dq"  # DQ_PG_SCHEMA
    storage_account: str | None = None  # DQ_STORAGE_ACCOUNT: lineage tables and tenant containers (managed identity)
    storage_connection: SecretStr | None = None  # DQ_STORAGE_CONNECTION: instead of the account, e.g. Azurite
    key_vault_url: str | None = None  # DQ_KEY_VAULT_URL: secrets; else DQ_SECRET_<NAME> variables


@lru_cache(maxsize=1)
def get_settings() -> AppSettings:
    return AppSettings()

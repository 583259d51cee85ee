"""Application settings, read from the environment (``DQ_`` prefix) once, on first use.

In Azure the values come from app settings (secrets as Key Vault references);
locally from the shell or local.settings.json. dq_core never reads these itself.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dq_core.config.base import Environment


def _comma_list(value: Any) -> Any:
    """``a, b`` (or a JSON list) -> ("a", "b"); empty -> ()."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return tuple(json.loads(text))
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return value


def _json_object(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value


def _empty_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _empty_is_password(value: Any) -> Any:
    return "password" if isinstance(value, str) and not value.strip() else value


def _ncrontab(value: Any) -> Any:
    """Six space-separated fields (second minute hour day month weekday), as the host reads them."""
    if isinstance(value, str) and len(value.split()) != 6:  # noqa: PLR2004 - NCRONTAB's six fields
        msg = f"{value!r} is not an NCRONTAB schedule of six fields, like '0 0 3 * * *' (03:00 UTC daily)"
        raise ValueError(msg)
    return value


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
AuthMode = Literal["entra", "local-key", "off"]
PgAuth = Literal["password", "entra"]


class LogFormat(StrEnum):
    TEXT = "text"  # human lines (the default; the dq CLI)
    JSON = "json"  # one JSON object per line with the log context (the deployment)


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DQ_", frozen=True, extra="ignore")

    environment: Environment = Environment.LOCAL
    pg_dsn: SecretStr | None = None  # DQ_PG_DSN: the contract registry (PostgreSQL)
    pg_schema: str = "dq"  # DQ_PG_SCHEMA
    # DQ_PG_AUTH: how the app signs in to PostgreSQL (adapters/postgres/signin.py): password = the DSN as
    # given (empty = password, the local default); entra = DQ_PG_USER with a fresh Entra token per connection
    pg_auth: Annotated[PgAuth, BeforeValidator(_empty_is_password)] = "password"
    pg_user: Annotated[str | None, BeforeValidator(_empty_is_none)] = None  # DQ_PG_USER: the identity's name
    storage_account: str | None = None  # DQ_STORAGE_ACCOUNT: lineage tables and tenant containers (managed identity)
    storage_connection: SecretStr | None = None  # DQ_STORAGE_CONNECTION: instead of the account, e.g. Azurite
    key_vault_url: str | None = None  # DQ_KEY_VAULT_URL: secrets; else DQ_SECRET_<NAME> variables
    log_format: LogFormat = LogFormat.TEXT  # DQ_LOG_FORMAT: text | json (monitoring/logging_context.py)
    # DQ_ACTIVITY_RETRY_*: how an activity retries a transient error itself (dq_core/runs/retrying.py)
    activity_retry_attempts: int = Field(default=3, ge=1, le=10)
    activity_retry_first_seconds: float = Field(default=2.0, ge=0, le=60)
    activity_retry_max_seconds: float = Field(default=30.0, ge=0, le=300)
    # DQ_CURSOR_KEY: signs the runs list's paging cursors (app/cursor_keys.py); a Key Vault reference in
    # Azure; unset: a key file under the home folder
    cursor_key: Annotated[SecretStr | None, BeforeValidator(_empty_is_none)] = None
    # DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS: actions may reach loopback, link-local and private addresses
    # (a laptop's receivers, the tests); off by default and in Azure (dq_core/actions/destinations.py)
    actions_allow_private_networks: bool = False
    # DQ_RETENTION_SCHEDULE: when the retention clean-up runs (triggers/retention.py), NCRONTAB with six
    # fields; the Functions host reads it through %DQ_RETENTION_SCHEDULE% in the timer's binding
    retention_schedule: Annotated[str, BeforeValidator(_ncrontab)] = "0 0 3 * * *"
    # Auth (app/auth.py, docs/security.md). Unset mode = off in environment local, entra elsewhere.
    auth_mode: Annotated[AuthMode | None, BeforeValidator(_empty_is_none)] = None  # DQ_AUTH_MODE
    # DQ_AUTH_TENANT_ID: the Entra ID directory (tenant) id of the API's app registration
    auth_tenant_id: Annotated[str | None, BeforeValidator(_empty_is_none)] = None
    auth_audiences: CommaList = ()  # DQ_AUTH_AUDIENCES: api://<client-id>, <client-id>
    auth_issuers: CommaList = ()  # DQ_AUTH_ISSUERS: override; default the tenant's v2 and v1 issuers
    # DQ_AUTH_JWKS_URL: default https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys
    auth_jwks_url: Annotated[str | None, BeforeValidator(_empty_is_none)] = None
    auth_tenant_claim: str = "dq_tenants"  # DQ_AUTH_TENANT_CLAIM: claim listing the DQ tenants; empty = none
    # DQ_AUTH_GROUP_TENANTS: JSON object {group object id: DQ tenant}, applied to the groups claim
    auth_group_tenants: Annotated[dict[str, str], NoDecode, BeforeValidator(_json_object)] = Field(default_factory=dict)
    auth_leeway_seconds: int = Field(default=60, ge=0, le=300)  # DQ_AUTH_LEEWAY_SECONDS: clock skew allowed


@lru_cache(maxsize=1)
def get_settings() -> AppSettings:
    return AppSettings()

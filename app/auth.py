"""Which authenticator the API uses, from settings. Built once at start-up; refuses bad config.

``DQ_AUTH_MODE``:

- ``entra`` (the default outside ``local``): Entra ID access tokens, keys from the
  tenant's JWKS; needs ``DQ_AUTH_TENANT_ID`` (or ``DQ_AUTH_ISSUERS`` + ``DQ_AUTH_JWKS_URL``)
  and ``DQ_AUTH_AUDIENCES``.
- ``local-key``: tokens minted by ``dq token mint`` with the key under the home folder
  (environment ``local`` only).
- ``off`` (the default in ``local``): every caller is the local anonymous principal
  (environment ``local`` only).

See docs/security.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from adapters.entra.jwks import HttpJwksFetcher
from app.settings import AppSettings
from dq_core.config.base import Environment
from dq_core.errors import ConfigError
from dq_core.security.principal import Authenticator
from dq_core.security.tokens import AuthOff, CachedKeySource, TokenValidator, entra_issuers, entra_jwks_url

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def auth_mode(settings: AppSettings) -> str:
    """The configured mode, or the environment's default (off in local, entra elsewhere)."""
    if settings.auth_mode is not None:
        return settings.auth_mode
    return "off" if settings.environment is Environment.LOCAL else "entra"


def build_authenticator(settings: AppSettings, home: Path, *, functions_host: bool = False) -> Authenticator:
    """The authenticator for these settings; ConfigError (one line) when they cannot be honoured.

    On the Functions host (``functions_host``) auth off or the local key also needs
    ``DQ_ENVIRONMENT=local`` set explicitly (a deployment that forgot the setting must not
    default into an open API) and is refused outright on an Azure host (``WEBSITE_SITE_NAME``).
    """
    mode, environment = auth_mode(settings), settings.environment
    if mode in ("off", "local-key") and environment is not Environment.LOCAL:
        msg = f"DQ_AUTH_MODE={mode} is allowed only in environment local (DQ_ENVIRONMENT is {environment.value})"
        raise ConfigError(msg)
    if mode in ("off", "local-key") and functions_host:
        if os.environ.get("WEBSITE_SITE_NAME"):
            msg = f"DQ_AUTH_MODE={mode} is refused on an Azure host: set DQ_ENVIRONMENT and the DQ_AUTH_ settings"
            raise ConfigError(msg)
        if "environment" not in settings.model_fields_set:
            msg = f"DQ_AUTH_MODE={mode} on a Functions host needs DQ_ENVIRONMENT=local set explicitly (it is not set)"
            raise ConfigError(msg)
    if mode == "off":
        return AuthOff(environment)
    if mode == "local-key":
        from dq_core.security.devkeys import local_validator  # noqa: PLC0415 - local only

        return local_validator(
            home, leeway_seconds=settings.auth_leeway_seconds, tenant_claim=settings.auth_tenant_claim or None
        )
    return _entra(settings)


def _entra(settings: AppSettings) -> TokenValidator:
    tenant_id = (settings.auth_tenant_id or "").strip() or None
    issuers = settings.auth_issuers or (entra_issuers(tenant_id) if tenant_id else ())
    jwks_url = settings.auth_jwks_url or (entra_jwks_url(tenant_id) if tenant_id else None)
    if not issuers or jwks_url is None:
        msg = "DQ_AUTH_MODE=entra needs DQ_AUTH_TENANT_ID (or both DQ_AUTH_ISSUERS and DQ_AUTH_JWKS_URL)"
        raise ConfigError(msg)
    if not settings.auth_audiences:
        msg = "DQ_AUTH_MODE=entra needs DQ_AUTH_AUDIENCES (the API's App ID URI and/or client id)"
        raise ConfigError(msg)
    url = urlparse(jwks_url)
    if url.scheme != "https" and not (url.scheme == "http" and url.hostname in _LOOPBACK):
        msg = f"DQ_AUTH_JWKS_URL must be an https URL (http only for 127.0.0.1/localhost), not {jwks_url!r}"
        raise ConfigError(msg)
    return TokenValidator(
        CachedKeySource(HttpJwksFetcher(jwks_url)),
        issuers=issuers,
        audiences=settings.auth_audiences,
        leeway_seconds=settings.auth_leeway_seconds,
        tenant_claim=settings.auth_tenant_claim or None,
        group_tenants=settings.auth_group_tenants,
    )


__all__ = ["auth_mode", "build_authenticator"]

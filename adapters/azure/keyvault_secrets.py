"""SecretStore over Azure Key Vault: ``secret://name`` is the Key Vault secret ``name``.

The SecretClient (and, without an explicit credential, a DefaultAzureCredential) is built
on the first ``get``, so constructing the store contacts nothing. Key Vault secret names
are 1-127 letters, digits and dashes; references outside that (an ``_`` allowed in
configuration, for instance) are refused with a ConfigError rather than rewritten.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Protocol

from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from adapters.azure._errors import azure_errors
from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.identifiers import TENANT_RULE, is_tenant

SCHEME = "secret://"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,126}$")


class SecretClientLike(Protocol):
    """What the store uses of ``azure.keyvault.secrets.SecretClient``."""

    def get_secret(self, name: str) -> Any: ...


def secret_name(reference: str) -> str:
    """The Key Vault secret name of ``secret://name``; ConfigError for anything else."""
    if not isinstance(reference, str) or not reference.startswith(SCHEME):
        msg = f"{reference!r} is not a secret reference (secret://name)"
        raise ConfigError(msg)
    name = reference[len(SCHEME) :]
    if not _NAME_RE.match(name):
        msg = (
            f"{reference!r} does not name a Key Vault secret: names are 1-127 letters, digits "
            "and dashes, starting with a letter or digit"
        )
        raise ConfigError(msg)
    return name


class KeyVaultSecretStore:
    def __init__(
        self,
        vault_url: str,
        credential: Any = None,
        *,
        client: SecretClientLike | None = None,
    ) -> None:
        self._vault_url = vault_url
        self._credential = credential
        self._client = client
        self._lock = threading.Lock()

    def _secret_client(self) -> SecretClientLike:
        with self._lock:
            if self._client is None:
                credential = self._credential if self._credential is not None else DefaultAzureCredential()
                self._client = SecretClient(vault_url=self._vault_url, credential=credential)
            return self._client

    def get(self, tenant: str, reference: str) -> str:
        """The tenant's value behind ``secret://name`` (the vault secret ``{tenant}--{name}``)."""
        if not isinstance(tenant, str) or not is_tenant(tenant):
            msg = f"tenant {tenant!r} cannot name a Key Vault secret (a tenant id: {TENANT_RULE})"
            raise ConfigError(msg)
        name = f"{tenant}--{secret_name(reference)}"
        with azure_errors(f"reading {reference} from {self._vault_url}"):
            secret = self._secret_client().get_secret(name)
        value = getattr(secret, "value", None)
        if value is None:
            msg = f"{reference} has no value in {self._vault_url}"
            raise ObjectNotFound(msg)
        return str(value)

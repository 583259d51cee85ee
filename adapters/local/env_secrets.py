"""SecretStore over environment variables, for local use: tenant ``contoso``'s
``secret://dq-mask-salt`` is read from ``DQ_SECRET_CONTOSO__DQ_MASK_SALT`` (upper case,
dashes as underscores, two underscores between tenant and name)."""

from __future__ import annotations

import os
import re

from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.identifiers import is_tenant

_REFERENCE = re.compile(r"^secret://([A-Za-z0-9][A-Za-z0-9\-_]*)$")


def variable_for(tenant: str, reference: str) -> str:
    match = _REFERENCE.match(reference)
    if not match:
        msg = f"{reference!r} is not a secret reference (secret://name)"
        raise ConfigError(msg)
    if not is_tenant(tenant):
        msg = f"tenant {tenant!r} cannot name a secret variable"
        raise ConfigError(msg)
    return f"DQ_SECRET_{tenant.upper().replace('-', '_')}__" + match.group(1).upper().replace("-", "_")


class EnvSecretStore:
    def get(self, tenant: str, reference: str) -> str:
        variable = variable_for(tenant, reference)
        value = os.environ.get(variable)
        if not value:
            msg = f"{reference} is not set (environment variable {variable})"
            raise ObjectNotFound(msg)
        return value

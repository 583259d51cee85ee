"""SecretStore over environment variables, for local use: ``secret://dq-mask-salt`` is read
from ``DQ_SECRET_DQ_MASK_SALT`` (upper case, dashes as underscores)."""

from __future__ import annotations

import os
import re

from dq_core.errors import ConfigError, ObjectNotFound

_REFERENCE = re.compile(r"^secret://([A-Za-z0-9][A-Za-z0-9\-_]*)$")


def variable_for(reference: str) -> str:
    match = _REFERENCE.match(reference)
    if not match:
        msg = f"{reference!r} is not a secret reference (secret://name)"
        raise ConfigError(msg)
    return "DQ_SECRET_" + match.group(1).upper().replace("-", "_")


class EnvSecretStore:
    def get(self, reference: str) -> str:
        variable = variable_for(reference)
        value = os.environ.get(variable)
        if not value:
            msg = f"{reference} is not set (environment variable {variable})"
            raise ObjectNotFound(msg)
        return value

"""The local SecretStore reads DQ_SECRET_<NAME> for secret://name."""

from __future__ import annotations

import pytest

from adapters.local.env_secrets import EnvSecretStore, variable_for
from dq_core.errors import ConfigError, ObjectNotFound


def test_reference_to_variable_and_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    assert variable_for("secret://dq-mask-salt") == "DQ_SECRET_DQ_MASK_SALT"
    monkeypatch.setenv("DQ_SECRET_DQ_MASK_SALT", "pepper-0123456789")
    assert EnvSecretStore().get("secret://dq-mask-salt") == "pepper-0123456789"
    with pytest.raises(ObjectNotFound, match="DQ_SECRET_OTHER"):
        EnvSecretStore().get("secret://other")
    with pytest.raises(ConfigError):
        EnvSecretStore().get("https://vault/secret")

"""The local SecretStore reads DQ_SECRET_<NAME> for secret://name."""

from __future__ import annotations

import pytest

from adapters.local.env_secrets import EnvSecretStore, variable_for
from dq_core.errors import ConfigError, ObjectNotFound


def test_reference_to_variable_and_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    assert variable_for("contoso", "secret://dq-mask-salt") == "DQ_SECRET_CONTOSO__DQ_MASK_SALT"
    monkeypatch.setenv("DQ_SECRET_CONTOSO__DQ_MASK_SALT", "pepper-0123456789")
    assert EnvSecretStore().get("contoso", "secret://dq-mask-salt") == "pepper-0123456789"
    with pytest.raises(ObjectNotFound, match="DQ_SECRET_FABRIKAM__DQ_MASK_SALT"):
        EnvSecretStore().get("fabrikam", "secret://dq-mask-salt")  # another tenant never sees contoso's
    with pytest.raises(ConfigError):
        EnvSecretStore().get("contoso", "https://vault/secret")

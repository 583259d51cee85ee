"""build_authenticator from settings, and the local dev key: dq token keygen / mint round trip."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from adapters.entra.jwks import HttpJwksFetcher
from app.auth import auth_mode, build_authenticator
from app.settings import AppSettings
from cli import main
from dq_core.errors import ConfigError
from dq_core.security import devkeys
from dq_core.security.principal import LOCAL_ANONYMOUS, Forbidden, Permission, Role, Unauthenticated, authorize
from dq_core.security.tokens import AuthOff, CachedKeySource, TokenValidator
from tests.auth_support import TokenFactory
from tests.conftest import ROOT

TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DQ_ENVIRONMENT", "DQ_AUTH_MODE", "DQ_AUTH_TENANT_CLAIM"):
        monkeypatch.delenv(name, raising=False)


# --- build_authenticator -----------------------------------------------------------------


def test_auth_is_off_by_default_only_in_local(tmp_path: Path) -> None:
    local = AppSettings(environment="local")
    assert auth_mode(local) == "off"
    authenticator = build_authenticator(local, tmp_path)
    assert isinstance(authenticator, AuthOff)
    assert authenticator.authenticate(None) is LOCAL_ANONYMOUS
    assert auth_mode(AppSettings(environment="prod")) == "entra"


@pytest.mark.parametrize("environment", ["dev", "test", "prod"])
@pytest.mark.parametrize("mode", ["off", "local-key"])
def test_off_and_local_key_are_refused_outside_local(environment: str, mode: str, tmp_path: Path) -> None:
    settings = AppSettings(environment=environment, auth_mode=mode)
    with pytest.raises(ConfigError, match=f"DQ_AUTH_MODE={mode} is allowed only in environment local") as caught:
        build_authenticator(settings, tmp_path)
    assert "\n" not in caught.value.one_line()


def test_a_functions_host_never_defaults_into_auth_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # DQ_ENVIRONMENT forgotten: the default environment is local, but the Functions host refuses
    with pytest.raises(ConfigError, match="needs DQ_ENVIRONMENT=local set explicitly"):
        build_authenticator(AppSettings(), tmp_path, functions_host=True)
    assert isinstance(build_authenticator(AppSettings(), tmp_path), AuthOff)  # dq serve on a laptop
    monkeypatch.setenv("DQ_ENVIRONMENT", "local")
    assert isinstance(build_authenticator(AppSettings(), tmp_path, functions_host=True), AuthOff)  # func start
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-dq-dev")  # an App Service / Functions host in Azure
    with pytest.raises(ConfigError, match="refused on an Azure host"):
        build_authenticator(AppSettings(), tmp_path, functions_host=True)


def test_entra_mode_derives_issuers_and_keys_from_the_tenant(tmp_path: Path) -> None:
    settings = AppSettings(environment="prod", auth_tenant_id=TENANT, auth_audiences="api://dq-api, dq-client-id")
    validator = build_authenticator(settings, tmp_path)
    assert isinstance(validator, TokenValidator)
    assert validator.issuers == (
        f"https://login.microsoftonline.com/{TENANT}/v2.0",
        f"https://sts.windows.net/{TENANT}/",
    )
    assert validator.audiences == ("api://dq-api", "dq-client-id")
    assert validator.leeway_seconds == 60
    assert validator.tenant_claim == "dq_tenants"
    keys = validator._keys
    assert isinstance(keys, CachedKeySource) and isinstance(keys.fetcher, HttpJwksFetcher)
    assert keys.url == f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"
    assert keys.fetches == 0  # nothing is fetched at start-up


def test_entra_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DQ_ENVIRONMENT", "dev")
    monkeypatch.setenv("DQ_AUTH_TENANT_ID", TENANT)
    monkeypatch.setenv("DQ_AUTH_AUDIENCES", "api://dq-api")
    monkeypatch.setenv("DQ_AUTH_ISSUERS", f"https://login.microsoftonline.com/{TENANT}/v2.0")
    monkeypatch.setenv("DQ_AUTH_GROUP_TENANTS", '{"0f0e-group": "Contoso"}')
    monkeypatch.setenv("DQ_AUTH_TENANT_CLAIM", "")
    monkeypatch.setenv("DQ_AUTH_LEEWAY_SECONDS", "30")
    validator = build_authenticator(AppSettings(), tmp_path)
    assert isinstance(validator, TokenValidator)
    assert validator.issuers == (f"https://login.microsoftonline.com/{TENANT}/v2.0",)
    assert validator.group_tenants == {"0f0e-group": "contoso"}
    assert validator.tenant_claim is None
    assert validator.leeway_seconds == 30


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "needs DQ_AUTH_TENANT_ID"),
        ({"auth_tenant_id": TENANT}, "needs DQ_AUTH_AUDIENCES"),
        ({"auth_issuers": "https://issuer.example/"}, "needs DQ_AUTH_TENANT_ID"),
        (
            {"auth_tenant_id": TENANT, "auth_audiences": "api://x", "auth_jwks_url": "http://keys.example/keys"},
            "must be an https URL",
        ),
        (
            {"auth_tenant_id": TENANT, "auth_audiences": "api://x", "auth_jwks_url": "file:///etc/passwd"},
            "must be an https URL",
        ),
    ],
)
def test_incomplete_entra_settings_are_refused_at_start_up(
    overrides: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_authenticator(AppSettings(environment="test", **overrides), tmp_path)


def test_bad_auth_settings_values_are_refused() -> None:
    with pytest.raises(ValueError, match="auth_mode"):
        AppSettings(auth_mode="none")
    with pytest.raises(ValueError, match="auth_leeway_seconds"):
        AppSettings(auth_leeway_seconds=3600)


# --- the local dev key and dq token ------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / ".dq"
    assert main(["token", "keygen", "--home", str(home)]) == 0
    path = devkeys.key_path(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    kid = devkeys.public_jwk(devkeys.load_key(home))["kid"]
    assert kid in capsys.readouterr().out
    before = path.read_bytes()
    assert main(["token", "keygen", "--home", str(home)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["token", "keygen", "--home", str(home), "--force"]) == 0
    assert path.read_bytes() != before


def test_minted_token_round_trips_through_the_local_key_authenticator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / ".dq"
    assert main(["token", "keygen", "--home", str(home)]) == 0
    capsys.readouterr()
    argv = ["token", "mint", "--tenant", "contoso", "--tenant", "Fabrikam", "--role", "DQ.Author"]
    assert main([*argv, "--role", "DQ.Operator", "--subject", "ada", "--minutes", "5", "--home", str(home)]) == 0
    token = capsys.readouterr().out.strip()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == devkeys.public_jwk(devkeys.load_key(home))["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iss"], claims["aud"]) == ("dq-local", "api://dq-local")
    assert claims["exp"] - claims["iat"] == 300

    authenticator = build_authenticator(AppSettings(environment="local", auth_mode="local-key"), home)
    assert authenticator.enabled
    principal = authenticator.authenticate(f"Bearer {token}")
    assert principal.subject == "ada"
    assert principal.roles == {Role.AUTHOR, Role.OPERATOR}
    assert principal.tenants == {"contoso", "fabrikam"}
    authorize(principal, "fabrikam", Permission.OPERATE)
    with pytest.raises(Forbidden):
        authorize(principal, "northwind", Permission.READ)
    with pytest.raises(Forbidden):
        authorize(principal, "contoso", Permission.APPROVE)

    # a token from another key (someone else's .dq) is refused
    other = tmp_path / "other"
    devkeys.generate_key(other)
    foreign = devkeys.mint(devkeys.load_key(other), tenants=["contoso"], roles=[Role.ADMIN])
    with pytest.raises(Unauthenticated, match="kid"):
        authenticator.authenticate(f"Bearer {foreign}")
    # and the Entra-style attacks are refused by the local-key authenticator too
    factory = TokenFactory(issuer="dq-local", audience="api://dq-local", key=devkeys.load_key(home))
    assert authenticator.authenticate(factory.bearer()).tenants == {"contoso"}
    for attack in factory.attacks().values():
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(attack or None)


def test_local_key_mode_without_a_key_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run dq token keygen"):
        build_authenticator(AppSettings(environment="local", auth_mode="local-key"), tmp_path)


def test_jwks_prints_the_public_key_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    devkeys.generate_key(tmp_path)
    assert main(["token", "jwks", "--home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '"kty": "RSA"' in out
    assert '"d"' not in out
    assert "PRIVATE" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--role", "DQ.Reader", "--minutes", "0"], "--minutes must be between 1 and 1440"),
        (["--role", "DQ.Reader", "--minutes", "2000"], "--minutes must be between 1 and 1440"),
    ],
)
def test_mint_refuses_bad_lifetimes(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devkeys.generate_key(tmp_path)
    assert main(["token", "mint", "--tenant", "contoso", *argv, "--home", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_mint_refuses_unknown_roles_and_a_missing_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "mint", "--tenant", "contoso", "--role", "DQ.God", "--home", str(tmp_path)])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["token", "mint", "--tenant", "contoso", "--role", "DQ.Reader", "--home", str(tmp_path)]) == 2
    assert "run dq token keygen" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown app role"):
        devkeys.mint(devkeys.load_key(devkeys.generate_key(tmp_path).parents[1]), tenants=["a"], roles=["DQ.God"])


def test_token_commands_refuse_outside_local(tmp_path: Path) -> None:
    devkeys.generate_key(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "token",
            "mint",
            *("--tenant", "contoso", "--role", "DQ.Admin"),
            "--home",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DQ_ENVIRONMENT": "prod"},
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "config_invalid: dq token works only in environment local (DQ_ENVIRONMENT is prod)"
    )

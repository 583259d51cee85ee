"""TokenValidator: every token attack refused (401), principals built right, roles and tenants → 403.

Keys come from a StaticKeySource here (the same key set a JWKS server would serve);
tests/integration/test_jwks.py runs the attacks against a real JWKS endpoint.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from dq_core.config.base import Environment
from dq_core.errors import ConfigError
from dq_core.security.devkeys import public_jwk
from dq_core.security.principal import (
    LOCAL_ANONYMOUS,
    Forbidden,
    Permission,
    Role,
    Unauthenticated,
    authorize,
)
from dq_core.security.tokens import AuthOff, StaticKeySource, TokenValidator
from tests.auth_support import AUDIENCE, ISSUER, TokenFactory, new_rsa_key

FACTORY = TokenFactory()


def _validator(**options: Any) -> TokenValidator:
    return TokenValidator(
        StaticKeySource(FACTORY.jwks()), issuers=[ISSUER], audiences=[AUDIENCE, "the-client-id"], **options
    )


def _refused(validator: TokenValidator, header: str | None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        validator.authenticate(header)
    return caught.value.message


ATTACK_NAMES = sorted(FACTORY.attacks())


def _attack(name: str) -> str:
    """The attack minted now: tokens minted when the module was collected may have expired by the
    time a long suite reaches this test (a wrong issuer would then be refused as expired)."""
    return FACTORY.attacks()[name]


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_every_attack_is_refused_in_one_line_without_echoing_the_token(name: str) -> None:
    header = _attack(name)
    message = _refused(_validator(), header or None)
    assert "\n" not in message
    token = header.removeprefix("Bearer ").strip()
    if len(token) > 20:
        assert token not in message
        assert not any(part in message for part in token.split(".") if len(part) > 12)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alg_none", "algorithm 'none' is not allowed"),
        ("hs256_with_public_key", "algorithm 'HS256' is not allowed"),
        ("es256", "algorithm 'ES256' is not allowed"),
        ("unsigned_rs256", "signature does not verify"),
        ("wrong_issuer", "issuer is not trusted"),
        ("wrong_audience", "audience is not this API"),
        ("expired", "token expired"),
        ("not_yet_valid", "not yet valid"),
        ("no_expiry", "lacks the 'exp' claim"),
        ("unknown_kid", "signing key (kid) is not one of the issuer's keys"),
        ("known_kid_other_key", "signature does not verify"),
        ("tampered_payload", "signature does not verify"),
        ("malformed", "malformed token"),
        ("basic_scheme", "expected a Bearer token"),
        ("token_without_scheme", "expected a Bearer token"),
    ],
)
def test_each_attack_is_refused_for_its_own_reason(name: str, expected: str) -> None:
    assert expected in _refused(_validator(), _attack(name))


def test_missing_header_is_refused() -> None:
    assert "expected a Bearer token" in _refused(_validator(), None)


def test_algorithms_other_than_rsa_are_refused_before_any_key_lookup() -> None:
    class Exploding:
        def key(self, kid: str) -> Any:
            raise AssertionError(f"key {kid} looked up")

    validator = TokenValidator(Exploding(), issuers=[ISSUER], audiences=[AUDIENCE])
    for name in ("alg_none", "alg_none_uppercase", "hs256_with_public_key", "es256"):
        assert "is not allowed" in _refused(validator, _attack(name))


def test_a_hostile_alg_value_is_not_echoed() -> None:
    header = {"alg": "x" * 40 + "\nInjected", "kid": FACTORY.kid}
    genuine = FACTORY.token()
    forged = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode() + genuine[genuine.index(".") :]
    message = _refused(_validator(), f"Bearer {forged}")
    assert message.startswith("token algorithm this is not allowed")
    assert "Injected" not in message


def test_valid_token_gives_the_principal() -> None:
    header = FACTORY.bearer(tenants=["Contoso", "fabrikam"], roles=["DQ.Author", "DQ.Operator", "Some.Other.Role"])
    principal = _validator().authenticate(header)
    assert principal.subject == "00000000-0000-0000-0000-0000000000a1"  # oid, not the pairwise sub
    assert principal.name == "ada@example.com"
    assert principal.roles == {Role.AUTHOR, Role.OPERATOR}  # unknown roles ignored
    assert principal.tenants == {"contoso", "fabrikam"}
    assert principal.authenticated
    assert not principal.all_tenants
    authorize(principal, "contoso", Permission.AUTHOR)
    authorize(principal, "fabrikam", Permission.OPERATE)


def test_the_client_id_is_an_accepted_audience_too() -> None:
    token = FACTORY.token(FACTORY.claims(aud="the-client-id"))
    assert _validator().authenticate(f"bearer  {token} ").subject  # scheme is case-insensitive


def test_audience_may_be_a_list() -> None:
    token = FACTORY.token(FACTORY.claims(aud=["https://graph.microsoft.com", AUDIENCE]))
    assert _validator().authenticate(f"Bearer {token}").roles == {Role.READER}


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512", "PS256"])
def test_every_allowed_rsa_algorithm_validates_against_an_entra_style_key(algorithm: str) -> None:
    token = FACTORY.token(algorithm=algorithm)
    assert _validator().authenticate(f"Bearer {token}").tenants == {"contoso"}


def test_a_narrowed_algorithm_list_refuses_the_others() -> None:
    validator = _validator(algorithms=["RS256"])
    assert "not allowed" in _refused(validator, FACTORY.bearer(FACTORY.token(algorithm="PS256")))


def test_a_key_that_declares_its_algorithm_refuses_another() -> None:
    jwk = public_jwk(FACTORY.key)  # declares alg RS256
    validator = TokenValidator(StaticKeySource({"keys": [jwk]}), issuers=[ISSUER], audiences=[AUDIENCE])
    assert validator.authenticate(FACTORY.bearer()).subject
    assert "not the one its signing key is for" in _refused(validator, FACTORY.bearer(FACTORY.token(algorithm="RS512")))


def test_a_kid_naming_a_non_rsa_key_is_refused() -> None:
    ec_jwk = dict(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True))
    ec_jwk["kid"] = FACTORY.kid
    validator = TokenValidator(StaticKeySource({"keys": [ec_jwk]}), issuers=[ISSUER], audiences=[AUDIENCE])
    assert "does not fit the signing key's type" in _refused(validator, FACTORY.bearer())


def test_leeway_tolerates_small_clock_skew_only() -> None:
    now = int(time.time())
    recently_expired = FACTORY.token(FACTORY.claims(exp=now - 20))
    assert _validator().authenticate(f"Bearer {recently_expired}").subject
    assert "expired" in _refused(_validator(leeway_seconds=0), f"Bearer {recently_expired}")
    almost_valid = FACTORY.token(FACTORY.claims(nbf=now + 20, iat=now + 20))
    assert _validator().authenticate(f"Bearer {almost_valid}").subject
    assert "not yet valid" in _refused(_validator(leeway_seconds=0), f"Bearer {almost_valid}")


def test_a_token_without_issuer_or_audience_is_refused() -> None:
    assert "lacks the 'iss' claim" in _refused(_validator(), FACTORY.bearer(FACTORY.token(FACTORY.claims(iss=None))))
    assert "lacks the 'aud' claim" in _refused(_validator(), FACTORY.bearer(FACTORY.token(FACTORY.claims(aud=None))))


def test_a_token_without_subject_is_refused() -> None:
    token = FACTORY.token(FACTORY.claims(oid=None, sub=None))
    assert "names no subject" in _refused(_validator(), f"Bearer {token}")


def test_subject_and_name_fall_back_for_app_tokens() -> None:
    claims = FACTORY.claims(oid=None, preferred_username=None, azp="app-client-id", roles=["DQ.Operator"])
    principal = _validator().authenticate(FACTORY.bearer(FACTORY.token(claims)))
    assert principal.subject == claims["sub"]
    assert principal.name == "app-client-id"


def test_oversized_token_is_refused() -> None:
    assert "too large" in _refused(_validator(), "Bearer " + "a" * 40_000)


# --- roles and tenants -> 403 ------------------------------------------------------------


def test_missing_role_is_forbidden() -> None:
    principal = _validator().authenticate(FACTORY.bearer(roles=[]))
    assert principal.roles == frozenset()
    with pytest.raises(Forbidden, match=r"read needs one of the app roles DQ\.Admin"):
        authorize(principal, "contoso", Permission.READ)
    reader = _validator().authenticate(FACTORY.bearer(roles=["DQ.Reader"]))
    with pytest.raises(Forbidden, match=r"author needs one of the app roles DQ\.Admin, DQ\.Author$"):
        authorize(reader, "contoso", Permission.AUTHOR)


def test_other_tenant_is_forbidden() -> None:
    principal = _validator().authenticate(FACTORY.bearer(tenants=["contoso"], roles=["DQ.Admin"]))
    authorize(principal, "contoso", Permission.APPROVE)
    with pytest.raises(Forbidden, match="may not act for tenant 'fabrikam'"):
        authorize(principal, "fabrikam", Permission.READ)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("contoso", {"contoso"}),
        ("contoso fabrikam", {"contoso", "fabrikam"}),
        ("contoso, Fabrikam,,", {"contoso", "fabrikam"}),
        (["contoso", "fabrikam northwind"], {"contoso", "fabrikam", "northwind"}),
        ([1, None, "contoso"], {"contoso"}),
        (42, set()),
        (None, set()),
    ],
)
def test_tenants_from_the_configured_claim(value: object, expected: set[str]) -> None:
    claims = FACTORY.claims(tenants=[], roles=["DQ.Reader"])
    claims["dq_tenants"] = value
    principal = _validator().authenticate(
        FACTORY.bearer(FACTORY.token({k: v for k, v in claims.items() if v is not None}))
    )
    assert principal.tenants == expected


def test_tenants_from_groups_and_claim_together() -> None:
    validator = _validator(group_tenants={"g-contoso": "Contoso", "g-fabrikam": "fabrikam"})
    claims = FACTORY.claims(tenants=["northwind"], groups=["g-contoso", "g-unrelated"])
    assert validator.authenticate(FACTORY.bearer(FACTORY.token(claims))).tenants == {"contoso", "northwind"}


def test_tenant_claim_can_be_switched_off() -> None:
    validator = _validator(tenant_claim=None, group_tenants={"g-contoso": "contoso"})
    claims = FACTORY.claims(tenants=["fabrikam"], groups=["g-contoso"])
    assert validator.authenticate(FACTORY.bearer(FACTORY.token(claims))).tenants == {"contoso"}


# --- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"issuers": []},
        {"audiences": [""]},
        {"algorithms": ["HS256"]},
        {"algorithms": ["RS256", "none"]},
        {"leeway_seconds": 3600},
    ],
)
def test_unsafe_validator_configuration_is_refused(options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"issuers": [ISSUER], "audiences": [AUDIENCE], **options}
    with pytest.raises(ConfigError):
        TokenValidator(StaticKeySource(FACTORY.jwks()), **arguments)


def test_static_key_source_refuses_a_jwks_without_signing_keys() -> None:
    with pytest.raises(ConfigError):
        StaticKeySource({"keys": []})
    jwk = public_jwk(new_rsa_key())
    jwk["use"] = "enc"
    with pytest.raises(ConfigError):
        StaticKeySource({"keys": [jwk]})


def test_auth_off_only_in_local() -> None:
    off = AuthOff(Environment.LOCAL)
    assert off.enabled is False
    assert off.authenticate(None) is LOCAL_ANONYMOUS
    assert off.authenticate("Bearer whatever") is LOCAL_ANONYMOUS
    assert _validator().enabled is True
    for environment in ("dev", "test", "prod"):
        with pytest.raises(ConfigError, match="only in environment local"):
            AuthOff(environment)

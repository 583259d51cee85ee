"""TokenValidator against a real JWKS endpoint on 127.0.0.1: attacks, caching, rotation, outages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from app.auth import build_authenticator
from app.settings import AppSettings
from dq_core.errors import TransientError
from dq_core.security.principal import Forbidden, Permission, Role, Unauthenticated, authorize
from dq_core.security.tokens import TokenValidator
from tests.auth_support import JwksServer, ManualClock, TokenFactory, new_rsa_key


@pytest.fixture
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def server(factory: TokenFactory) -> Iterator[JwksServer]:
    with factory.serve() as jwks:
        yield jwks


def test_every_attack_is_refused_and_unknown_kids_cost_at_most_one_more_fetch(
    factory: TokenFactory, server: JwksServer
) -> None:
    clock = ManualClock()
    validator = factory.validator(server.url, clock=clock)
    assert validator.authenticate(factory.bearer()).subject
    assert server.requests == 1
    clock.advance(31)  # past the refetch interval: one refetch is allowed now
    for name, header in factory.attacks().items():
        with pytest.raises(Unauthenticated):
            validator.authenticate(header or None)
        assert server.requests <= 2, name
    for _ in range(20):  # a flood of made-up kids
        with pytest.raises(Unauthenticated, match="kid"):
            validator.authenticate(factory.bearer(factory.token(key=new_rsa_key())))
    assert server.requests == 2


def test_valid_token_gives_the_principal_and_keys_are_cached(factory: TokenFactory, server: JwksServer) -> None:
    validator = factory.validator(server.url)
    for _ in range(5):
        principal = validator.authenticate(factory.bearer(tenants=["contoso"], roles=["DQ.Approver"]))
        assert principal.roles == {Role.APPROVER}
        assert principal.tenants == {"contoso"}
    assert server.requests == 1
    authorize(principal, "contoso", Permission.APPROVE)
    with pytest.raises(Forbidden):
        authorize(principal, "contoso", Permission.OPERATE)  # missing role
    with pytest.raises(Forbidden):
        authorize(principal, "fabrikam", Permission.READ)  # other tenant


def test_key_rotation_validates_the_new_kid_after_one_refetch(factory: TokenFactory, server: JwksServer) -> None:
    clock = ManualClock()
    validator = factory.validator(server.url, clock=clock)
    assert validator.authenticate(factory.bearer()).subject
    new_key = new_rsa_key()
    server.jwks = factory.jwks(factory.key, new_key)  # the issuer publishes its next key
    rotated = factory.bearer(factory.token(key=new_key))
    clock.advance(31)
    assert validator.authenticate(rotated).subject
    assert server.requests == 2
    assert validator.authenticate(factory.bearer()).subject  # the old key still in the set: no fetch
    assert validator.authenticate(rotated).subject
    assert server.requests == 2


def test_a_new_kid_right_after_a_fetch_waits_for_the_refetch_interval(
    factory: TokenFactory, server: JwksServer
) -> None:
    clock = ManualClock()
    validator = factory.validator(server.url, clock=clock)
    assert validator.authenticate(factory.bearer()).subject
    new_key = new_rsa_key()
    server.jwks = factory.jwks(new_key)
    rotated = factory.bearer(factory.token(key=new_key))
    clock.advance(5)
    with pytest.raises(Unauthenticated, match="kid"):
        validator.authenticate(rotated)
    assert server.requests == 1
    clock.advance(30)
    assert validator.authenticate(rotated).subject
    assert server.requests == 2


def test_keys_are_refetched_when_the_cache_is_old(factory: TokenFactory, server: JwksServer) -> None:
    clock = ManualClock()
    validator = factory.validator(server.url, clock=clock, max_age=600)
    assert validator.authenticate(factory.bearer()).subject
    clock.advance(601)
    assert validator.authenticate(factory.bearer()).subject
    assert server.requests == 2
    server.jwks = factory.jwks(new_rsa_key())  # the issuer retired the key
    clock.advance(601)
    with pytest.raises(Unauthenticated, match="kid"):
        validator.authenticate(factory.bearer())


def test_jwks_server_down_is_transient_not_401(factory: TokenFactory) -> None:
    server = JwksServer(factory.jwks())
    server.stop()
    clock = ManualClock()
    validator = factory.validator(server.url, clock=clock)
    with pytest.raises(TransientError, match="cannot fetch the signing keys"):
        validator.authenticate(factory.bearer())
    with pytest.raises(TransientError, match="unavailable"):  # retried at most every 30 s
        validator.authenticate(factory.bearer())
    with pytest.raises(Unauthenticated):  # the caller's own faults are still 401
        validator.authenticate(factory.attacks()["alg_none"])


@pytest.mark.parametrize(("status", "body"), [(500, None), (200, "not json"), (200, {"keys": []}), (200, [1, 2])])
def test_jwks_server_errors_are_transient(factory: TokenFactory, status: int, body: object) -> None:
    with factory.serve() as server:
        server.status = status
        if body is not None:
            server.jwks = body  # type: ignore[assignment]
        validator = factory.validator(server.url)
        with pytest.raises(TransientError):
            validator.authenticate(factory.bearer())
        assert server.requests == 1


def test_cached_keys_outlive_an_outage(factory: TokenFactory) -> None:
    server = JwksServer(factory.jwks())
    clock = ManualClock()
    validator = factory.validator(server.url, clock=clock, max_age=600)
    assert validator.authenticate(factory.bearer()).subject
    server.stop()
    clock.advance(601)  # stale, and the refresh fails: the last good set stays in use
    assert validator.authenticate(factory.bearer()).subject
    clock.advance(31)
    with pytest.raises(TransientError):  # an unknown kid needs the issuer, which is down
        validator.authenticate(factory.bearer(factory.token(key=new_rsa_key())))


def test_build_authenticator_trusts_the_configured_issuer(
    factory: TokenFactory, server: JwksServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in factory.settings_env(server.url).items():
        monkeypatch.setenv(name, value)
    authenticator = build_authenticator(AppSettings(), tmp_path)
    assert isinstance(authenticator, TokenValidator)
    assert authenticator.enabled
    assert authenticator.authenticate(factory.bearer(tenants=["contoso"])).tenants == {"contoso"}
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(factory.attacks()["hs256_with_public_key"])


def test_keys_named_by_the_token_itself_are_never_fetched_or_trusted(factory: TokenFactory, server: JwksServer) -> None:
    attacker = TokenFactory()  # the attacker's own key, served from the attacker's own JWKS
    validator = factory.validator(server.url)
    with attacker.serve() as evil:
        claims = factory.claims(roles=["DQ.Admin"])
        for extra_header in (
            {"jku": evil.url},
            {"x5u": evil.url},
            {"jwk": attacker.jwks()["keys"][0]},
        ):
            headers = {"kid": attacker.kid, **extra_header}
            token = jwt.encode(claims, attacker.key, algorithm="RS256", headers=headers)
            with pytest.raises(Unauthenticated, match="kid"):
                validator.authenticate(f"Bearer {token}")
        assert evil.requests == 0

"""Bearer tokens: who is calling, proven by a signed JWT (Entra ID, or the local dev key).

:class:`TokenValidator` is the :class:`~dq_core.security.principal.Authenticator` of every
environment where auth is on. In this order it

1. takes ``Authorization: Bearer <jwt>`` (anything else is refused);
2. reads the *unverified* header and refuses any algorithm outside the allow-list
   (``none``, every ``HS*`` — an HMAC "signed" with the public key —, ``ES*``) before a
   key is even looked up;
3. finds the signing key by ``kid`` in a :class:`KeySource` (the issuer's JWKS, fetched by a
   :class:`~dq_core.ports.JwksFetcher` — ``adapters/entra/jwks.py`` — and cached here,
   refetched once on an unknown ``kid`` at most every 30 s; or the local dev key);
4. verifies the signature, ``iss`` and ``aud`` against allow-lists, ``exp`` (required)
   and ``nbf``/``iat`` with a small leeway;
5. builds the :class:`Principal`: ``oid``/``sub``, a display name, the app roles it
   knows (others are ignored) and the DQ tenants from a claim and/or a group mapping.

Every refusal is :class:`Unauthenticated` (HTTP 401) with a one-line message that never
repeats the token. An issuer whose keys cannot be fetched is a :class:`TransientError`
(HTTP 503): the caller is not at fault. Whether the principal may do something for a
tenant is :func:`~dq_core.security.principal.authorize`'s question (HTTP 403), not this
module's.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import jwt
from jwt.exceptions import PyJWTError

from dq_core.config.base import Environment
from dq_core.errors import ConfigError, TransientError
from dq_core.security.principal import LOCAL_ANONYMOUS, Principal, Role, Unauthenticated

if TYPE_CHECKING:
    from dq_core.ports import JwksFetcher

ALLOWED_ALGORITHMS: Final[tuple[str, ...]] = ("RS256", "RS384", "RS512", "PS256")
"""Asymmetric RSA signatures only. Entra ID signs access tokens with RS256."""

DEFAULT_LEEWAY_SECONDS: Final = 60
DEFAULT_TENANT_CLAIM: Final = "dq_tenants"
MAX_TOKEN_BYTES: Final = 32 * 1024  # Entra tokens with many groups stay well below this
JWKS_MAX_AGE_SECONDS: Final = 3600.0  # refetch the key set at least hourly
JWKS_REFETCH_INTERVAL_SECONDS: Final = 30.0  # unknown kids refetch at most this often

_ALG_NAME = re.compile(r"^[A-Za-z0-9]{1,16}$")
_SPLIT = re.compile(r"[\s,]+")
_ROLES: Final = {role.value: role for role in Role}


def entra_issuers(tenant_id: str, *, v1: bool = True) -> tuple[str, ...]:
    """The issuers of an Entra ID tenant's access tokens: v2 always, v1 (``sts.windows.net``)
    when the API's app registration still receives v1 tokens (``accessTokenAcceptedVersion``
    unset or 1)."""
    v2 = f"https://login.microsoftonline.com/{tenant_id}/v2.0"
    return (v2, f"https://sts.windows.net/{tenant_id}/") if v1 else (v2,)


def entra_jwks_url(tenant_id: str) -> str:
    return f"https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"


# --- signing keys --------------------------------------------------------------------


class KeySource(Protocol):
    """The issuer's public signing keys, by key id.

    ``key`` raises :class:`Unauthenticated` when no key has this id, and
    :class:`TransientError` when the keys cannot be obtained right now.
    """

    def key(self, kid: str) -> jwt.PyJWK: ...


def jwks_failure(exc: Exception) -> str:
    """Why a key set could not be had, in one line: PyJWT's own words, else the failure's type."""
    return type(exc).__name__ if not isinstance(exc, PyJWTError) else " ".join(str(exc).split())[:200]


def _signing_keys(keys: Iterable[jwt.PyJWK]) -> dict[str, jwt.PyJWK]:
    return {k.key_id: k for k in keys if k.key_id and k.public_key_use in ("sig", None)}


def _unknown_kid() -> Unauthenticated:
    return Unauthenticated("the token's signing key (kid) is not one of the issuer's keys")


class StaticKeySource:
    """A fixed JWKS (``{"keys": [...]}``), e.g. the public half of the local dev key."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        try:
            self._keys = _signing_keys(jwt.PyJWKSet.from_dict(dict(jwks)).keys)
        except PyJWTError as exc:
            raise ConfigError(f"not a usable JWKS: {exc}") from None
        if not self._keys:
            raise ConfigError("the JWKS holds no signing key with a kid")

    def key(self, kid: str) -> jwt.PyJWK:
        found = self._keys.get(kid)
        if found is None:
            raise _unknown_kid()
        return found


class CachedKeySource:
    """The keys an issuer publishes (its JWKS), fetched through ``fetcher`` and cached here.

    The key set is cached for ``max_age`` seconds. A ``kid`` that is not in the cached set
    (the issuer rotated its keys) triggers one refetch — but fetches happen at most once
    every ``refetch_interval`` seconds, so tokens with made-up kids cannot make the
    service hammer the identity provider. When a periodic refresh fails, the last good
    set stays in use; when no set is available or a kid-driven refetch fails, the error
    is a :class:`TransientError` (HTTP 503), not a 401: the caller did nothing wrong.
    """

    def __init__(
        self,
        fetcher: JwksFetcher,
        *,
        max_age: float = JWKS_MAX_AGE_SECONDS,
        refetch_interval: float = JWKS_REFETCH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self._max_age, self._interval, self._clock = max_age, refetch_interval, clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._failing = False  # the last fetch failed
        self._lock = threading.Lock()
        self.fetches = 0  # attempts, for operators and tests

    @property
    def url(self) -> str:
        return self.fetcher.url

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None:
                if self._attempted_at is not None and now - self._attempted_at < self._interval:
                    raise TransientError(f"the signing keys at {self.url} are unavailable (retrying shortly)")
                self._fetch(now)
            elif now - self._fetched_at >= self._max_age and self._may_fetch(now):
                with contextlib.suppress(TransientError):  # the last good set stays in use meanwhile
                    self._fetch(now)
            found = self._keys.get(kid)
            if found is None and self._may_fetch(now):
                self._fetch(now)
                found = self._keys.get(kid)
            if found is None and self._failing:
                raise TransientError(f"cannot check the token's signing key: {self.url} is unavailable")
            if found is None:
                raise _unknown_kid()
            return found

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._interval

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        try:
            keys = _signing_keys(jwt.PyJWKSet.from_dict(self.fetcher.fetch()).keys)
        except TransientError:
            self._failing = True
            raise
        except (PyJWTError, ValueError) as exc:  # a JSON object, but not a usable key set
            self._failing = True
            raise TransientError(f"cannot fetch the signing keys from {self.url}: {jwks_failure(exc)}") from None
        if not keys:
            self._failing = True
            raise TransientError(f"the JWKS at {self.url} holds no signing key")
        self._keys, self._fetched_at, self._failing = keys, now, False


# --- authenticators ------------------------------------------------------------------


class AuthOff:
    """Auth switched off: every caller is LOCAL_ANONYMOUS. Only the ``local`` environment
    may construct one."""

    def __init__(self, environment: Environment | str) -> None:
        if Environment(environment) is not Environment.LOCAL:
            msg = f"auth may be off only in environment local, not {Environment(environment).value}"
            raise ConfigError(msg)

    @property
    def enabled(self) -> bool:
        return False

    def authenticate(self, authorization: str | None) -> Principal:
        return LOCAL_ANONYMOUS


class TokenValidator:
    """Validates bearer JWTs signed by keys of ``keys`` (see the module docstring)."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuers: Iterable[str],
        audiences: Iterable[str],
        leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
        tenant_claim: str | None = DEFAULT_TENANT_CLAIM,
        group_tenants: Mapping[str, str] | None = None,
        algorithms: Iterable[str] = ALLOWED_ALGORITHMS,
    ) -> None:
        self._keys = keys
        self.issuers = tuple(i for i in issuers if i)
        self.audiences = tuple(a for a in audiences if a)
        self.algorithms = tuple(algorithms)
        if not self.issuers:
            raise ConfigError("token validation needs at least one trusted issuer")
        if not self.audiences:
            raise ConfigError("token validation needs at least one audience (the API's client id or App ID URI)")
        if not self.algorithms or not set(self.algorithms) <= set(ALLOWED_ALGORITHMS):
            raise ConfigError(f"token algorithms must be among {', '.join(ALLOWED_ALGORITHMS)}")
        if not 0 <= leeway_seconds <= 300:  # noqa: PLR2004 - more than 5 minutes is not "small"
            raise ConfigError("the token clock leeway must be between 0 and 300 seconds")
        self.leeway_seconds = leeway_seconds
        self.tenant_claim = tenant_claim or None
        self.group_tenants = {str(g): _tenant(t) for g, t in (group_tenants or {}).items()}

    @property
    def enabled(self) -> bool:
        return True

    def authenticate(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        claims = self.verify(token)
        return self.principal(claims)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims once signature, issuer, audience and times check out."""
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise Unauthenticated("malformed token: not a signed JWT") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            shown = repr(alg) if isinstance(alg, str) and _ALG_NAME.match(alg) else "this"
            raise Unauthenticated(f"token algorithm {shown} is not allowed (allowed: {', '.join(self.algorithms)})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token header names no signing key (kid)")
        jwk = self._keys.key(kid)
        if jwk.key_type != "RSA":
            raise Unauthenticated(f"token algorithm {alg!r} does not fit the signing key's type")
        declared = _declared_alg(jwk)
        if declared is not None and declared != alg:
            raise Unauthenticated(f"token algorithm {alg!r} is not the one its signing key is for")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwk.key,
                algorithms=[alg],
                audience=list(self.audiences),
                issuer=list(self.issuers),
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token not yet valid (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("token audience is not this API") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token issuer is not trusted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("token signature does not verify") from None
        except jwt.DecodeError:
            raise Unauthenticated("malformed token") from None
        except PyJWTError as exc:
            raise Unauthenticated(f"invalid token ({type(exc).__name__})") from None
        return claims

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = _first_text(claims, "oid", "sub")
        if subject is None:
            raise Unauthenticated("token names no subject (oid or sub)")
        name = _first_text(claims, "preferred_username", "upn", "azp", "appid") or subject
        roles = claims.get("roles")
        held = (
            frozenset(_ROLES[r] for r in roles if isinstance(r, str) and r in _ROLES)
            if isinstance(roles, list)
            else frozenset()
        )
        return Principal(subject=subject, name=name, roles=held, tenants=self._tenants(claims))

    def _tenants(self, claims: Mapping[str, Any]) -> frozenset[str]:
        tenants: set[str] = set()
        if self.tenant_claim:
            value = claims.get(self.tenant_claim)
            items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            for item in items:
                if isinstance(item, str):
                    tenants.update(_tenant(part) for part in _SPLIT.split(item) if part)
        groups = claims.get("groups")
        if self.group_tenants and isinstance(groups, list):
            tenants.update(self.group_tenants[g] for g in groups if isinstance(g, str) and g in self.group_tenants)
        return frozenset(tenants)


def _declared_alg(jwk: jwt.PyJWK) -> str | None:
    """The ``alg`` a JWK declares itself for, if it does (Entra's keys do not)."""
    alg = getattr(jwk, "_jwk_data", {}).get("alg")
    return alg if isinstance(alg, str) else None


def _tenant(value: str) -> str:
    return value.strip().lower()  # tenant ids are normalised lower-case everywhere


def _first_text(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _bearer(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise Unauthenticated("no Authorization header: expected a Bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        raise Unauthenticated("expected a Bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("token too large")
    return token


__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEFAULT_LEEWAY_SECONDS",
    "DEFAULT_TENANT_CLAIM",
    "AuthOff",
    "CachedKeySource",
    "KeySource",
    "StaticKeySource",
    "TokenValidator",
    "entra_issuers",
    "entra_jwks_url",
]

"""The local dev signing key: test tokens for the ``local`` environment, no Entra ID needed.

``dq token keygen`` writes an RSA private key (PEM, mode 0600) under the home folder;
``dq token mint`` signs a token with it (issuer ``dq-local``, audience ``api://dq-local``,
``kid`` = the key's RFC 7638 thumbprint). With ``DQ_AUTH_MODE=local-key`` the API
validates such tokens exactly like Entra ID tokens — same :class:`TokenValidator`,
same attacks refused — against the public half of this key (:func:`public_jwks`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from dq_core.errors import ConfigError
from dq_core.security.principal import Role
from dq_core.security.tokens import DEFAULT_TENANT_CLAIM, StaticKeySource, TokenValidator

LOCAL_ISSUER: Final = "dq-local"
LOCAL_AUDIENCE: Final = "api://dq-local"
KEY_FILE: Final = Path("auth") / "local-signing-key.pem"  # under the home folder (.dq)
MAX_MINUTES: Final = 24 * 60


def key_path(home: Path) -> Path:
    return home / KEY_FILE


def generate_key(home: Path, *, force: bool = False) -> Path:
    """Write a new RSA-2048 private key to ``home/auth/local-signing-key.pem`` (mode 0600)."""
    path = key_path(home)
    if path.exists() and not force:
        msg = f"{path} already exists (use --force to replace it; tokens signed with it stop validating)"
        raise ConfigError(msg)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    tmp.replace(path)
    return path


def load_key(home: Path) -> rsa.RSAPrivateKey:
    path = key_path(home)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no local signing key at {path}: run dq token keygen --home {home}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the local signing key: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{path}: not an RSA key")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> dict[str, Any]:
    """The public JWK, ``kid`` = its RFC 7638 SHA-256 thumbprint."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    jwk: dict[str, Any] = dict(RSAAlgorithm.to_jwk(public, as_dict=True))
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    jwk.update(kid=_b64url(hashlib.sha256(members.encode("ascii")).digest()), use="sig", alg="RS256")
    return jwk


def public_jwks(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> dict[str, Any]:
    return {"keys": [public_jwk(key)]}


def local_validator(
    home: Path, *, leeway_seconds: int = 60, tenant_claim: str | None = DEFAULT_TENANT_CLAIM
) -> TokenValidator:
    """The validator of ``DQ_AUTH_MODE=local-key``: tokens minted with the key under ``home``."""
    return TokenValidator(
        StaticKeySource(public_jwks(load_key(home))),
        issuers=[LOCAL_ISSUER],
        audiences=[LOCAL_AUDIENCE],
        leeway_seconds=leeway_seconds,
        tenant_claim=tenant_claim,
    )


def mint(
    key: rsa.RSAPrivateKey,
    *,
    tenants: Iterable[str],
    roles: Iterable[Role | str],
    subject: str = "local-user",
    name: str | None = None,
    minutes: int = 60,
    tenant_claim: str = DEFAULT_TENANT_CLAIM,
    now: datetime | None = None,
) -> str:
    """A token shaped like an Entra ID access token, signed with the local dev key."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise ConfigError(f"--minutes must be between 1 and {MAX_MINUTES}")
    known = {role.value for role in Role}
    role_values = [r.value if isinstance(r, Role) else str(r) for r in roles]
    unknown = sorted(set(role_values) - known)
    if unknown:
        raise ConfigError(f"unknown app role {unknown[0]!r} (use {', '.join(sorted(known))})")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "sub": subject,
        "oid": subject,
        "preferred_username": name or subject,
        "roles": role_values,
        tenant_claim: sorted({t.strip().lower() for t in tenants if t.strip()}),
        "iat": issued,
        "nbf": issued,
        "exp": issued + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"], "typ": "JWT"})


__all__ = [
    "LOCAL_AUDIENCE",
    "LOCAL_ISSUER",
    "generate_key",
    "key_path",
    "load_key",
    "local_validator",
    "mint",
    "public_jwk",
    "public_jwks",
]

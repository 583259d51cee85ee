"""Test support for auth: RSA keys, a real JWKS server on 127.0.0.1, good and hostile tokens.

Use from any test (the API's included)::

    factory = TokenFactory()
    with factory.serve() as jwks:                      # http://127.0.0.1:<port>/keys
        validator = factory.validator(jwks.url)        # a TokenValidator trusting the factory
        header = factory.bearer(tenants=["contoso"], roles=["DQ.Author"])
        for name, bad_header in factory.attacks().items():
            ...                                        # every one must be refused (401)

``factory.settings_env(jwks.url)`` gives the DQ_AUTH_* variables that make
``app.auth.build_authenticator`` trust the factory (entra mode, environment ``dev``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.entra.jwks import HttpJwksFetcher
from dq_core.security.devkeys import public_jwk
from dq_core.security.tokens import CachedKeySource, TokenValidator

TENANT_ID = "11111111-2222-3333-4444-555555555555"
ISSUER = f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
AUDIENCE = f"api://{CLIENT_ID}"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(obj: dict[str, Any]) -> str:
    return _b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 that counts its requests. Change ``jwks`` to rotate keys;
    set ``status`` to answer errors; ``stop()`` to make it unreachable."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.status = 200
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps(server.jwks).encode("utf-8") if server.status == 200 else b"unavailable"
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/discovery/v2.0/keys"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)


class ManualClock:
    """A monotonic clock the test moves: ``clock.advance(31)``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TokenFactory:
    """An issuer for tests: its own RSA key (kid = thumbprint), good tokens, hostile tokens."""

    def __init__(
        self,
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        tenant_claim: str = "dq_tenants",
        key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        self.issuer, self.audience, self.tenant_claim = issuer, audience, tenant_claim
        self.key = key or new_rsa_key()
        self.kid: str = public_jwk(self.key)["kid"]

    # --- keys and servers ---------------------------------------------------------

    def jwks(self, *keys: rsa.RSAPrivateKey) -> dict[str, Any]:
        """The public JWKS of ``keys`` (default: the factory's key), shaped like Entra's (no ``alg``)."""
        out = []
        for key in keys or (self.key,):
            jwk = public_jwk(key)
            jwk.pop("alg")
            out.append(jwk)
        return {"keys": out}

    @contextmanager
    def serve(self, jwks: dict[str, Any] | None = None) -> Iterator[JwksServer]:
        server = JwksServer(jwks or self.jwks())
        try:
            yield server
        finally:
            server.stop()

    def validator(
        self,
        jwks_url: str,
        *,
        refetch_interval: float = 30.0,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> TokenValidator:
        """A TokenValidator over the JWKS at ``jwks_url`` (fetched over HTTP, cached) trusting this
        factory's issuer and audience."""
        fetcher = HttpJwksFetcher(jwks_url, timeout=5.0)
        keys = CachedKeySource(fetcher, refetch_interval=refetch_interval, max_age=max_age, clock=clock)
        return TokenValidator(
            keys,
            issuers=[self.issuer],
            audiences=[self.audience],
            tenant_claim=self.tenant_claim,
            **options,
        )

    def settings_env(self, jwks_url: str, environment: str = "dev") -> dict[str, str]:
        """Environment variables under which app.auth.build_authenticator trusts this factory."""
        return {
            "DQ_ENVIRONMENT": environment,
            "DQ_AUTH_MODE": "entra",
            "DQ_AUTH_ISSUERS": self.issuer,
            "DQ_AUTH_AUDIENCES": self.audience,
            "DQ_AUTH_JWKS_URL": jwks_url,
            "DQ_AUTH_TENANT_CLAIM": self.tenant_claim,
        }

    # --- tokens -------------------------------------------------------------------

    def claims(
        self,
        *,
        tenants: Sequence[str] = ("contoso",),
        roles: Sequence[str] = ("DQ.Reader",),
        subject: str = "00000000-0000-0000-0000-0000000000a1",
        lifetime: int = 600,
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "oid": subject,
            "sub": "pairwise-" + subject,
            "tid": TENANT_ID,
            "preferred_username": "ada@example.com",
            "roles": list(roles),
            self.tenant_claim: list(tenants),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "ver": "2.0",
        }
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}  # None drops a claim

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        algorithm: str = "RS256",
        **claim_options: Any,
    ) -> str:
        """A token signed with ``key`` (default: the factory's); ``kid`` defaults to that key's thumbprint."""
        signer = key or self.key
        headers = {"kid": kid or public_jwk(signer)["kid"], "typ": "JWT"}
        return jwt.encode(claims or self.claims(**claim_options), signer, algorithm=algorithm, headers=headers)

    def bearer(self, token: str | None = None, **claim_options: Any) -> str:
        return f"Bearer {token or self.token(**claim_options)}"

    def attacks(self, **claim_options: Any) -> dict[str, str]:
        """Authorization header values that must each be refused with 401."""
        good = self.claims(**claim_options)
        now = int(time.time())
        public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

        def raw(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
            return f"{_segment(header)}.{_segment(claims)}.{_b64url(signature)}"

        def hs256(secret: bytes) -> str:
            head = {"alg": "HS256", "typ": "JWT", "kid": self.kid}
            signing_input = f"{_segment(head)}.{_segment(good)}".encode("ascii")
            return raw(head, good, hmac.new(secret, signing_input, hashlib.sha256).digest())

        genuine = self.token(good)
        head, _, signature = genuine.split(".")
        tampered = self.claims(**{**claim_options, "tenants": ["fabrikam"], "roles": ["DQ.Admin"]})
        ec_key = ec.generate_private_key(ec.SECP256R1())
        tokens = {
            "alg_none": raw({"alg": "none", "typ": "JWT", "kid": self.kid}, good),
            "alg_none_uppercase": raw({"alg": "NONE", "typ": "JWT", "kid": self.kid}, good),
            "unsigned_rs256": raw({"alg": "RS256", "typ": "JWT", "kid": self.kid}, good),
            "hs256_with_public_key": hs256(public_pem),
            "es256": jwt.encode(good, ec_key, algorithm="ES256", headers={"kid": self.kid}),
            "wrong_issuer": self.token(self.claims(**{**claim_options, "iss": "https://evil.example/v2.0"})),
            "wrong_audience": self.token(self.claims(**{**claim_options, "aud": "api://someone-else"})),
            "expired": self.token(
                self.claims(**{**claim_options, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})
            ),
            "not_yet_valid": self.token(
                self.claims(**{**claim_options, "iat": now, "nbf": now + 3600, "exp": now + 7200})
            ),
            "no_expiry": self.token(self.claims(**{**claim_options, "exp": None})),
            "unknown_kid": self.token(good, key=new_rsa_key()),
            "known_kid_other_key": self.token(good, key=new_rsa_key(), kid=self.kid),
            "tampered_payload": f"{head}.{_segment(tampered)}.{signature}",
            "truncated_signature": genuine[:-8],
            "malformed": "not-a-jwt",
            "two_segments": f"{head}.{_segment(good)}",
            "garbage_header": f"!!!.{_segment(good)}.{signature}",
        }
        headers = {name: f"Bearer {value}" for name, value in tokens.items()}
        headers |= {
            "missing_header": "",
            "basic_scheme": "Basic dXNlcjpwYXNzd29yZA==",
            "bearer_without_token": "Bearer ",
            "token_without_scheme": genuine,
            "two_tokens": f"Bearer {genuine} {genuine}",
        }
        return headers

"""JwksFetcher over PyJWT's ``PyJWKClient``: the issuer's JWKS document, fetched over HTTPS.

Only the fetch lives here; when to fetch (the cache, the refetch interval, what a failure means
for a token) is :class:`dq_core.security.tokens.CachedKeySource`'s. The client's own cache is
off, and it follows no redirect. Entra ID publishes its keys at
``https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys``.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt.exceptions import PyJWTError

from dq_core.errors import ConfigError, TransientError
from dq_core.security.tokens import jwks_failure


class HttpJwksFetcher:
    """The JWKS at ``url`` (https, or http on the loopback for tests), within ``timeout`` seconds."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        try:
            self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        except PyJWTError as exc:
            raise ConfigError(f"JWKS URL {url!r}: {exc}") from None
        self._url = url

    @property
    def url(self) -> str:
        return self._url

    def fetch(self) -> dict[str, Any]:
        """The document, a JSON object; TransientError naming the URL when it cannot be had."""
        try:
            document: dict[str, Any] = self._client.fetch_data()
        except (PyJWTError, ValueError, OSError) as exc:
            raise TransientError(f"cannot fetch the signing keys from {self._url}: {jwks_failure(exc)}") from None
        return document

"""How a connection to PostgreSQL signs in, and how long a pooled connection may live.

Two modes (``DQ_PG_AUTH``, wired by app/bootstrap.py):

* ``password`` (the local default): the DSN as given (a password in it, ``PGPASSWORD`` or a
  passfile); ``login`` is ``None``.
* ``entra``: an :class:`EntraLogin`. The user is the identity's name (``DQ_PG_USER``), the
  password an access token for :data:`ENTRA_SCOPE`, fetched for each NEW connection from a
  credential (azure-identity's, which caches a token until shortly before it expires).

The server checks a token only when a connection signs in, so a pooled connection retires
(:class:`Lifetimes`, the pool's hooks) at ``max_lifetime`` (:data:`MAX_LIFETIME`, 45 minutes;
Entra tokens last 60-90) or when the token it signed in with expires, whichever comes first:
no connection outlives its token, and none is handed out once past its time. A token never
appears in a message, a log line or a repr.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol
from weakref import WeakKeyDictionary

import psycopg
from psycopg_pool import ConnectionPool

from dq_core.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken

ENTRA_SCOPE: Final = "https://ossrdbms-aad.database.windows.net/.default"
MAX_LIFETIME: Final = 45 * 60.0  # seconds: below the 60-90 minutes an Entra access token lasts
_CAUSE_CHARS: Final = 300

log = logging.getLogger("dq.adapters.postgres")


class TokenProvider(Protocol):
    """What an azure-identity credential offers (``ManagedIdentityCredential``, ``DefaultAzureCredential``)."""

    def get_token(self, *scopes: str) -> AccessToken: ...


class TokenUnavailable(TransientError):
    """The credential gave no usable access token for PostgreSQL (the cause is in the log)."""

    code = "pg_token_unavailable"


@dataclass(frozen=True)
class EntraLogin:
    """Sign in as ``user`` with a fresh Microsoft Entra access token as the password."""

    user: str
    credential: TokenProvider = field(repr=False)
    scope: str = ENTRA_SCOPE

    def __post_init__(self) -> None:
        if not self.user.strip():
            msg = "DQ_PG_AUTH=entra needs DQ_PG_USER: the name of the identity PostgreSQL knows"
            raise ConfigError(msg)

    def sign_in(self) -> tuple[dict[str, str], float]:
        """The connection parameters (``user``, ``password`` = a token) and when the token expires
        (seconds since the epoch). TokenUnavailable, naming no user, host or token, when there is none."""
        try:
            token = self.credential.get_token(self.scope)
        except Exception as exc:  # azure-identity raises several types; each means "no token"
            cause = " ".join(str(exc).split())[:_CAUSE_CHARS]
            log.warning("PostgreSQL sign-in of %s: no Entra token: %s: %s", self.user, type(exc).__name__, cause)
            msg = f"no Microsoft Entra access token for PostgreSQL ({type(exc).__name__}); the cause is in the log"
            raise TokenUnavailable(msg) from exc
        if not token.token or token.expires_on <= time.time():
            log.warning("PostgreSQL sign-in of %s: the credential returned an empty or expired token", self.user)
            raise TokenUnavailable("the credential returned an empty or expired access token for PostgreSQL")
        return {"user": self.user, "password": token.token}, float(token.expires_on)


def sign_in_params(login: EntraLogin | None) -> dict[str, Any]:
    """Parameters for one unpooled connection: none in password mode."""
    return {} if login is None else login.sign_in()[0]


class Lifetimes:
    """The pool's hooks: ``kwargs`` (psycopg_pool calls it for each new connection, then
    ``configure`` on the same thread) signs in and sets the connection's deadline; ``check``
    (on every hand-out) retires a connection past it, so the pool makes a new one."""

    def __init__(self, login: EntraLogin | None, max_lifetime: float, params: dict[str, str]) -> None:
        if not max_lifetime > 0:
            msg = f"max_lifetime must be positive, not {max_lifetime}"
            raise ConfigError(msg)
        self._login = login
        self._max_lifetime = max_lifetime
        self._params = dict(params)
        self._pending = threading.local()  # the deadline of the connection this thread is opening
        self._deadlines: WeakKeyDictionary[psycopg.Connection[Any], float] = WeakKeyDictionary()
        self._lock = threading.Lock()

    def kwargs(self) -> dict[str, Any]:
        now = time.monotonic()
        deadline = now + self._max_lifetime
        params: dict[str, Any] = dict(self._params)
        if self._login is not None:
            signed, expires_on = self._login.sign_in()
            params.update(signed)
            deadline = min(deadline, now + (expires_on - time.time()))
        self._pending.deadline = deadline
        return params

    def configure(self, conn: psycopg.Connection[Any]) -> None:
        deadline = getattr(self._pending, "deadline", None)
        self._pending.deadline = None
        if deadline is None:  # not opened through kwargs(): the plain lifetime
            deadline = time.monotonic() + self._max_lifetime
        with self._lock:
            self._deadlines[conn] = deadline

    def check(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            deadline = self._deadlines.get(conn)
        if deadline is None or time.monotonic() >= deadline:
            conn.close()  # a closed connection is discarded and replaced by the pool
            msg = "connection retired: older than max_lifetime or than the token it signed in with"
            raise psycopg.OperationalError(msg)
        ConnectionPool.check_connection(conn)

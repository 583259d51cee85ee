"""PostgreSQL ContractStore: the registry of configuration objects in Azure.

One table, ``config_objects``, in a schema of its own (``search_path`` of every pooled
connection). The lifecycle rules are checked twice: in Python (check_transition,
check_replace) for clear messages, and by a trigger (migrations/0001_registry.sql) so
that no client, not even raw SQL, can edit a published version, skip a lifecycle step
or approve its own version. Writes are race-free: the unique key decides who created a
version, ``SELECT ... FOR UPDATE`` serialises whoever comes next.

Connections sign in as adapters/postgres/signin.py says: with the DSN as given, or
(``login``) as a Microsoft Entra identity with a fresh token per new connection; a pooled
connection retires at ``max_lifetime`` or when its token expires. ``lazy=True`` (the
deployment) connects and migrates on first use, not in ``connect``: a host whose registry
is down still starts and answers its liveness probe; each use retries until it opens.

Errors: the trigger's SQLSTATEs become LifecycleError / ConflictError, a lost or busy
server (OperationalError) becomes TransientError, anything else PostgresStoreError; no
access token is a TokenUnavailable (transient).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from adapters.postgres.signin import MAX_LIFETIME, EntraLogin, Lifetimes, sign_in_params
from dq_core.config.base import Kind, ObjectKey, Status, Versioned
from dq_core.config.canonical import canonical_json, content_hash
from dq_core.errors import ConfigError, ObjectNotFound, TerminalError, TransientError
from dq_core.identifiers import semver_key
from dq_core.registry.models import (
    Approval,
    ConflictError,
    LifecycleError,
    PutOutcome,
    StoredObject,
    check_replace,
    check_same_content,
    check_transition,
    next_environment,
)

MIGRATIONS: Final = Path(__file__).resolve().with_name("migrations")
LIFECYCLE_REFUSED: Final = "DQ001"  # SQLSTATEs raised by the trigger (0001_registry.sql)
CONTENT_IMMUTABLE: Final = "DQ002"
_SCHEMA_RE: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_OPEN_TIMEOUT: Final = 30.0
_CONNECT_TIMEOUT: Final = 10
_POOL_TIMEOUT: Final = 30.0  # seconds a request waits for a pooled connection

_COLUMNS = (
    "tenant, environment, kind, id, version, status, document, sha256, created_by, created_at, approvals, modified_by"
)
_KEY = " WHERE tenant = %s AND environment = %s AND kind = %s AND id = %s AND version = %s"
# Queries are built from the constant fragments above only; every value is a parameter.
_SELECT = "SELECT " + _COLUMNS + " FROM config_objects"  # noqa: S608
_SELECT_ONE = _SELECT + _KEY
_INSERT = (
    "INSERT INTO config_objects"  # noqa: S608
    " (tenant, environment, kind, id, version, status, document, sha256, created_by, approvals, modified_by)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (tenant, environment, kind, id, version) DO NOTHING RETURNING " + _COLUMNS
)
_UPDATE_CONTENT = "UPDATE config_objects SET document = %s, sha256 = %s, modified_by = %s" + _KEY  # noqa: S608
_UPDATE_STATUS = (
    "UPDATE config_objects SET status = %s, approvals = approvals || %s"  # noqa: S608
    + _KEY
    + " RETURNING "
    + _COLUMNS
)
_LOCKS: Final = {"": "", "update": " FOR UPDATE", "share": " FOR SHARE"}


class PostgresStoreError(TerminalError):
    """PostgreSQL refused a request for a reason a retry cannot fix."""

    code = "store_failed"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@contextmanager
def _translated() -> Iterator[None]:
    """Driver exceptions become the platform's: no raw psycopg error leaves this module."""
    try:
        yield
    except psycopg.Error as exc:
        state = exc.sqlstate
        message = " ".join((exc.diag.message_primary or "").split()) or _one_line(exc)
        if state == LIFECYCLE_REFUSED:
            raise LifecycleError(message) from exc
        if state == CONTENT_IMMUTABLE:
            raise ConflictError(message) from exc
        if isinstance(exc, psycopg.OperationalError):  # connection lost, pool timeout, deadlock, shutdown...
            msg = f"PostgreSQL is unavailable or busy ({state or type(exc).__name__}): {message}"
            raise TransientError(msg) from exc
        msg = f"PostgreSQL refused the request ({state or type(exc).__name__}): {message}"
        raise PostgresStoreError(msg) from exc


def _lock_key(schema: str) -> int:
    """The advisory lock serialising migrations of one schema (a signed 64-bit key)."""
    digest = hashlib.sha256(f"dq-migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migration_files() -> list[tuple[int, Path]]:
    """``NNNN_name.sql`` files next to this module, in order."""
    files = sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [(int(path.name[:4]), path) for path in files]


def _migrate(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create the schema and apply pending migrations, in one transaction, one migrator at a time."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(schema),))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, path in migration_files():
            if version in applied:
                continue
            conn.execute(path.read_bytes())  # no parameters: several statements in one go
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, path.stem))


def _stored(row: DictRow) -> StoredObject:
    return StoredObject(
        tenant=row["tenant"],
        environment=row["environment"],
        key=ObjectKey(kind=Kind(row["kind"]), id=row["id"], version=row["version"]),
        status=Status(row["status"]),
        sha256=row["sha256"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        modified_by=row["modified_by"],
        approvals=tuple(Approval.model_validate(item) for item in row["approvals"]),
        document=row["document"],
    )


def _key_params(tenant: str, environment: str, key: ObjectKey) -> tuple[str, str, str, str, str]:
    return (tenant, environment, key.kind.value, key.id, key.version)


def _not_found(tenant: str, environment: str, key: ObjectKey) -> ObjectNotFound:
    return ObjectNotFound(f"{key} does not exist in tenant {tenant!r}, environment {environment!r}")


def _document(obj: Versioned) -> Jsonb:
    """The canonical JSON as stored: status-neutral (the status column is authoritative)."""
    return Jsonb(json.loads(canonical_json(obj.with_status(Status.DRAFT))))


class PostgresContractStore:
    """ContractStore on PostgreSQL; every query is scoped by tenant and environment."""

    def __init__(
        self, pool: ConnectionPool[psycopg.Connection[Any]], schema: str, opener: Callable[[], None] | None = None
    ) -> None:
        """``pool`` serves the queries; ``opener`` (if any) migrates and opens it, on first use."""
        self._pool = pool
        self.schema = schema
        self._opener = opener
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        dsn: str,
        *,
        schema: str = "dq",
        pool_size: int = 10,
        login: EntraLogin | None = None,
        max_lifetime: float = MAX_LIFETIME,
        timeout: float = _POOL_TIMEOUT,
        lazy: bool = False,
    ) -> PostgresContractStore:
        """A pool on ``dsn`` (search_path = ``schema``); the schema is created and migrations applied
        now, or on first use when ``lazy``. ``login``: sign in as an Entra identity (else the DSN as
        given); ``max_lifetime``: the most seconds a connection lives; ``timeout``: the most seconds
        a request waits for a connection."""
        if not _SCHEMA_RE.match(schema):
            msg = f"schema {schema!r} is not a plain lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)"
            raise ConfigError(msg)
        if pool_size < 1:
            msg = f"pool_size must be at least 1, not {pool_size}"
            raise ConfigError(msg)
        with _translated():
            given = conninfo_to_dict(dsn).get("options")
        options = f"{given} -c search_path={schema}" if given else f"-c search_path={schema}"
        lifetimes = Lifetimes(login, max_lifetime, {"options": options})
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            kwargs=lifetimes.kwargs,  # called for each new connection: a fresh token in entra mode
            min_size=1,
            max_size=pool_size,
            open=False,
            configure=lifetimes.configure,
            check=lifetimes.check,
            max_lifetime=max_lifetime,
            timeout=timeout,
            name=f"dq-registry-{schema}",
        )

        def open_pool() -> None:
            with _translated():
                # migrations on a connection of their own: a wrong DSN fails at once, not after the pool's timeout
                signed = sign_in_params(login)
                with psycopg.connect(dsn, options=options, connect_timeout=_CONNECT_TIMEOUT, **signed) as conn:
                    _migrate(conn, schema)
                pool.open(wait=True, timeout=_OPEN_TIMEOUT)

        store = cls(pool, schema, open_pool)
        if not lazy:
            try:
                store._ready()
            except BaseException:
                pool.close()
                raise
        return store

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # --- plumbing --------------------------------------------------------------------

    def _ready(self) -> None:
        """Migrate and open the pool if not done yet (one caller at a time; a failure is retried next use)."""
        if self._opener is None:
            return
        with self._lock:
            if self._closed:
                raise PostgresStoreError(f"the registry store on schema {self.schema!r} is closed")
            if self._opener is not None:
                self._opener()
                self._opener = None

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[DictRow]]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        self._ready()
        with (
            _translated(),
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cur,
        ):
            yield cur

    @staticmethod
    def _fetch(
        cur: psycopg.Cursor[DictRow], tenant: str, environment: str, key: ObjectKey, lock: str = ""
    ) -> StoredObject | None:
        cur.execute(_SELECT_ONE + _LOCKS[lock], _key_params(tenant, environment, key))
        row = cur.fetchone()
        return _stored(row) if row is not None else None

    def _require(
        self, cur: psycopg.Cursor[DictRow], tenant: str, environment: str, key: ObjectKey, lock: str = ""
    ) -> StoredObject:
        found = self._fetch(cur, tenant, environment, key, lock)
        if found is None:
            raise _not_found(tenant, environment, key)
        return found

    # --- ConfigReader ----------------------------------------------------------------

    def get(self, tenant: str, environment: str, key: ObjectKey) -> Versioned:
        return self.record(tenant, environment, key).to_object()

    def versions(self, tenant: str, environment: str, kind: Kind, object_id: str) -> list[str]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT version FROM config_objects WHERE tenant = %s AND environment = %s AND kind = %s AND id = %s",
                (tenant, environment, kind.value, object_id),
            )
            found = [str(row["version"]) for row in cur.fetchall()]
        return sorted(found, key=semver_key)

    # --- ContractStore ---------------------------------------------------------------

    def record(self, tenant: str, environment: str, key: ObjectKey) -> StoredObject:
        with self._cursor() as cur:
            return self._require(cur, tenant, environment, key)

    def put(self, obj: Versioned, *, actor: str, expected_sha256: str | None = None) -> PutOutcome:
        tenant, environment, key = obj.tenant, obj.environment.value, obj.key
        document, sha = _document(obj), content_hash(obj)
        with self._cursor() as cur:
            for _ in range(3):  # the row may vanish (a draft deleted) between the insert and the lock
                cur.execute(
                    _INSERT,
                    (
                        *_key_params(tenant, environment, key),
                        Status.DRAFT.value,
                        document,
                        sha,
                        actor,
                        Jsonb([]),
                        actor,
                    ),
                )
                if cur.fetchone() is not None:
                    return PutOutcome.CREATED
                existing = self._fetch(cur, tenant, environment, key, "update")
                if existing is not None:
                    break
            else:
                msg = f"{key} changed concurrently in tenant {tenant!r}, environment {environment!r}; retry"
                raise TransientError(msg)
            if existing.sha256 == sha:
                return PutOutcome.UNCHANGED
            check_replace(existing, sha, expected_sha256)
            cur.execute(_UPDATE_CONTENT, (document, sha, actor, *_key_params(tenant, environment, key)))
            return PutOutcome.UPDATED

    def transition(self, tenant: str, environment: str, key: ObjectKey, target: Status, *, actor: str) -> StoredObject:
        with self._cursor() as cur:
            stored = self._require(cur, tenant, environment, key, "update")
            check_transition(stored, target, actor)
            added = [Approval(actor=actor, at=datetime.now(UTC)).model_dump(mode="json")]
            approvals = Jsonb(added if target is Status.APPROVED else [])  # appended in SQL: earlier ones untouched
            cur.execute(_UPDATE_STATUS, (target.value, approvals, *_key_params(tenant, environment, key)))
            row = cur.fetchone()
            if row is None:  # impossible while the row is locked; never report a change that did not happen
                raise _not_found(tenant, environment, key)
            return _stored(row)

    def promote(self, tenant: str, environment: str, key: ObjectKey, *, actor: str) -> StoredObject:
        target = next_environment(environment).value
        with self._cursor() as cur:
            stored = self._require(cur, tenant, environment, key, "share")
            if stored.status is not Status.PUBLISHED:
                msg = f"{key} is {stored.status.value}: only published versions are promoted"
                raise LifecycleError(msg)
            copy = stored.to_object().model_copy(update={"environment": next_environment(environment)})
            missing = []
            for reference in copy.references():
                ref_key = ObjectKey(kind=reference.kind, id=reference.ref.id, version=reference.ref.version)
                there = self._fetch(cur, tenant, target, ref_key, "share")  # kept published until we commit
                if there is None or there.status is not Status.PUBLISHED:
                    missing.append(f"{ref_key} ({reference.path})")
                else:
                    source = self._require(cur, tenant, environment, ref_key, "share")
                    check_same_content(ref_key, source.sha256, there, environment)
            if missing:
                msg = f"cannot promote {key} to {target}: not published there: {', '.join(missing)}"
                raise LifecycleError(msg)
            sha = content_hash(copy)
            approvals = Jsonb([approval.model_dump(mode="json") for approval in stored.approvals])
            params = (
                *_key_params(tenant, target, key),
                Status.PUBLISHED.value,
                _document(copy),
                sha,
                actor,
                approvals,
                stored.modified_by,
            )
            cur.execute(_INSERT, params)
            row = cur.fetchone()
            if row is not None:
                return _stored(row)
            existing = self._require(cur, tenant, target, key, "update")
            if existing.sha256 != sha:
                msg = f"{key} already exists in {target} with other content"
                raise ConflictError(msg)
            return existing  # promoted before: nothing to do

    def tenants(self, environment: str) -> list[str]:
        with self._cursor() as cur:
            cur.execute("SELECT DISTINCT tenant FROM config_objects WHERE environment = %s", (environment,))
            found = [str(row["tenant"]) for row in cur.fetchall()]
        return sorted(found)  # code-point order, as SQLite's: not the database collation

    def list(self, tenant: str, environment: str, kind: Kind | None = None) -> list[StoredObject]:
        query = _SELECT + " WHERE tenant = %s AND environment = %s"
        params: Sequence[str] = (tenant, environment)
        if kind is not None:
            query += " AND kind = %s"
            params = (tenant, environment, kind.value)
        with self._cursor() as cur:
            cur.execute(query, params)
            found = [_stored(row) for row in cur.fetchall()]
        return sorted(found, key=lambda s: (s.key.kind.value, s.key.id, semver_key(s.key.version)))

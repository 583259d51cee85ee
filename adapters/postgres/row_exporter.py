"""RowExporter over PostgreSQL: the storage_export action's table target.

Tables live in one schema per tenant (``dq_export__{tenant}``, the prefix configurable),
never beside the registry's and never shared by two tenants: a tenant's rejects and
cleansed rows are not in a table another tenant's export writes to. A table name must be a
plain lower-case identifier (``^[a-z_][a-z0-9_]{0,62}$``); anything else is refused before
any SQL is built. Every table has one shape:
``(tenant, run_id, kind, seq, payload jsonb, exported_at)`` with the primary key
``(tenant, run_id, kind, seq)``, created when missing. An export replaces the run's rows
in one transaction, so a retried action leaves one copy; every query names its tenant.

Each export opens one connection, signed in as adapters/postgres/signin.py says: the DSN
as given, or (``login``) an Entra identity with a fresh access token as the password.

Errors: a lost or busy server (OperationalError) or no access token is a TransientError,
anything else a RowExportError. A connection failure says nothing of the server, its user
or the connection string (the outcome's detail ends up in result.json); the log has the cause.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Final

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from adapters.postgres.signin import EntraLogin, TokenUnavailable, sign_in_params
from dq_core.errors import ConfigError, TerminalError, TransientError
from dq_core.identifiers import is_tenant
from dq_core.ports import ExportRow

_IDENTIFIER: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MAX_IDENTIFIER: Final = 63
_CONNECT_TIMEOUT: Final = 10

log = logging.getLogger("dq.adapters.postgres")


class RowExportError(TerminalError):
    """PostgreSQL refused an export for a reason a retry cannot fix."""

    code = "export_failed"


def identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or name.startswith("pg_"):
        raise ConfigError(
            f"{what} {name!r} must be a lower-case identifier: a letter or '_', then letters, digits, '_'"
        )
    return name


class PostgresRowExporter:
    def __init__(self, dsn: str, *, schema: str = "dq_export", login: EntraLogin | None = None) -> None:
        self._dsn = dsn
        self._login = login
        self._prefix = identifier(schema, "export schema")

    def schema_of(self, tenant: str) -> str:
        """The tenant's own schema: ``{prefix}__{tenant}``, for a tenant id (dq_core.identifiers)."""
        if not isinstance(tenant, str) or not is_tenant(tenant):
            raise ConfigError(f"tenant {tenant!r} cannot name an export schema")
        name = f"{self._prefix}__{tenant}"
        if len(name.encode("utf-8")) > _MAX_IDENTIFIER:  # PostgreSQL would truncate it silently
            raise ConfigError(f"export schema {name!r} is longer than {_MAX_IDENTIFIER} bytes")
        return name

    def _ddl(self, schema: str, table: str) -> list[sql.Composed]:
        name = sql.Identifier(schema, table)
        return [
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)),
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " tenant text NOT NULL, run_id text NOT NULL, kind text NOT NULL, seq integer NOT NULL,"
                " payload jsonb NOT NULL, exported_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (tenant, run_id, kind, seq))"
            ).format(name),
        ]

    def export(self, tenant: str, table: str, run_id: str, rows: Sequence[ExportRow]) -> int:
        schema = self.schema_of(tenant)
        name = sql.Identifier(schema, identifier(table, "export table"))
        delete = sql.SQL("DELETE FROM {} WHERE tenant = %s AND run_id = %s").format(name)
        insert = sql.SQL("INSERT INTO {} (tenant, run_id, kind, seq, payload) VALUES (%s, %s, %s, %s, %s)").format(name)
        try:
            signed = sign_in_params(self._login)
        except TokenUnavailable as exc:  # the log has the cause
            raise TransientError(f"export to {schema}.{table}: no access token for PostgreSQL") from exc
        try:
            db = psycopg.connect(self._dsn, connect_timeout=_CONNECT_TIMEOUT, **signed)
        except psycopg.Error as exc:
            log.warning("export database connection failed: %s", type(exc).__name__)
            if isinstance(exc, psycopg.OperationalError):
                raise TransientError(f"export to {schema}.{table}: PostgreSQL unavailable") from exc
            raise RowExportError(f"export to {schema}.{table}: the export database settings are invalid") from exc
        try:
            with db:
                with db.transaction():
                    for statement in self._ddl(schema, table):
                        db.execute(statement)
                with db.transaction(), db.cursor() as cursor:
                    cursor.execute(delete, (tenant, run_id))
                    cursor.executemany(
                        insert, [(tenant, run_id, row.kind, row.seq, Jsonb(row.payload)) for row in rows]
                    )
        except psycopg.OperationalError as exc:
            raise TransientError(f"export to {schema}.{table}: PostgreSQL unavailable") from exc
        except psycopg.Error as exc:
            detail = " ".join(str(exc).split())[:300]
            raise RowExportError(f"export to {schema}.{table} refused: {detail}") from exc
        return len(rows)

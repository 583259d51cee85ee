"""PostgreSQL with Microsoft Entra sign-in (``DQ_PG_AUTH=entra``), against a real server that checks passwords.

The shared test server trusts every local connection, so it cannot tell a good token from a
bad one. These tests start a cluster of their own (initdb and pg_ctl from the machine's
PostgreSQL binaries, a port of their own, ``scram-sha-256`` for TCP) and a credential that
plays Entra ID (:class:`RotatingCredential`): every token it issues becomes the role's only
password, valid until the token expires (``VALID UNTIL``), so the server refuses a rotated or
expired token as an Entra-only server refuses an expired one. The server's own log
(``log_connections``) counts the connections each role opened.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from psycopg import sql
from psycopg.conninfo import make_conninfo

from adapters.postgres.contract_store import PostgresContractStore
from adapters.postgres.row_exporter import PostgresRowExporter
from adapters.postgres.signin import ENTRA_SCOPE, MAX_LIFETIME, EntraLogin, TokenUnavailable
from app import bootstrap
from app.settings import AppSettings
from dq_core.config.base import Kind, ObjectKey, Versioned
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.errors import ConfigError, TransientError
from dq_core.ports import ExportRow

pytestmark = pytest.mark.integration

REFUSED = "password authentication failed"
RULES = ObjectKey(kind=Kind.RULE_LIBRARY, id="core", version="1.0.0")


# --- a PostgreSQL cluster that checks passwords -------------------------------------------------


def _bindir() -> Path:
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl) on this machine: install postgresql")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    port: int
    admin_password: str
    log: Path

    def dsn(self, user: str | None = None, password: str | None = None) -> str:
        """A DSN as the deployment's: host, port, database (and a user only if given); no password."""
        params: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "dbname": "postgres"}
        if user is not None:
            params["user"] = user
        if password is not None:
            params["password"] = password
        return make_conninfo(**params)

    @property
    def admin(self) -> str:
        return self.dsn("postgres", self.admin_password)

    def sessions(self, role: str) -> dict[int, list[str]]:
        """Every connection ``role`` opened (server pid) with the statements it ran, from the
        server's log (log_connections, log_statement; the default prefix carries the pid)."""
        text = self.log.read_text()
        opened = re.findall(rf"\[(\d+)\] LOG:  connection authorized: user={re.escape(role)} ", text)
        found: dict[int, list[str]] = {int(pid): [] for pid in opened}
        for pid, statement in re.findall(r"\[(\d+)\] LOG:  (?:statement|execute [^:]*): (.*)", text):
            if int(pid) in found:
                found[int(pid)].append(statement)
        return found

    def connections_of(self, role: str) -> int:
        return len(self.sessions(role))

    def served(self, role: str, fragment: str) -> set[int]:
        """The connections of ``role`` that ran a statement containing ``fragment``."""
        return {pid for pid, statements in self.sessions(role).items() if any(fragment in s for s in statements)}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A throwaway cluster: superuser password, scram-sha-256 on 127.0.0.1; stopped and removed after."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="dq-entra-pg."))
    as_postgres: list[str] = []
    password = secrets.token_urlsafe(24)
    pwfile = base / "pwfile"
    pwfile.write_text(password)
    if os.geteuid() == 0:  # initdb refuses to run as root
        for path in (base, pwfile):
            shutil.chown(path, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, log = base / "db", base / "pg.log"
    init = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--no-sync"]
    init += ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
    subprocess.run([*as_postgres, *init], check=True, capture_output=True, timeout=120)
    pwfile.unlink()
    port = _free_port()
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c log_connections=on -c log_statement=all"
    )
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"]
    started = subprocess.run([*as_postgres, *start], capture_output=True, text=True, timeout=90, check=False)
    try:
        if started.returncode != 0:
            pytest.fail(
                f"pg_ctl start failed: {started.stdout}{started.stderr}{log.read_text() if log.exists() else ''}"
            )
        yield Cluster(port=port, admin_password=password, log=log)
    finally:
        stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run([*as_postgres, *stop], capture_output=True, timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_the_cluster_checks_passwords(cluster: Cluster) -> None:
    # what every other test here relies on: a wrong password is refused over TCP
    with psycopg.connect(cluster.admin) as db:
        assert db.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match=REFUSED):
        psycopg.connect(cluster.dsn("postgres", "not-the-password"), connect_timeout=10)


# --- a credential that plays Entra ID -----------------------------------------------------------


class RotatingCredential:
    """Entra ID for one role: ``get_token`` returns the current token until one second before it
    expires (azure-identity's cache does the same, with a larger margin), then issues a new one.
    Each issued token becomes the role's only password, valid until the token expires."""

    def __init__(self, cluster: Cluster, role: str, lifetime: float = 3600.0) -> None:
        self._admin = cluster.admin
        self._role = role
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self.asked: list[tuple[str, ...]] = []  # the scopes of every get_token call
        self.issued: list[str] = []
        self.rotate()

    def rotate(self) -> str:
        """A new token; the previous one is refused from now on."""
        token, expires_on = secrets.token_urlsafe(32), int(time.time() + self._lifetime)
        until = datetime.fromtimestamp(expires_on, UTC).isoformat()
        with psycopg.connect(self._admin, autocommit=True) as db:
            db.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {} VALID UNTIL {}").format(
                    sql.Identifier(self._role), sql.Literal(token), sql.Literal(until)
                )
            )
        self.issued.append(token)
        self._current = AccessToken(token, expires_on)
        return token

    def get_token(self, *scopes: str) -> AccessToken:
        with self._lock:
            self.asked.append(scopes)
            if time.time() >= self._current.expires_on - 1:
                self.rotate()
            return self._current


class FailingCredential:
    """No token, the way azure-identity fails where no identity answers; ``then``'s tokens once it is set."""

    def __init__(self, then: RotatingCredential | None = None) -> None:
        self.then = then
        self.asked = 0

    def get_token(self, *scopes: str) -> AccessToken:
        self.asked += 1
        if self.then is None:
            msg = "ManagedIdentityCredential authentication unavailable, no response from the IMDS endpoint."
            raise ClientAuthenticationError(msg)
        return self.then.get_token(*scopes)


@pytest.fixture
def role(cluster: Cluster) -> str:
    """A role named like a managed identity (a hyphen: it needs quoting), allowed to create schemas."""
    name = f"id-dq-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.admin, autocommit=True) as db:
        db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        db.execute(sql.SQL("GRANT CREATE ON DATABASE postgres TO {}").format(sql.Identifier(name)))
    return name


@pytest.fixture
def schema() -> str:
    return "entra_" + uuid.uuid4().hex[:10]


def rules(tenant: str = "contoso") -> Versioned:
    return CONFIG_OBJECT_ADAPTER.validate_python(
        {
            "kind": "rule_library",
            "tenant": tenant,
            "environment": "dev",
            "id": "core",
            "version": "1.0.0",
            "rules": [{"id": "nn", "type": "not_null"}],
        }
    )


def backends(cluster: Cluster, role: str) -> dict[int, datetime]:
    """The role's server processes now: pid -> when it signed in."""
    with psycopg.connect(cluster.admin) as db:
        rows = db.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE usename = %s", (role,)).fetchall()
    return {int(pid): started for pid, started in rows}


def refused(cluster: Cluster, role: str, token: str) -> bool:
    try:
        psycopg.connect(cluster.dsn(role, token), connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        assert REFUSED in str(exc), exc
        return True
    return False


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record, the pool's too (psycopg quiets its loggers to WARNING by default)."""
    caplog.set_level(logging.DEBUG, logger="psycopg")
    return caplog


def assert_no_token_anywhere(caplog: pytest.LogCaptureFixture, tokens: list[str], *texts: str) -> None:
    logged = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert logged, "the scenario logged nothing: the check would be vacuous"
    for token in tokens:
        assert not any(token in line for line in logged), "a token reached the log"
        assert not any(token in text for text in texts), "a token reached a message"


# --- the registry's pool ---------------------------------------------------------------------------


def test_each_new_connection_signs_in_as_the_identity_with_a_token_for_the_postgres_scope(
    cluster: Cluster, role: str, schema: str, logs: pytest.LogCaptureFixture
) -> None:
    credential = RotatingCredential(cluster, role)
    login = EntraLogin(user=role, credential=credential)
    assert credential.issued[0] not in repr(login)
    store = PostgresContractStore.connect(cluster.dsn(), schema=schema, login=login, pool_size=2, lazy=True)
    try:
        assert credential.asked == [] and cluster.connections_of(role) == 0  # lazy: nothing happens yet
        store.put(rules(), actor="ann")
        assert store.get("contoso", "dev", RULES) == rules()
        assert store.tenants("dev") == ["contoso"]
    finally:
        store.close()
    with psycopg.connect(cluster.admin) as db:  # the migrations ran as the identity: it owns the registry
        owner = db.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = %s", (schema, "config_objects")
        ).fetchone()
    assert owner == (role,)
    # one token per new connection (the migration's and the pool's), each for the PostgreSQL scope
    opened = cluster.connections_of(role)
    assert opened >= 2
    assert credential.asked == [(ENTRA_SCOPE,)] * opened
    assert_no_token_anywhere(logs, credential.issued)


def test_after_a_rotation_the_server_refuses_the_old_token_and_the_pool_retires_older_connections(
    cluster: Cluster, role: str, schema: str, logs: pytest.LogCaptureFixture
) -> None:
    credential = RotatingCredential(cluster, role)
    login = EntraLogin(user=role, credential=credential)
    store = PostgresContractStore.connect(cluster.dsn(), schema=schema, login=login, pool_size=1, max_lifetime=1.5)
    try:
        store.put(rules(), actor="ann")
        (first,) = backends(cluster, role)  # pool_size 1: one connection, signed in with token 1
        old = credential.issued[-1]
        rotated_at = datetime.now(UTC)
        new = credential.rotate()
        assert refused(cluster, role, old)
        assert not refused(cluster, role, new)
        asked = len(credential.asked)
        time.sleep(1.6)  # past max_lifetime: the connection of token 1 must not serve again
        assert store.tenants("dev") == ["contoso"]
        served = cluster.served(role, "SELECT DISTINCT tenant FROM config_objects")
        assert served and first not in served, "a connection older than max_lifetime served a request"
        now = backends(cluster, role)
        assert now and first not in now and all(started > rotated_at for started in now.values())
        assert len(credential.asked) > asked  # the new connection asked for a token: the new one
    finally:
        store.close()
    assert_no_token_anywhere(logs, credential.issued)


def test_a_connection_never_outlives_the_token_it_signed_in_with(
    cluster: Cluster, role: str, schema: str, logs: pytest.LogCaptureFixture
) -> None:
    # tokens that expire after 3 s, far below max_lifetime (45 min): the token bounds the connection
    credential = RotatingCredential(cluster, role, lifetime=3.0)
    login = EntraLogin(user=role, credential=credential)
    store = PostgresContractStore.connect(cluster.dsn(), schema=schema, login=login, pool_size=1)
    try:
        assert store.tenants("dev") == []
        (first,) = backends(cluster, role)
        expired = credential.issued[-1]
        time.sleep(3.2)  # token 1 has expired: the server refuses it, its connection must go
        assert refused(cluster, role, expired)
        store.put(rules(), actor="ann")
        served = cluster.served(role, "INSERT INTO config_objects")
        assert served and first not in served, "a connection served after its token expired"
        assert first not in backends(cluster, role)
        assert len(credential.issued) >= 2
    finally:
        store.close()
    assert MAX_LIFETIME == 45 * 60  # the deployment's: below the 60-90 minutes of an Entra token
    assert_no_token_anywhere(logs, credential.issued)


def test_without_a_token_the_store_fails_transiently_names_nobody_and_recovers(
    cluster: Cluster, role: str, schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    credential = FailingCredential()
    store = PostgresContractStore.connect(cluster.dsn(), schema=schema, login=EntraLogin(role, credential), lazy=True)
    try:
        with caplog.at_level(logging.WARNING, logger="dq.adapters.postgres"), pytest.raises(TokenUnavailable) as failed:
            store.tenants("dev")
        assert isinstance(failed.value, TransientError)  # retried by the activities, 503 at readiness
        message = failed.value.one_line()
        assert "ClientAuthenticationError" in message
        for detail in (role, "127.0.0.1", str(cluster.port), "postgres"):
            assert detail not in message
        assert any(role in r.getMessage() and "IMDS" in r.getMessage() for r in caplog.records), "the cause is logged"
        credential.then = RotatingCredential(cluster, role)  # the identity gets its token again
        assert store.tenants("dev") == []  # the next use opens the store
    finally:
        store.close()


# --- the row exporter -------------------------------------------------------------------------------


def test_each_export_signs_in_with_a_fresh_token(cluster: Cluster, role: str, logs: pytest.LogCaptureFixture) -> None:
    credential = RotatingCredential(cluster, role)
    prefix = "entra_x" + uuid.uuid4().hex[:6]
    exporter = PostgresRowExporter(cluster.dsn(), schema=prefix, login=EntraLogin(role, credential))
    assert exporter.export("contoso", "results", "run-1", [ExportRow("run", 0, {"v": 1})]) == 1
    old = credential.issued[-1]
    credential.rotate()
    assert refused(cluster, role, old)
    assert exporter.export("contoso", "results", "run-2", [ExportRow("run", 0, {"v": 2})]) == 1
    assert credential.asked == [(ENTRA_SCOPE,)] * 2 == [(ENTRA_SCOPE,)] * cluster.connections_of(role)
    with psycopg.connect(cluster.admin) as db:
        rows = db.execute(
            sql.SQL("SELECT run_id FROM {} ORDER BY run_id").format(sql.Identifier(f"{prefix}__contoso", "results"))
        ).fetchall()
    assert rows == [("run-1",), ("run-2",)]

    failing = PostgresRowExporter(cluster.dsn(), schema=prefix, login=EntraLogin(role, FailingCredential()))
    with pytest.raises(TransientError) as failed:
        failing.export("contoso", "results", "run-3", [])
    assert failed.value.message == f"export to {prefix}__contoso.results: no access token for PostgreSQL"
    assert_no_token_anywhere(logs, credential.issued, failed.value.message)


# --- the wiring: DQ_PG_AUTH, DQ_PG_USER, the credential ---------------------------------------------


def test_settings_default_to_password_and_read_entra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DQ_PG_AUTH", "DQ_PG_USER"):
        monkeypatch.setenv(name, "")
    assert (AppSettings().pg_auth, AppSettings().pg_user) == ("password", None)
    monkeypatch.setenv("DQ_PG_AUTH", "entra")
    monkeypatch.setenv("DQ_PG_USER", "id-dq-dev")
    assert (AppSettings().pg_auth, AppSettings().pg_user) == ("entra", "id-dq-dev")
    monkeypatch.setenv("DQ_PG_AUTH", "kerberos")
    with pytest.raises(ValueError, match="pg_auth"):
        AppSettings()


def test_the_identity_in_azure_and_the_default_chain_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    assert isinstance(bootstrap._pg_credential(), ManagedIdentityCredential)
    monkeypatch.delenv("AZURE_CLIENT_ID")
    assert isinstance(bootstrap._pg_credential(), DefaultAzureCredential)
    assert bootstrap.pg_login(AppSettings(pg_auth="password")) is None
    with pytest.raises(ConfigError, match="DQ_PG_USER"):
        bootstrap.pg_login(AppSettings(pg_auth="entra"))


def test_bootstrap_wires_entra_sign_in_into_the_registry_and_the_exporter(
    cluster: Cluster, role: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = RotatingCredential(cluster, role)
    built: list[RotatingCredential] = []

    def build() -> RotatingCredential:
        built.append(credential)
        return credential

    monkeypatch.setattr(bootstrap, "_pg_credential", build)
    for variable in ("DQ_STORAGE_ACCOUNT", "DQ_STORAGE_CONNECTION", "DQ_KEY_VAULT_URL"):
        monkeypatch.delenv(variable, raising=False)
    settings = AppSettings(pg_dsn=cluster.dsn(), pg_schema=schema, pg_auth="entra", pg_user=role)
    wired = bootstrap.stores(tmp_path, settings)
    try:
        assert len(built) == 1  # one credential (and its token cache) for the registry and the exporter
        assert credential.asked == []  # built, not connected: the host starts without the registry
        wired.contracts.put(rules(), actor="ann")
        assert wired.rows.export("contoso", "results", "run-1", [ExportRow("run", 0, {})]) == 1
    finally:
        wired.contracts.close()
    assert len(credential.asked) == cluster.connections_of(role) >= 3


def test_a_host_starts_while_the_registry_is_unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "_pg_credential", FailingCredential)
    settings = AppSettings(pg_dsn=f"host=127.0.0.1 port={_free_port()} dbname=dq", pg_auth="entra", pg_user="id-dq")
    wired = bootstrap.stores(tmp_path, settings)  # the old code connected here, and failed
    try:
        with pytest.raises(TransientError):
            wired.contracts.tenants("dev")
    finally:
        wired.contracts.close()

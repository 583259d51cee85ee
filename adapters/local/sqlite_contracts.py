"""SQLite ContractStore: the registry for `dq` on a laptop, same rules as PostgreSQL's."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from dq_core.config.base import Environment, Kind, ObjectKey, Status, Versioned
from dq_core.config.canonical import canonical_json, content_hash
from dq_core.errors import ObjectNotFound
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS config_objects (
    tenant TEXT NOT NULL, environment TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, version TEXT NOT NULL,
    status TEXT NOT NULL, document TEXT NOT NULL, sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL, approvals TEXT NOT NULL DEFAULT '[]',
    modified_by TEXT NOT NULL,
    PRIMARY KEY (tenant, environment, kind, id, version)
);
CREATE TRIGGER IF NOT EXISTS versions_start_as_drafts BEFORE INSERT ON config_objects
WHEN NEW.status <> 'draft' AND NOT (NEW.status = 'published' AND NEW.approvals <> '[]')
BEGIN SELECT RAISE(ABORT, 'lifecycle: a new version starts as a draft'); END;
CREATE TRIGGER IF NOT EXISTS lifecycle_transitions BEFORE UPDATE OF status ON config_objects
WHEN NEW.status <> OLD.status AND (OLD.status || '>' || NEW.status) NOT IN
    ('draft>approved', 'approved>published', 'approved>draft', 'published>deprecated')
BEGIN SELECT RAISE(ABORT, 'lifecycle: this status change is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS publish_needs_approval BEFORE UPDATE OF status ON config_objects
WHEN NEW.status IN ('approved', 'published') AND NEW.approvals = '[]'
BEGIN SELECT RAISE(ABORT, 'lifecycle: approve it first'); END;
CREATE TRIGGER IF NOT EXISTS published_is_immutable BEFORE UPDATE OF document, sha256 ON config_objects
WHEN OLD.status <> 'draft' BEGIN SELECT RAISE(ABORT, 'immutable: only a draft may change its content'); END;
CREATE TRIGGER IF NOT EXISTS published_is_kept BEFORE DELETE ON config_objects
WHEN OLD.status IN ('published', 'deprecated')
BEGIN SELECT RAISE(ABORT, 'immutable: a published version cannot be deleted'); END;
"""
KEY_MATCH = "tenant=? AND environment=? AND kind=? AND id=? AND version=?"
COLUMNS = (
    "tenant, environment, kind, id, version, status, document, sha256, created_by, created_at, approvals, modified_by"
)


class SqliteContractStore:
    """One SQLite file; writes serialised by SQLite's own lock (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path | str) -> None:
        self._path = str(path)
        self._local = threading.local()
        self._db().executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _row(row: tuple[str, ...]) -> StoredObject:
        tenant, environment, kind, id_, version, status, document, sha256, by, at, approvals, modified_by = row
        return StoredObject(
            tenant=tenant,
            environment=environment,
            key=ObjectKey(kind=Kind(kind), id=id_, version=version),
            status=Status(status),
            sha256=sha256,
            created_by=by,
            created_at=datetime.fromisoformat(at),
            modified_by=modified_by,
            approvals=tuple(Approval.model_validate(a) for a in json.loads(approvals)),
            document=json.loads(document),
        )

    def _fetch(self, db: sqlite3.Connection, tenant: str, environment: str, key: ObjectKey) -> StoredObject | None:
        row = db.execute(
            f"SELECT {COLUMNS} FROM config_objects WHERE tenant=? AND environment=? AND kind=? AND id=? AND version=?",  # noqa: S608 - fixed column list
            (tenant, environment, key.kind.value, key.id, key.version),
        ).fetchone()
        return self._row(row) if row else None

    # --- ConfigReader ---------------------------------------------------------------

    def get(self, tenant: str, environment: str, key: ObjectKey) -> Versioned:
        return self.record(tenant, environment, key).to_object()

    def versions(self, tenant: str, environment: str, kind: Kind, object_id: str) -> list[str]:
        rows = (
            self._db()
            .execute(
                "SELECT version FROM config_objects WHERE tenant=? AND environment=? AND kind=? AND id=?",
                (tenant, environment, kind.value, object_id),
            )
            .fetchall()
        )
        return sorted((r[0] for r in rows), key=semver_key)

    # --- ContractStore --------------------------------------------------------------

    def record(self, tenant: str, environment: str, key: ObjectKey) -> StoredObject:
        found = self._fetch(self._db(), tenant, environment, key)
        if found is None:
            msg = f"{key} does not exist in {tenant}/{environment}"
            raise ObjectNotFound(msg)
        return found

    def tenants(self, environment: str) -> list[str]:
        rows = self._db().execute("SELECT DISTINCT tenant FROM config_objects WHERE environment=?", (environment,))
        return sorted(str(row[0]) for row in rows.fetchall())

    def list(self, tenant: str, environment: str, kind: Kind | None = None) -> list[StoredObject]:
        query = f"SELECT {COLUMNS} FROM config_objects WHERE tenant=? AND environment=?"  # noqa: S608
        args: tuple[str, ...] = (tenant, environment)
        if kind is not None:
            query += " AND kind=?"
            args += (kind.value,)
        rows = [self._row(r) for r in self._db().execute(query + " ORDER BY kind, id", args).fetchall()]
        return sorted(rows, key=lambda s: (s.key.kind.value, s.key.id, semver_key(s.key.version)))

    def put(self, obj: Versioned, *, actor: str, expected_sha256: str | None = None) -> PutOutcome:
        document = canonical_json(obj.with_status(Status.DRAFT)).decode("utf-8")
        sha = content_hash(obj)
        now = datetime.now(UTC).isoformat()
        with self._tx() as db:
            existing = self._fetch(db, obj.tenant, obj.environment.value, obj.key)
            if existing is None:
                db.execute(
                    f"INSERT INTO config_objects ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
                    (
                        obj.tenant,
                        obj.environment.value,
                        obj.kind.value,
                        obj.id,
                        obj.version,
                        Status.DRAFT.value,  # every version starts as a draft
                        document,
                        sha,
                        actor,
                        now,
                        "[]",
                        actor,
                    ),
                )
                return PutOutcome.CREATED
            if existing.sha256 == sha:
                return PutOutcome.UNCHANGED
            check_replace(existing, sha, expected_sha256)
            db.execute(
                "UPDATE config_objects SET document=?, sha256=?, modified_by=? WHERE " + KEY_MATCH,  # noqa: S608
                (document, sha, actor, obj.tenant, obj.environment.value, obj.kind.value, obj.id, obj.version),
            )
            return PutOutcome.UPDATED

    def transition(self, tenant: str, environment: str, key: ObjectKey, target: Status, *, actor: str) -> StoredObject:
        with self._tx() as db:
            stored = self._fetch(db, tenant, environment, key)
            if stored is None:
                msg = f"{key} does not exist in {tenant}/{environment}"
                raise ObjectNotFound(msg)
            check_transition(stored, target, actor)
            approvals = list(stored.approvals)
            if target is Status.APPROVED:
                approvals.append(Approval(actor=actor, at=datetime.now(UTC)))
            db.execute(
                "UPDATE config_objects SET status=?, approvals=? WHERE " + KEY_MATCH,  # noqa: S608 - constants only
                (
                    target.value,
                    json.dumps([a.model_dump(mode="json") for a in approvals]),
                    tenant,
                    environment,
                    key.kind.value,
                    key.id,
                    key.version,
                ),
            )
            updated = self._fetch(db, tenant, environment, key)
        assert updated is not None  # noqa: S101 - just written in the same transaction
        return updated

    def promote(self, tenant: str, environment: str, key: ObjectKey, *, actor: str) -> StoredObject:
        target = next_environment(environment).value
        stored = self.record(tenant, environment, key)
        if stored.status is not Status.PUBLISHED:
            msg = f"{key} is {stored.status.value}: only published versions are promoted"
            raise LifecycleError(msg)
        copy = stored.to_object().model_copy(update={"environment": Environment(target)})
        for reference in copy.references():
            ref_key = ObjectKey(kind=reference.kind, id=reference.ref.id, version=reference.ref.version)
            there = self._fetch(self._db(), tenant, target, ref_key)
            if there is None or there.status is not Status.PUBLISHED:
                msg = f"cannot promote {key} to {target}: {ref_key} ({reference.path}) is not published there"
                raise LifecycleError(msg)
            check_same_content(ref_key, self.record(tenant, environment, ref_key).sha256, there, environment)
        sha = content_hash(copy)
        with self._tx() as db:
            existing = self._fetch(db, tenant, target, key)
            if existing is not None:
                if existing.sha256 != sha:
                    msg = f"{key} already exists in {target} with other content"
                    raise ConflictError(msg)
                return existing
            db.execute(
                f"INSERT INTO config_objects ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
                (
                    tenant,
                    target,
                    key.kind.value,
                    key.id,
                    key.version,
                    Status.PUBLISHED.value,
                    canonical_json(copy.with_status(Status.DRAFT)).decode("utf-8"),
                    sha,
                    actor,
                    datetime.now(UTC).isoformat(),
                    json.dumps([a.model_dump(mode="json") for a in stored.approvals]),
                    stored.modified_by,
                ),
            )
        return self.record(tenant, target, key)

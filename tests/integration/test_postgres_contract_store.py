"""PostgresContractStore against a real PostgreSQL: the rules in Python and, bypassing
Python, the same rules in SQL; races; tenant isolation; migrations."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

import adapters.postgres.contract_store as module
from adapters.postgres.contract_store import PostgresContractStore, PostgresStoreError, migration_files
from dq_core.config.base import Kind, ObjectKey, Status, Versioned
from dq_core.config.canonical import canonical_json, content_hash
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.errors import ConfigError, ObjectNotFound, TransientError
from dq_core.registry.models import ConflictError, LifecycleError, PutOutcome

pytestmark = pytest.mark.integration

RULES = ObjectKey(kind=Kind.RULE_LIBRARY, id="core", version="1.0.0")
CONTRACT = ObjectKey(kind=Kind.CONTRACT, id="customers", version="1.0.0")


def rules(tenant: str = "a", env: str = "dev", message: str = "", version: str = "1.0.0") -> Versioned:
    return CONFIG_OBJECT_ADAPTER.validate_python(
        {
            "kind": "rule_library",
            "tenant": tenant,
            "environment": env,
            "id": "core",
            "version": version,
            "rules": [{"id": "nn", "type": "not_null", "message": message}],
        }
    )


def contract(env: str = "dev") -> Versioned:
    return CONFIG_OBJECT_ADAPTER.validate_python(
        {
            "kind": "contract",
            "tenant": "a",
            "environment": env,
            "id": "customers",
            "version": "1.0.0",
            "rule_libraries": ["core@1.0.0"],
            "datasets": [{"name": "d", "columns": [{"name": "x"}]}],
        }
    )


@pytest.fixture
def dsn() -> str:
    return os.environ["DQ_TEST_PG_DSN"]


@pytest.fixture
def schema(dsn: str) -> Iterator[str]:
    name = "pgstore_" + uuid.uuid4().hex[:12]
    yield name
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def store(dsn: str, schema: str) -> Iterator[PostgresContractStore]:
    opened = PostgresContractStore.connect(dsn, schema=schema)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def raw(dsn: str, schema: str, store: PostgresContractStore) -> Iterator[psycopg.Connection[Any]]:
    """A plain connection to the store's schema: SQL that bypasses the adapter entirely."""
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as db:
        yield db


def publish(store: PostgresContractStore, key: ObjectKey, env: str = "dev") -> None:
    store.transition("a", env, key, Status.APPROVED, actor="approver")
    store.transition("a", env, key, Status.PUBLISHED, actor="approver")


def sqlstate_of(raw: psycopg.Connection[Any], statement: str) -> str | None:
    with pytest.raises(psycopg.Error) as caught:
        raw.execute(statement)
    return caught.value.sqlstate


# --- put / get ---------------------------------------------------------------------------


def test_put_get_round_trip_returns_an_equal_object(store: PostgresContractStore) -> None:
    assert store.put(contract(), actor="author") is PutOutcome.CREATED
    assert store.get("a", "dev", CONTRACT) == contract()
    record = store.record("a", "dev", CONTRACT)
    assert record.sha256 == content_hash(contract())
    assert record.document == json.loads(canonical_json(contract()))
    assert (record.status, record.created_by, record.approvals) == (Status.DRAFT, "author", ())
    assert record.created_at.tzinfo is not None


def test_same_content_again_is_unchanged(store: PostgresContractStore) -> None:
    assert store.put(rules(), actor="author") is PutOutcome.CREATED
    assert store.put(rules(), actor="someone-else") is PutOutcome.UNCHANGED
    assert store.record("a", "dev", RULES).created_by == "author"


def test_other_content_replaces_a_draft(store: PostgresContractStore) -> None:
    store.put(rules(), actor="author")
    assert store.put(rules(message="changed"), actor="author") is PutOutcome.UPDATED
    assert store.get("a", "dev", RULES) == rules(message="changed")
    assert store.record("a", "dev", RULES).sha256 == content_hash(rules(message="changed"))
    assert store.versions("a", "dev", Kind.RULE_LIBRARY, "core") == ["1.0.0"]


def test_changed_content_of_a_published_version_is_a_conflict(store: PostgresContractStore) -> None:
    store.put(rules(), actor="author")
    publish(store, RULES)
    with pytest.raises(ConflictError, match="immutable"):
        store.put(rules(message="edited after publishing"), actor="author")
    assert store.get("a", "dev", RULES) == rules().with_status(Status.PUBLISHED)
    assert store.put(rules(), actor="author") is PutOutcome.UNCHANGED


def test_versions_are_sorted_semantically_and_list_filters_by_kind(store: PostgresContractStore) -> None:
    for version in ("1.10.0", "1.2.0", "1.2.0-rc1", "0.9.0"):
        store.put(rules(version=version), actor="author")
    store.put(contract(), actor="author")
    ordered = ["0.9.0", "1.2.0-rc1", "1.2.0", "1.10.0"]
    assert store.versions("a", "dev", Kind.RULE_LIBRARY, "core") == ordered
    assert [r.key.version for r in store.list("a", "dev", Kind.RULE_LIBRARY)] == ordered
    assert [r.key.kind for r in store.list("a", "dev")] == [Kind.CONTRACT] + [Kind.RULE_LIBRARY] * 4
    assert store.versions("a", "dev", Kind.RULE_LIBRARY, "missing") == []


# --- the SQL trigger, bypassing Python ---------------------------------------------------


def test_sql_refuses_editing_or_deleting_a_published_row(store: PostgresContractStore, raw: Any) -> None:
    store.put(rules(), actor="author")
    edit = "UPDATE config_objects SET document = document || '{\"description\": \"raw\"}', sha256 = repeat('1', 64)"
    raw.execute(edit)  # a draft: allowed
    assert store.get("a", "dev", RULES).description == "raw"
    assert store.put(rules(), actor="author") is PutOutcome.UPDATED  # back to the hashed content
    publish(store, RULES)
    assert sqlstate_of(raw, 'UPDATE config_objects SET document = document || \'{"description": "x"}\'') == "DQ002"
    assert sqlstate_of(raw, "UPDATE config_objects SET sha256 = repeat('0', 64)") == "DQ002"
    assert sqlstate_of(raw, "UPDATE config_objects SET created_by = 'approver'") == "DQ002"
    assert sqlstate_of(raw, "DELETE FROM config_objects") == "DQ001"
    assert sqlstate_of(raw, "TRUNCATE config_objects") == "DQ001"
    assert store.get("a", "dev", RULES) == rules().with_status(Status.PUBLISHED)


def test_sql_refuses_self_approval_and_skipped_steps(store: PostgresContractStore, raw: Any) -> None:
    store.put(rules(), actor="author")
    approve_as = "UPDATE config_objects SET status = 'approved', approvals = approvals || jsonb_build_array("
    own = approve_as + "jsonb_build_object('actor', created_by, 'at', now()))"
    other = approve_as + "jsonb_build_object('actor', 'approver', 'at', now()))"
    assert sqlstate_of(raw, own) == "DQ001"
    assert sqlstate_of(raw, "UPDATE config_objects SET status = 'approved'") == "DQ001"  # no approval recorded
    assert sqlstate_of(raw, "UPDATE config_objects SET status = 'published'") == "DQ001"  # draft -> published
    assert store.record("a", "dev", RULES).status is Status.DRAFT
    raw.execute(other)  # the rules allow this
    assert sqlstate_of(raw, "UPDATE config_objects SET approvals = '[]'") == "DQ001"  # approvals are append-only
    raw.execute("UPDATE config_objects SET status = 'published'")
    assert sqlstate_of(raw, "UPDATE config_objects SET status = 'draft'") == "DQ001"
    raw.execute("UPDATE config_objects SET status = 'deprecated'")
    assert sqlstate_of(raw, "UPDATE config_objects SET status = 'published'") == "DQ001"
    assert [a.actor for a in store.record("a", "dev", RULES).approvals] == ["approver"]


def test_trigger_errors_become_lifecycle_and_conflict_errors(
    store: PostgresContractStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "check_transition", lambda *args: None)  # only SQL guards now
    monkeypatch.setattr(module, "check_replace", lambda *args: None)
    store.put(rules(), actor="author")
    with pytest.raises(LifecycleError, match="someone else must approve"):
        store.transition("a", "dev", RULES, Status.APPROVED, actor="author")
    with pytest.raises(LifecycleError, match="cannot become published"):
        store.transition("a", "dev", RULES, Status.PUBLISHED, actor="approver")
    publish(store, RULES)
    with pytest.raises(ConflictError, match="immutable"):
        store.put(rules(message="edited"), actor="author")
    assert store.record("a", "dev", RULES).sha256 == content_hash(rules())


# --- lifecycle ---------------------------------------------------------------------------


def test_lifecycle_happy_path(store: PostgresContractStore) -> None:
    store.put(rules(), actor="author")
    approved = store.transition("a", "dev", RULES, Status.APPROVED, actor="reviewer")
    assert approved.status is Status.APPROVED and [a.actor for a in approved.approvals] == ["reviewer"]
    assert store.transition("a", "dev", RULES, Status.DRAFT, actor="author").status is Status.DRAFT
    store.transition("a", "dev", RULES, Status.APPROVED, actor="approver")
    published = store.transition("a", "dev", RULES, Status.PUBLISHED, actor="approver")
    assert published.status is Status.PUBLISHED
    assert [a.actor for a in published.approvals] == ["reviewer", "approver"]
    assert store.get("a", "dev", RULES).status is Status.PUBLISHED
    deprecated = store.transition("a", "dev", RULES, Status.DEPRECATED, actor="admin")
    assert deprecated.status is Status.DEPRECATED and deprecated.sha256 == content_hash(rules())


def test_lifecycle_refusals(store: PostgresContractStore) -> None:
    store.put(rules(), actor="author")
    with pytest.raises(LifecycleError, match="someone else must approve"):
        store.transition("a", "dev", RULES, Status.APPROVED, actor="author")
    with pytest.raises(LifecycleError, match="cannot become published"):
        store.transition("a", "dev", RULES, Status.PUBLISHED, actor="approver")
    assert store.record("a", "dev", RULES).status is Status.DRAFT
    publish(store, RULES)
    store.transition("a", "dev", RULES, Status.DEPRECATED, actor="admin")
    with pytest.raises(LifecycleError, match="cannot become draft"):
        store.transition("a", "dev", RULES, Status.DRAFT, actor="admin")
    assert store.record("a", "dev", RULES).status is Status.DEPRECATED


# --- promotion ---------------------------------------------------------------------------


def test_promotion_dev_test_prod_follows_references(store: PostgresContractStore) -> None:
    store.put(rules(), actor="author")
    store.put(contract(), actor="author")
    with pytest.raises(LifecycleError, match="only published"):
        store.promote("a", "dev", CONTRACT, actor="release")
    publish(store, RULES)
    publish(store, CONTRACT)
    with pytest.raises(LifecycleError, match="not published there"):
        store.promote("a", "dev", CONTRACT, actor="release")
    store.put(rules(env="test"), actor="someone")  # a draft in test is not enough
    with pytest.raises(LifecycleError, match=r"not published there: rule_library core@1.0.0 \(rule_libraries\[0\]\)"):
        store.promote("a", "dev", CONTRACT, actor="release")
    publish(store, RULES, env="test")

    promoted = store.promote("a", "dev", CONTRACT, actor="release")
    assert (promoted.environment, promoted.status, promoted.created_by) == ("test", Status.PUBLISHED, "release")
    assert promoted.document["environment"] == "test"
    assert promoted.sha256 == content_hash(contract("test")) != store.record("a", "dev", CONTRACT).sha256
    assert [a.actor for a in promoted.approvals] == ["approver"]
    assert store.get("a", "test", CONTRACT) == contract("test").with_status(Status.PUBLISHED)
    again = store.promote("a", "dev", CONTRACT, actor="someone-else")
    assert (again.created_by, again.created_at) == ("release", promoted.created_at)  # a no-op

    with pytest.raises(LifecycleError, match="not published there"):
        store.promote("a", "test", CONTRACT, actor="release")
    store.promote("a", "test", RULES, actor="release")
    assert store.promote("a", "test", CONTRACT, actor="release").environment == "prod"
    assert store.get("a", "prod", CONTRACT) == contract("prod").with_status(Status.PUBLISHED)
    with pytest.raises(LifecycleError, match="no next environment"):
        store.promote("a", "prod", CONTRACT, actor="release")


def test_promotion_refuses_other_content_in_the_next_environment(store: PostgresContractStore) -> None:
    store.put(rules(), actor="author")
    publish(store, RULES)
    store.put(rules(env="test", message="written in test"), actor="author")
    with pytest.raises(ConflictError, match="other content"):
        store.promote("a", "dev", RULES, actor="release")
    assert store.get("a", "test", RULES) == rules(env="test", message="written in test")


# --- concurrency ---------------------------------------------------------------------------


def _race(store: PostgresContractStore, objects: list[Versioned]) -> list[str]:
    barrier = threading.Barrier(len(objects))

    def write(obj: Versioned) -> str:
        barrier.wait()
        try:
            return store.put(obj, actor="writer").value
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=len(objects)) as pool:
        return list(pool.map(write, objects))


def test_twenty_concurrent_writers_of_a_new_version_leave_one_row(store: PostgresContractStore, raw: Any) -> None:
    objects = [rules(message="" if n % 2 == 0 else f"writer {n}") for n in range(20)]
    outcomes = _race(store, objects)
    assert outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "unchanged", "updated"}
    assert raw.execute("SELECT count(*) FROM config_objects").fetchone()[0] == 1
    stored = store.record("a", "dev", RULES)
    assert stored.sha256 in {content_hash(obj) for obj in objects}
    assert store.get("a", "dev", RULES).model_dump() in [obj.model_dump() for obj in objects]


def test_twenty_concurrent_writers_of_a_published_version_conflict(store: PostgresContractStore, raw: Any) -> None:
    store.put(rules(), actor="author")
    publish(store, RULES)
    outcomes = _race(store, [rules(message="" if n % 2 == 0 else f"writer {n}") for n in range(20)])
    assert sorted(outcomes) == ["conflict"] * 10 + ["unchanged"] * 10
    assert raw.execute("SELECT count(*) FROM config_objects").fetchone()[0] == 1
    assert store.get("a", "dev", RULES) == rules().with_status(Status.PUBLISHED)


# --- tenants -------------------------------------------------------------------------------


def test_tenant_b_never_reaches_tenant_a(store: PostgresContractStore) -> None:
    store.put(rules("a"), actor="author")
    publish(store, RULES)
    with pytest.raises(ObjectNotFound):
        store.get("b", "dev", RULES)
    with pytest.raises(ObjectNotFound):
        store.record("b", "dev", RULES)
    with pytest.raises(ObjectNotFound):
        store.transition("b", "dev", RULES, Status.DEPRECATED, actor="x")
    with pytest.raises(ObjectNotFound):
        store.promote("b", "dev", RULES, actor="x")
    assert store.list("b", "dev") == [] and store.versions("b", "dev", Kind.RULE_LIBRARY, "core") == []
    assert store.put(rules("b", message="b's own"), actor="b-author") is PutOutcome.CREATED  # same key, other tenant
    assert store.get("a", "dev", RULES) == rules("a").with_status(Status.PUBLISHED)
    assert [s.tenant for s in store.list("b", "dev")] == ["b"]
    assert store.record("a", "dev", RULES).status is Status.PUBLISHED


# --- migrations and errors -------------------------------------------------------------------


def test_migrations_are_applied_once(dsn: str, schema: str) -> None:
    with PostgresContractStore.connect(dsn, schema=schema) as first:
        first.put(rules(), actor="author")
    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent migrators wait on the advisory lock
        stores = list(pool.map(lambda _: PostgresContractStore.connect(dsn, schema=schema, pool_size=2), range(4)))
    try:
        assert stores[0].get("a", "dev", RULES) == rules()
    finally:
        for opened in stores:
            opened.close()
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as db:
        applied = db.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert applied == [(version, path.stem) for version, path in migration_files()]
    assert applied[0] == (1, "0001_registry")


def test_bad_schema_names_are_refused(dsn: str) -> None:
    with pytest.raises(ConfigError):
        PostgresContractStore.connect(dsn, schema="x; DROP TABLE y")


def test_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError) as caught:
        PostgresContractStore.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", schema="nowhere")
    assert "\n" not in caught.value.message


def test_other_database_errors_are_platform_errors(store: PostgresContractStore, raw: Any) -> None:
    raw.execute("ALTER TABLE config_objects RENAME TO moved")
    with pytest.raises(PostgresStoreError, match="42P01"):
        store.list("a", "dev")

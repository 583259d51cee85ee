"""The ContractStore port: the same behaviour from SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dq_core.config.base import Kind, ObjectKey, Status
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.errors import ObjectNotFound
from dq_core.registry.models import ConflictError, LifecycleError, PutOutcome

pytestmark = pytest.mark.integration
RULES = ObjectKey(kind=Kind.RULE_LIBRARY, id="core", version="1.0.0")
CONTRACT = ObjectKey(kind=Kind.CONTRACT, id="customers", version="1.0.0")


def rules(tenant: str = "a", env: str = "dev", message: str = "") -> Any:
    return CONFIG_OBJECT_ADAPTER.validate_python(
        {
            "kind": "rule_library",
            "tenant": tenant,
            "environment": env,
            "id": "core",
            "version": "1.0.0",
            "rules": [{"id": "nn", "type": "not_null", "message": message}],
        }
    )


def contract(env: str = "dev") -> Any:
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


def publish(store: Any, key: ObjectKey, env: str = "dev") -> None:  # approved by someone who wrote nothing
    store.transition("a", env, key, Status.APPROVED, actor="approver")
    store.transition("a", env, key, Status.PUBLISHED, actor="approver")


def test_put_get_round_trip_and_outcomes(contract_store: Any) -> None:
    assert contract_store.put(rules(), actor="author") is PutOutcome.CREATED
    assert contract_store.get("a", "dev", RULES) == rules()
    assert contract_store.put(rules(), actor="author") is PutOutcome.UNCHANGED
    assert contract_store.put(rules(message="changed"), actor="author") is PutOutcome.UPDATED
    record = contract_store.record("a", "dev", RULES)
    assert (record.status, record.created_by) == (Status.DRAFT, "author")
    assert contract_store.versions("a", "dev", Kind.RULE_LIBRARY, "core") == ["1.0.0"]


def test_lifecycle_rules(contract_store: Any) -> None:
    contract_store.put(rules(), actor="author")
    with pytest.raises(LifecycleError, match="someone else must approve"):
        contract_store.transition("a", "dev", RULES, Status.APPROVED, actor="author")
    with pytest.raises(LifecycleError):
        contract_store.transition("a", "dev", RULES, Status.PUBLISHED, actor="author")
    publish(contract_store, RULES)
    stored = contract_store.record("a", "dev", RULES)
    assert stored.status is Status.PUBLISHED and [a.actor for a in stored.approvals] == ["approver"]
    with pytest.raises(ConflictError, match="immutable"):
        contract_store.put(rules(message="edited after publishing"), actor="author")
    contract_store.transition("a", "dev", RULES, Status.DEPRECATED, actor="admin")
    with pytest.raises(LifecycleError):
        contract_store.transition("a", "dev", RULES, Status.DRAFT, actor="admin")


def test_promotion_needs_references_published_in_the_next_environment(contract_store: Any) -> None:
    contract_store.put(rules(), actor="author")
    contract_store.put(contract(), actor="author")
    publish(contract_store, RULES)
    publish(contract_store, CONTRACT)
    with pytest.raises(LifecycleError, match="not published there"):
        contract_store.promote("a", "dev", CONTRACT, actor="release")
    contract_store.promote("a", "dev", RULES, actor="release")
    promoted = contract_store.promote("a", "dev", CONTRACT, actor="release")
    assert promoted.environment == "test" and promoted.status is Status.PUBLISHED
    assert contract_store.get("a", "test", CONTRACT) == contract("test").with_status(Status.PUBLISHED)
    assert contract_store.promote("a", "dev", CONTRACT, actor="release").sha256 == promoted.sha256  # again: no-op
    with pytest.raises(LifecycleError):
        contract_store.promote("a", "prod", CONTRACT, actor="release")


def test_concurrent_writers_never_duplicate_a_version(contract_store: Any) -> None:
    contract_store.put(rules(), actor="author")
    publish(contract_store, RULES)

    def write(n: int) -> str:
        try:
            return contract_store.put(rules(message=f"writer {n % 2}" if n % 2 else ""), actor=f"w{n}").value
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(write, range(20)))
    assert set(outcomes) <= {"unchanged", "conflict"} and outcomes.count("conflict") == 10
    assert contract_store.versions("a", "dev", Kind.RULE_LIBRARY, "core") == ["1.0.0"]
    assert contract_store.get("a", "dev", RULES) == rules().with_status(Status.PUBLISHED)


def test_tenants_never_see_each_other(contract_store: Any) -> None:
    contract_store.put(rules("a"), actor="author")
    with pytest.raises(ObjectNotFound):
        contract_store.get("b", "dev", RULES)
    with pytest.raises(ObjectNotFound):
        contract_store.transition("b", "dev", RULES, Status.APPROVED, actor="x")
    assert contract_store.list("b", "dev") == [] and len(contract_store.list("a", "dev")) == 1
    assert contract_store.versions("b", "dev", Kind.RULE_LIBRARY, "core") == []


def test_every_version_starts_as_a_draft_and_editors_cannot_approve(contract_store: Any) -> None:
    contract_store.put(rules().with_status(Status.PUBLISHED), actor="mallory")  # the authored status is not taken
    assert contract_store.record("a", "dev", RULES).status is Status.DRAFT
    contract_store.put(rules(message="bob's edit"), actor="bob")
    stored = contract_store.record("a", "dev", RULES)
    assert (stored.created_by, stored.modified_by) == ("mallory", "bob")
    for writer in ("mallory", "bob"):
        with pytest.raises(LifecycleError, match="someone else must approve"):
            contract_store.transition("a", "dev", RULES, Status.APPROVED, actor=writer)
    contract_store.transition("a", "dev", RULES, Status.APPROVED, actor="carol")


def test_compare_and_swap_on_drafts(contract_store: Any) -> None:
    contract_store.put(rules(), actor="author")
    read = contract_store.record("a", "dev", RULES).sha256
    assert contract_store.put(rules(message="first"), actor="ann", expected_sha256=read) is PutOutcome.UPDATED
    with pytest.raises(ConflictError, match="changed since it was read"):
        contract_store.put(rules(message="second"), actor="bob", expected_sha256=read)


def test_promotion_refuses_a_reference_with_other_content_there(contract_store: Any) -> None:
    contract_store.put(rules(), actor="author")
    contract_store.put(contract(), actor="author")
    publish(contract_store, RULES)
    publish(contract_store, CONTRACT)
    contract_store.put(rules(env="test", message="not what dev has"), actor="author")
    publish(contract_store, RULES, env="test")
    with pytest.raises(LifecycleError, match="differs from dev"):
        contract_store.promote("a", "dev", CONTRACT, actor="release")


def test_tenants_of_an_environment(contract_store: Any) -> None:
    assert contract_store.tenants("dev") == []
    contract_store.put(rules("zeta"), actor="author")
    contract_store.put(rules("a"), actor="author")
    contract_store.put(rules("a", message="a second put of the same key"), actor="author")
    contract_store.put(rules("bc", env="test"), actor="author")
    assert contract_store.tenants("dev") == ["a", "zeta"]  # distinct, sorted, drafts count
    assert contract_store.tenants("test") == ["bc"]
    assert contract_store.tenants("prod") == []

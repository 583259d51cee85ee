"""Configuration routes over HTTP: drafts, lifecycle, diff, audit, refusals as problem+json.

Real stores (SQLite in tmp_path; one class over PostgreSQL), the real FastAPI app, called
through TestClient; callers picked by name (see conftest)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes_config import MAX_BODY_BYTES, KindPath
from dq_core.config.base import Kind
from dq_core.config.canonical import to_plain
from dq_core.ports import ContractStore
from services import workspace as service
from services.registry import diff_documents
from tests.api.conftest import TENANT, assert_problem, bearer, make_context
from tests.conftest import LIBRARIES

RULES = f"/api/tenants/{TENANT}/config/rule-libraries"
CORE = f"{RULES}/core/versions/1.0.0"


def rules_body(version: str = "1.0.0", message: str = "email is required", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "rule_library",
        "id": "core",
        "version": version,
        "description": "core rules",
        "rules": [{"id": "nn", "type": "not_null", "message": message}],
        **extra,
    }


def audit_events(client: TestClient) -> list[dict[str, Any]]:
    response = client.get(f"/api/tenants/{TENANT}/audit", headers=bearer("ada"))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def publish(client: TestClient, path: str = CORE) -> None:
    for action in ("approve", "publish"):
        response = client.post(f"{path}/{action}", headers=bearer("bob"))
        assert response.status_code == 200, response.text


class LifecycleOverHttp:
    """The same story over any registry: the subclasses pick the store."""

    def test_create_approve_publish_promote_deprecate(self, client: TestClient) -> None:
        created = client.post(RULES, json=rules_body(), headers=bearer("ann"))
        assert created.status_code == 201, created.text
        draft = created.json()
        assert draft["outcome"] == "created" and draft["before_sha256"] is None
        assert draft["object"]["status"] == "draft" and draft["object"]["created_by"] == "ann"
        assert draft["object"]["tenant"] == TENANT and draft["object"]["environment"] == "dev"
        assert draft["object"]["content"]["rules"][0]["message"] == "email is required"
        assert created.headers["location"] == CORE
        sha = draft["object"]["sha256"]

        approved = client.post(f"{CORE}/approve", headers=bearer("bob"))
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        assert [a["actor"] for a in approved.json()["approvals"]] == ["bob"]
        published = client.post(f"{CORE}/publish", headers=bearer("bob"))
        assert published.json()["status"] == "published" and published.json()["sha256"] == sha
        promoted = client.post(f"{CORE}/promote", headers=bearer("bob"))
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["environment"] == "test" and promoted.json()["status"] == "published"
        deprecated = client.post(f"{CORE}/deprecate", headers=bearer("bob"))
        assert deprecated.json()["status"] == "deprecated"

        read = client.get(CORE, headers=bearer("rita"))
        assert read.status_code == 200 and read.json()["status"] == "deprecated"
        assert read.headers["etag"] == f'"{sha}"'
        events = audit_events(client)
        assert [(e["action"], e["actor"]) for e in events] == [
            ("create", "ann"),
            ("approve", "bob"),
            ("publish", "bob"),
            ("promote", "bob"),
            ("deprecate", "bob"),
        ]
        for event in events:
            assert event["object"] == "rule_library core@1.0.0" and event["correlation_id"]
            assert event["after_sha256"] == (promoted.json()["sha256"] if event["action"] == "promote" else sha)
        assert events[0]["before_sha256"] is None  # nothing was there before the draft
        assert all(e["before_sha256"] == sha for e in events[1:])
        assert events[3]["environment"] == "test" and promoted.json()["sha256"] != sha  # the environment is content

    def test_published_content_is_immutable(self, client: TestClient) -> None:
        assert client.post(RULES, json=rules_body(), headers=bearer("ann")).status_code == 201
        publish(client)
        before = client.get(CORE, headers=bearer("rita")).json()
        changed = client.post(RULES, json=rules_body(message="changed"), headers=bearer("carl"))
        body = assert_problem(changed, 409, "version_conflict")
        assert "immutable" in body["detail"]
        after = client.get(CORE, headers=bearer("rita")).json()
        assert after["content"] == before["content"] and after["sha256"] == before["sha256"]
        denied = [e for e in audit_events(client) if e["action"] == "denied"]
        assert len(denied) == 1 and denied[0]["actor"] == "carl"
        assert denied[0]["before_sha256"] == before["sha256"] and denied[0]["after_sha256"] is None


@pytest.mark.integration
class TestLifecycleOverEveryRegistry(LifecycleOverHttp):
    """The same routes over the embedded SQLite registry and the real PostgreSQL one
    (the shared ``contract_store`` fixture of the port suites)."""

    @pytest.fixture
    def client(self, contract_store: ContractStore, tmp_path: Path) -> Iterator[TestClient]:
        ctx = make_context(tmp_path, contracts=contract_store)
        with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
            yield client

    def test_the_routes_use_the_store_given(self, client: TestClient, contract_store: ContractStore) -> None:
        assert client.post(RULES, json=rules_body(), headers=bearer("ann")).status_code == 201
        assert contract_store.versions(TENANT, "dev", Kind.RULE_LIBRARY, "core") == ["1.0.0"]


# --- drafts --------------------------------------------------------------------------------


def test_same_content_is_unchanged_and_a_draft_can_be_replaced(api_client: TestClient) -> None:
    first = api_client.post(RULES, json=rules_body(), headers=bearer("ann")).json()
    again = api_client.post(RULES, json=rules_body(), headers=bearer("ann"))
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    replaced = api_client.post(RULES, json=rules_body(message="new"), headers=bearer("carl"))
    assert replaced.status_code == 200 and replaced.json()["outcome"] == "updated"
    assert replaced.json()["before_sha256"] == first["object"]["sha256"]
    assert replaced.json()["object"]["modified_by"] == "carl"
    creates = [e for e in audit_events(api_client) if e["action"] == "create"]
    assert [(e["actor"], e["before_sha256"], e["after_sha256"]) for e in creates] == [
        ("ann", None, first["object"]["sha256"]),
        ("carl", first["object"]["sha256"], replaced.json()["object"]["sha256"]),
    ]


def test_if_match_refuses_a_stale_draft(api_client: TestClient) -> None:
    first = api_client.post(RULES, json=rules_body(), headers=bearer("ann"))
    etag = first.headers["etag"]
    assert api_client.post(RULES, json=rules_body(message="b"), headers=bearer("carl")).status_code == 200
    stale = api_client.post(RULES, json=rules_body(message="c"), headers=bearer("ann", **{"If-Match": etag}))
    assert_problem(stale, 409, "version_conflict")
    current = api_client.get(CORE, headers=bearer("ann"))
    fresh = api_client.post(
        RULES, json=rules_body(message="c"), headers=bearer("ann", **{"If-Match": current.headers["etag"]})
    )
    assert fresh.status_code == 200 and fresh.json()["outcome"] == "updated"


def test_tenant_and_environment_come_from_the_route_and_the_deployment(api_client: TestClient) -> None:
    without = api_client.post(RULES, json=rules_body(), headers=bearer("ann"))
    assert without.json()["object"]["content"]["tenant"] == TENANT
    assert without.json()["object"]["content"]["environment"] == "dev"
    other = api_client.post(RULES, json=rules_body(version="2.0.0", tenant="fabrikam"), headers=bearer("ann"))
    assert "fabrikam" in assert_problem(other, 400, "config_invalid")["detail"]
    prod = api_client.post(RULES, json=rules_body(version="2.0.0", environment="prod"), headers=bearer("ann"))
    assert_problem(prod, 400, "config_invalid")
    wrong_kind = api_client.post(RULES, json={**rules_body(version="2.0.0"), "kind": "catalog"}, headers=bearer("ann"))
    assert_problem(wrong_kind, 400, "config_invalid")
    huge = api_client.post(RULES, json=rules_body(version="2.0.0", tenant="x" * 100_000), headers=bearer("ann"))
    assert len(assert_problem(huge, 400, "config_invalid")["detail"]) < 200
    denied = [e for e in audit_events(api_client) if e["action"] == "denied"]
    assert len(denied) == 4 and all(e["actor"] == "ann" and e["correlation_id"] for e in denied)
    assert all(len(e["detail"]) < 200 for e in denied)
    assert api_client.get(f"{RULES}/core/versions/2.0.0", headers=bearer("ann")).status_code == 404


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"id": "core", "version": "1.0.0", "rules": [{"id": "nn", "type": "no_such_rule"}]}', "rules[0]"),
        (b'{"id": "core", "version": "1.0.0", "unknown": 1}', "unknown"),
        (b'{"id": "core"', "not valid JSON"),
        (b'["a list"]', "expected a JSON object"),
        (b'{"id": "core", "version": "1.0.0", "rules": [{"id": "r", "type": "range", "min": NaN}]}', "JSON"),
    ],
)
def test_an_invalid_body_is_a_one_line_problem(api_client: TestClient, body: bytes, needle: str) -> None:
    response = api_client.post(RULES, content=body, headers=bearer("ann", **{"Content-Type": "application/json"}))
    assert needle in assert_problem(response, 400, response.json().get("code", "?"))["detail"]
    assert response.json()["code"] in {"load_failed", "config_invalid"}
    assert api_client.get(RULES, headers=bearer("ann")).json()["items"] == []


def test_a_body_over_the_limit_is_refused(api_client: TestClient) -> None:
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = api_client.post(RULES, content=b'{"description": "' + padding.encode() + b'"}', headers=bearer("ann"))
    assert_problem(response, 413, "body_too_large")


def test_every_kind_of_the_demo_libraries_can_be_created(api_client: TestClient) -> None:
    workspace = service.workspace_from_directory(LIBRARIES)
    path_of = {path.kind: path for path in KindPath}
    assert set(path_of) == set(Kind)
    created: set[Kind] = set()
    for obj in workspace.index:
        body = to_plain(obj)
        response = api_client.post(
            f"/api/tenants/{obj.tenant}/config/{path_of[obj.kind].value}", json=body, headers=bearer("ann")
        )
        assert response.status_code == 201, response.text
        assert response.json()["object"]["kind"] == obj.kind.value
        created.add(obj.kind)
    assert created == set(Kind)
    jobs = api_client.get(f"/api/tenants/{TENANT}/config/jobs", headers=bearer("rita")).json()["items"]
    assert [job["id"] for job in jobs] == ["customers_daily"]


# --- reading --------------------------------------------------------------------------------


def test_list_versions_newest_and_filters(api_client: TestClient) -> None:
    for version in ("1.0.0", "1.10.0", "1.2.0"):
        assert api_client.post(RULES, json=rules_body(version=version), headers=bearer("ann")).status_code == 201
    publish(api_client, f"{RULES}/core/versions/1.2.0")
    versions = api_client.get(f"{RULES}/core/versions", headers=bearer("rita")).json()["items"]
    assert [v["version"] for v in versions] == ["1.0.0", "1.2.0", "1.10.0"]
    newest = api_client.get(f"{RULES}/core", headers=bearer("rita")).json()
    assert newest["version"] == "1.2.0"  # the newest published wins over a newer draft
    drafts = api_client.get(RULES, params={"status": "draft", "id": "core"}, headers=bearer("rita")).json()
    assert [v["version"] for v in drafts["items"]] == ["1.0.0", "1.10.0"]
    assert "content" not in drafts["items"][0]
    assert api_client.get(RULES, params={"id": "other"}, headers=bearer("rita")).json()["items"] == []


def test_unknown_objects_and_versions_are_404_problems(api_client: TestClient) -> None:
    api_client.post(RULES, json=rules_body(), headers=bearer("ann"))
    assert (
        "9.9.9"
        in assert_problem(api_client.get(f"{RULES}/core/versions/9.9.9", headers=bearer("rita")), 404, "not_found")[
            "detail"
        ]
    )
    assert_problem(api_client.get(f"{RULES}/nothing", headers=bearer("rita")), 404, "not_found")
    assert_problem(api_client.get(f"{RULES}/nothing/versions", headers=bearer("rita")), 404, "not_found")
    assert_problem(api_client.post(f"{RULES}/core/versions/9.9.9/approve", headers=bearer("bob")), 404, "not_found")


def test_path_parameters_are_validated(api_client: TestClient) -> None:
    assert_problem(api_client.get(f"{RULES}/Bad%20Id", headers=bearer("rita")), 400, "invalid_request")
    assert_problem(api_client.get(f"{RULES}/core/versions/1.0", headers=bearer("rita")), 400, "invalid_request")
    assert_problem(
        api_client.get(f"/api/tenants/{TENANT}/config/widgets", headers=bearer("rita")), 400, "invalid_request"
    )


def test_diff_lists_the_changed_fields_by_json_pointer(api_client: TestClient) -> None:
    api_client.post(RULES, json=rules_body(), headers=bearer("ann"))
    api_client.post(RULES, json=rules_body(version="1.1.0", message="email must be present"), headers=bearer("ann"))
    response = api_client.get(f"{RULES}/core/diff", params={"from": "1.0.0", "to": "1.1.0"}, headers=bearer("rita"))
    assert response.status_code == 200, response.text
    diff = response.json()
    changes = {change["path"]: change for change in diff["changes"]}
    assert set(changes) == {"/rules/0/message", "/version"}
    assert changes["/rules/0/message"] == {
        "op": "replace",
        "path": "/rules/0/message",
        "before": "email is required",
        "after": "email must be present",
    }
    assert diff["from_sha256"] != diff["to_sha256"]
    same = api_client.get(f"{RULES}/core/diff", params={"from": "1.0.0", "to": "1.0.0"}, headers=bearer("rita"))
    assert same.json()["changes"] == []
    missing = api_client.get(f"{RULES}/core/diff", params={"from": "1.0.0", "to": "3.0.0"}, headers=bearer("rita"))
    assert_problem(missing, 404, "not_found")


def test_diff_documents_escapes_pointers_and_sees_added_and_removed_items() -> None:
    before = {"a/b": 1, "m~n": [1, 2, 3], "gone": True, "same": {"x": 1}}
    after = {"a/b": 1.5, "m~n": [1, 2], "new": None, "same": {"x": 1}}
    changes = [(c.op, c.path, c.before, c.after) for c in diff_documents(before, after)]
    assert changes == [
        ("replace", "/a~1b", 1, 1.5),
        ("remove", "/gone", True, None),
        ("remove", "/m~0n/2", 3, None),
        ("add", "/new", None, None),
    ]
    assert [c.op for c in diff_documents([1], [1, {"k": 2}])] == ["add"]
    assert diff_documents({"x": 1}, {"x": True})[0].op == "replace"  # 1 and true are different JSON


# --- who may do what ------------------------------------------------------------------------


def test_the_author_cannot_approve_their_own_draft(api_client: TestClient) -> None:
    assert api_client.post(RULES, json=rules_body(), headers=bearer("ada")).status_code == 201
    own = api_client.post(f"{CORE}/approve", headers=bearer("ada"))
    assert "someone else must approve" in assert_problem(own, 409, "lifecycle_refused")["detail"]
    assert api_client.get(CORE, headers=bearer("rita")).json()["status"] == "draft"
    early = api_client.post(f"{CORE}/publish", headers=bearer("bob"))
    assert_problem(early, 409, "lifecycle_refused")
    denied = [e for e in audit_events(api_client) if e["action"] == "denied"]
    assert [e["actor"] for e in denied] == ["ada", "bob"]
    assert all(e["before_sha256"] and e["after_sha256"] is None for e in denied)
    assert "approve:" in denied[0]["detail"] and "publish:" in denied[1]["detail"]


def test_roles_are_checked_and_denied_changes_audited(api_client: TestClient) -> None:
    refused = api_client.post(RULES, json=rules_body(), headers=bearer("rita"))
    assert "author" in assert_problem(refused, 403, "forbidden")["detail"]
    assert api_client.get(RULES, headers=bearer("rita")).json()["items"] == []
    assert api_client.post(RULES, json=rules_body(), headers=bearer("ann")).status_code == 201
    assert_problem(api_client.post(f"{CORE}/approve", headers=bearer("ann")), 403, "forbidden")
    assert_problem(api_client.post(f"{CORE}/promote", headers=bearer("otto")), 403, "forbidden")
    assert_problem(api_client.get(f"/api/tenants/{TENANT}/audit", headers=bearer("bob")), 403, "forbidden")
    denied = [(e["actor"], e["object"]) for e in audit_events(api_client) if e["action"] == "denied"]
    assert denied == [
        ("rita", f"POST {RULES}"),
        ("ann", f"POST {CORE}/approve"),
        ("otto", f"POST {CORE}/promote"),
        ("bob", f"GET /api/tenants/{TENANT}/audit"),
    ]


def test_other_tenants_and_anonymous_callers_are_refused(api_client: TestClient) -> None:
    assert_problem(api_client.get(RULES), 401, "unauthenticated")
    assert_problem(api_client.get(RULES, headers=bearer("eve")), 403, "forbidden")
    assert_problem(api_client.post(RULES, json=rules_body(), headers=bearer("eve")), 403, "forbidden")
    assert api_client.get(RULES, headers=bearer("ann")).json()["items"] == []


def test_audit_events_carry_the_traceparent_trace_id(api_client: TestClient) -> None:
    trace = uuid.uuid4().hex
    traceparent = f"00-{trace}-{'a' * 16}-01"
    created = api_client.post(RULES, json=rules_body(), headers=bearer("ann", traceparent=traceparent))
    assert created.status_code == 201
    api_client.post(f"{CORE}/approve", headers=bearer("bob"))  # no traceparent: a generated id
    events = audit_events(api_client)
    assert events[0]["correlation_id"] == trace
    assert events[1]["correlation_id"] and events[1]["correlation_id"] != trace
    for event in events:
        assert event["actor"] and event["after_sha256"] and "before_sha256" in event


def test_the_audit_log_reads_a_time_window(api_client: TestClient) -> None:
    api_client.post(RULES, json=rules_body(), headers=bearer("ann"))
    now = datetime.now(UTC)
    audit = f"/api/tenants/{TENANT}/audit"
    window = {"since": (now - timedelta(minutes=5)).isoformat(), "until": (now + timedelta(minutes=5)).isoformat()}
    assert len(api_client.get(audit, params=window, headers=bearer("ada")).json()["events"]) == 1
    earlier = {"since": (now - timedelta(days=3)).isoformat(), "until": (now - timedelta(days=2)).isoformat()}
    assert api_client.get(audit, params=earlier, headers=bearer("ada")).json()["events"] == []
    backwards = {"since": window["until"], "until": window["since"]}
    assert_problem(api_client.get(audit, params=backwards, headers=bearer("ada")), 400, "config_invalid")
    for unclear in ({"until": "0.5"}, {"since": "2026-01-01T00:00:00"}):  # a number, no offset
        assert_problem(api_client.get(audit, params=unclear, headers=bearer("ada")), 400, "invalid_request")


def test_a_wrong_method_is_a_405_naming_every_allowed_method(api_client: TestClient) -> None:
    response = api_client.put(RULES, headers=bearer("ann"))
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


# --- the document -----------------------------------------------------------------------------


def test_the_openapi_document_describes_every_configuration_route(api_client: TestClient) -> None:
    document = api_client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        if path.startswith("/api/tenants/{tenant}/config") or path.endswith("/audit")
        for method, operation in item.items()
    }
    assert {op["operationId"] for op in operations.values()} == {
        "list_config_objects",
        "create_config_draft",
        "get_config_object",
        "list_config_versions",
        "get_config_version",
        "diff_config_versions",
        "approve_config_version",
        "publish_config_version",
        "deprecate_config_version",
        "promote_config_version",
        "read_audit_log",
    }
    for operation in operations.values():
        assert {"400", "401", "403", "404", "503"} <= set(operation["responses"])
    create = operations[("post", "/api/tenants/{tenant}/config/{kind}")]
    assert {"200", "201", "409", "413"} <= set(create["responses"])
    assert create["requestBody"]["content"]["application/json"]["schema"]["required"] == ["id", "version"]
    for action in ("approve", "publish", "deprecate", "promote"):
        path = f"/api/tenants/{{tenant}}/config/{{kind}}/{{id}}/versions/{{version}}/{action}"
        assert "409" in operations[("post", path)]["responses"]
    kinds = next(
        p for p in operations[("get", "/api/tenants/{tenant}/config/{kind}")]["parameters"] if p["name"] == "kind"
    )
    assert "jobs" in str(document["components"]["schemas"]["KindPath"]) and kinds["in"] == "path"

"""The API's security over HTTP, on a running ``dq serve`` that trusts a real JWKS issuer on 127.0.0.1.

* every hostile token (unsigned, ``alg: none``, HS256 signed with the public key, wrong issuer or
  audience, expired, not yet valid, unknown key, tampered payload, ...) is a 401 problem with
  ``WWW-Authenticate: Bearer``;
* a caller without a role, or with only DQ.Reader on a change, is a 403 problem;
* the cross-tenant matrix: EVERY operation of ``/api/openapi.json`` with a ``{tenant}`` path
  parameter, called for tenant B with an Admin token of tenant A, is a 403 — so routes added
  later are covered without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.auth_support import TokenFactory
from tests.registry_support import demo_registry
from tests.serve_support import served

TENANT, OTHER = "contoso", "fabrikam"
PROBE = f"/api/tenants/{TENANT}/config/contracts"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# plausible values for path, query and header parameters; each must match the parameter's pattern
PLAUSIBLE: dict[str, str] = {
    "version": "1.0.0",
    "from": "1.0.0",
    "to": "1.0.1",
    "job_id": "customers_daily",
    "job": "customers_daily",
    "dataset": "customers",
    "run_id": "run-0001",
    "instance_id": f"{OTHER}:customers_daily:0x8DC",
    "filename": "customers.csv",
    "x-file-name": "customers.csv",
    "if-match": "0" * 64,
}
FALLBACKS = ("customers", "1.0.0", "2026-11-26T00:00:00Z", "1")


@dataclass(frozen=True)
class Api:
    url: str
    factory: TokenFactory

    def bearer(self, *roles: str, tenants: tuple[str, ...] = (TENANT,), **claims: Any) -> dict[str, str]:
        return {"Authorization": self.factory.bearer(tenants=list(tenants), roles=list(roles), **claims)}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("serve-security")
    demo_registry(home / "registry.db")
    factory = TokenFactory()
    with factory.serve() as jwks, served(home, factory.settings_env(jwks.url)) as running:
        yield Api(url=running.url, factory=factory)


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{api.url}/api/openapi.json").json()
    return found


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    return body


# --- token attacks -----------------------------------------------------------------------------


def test_a_good_token_passes_so_the_refusals_below_mean_something(api: Api) -> None:
    response = httpx.get(api.url + PROBE, headers=api.bearer("DQ.Admin"))
    assert response.status_code == 200, response.text


def test_every_token_attack_is_a_401_with_www_authenticate(api: Api) -> None:
    attacks = api.factory.attacks(tenants=[TENANT], roles=["DQ.Admin"])
    required = {
        "unsigned_rs256",
        "alg_none",
        "hs256_with_public_key",
        "wrong_issuer",
        "wrong_audience",
        "expired",
        "not_yet_valid",
        "unknown_kid",
        "tampered_payload",
    }
    assert required <= set(attacks)
    statuses = {}
    for name, header in attacks.items():
        # trailing whitespace is not sent on the wire (HTTP strips it; httpx refuses it)
        response = httpx.get(api.url + PROBE, headers={"Authorization": header.rstrip()} if header else {})
        statuses[name] = response.status_code
        if response.status_code == 401:
            body = assert_problem(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"].startswith("Bearer"), name
            token = header.partition(" ")[2]
            assert not token or token not in body["detail"], f"{name}: the token is echoed"
    assert statuses == dict.fromkeys(attacks, 401)


def test_a_token_without_any_role_is_a_403(api: Api) -> None:
    assert_problem(httpx.get(api.url + PROBE, headers=api.bearer()), 403, "forbidden")


def test_a_token_for_another_tenant_is_a_403(api: Api) -> None:
    response = httpx.get(api.url + PROBE, headers=api.bearer("DQ.Admin", tenants=(OTHER,)))
    body = assert_problem(response, 403, "forbidden")
    assert TENANT in body["detail"]


# --- every operation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def tenant_operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method, path, spec)
        for path, item in document["paths"].items()
        if "{tenant}" in path
        for method, spec in item.items()
        if method in METHODS
    ]


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The parameter's schema: references followed, ``anyOf [X, null]`` reduced to X."""
    if "$ref" in schema:
        found: dict[str, Any] = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            found = found[part]
        return _schema(document, found)
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _schema(document, option)
    return schema


def plausible(document: dict[str, Any], parameter: dict[str, Any]) -> str:
    schema = _schema(document, parameter.get("schema", {}))
    if schema.get("enum"):
        return str(schema["enum"][0])
    name = parameter["name"]
    pattern = schema.get("pattern")
    for value in (PLAUSIBLE.get(name.lower()), *FALLBACKS):
        if value is not None and (pattern is None or re.search(pattern, value)):
            return value
    pytest.fail(f"no plausible value for parameter {name!r} (pattern {pattern!r}): extend PLAUSIBLE")


def call(api: Api, document: dict[str, Any], op: Operation, tenant: str, headers: dict[str, str]) -> httpx.Response:
    path, query, sent = op.path, {}, dict(headers)
    for parameter in op.spec.get("parameters", []):
        where, name = parameter["in"], parameter["name"]
        value = tenant if name == "tenant" else plausible(document, parameter)
        if where == "path":
            path = path.replace("{" + name + "}", value)
        elif where == "query" and parameter.get("required"):
            query[name] = value
        elif where == "header" and parameter.get("required"):
            sent[name] = value
    content = b""
    body = op.spec.get("requestBody")
    if body is not None:
        media = next(iter(body.get("content", {"application/json": {}})))
        sent["content-type"] = media
        content = b"{}" if "json" in media else b"id,name\n1,x\n"
    assert "{" not in path, f"{op}: unfilled path parameter"
    return httpx.request(op.method.upper(), api.url + path, params=query, headers=sent, content=content)


def test_the_cross_tenant_matrix_denies_every_operation(api: Api, document: dict[str, Any]) -> None:
    operations = tenant_operations(document)
    assert len(operations) >= 10
    declared = {(m, p) for p, item in document["paths"].items() if "{tenant}" in p for m in item if m in METHODS}
    assert {(op.method, op.path) for op in operations} == declared
    admin_of_a = api.bearer("DQ.Admin", tenants=(TENANT,))
    outcome = {str(op): call(api, document, op, OTHER, admin_of_a) for op in operations}
    assert {op: response.status_code for op, response in outcome.items()} == dict.fromkeys(outcome, 403)
    for response in outcome.values():
        assert_problem(response, 403, "forbidden")


def test_without_a_role_every_tenant_operation_is_a_403(api: Api, document: dict[str, Any]) -> None:
    operations = tenant_operations(document)
    outcome = {str(op): call(api, document, op, TENANT, api.bearer()).status_code for op in operations}
    assert outcome == dict.fromkeys(outcome, 403)


def test_a_reader_may_change_nothing_and_the_refusals_are_audited(api: Api, document: dict[str, Any]) -> None:
    changes = [op for op in tenant_operations(document) if op.method not in ("get", "head", "options")]
    assert changes
    reader = api.bearer("DQ.Reader", subject="00000000-0000-0000-0000-0000000000b2")
    outcome = {str(op): call(api, document, op, TENANT, reader).status_code for op in changes}
    assert outcome == dict.fromkeys(outcome, 403)

    log = httpx.get(f"{api.url}/api/tenants/{TENANT}/audit", headers=api.bearer("DQ.Admin"))
    assert log.status_code == 200, log.text
    denied = [e for e in log.json()["events"] if e["action"] == "denied" and e["actor"].endswith("0b2")]
    assert len(denied) == len(changes)


def test_unauthenticated_calls_of_every_tenant_operation_are_401s(api: Api, document: dict[str, Any]) -> None:
    operations = tenant_operations(document)
    outcome = {str(op): call(api, document, op, TENANT, {}) for op in operations}
    assert {op: r.status_code for op, r in outcome.items()} == dict.fromkeys(outcome, 401)
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in outcome.values())


def test_health_needs_no_token_and_reveals_no_tenant(api: Api) -> None:
    response = httpx.get(f"{api.url}/api/health")
    assert response.json() == {"status": "ok", "environment": "dev", "auth": "on"}

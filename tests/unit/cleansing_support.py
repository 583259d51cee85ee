"""Build bundles with a given cleansing policy (and limits, governance) for tests."""

from __future__ import annotations

from typing import Any

from dq_core.bundle.models import ResolvedBundle
from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.index import InMemoryConfigIndex
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER

HEADER = {"tenant": "t", "environment": "dev", "version": "1.0.0"}
CUSTOMER_COLUMNS = [{"name": "customer_id", "required": True}, {"name": "full_name"}, {"name": "email"}]


def bundle_with(
    steps: list[dict[str, Any]],
    columns: list[dict[str, Any]] | None = None,
    *,
    limits: dict[str, Any] | None = None,
    code_lists: list[dict[str, Any]] | None = None,
    classifications: list[dict[str, Any]] | None = None,
    unexpected_columns: str = "keep",
    phone_region: str | None = None,
    raw_value_roles: list[str] | None = None,
) -> ResolvedBundle:
    governance: dict[str, Any] = {"classifications": classifications or []}
    if raw_value_roles is not None:
        governance["raw_value_roles"] = raw_value_roles
    objects: list[dict[str, Any]] = [
        {**HEADER, "kind": "cleansing_policy", "id": "policy", "steps": steps},
        {**HEADER, "kind": "infra_profile", "id": "infra", "limits": limits or {}},
        {**HEADER, "kind": "schema_library", "id": "schemas", "code_lists": code_lists or []},
        {**HEADER, "kind": "governance_profile", "id": "gov", **governance},
        {
            **HEADER,
            "kind": "catalog",
            "id": "cat",
            "entities": [{"id": "e", "attributes": [{"id": c["name"]} for c in (columns or CUSTOMER_COLUMNS)]}],
        },
    ]
    contract = {
        **HEADER,
        "kind": "contract",
        "id": "c",
        "cleansing_policy": "policy@1.0.0",
        "infra_profile": "infra@1.0.0",
        "schema_libraries": ["schemas@1.0.0"],
        "governance_profile": "gov@1.0.0",
        "catalog": "cat@1.0.0",
        "default_phone_region": phone_region,
        "datasets": [
            {
                "name": "data",
                "unexpected_columns": unexpected_columns,
                "columns": [{**c, "attribute": f"e.{c['name']}"} for c in (columns or CUSTOMER_COLUMNS)],
            }
        ],
    }
    index = InMemoryConfigIndex()
    for data in objects:
        index.add(CONFIG_OBJECT_ADAPTER.validate_python(data), data["id"])
    parsed = CONFIG_OBJECT_ADAPTER.validate_python(contract)
    index.add(parsed, "contract")
    return resolve_bundle(index, parsed)  # type: ignore[arg-type]

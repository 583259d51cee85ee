"""Helpers for validation tests: build a bundle from inline rules, no libraries needed."""

from __future__ import annotations

from typing import Any

from dq_core.bundle.models import ResolvedBundle
from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract

COLUMNS = [
    {"name": "n", "logical_type": "integer"},
    {"name": "x", "logical_type": "number"},
    {"name": "s", "logical_type": "string"},
    {"name": "code", "logical_type": "string"},
    {"name": "d", "logical_type": "date"},
    {"name": "d2", "logical_type": "date"},
]


def bundle_of(
    *bindings: dict[str, Any], columns: list[dict[str, Any]] | None = None, governance: bool = False
) -> ResolvedBundle:
    """A one-dataset contract with these bindings (``check`` inline), resolved."""
    contract = DataContract.model_validate(
        {
            "tenant": "t",
            "environment": "dev",
            "id": "c",
            "version": "1.0.0",
            "datasets": [{"name": "data", "columns": columns or COLUMNS, "bindings": list(bindings)}],
        }
    )
    index = InMemoryConfigIndex()
    index.add(contract, "inline")
    return resolve_bundle(index, contract)


def check(rule_type: str, columns: list[str] | None = None, rule_id: str = "r", **fields: Any) -> dict[str, Any]:
    params = fields.pop("params", None)
    spec: dict[str, Any] = {"type": rule_type, **fields}
    if params is not None:
        spec["params"] = params
    return {"id": rule_id, "check": spec, "columns": columns or []}

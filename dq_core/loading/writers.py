"""Write configuration objects back as authoring files (YAML, JSON or XLSX)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from dq_core.config.base import Versioned
from dq_core.config.canonical import to_plain
from dq_core.errors import ConfigError
from dq_core.loading.xlsx import write_xlsx

HEADER = ("kind", "tenant", "environment", "id", "version", "status")


def to_authoring(obj: Versioned) -> dict[str, Any]:
    """Plain data without defaulted fields, header first: what a person would write."""
    body = to_plain(obj.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    full = to_plain(obj)
    return {**{name: full[name] for name in HEADER}, **{k: v for k, v in body.items() if k not in HEADER}}


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def render(obj: Versioned, fmt: str) -> bytes:
    data = to_authoring(obj)
    if fmt in ("yaml", "yml"):
        return dump_yaml(data).encode("utf-8")
    if fmt == "json":
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "xlsx":
        return write_xlsx(data)
    raise ConfigError(f"unknown format {fmt!r} (use yaml, json or xlsx)")


def write_object(obj: Versioned, path: Path) -> None:
    path.write_bytes(render(obj, path.suffix.lower().lstrip(".")))

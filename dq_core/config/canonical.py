"""Canonical JSON: one byte sequence for equal content, whatever the authoring format.

Rules: the model is dumped in JSON mode with every field (defaults included, so
there is no "omitted or default?" ambiguity), keys sorted, no insignificant
whitespace, UTF-8 without escaping, NaN/Infinity refused, floats rounded to 15
significant digits (what an Excel cell keeps) and integral floats written as
integers (``1.0`` and ``1`` are the same number whether it came from YAML, JSON or
an Excel cell). Collections that are sets by meaning are sorted by
the models themselves; ordered ones (columns, cleansing steps) keep their order.

The *content hash* of a versioned object leaves out ``status``: publishing a
version changes its lifecycle state, not its content.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

_MAX_EXACT_INT = 2**53
FLOAT_DIGITS = 15  # Excel keeps 15 significant digits; so does canonical JSON


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        value = float(f"{value:.{FLOAT_DIGITS}g}")
        if value.is_integer() and abs(value) < _MAX_EXACT_INT:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    return value


def to_plain(obj: BaseModel | Any) -> Any:
    """The JSON-ready, normalised form of a model (or of already plain data)."""
    data = obj.model_dump(mode="json", by_alias=True) if isinstance(obj, BaseModel) else obj
    return _normalise(data)


def canonical_json(obj: BaseModel | Any) -> bytes:
    """Canonical UTF-8 JSON bytes of a model or plain JSON-ready data."""
    text = json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(obj: BaseModel) -> str:
    """sha256 of the canonical JSON of a versioned object, lifecycle status left out."""
    plain = to_plain(obj)
    if isinstance(plain, dict):
        plain.pop("status", None)
    return sha256_hex(canonical_json(plain))

"""Shared pieces of the ODCS interop: warnings, validation errors, custom properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

_M = TypeVar("_M", bound=BaseModel)


class OdcsInputError(Exception):
    """A document that cannot be converted: ``path`` inside it and what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class Notes:
    """Warnings of one import, each message once, in the order first met."""

    def __init__(self) -> None:
        self._messages: dict[str, None] = {}

    def warn(self, message: str) -> None:
        self._messages.setdefault(message, None)

    def carried(self, key: str) -> None:
        self.warn(f"{key}: not interpreted, carried through on export")

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(self._messages)


def validation_message(exc: ValidationError) -> str:
    """One line from a pydantic error: each problem as ``loc: message``."""
    parts = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        text = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {text}" if loc else text)
    return "; ".join(parts)


def validated(model: type[_M], data: Any, path: str) -> _M:
    """``model`` validated from ``data``; a validation error names ``path``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OdcsInputError(path, validation_message(exc)) from None


def custom_properties(value: Any, path: str, *ours: str) -> tuple[dict[str, Any], list[Any]]:
    """Our ``dq.*`` custom properties by name, and the others (carried through)."""
    if value is None:
        return {}, []
    if not isinstance(value, list):
        raise OdcsInputError(path, "must be a list of {property, value}")
    found: dict[str, Any] = {}
    others: list[Any] = []
    for entry in value:
        if isinstance(entry, Mapping) and entry.get("property") in ours:
            found[str(entry["property"])] = entry.get("value")
        else:
            others.append(entry)
    return found, others


def dq_fields(value: Any, allowed: frozenset[str], path: str) -> dict[str, Any]:
    """The fields of a ``dq.*`` custom property, restricted to ``allowed``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not set(value) <= allowed:
        raise OdcsInputError(path, f"must be a mapping with some of {', '.join(sorted(allowed))}")
    return dict(value)


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (carried data may have been edited)."""
    return value if isinstance(value, Mapping) else {}


# --- properties --------------------------------------------------------------------------

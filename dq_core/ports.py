"""Ports: what the domain needs from the outside world, as Protocols.

Adapters (PostgreSQL, Azure Table/Blob Storage, Key Vault, and the embedded
SQLite/filesystem defaults) implement these; dq_core never imports them.
"""

from __future__ import annotations

from typing import Protocol

from dq_core.config.base import Kind, ObjectKey, Versioned


class ConfigReader(Protocol):
    """Read access to stored configuration objects of tenants and environments."""

    def get(self, tenant: str, environment: str, key: ObjectKey) -> Versioned:
        """The object with this key; raises ObjectNotFound when there is none."""
        ...

    def versions(self, tenant: str, environment: str, kind: Kind, object_id: str) -> list[str]:
        """Every stored version of one object, oldest first."""
        ...

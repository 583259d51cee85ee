"""An in-memory index of configuration objects: what `dq` loads from a directory."""

from __future__ import annotations

from collections.abc import Iterator

from dq_core.config.base import Kind, ObjectKey, Versioned
from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.identifiers import semver_key

_Scoped = tuple[str, str, ObjectKey]


class InMemoryConfigIndex:
    """Objects keyed by tenant, environment, kind, id and version, with their source."""

    def __init__(self) -> None:
        self._objects: dict[_Scoped, Versioned] = {}
        self._sources: dict[_Scoped, str] = {}

    def add(self, obj: Versioned, source: str) -> None:
        scoped = (obj.tenant, obj.environment.value, obj.key)
        if scoped in self._objects:
            msg = f"{source}: {obj.key} is also defined in {self._sources[scoped]}"
            raise ConfigError(msg)
        self._objects[scoped] = obj
        self._sources[scoped] = source

    def get(self, tenant: str, environment: str, key: ObjectKey) -> Versioned:
        try:
            return self._objects[(tenant, environment, key)]
        except KeyError:
            msg = f"{key} does not exist in tenant {tenant!r}, environment {environment!r}"
            raise ObjectNotFound(msg) from None

    def versions(self, tenant: str, environment: str, kind: Kind, object_id: str) -> list[str]:
        found = [
            key.version
            for (t, e, key) in self._objects
            if (t, e, key.kind, key.id) == (tenant, environment, kind, object_id)
        ]
        return sorted(found, key=semver_key)

    def source(self, obj: Versioned) -> str:
        return self._sources.get((obj.tenant, obj.environment.value, obj.key), "<memory>")

    def __iter__(self) -> Iterator[Versioned]:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def find(self, kind: Kind, object_id: str, version: str | None = None) -> list[Versioned]:
        """Objects of any tenant and environment matching kind, id and (optionally) version."""
        return [
            obj
            for obj in self._objects.values()
            if obj.kind is kind and obj.id == object_id and (version is None or obj.version == version)
        ]

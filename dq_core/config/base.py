"""Shared building blocks of every configuration object.

Every authored object is a frozen pydantic model that forbids unknown keys, is
scoped by tenant and environment, and carries id, version and lifecycle status.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from dq_core.identifiers import ID_RULE, TENANT_RULE, is_id, is_tenant, is_version

_SECRET_RE = re.compile(r"^secret://[A-Za-z0-9][A-Za-z0-9\-_]*$")


class Model(BaseModel):
    """Base of every configuration model: immutable, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _normalise_id(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lower()
        if not is_id(value):
            msg = f"{value!r} is not a valid id ({ID_RULE})"
            raise ValueError(msg)
    return value


def _normalise_tenant(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().lower()
        if not is_tenant(value):
            msg = f"{value!r} is not a valid tenant id ({TENANT_RULE})"
            raise ValueError(msg)
    return value


def _check_semver(value: str) -> str:
    if not is_version(value):
        msg = f"{value!r} is not a semantic version like 1.2.0"
        raise ValueError(msg)
    return value


def _coerce_version(value: Any) -> Any:
    # YAML reads `version: 1.10` as the float 1.1: a number cannot be trusted to be the
    # version the author wrote, so it is refused with a hint instead of guessed.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        msg = f"version {value!r} was read as a number; write it as text, e.g. '1.0.0'"
        raise ValueError(msg)
    if isinstance(value, str):
        return value.strip()
    return value


def check_secret_ref(value: str) -> str:
    if not _SECRET_RE.match(value):
        msg = "secrets are given by reference only, as secret://name (never inline)"
        raise ValueError(msg)
    return value


Id = Annotated[str, BeforeValidator(_normalise_id)]
"""A normalised identifier: stripped, lower-case, :data:`dq_core.identifiers.ID_PATTERN`."""

TenantId = Annotated[str, BeforeValidator(_normalise_tenant)]
"""A normalised tenant id: stripped, lower-case, :data:`dq_core.identifiers.TENANT_PATTERN`."""

Version = Annotated[str, BeforeValidator(_coerce_version), AfterValidator(_check_semver)]
"""A semantic version string, e.g. ``1.2.0``."""

SecretRef = Annotated[str, AfterValidator(check_secret_ref)]
"""A reference to a secret in the tenant's secret store: ``secret://name``."""


class Status(StrEnum):
    """Lifecycle of every versioned object."""

    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"


class Environment(StrEnum):
    LOCAL = "local"
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Kind(StrEnum):
    """Every kind of stored configuration object."""

    RULE_LIBRARY = "rule_library"
    SCHEMA_LIBRARY = "schema_library"
    INFRA_PROFILE = "infra_profile"
    GOVERNANCE_PROFILE = "governance_profile"
    ACTION_LIBRARY = "action_library"
    CLEANSING_POLICY = "cleansing_policy"
    CATALOG = "catalog"
    CONTRACT = "contract"
    JOB_DEFINITION = "job_definition"


class Ref(Model):
    """A pinned reference to another object of the same tenant and environment.

    Authored either as a mapping ``{id: x, version: 1.0.0}`` or as ``x@1.0.0``.
    """

    id: Id
    version: Version

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            ident, sep, version = data.partition("@")
            if not sep:
                msg = f"reference {data!r} must pin a version, as id@1.0.0"
                raise ValueError(msg)
            return {"id": ident, "version": version}
        return data

    def __str__(self) -> str:
        return f"{self.id}@{self.version}"


class Versioned(Model):
    """Header fields shared by every stored object."""

    kind: Kind
    tenant: TenantId
    environment: Environment
    id: Id
    version: Version
    status: Status = Status.DRAFT
    description: str = ""
    owner: str = ""
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(kind=self.kind, id=self.id, version=self.version)

    def references(self) -> tuple[Reference, ...]:
        """The objects this one refers to, with where each reference is written."""
        return ()

    def with_status(self, status: Status) -> Self:
        return self.model_copy(update={"status": status})


class Reference(Model):
    """A reference found in an object: the place it is written, what it points at."""

    path: str
    kind: Kind
    ref: Ref


def refs_at(path: str, kind: Kind, refs: tuple[Ref, ...] | Ref | None) -> tuple[Reference, ...]:
    """References of one field: ``path`` for a single ref, ``path[i]`` for a tuple of refs."""
    if refs is None:
        return ()
    if isinstance(refs, Ref):
        return (Reference(path=path, kind=kind, ref=refs),)
    return tuple(Reference(path=f"{path}[{index}]", kind=kind, ref=ref) for index, ref in enumerate(refs))


class ObjectKey(Model):
    """Identity of a stored object inside one tenant and environment."""

    kind: Kind
    id: Id
    version: Version

    def __str__(self) -> str:
        return f"{self.kind.value} {self.id}@{self.version}"


T = TypeVar("T", bound=BaseModel)


def sorted_by_id(items: tuple[T, ...], attr: str = "id") -> tuple[T, ...]:
    """Collections that are sets by meaning are stored sorted, so order never changes the hash."""
    return tuple(sorted(items, key=lambda item: str(getattr(item, attr))))


def unique_ids(items: tuple[Any, ...], what: str, attr: str = "id") -> None:
    seen: set[str] = set()
    for item in items:
        key = str(getattr(item, attr))
        if key in seen:
            msg = f"duplicate {what} {key!r}"
            raise ValueError(msg)
        seen.add(key)


NonEmptyStr = Annotated[str, Field(min_length=1)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]

"""Governance profile: classification per catalog attribute, retention, raw-value access."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from dq_core.config.base import (
    Kind,
    Model,
    Ref,
    Reference,
    SecretRef,
    Versioned,
    refs_at,
    sorted_by_id,
    unique_ids,
)
from dq_core.libraries.schemas import Classification, check_attribute_path


class Role(StrEnum):
    """Application roles (Entra ID app roles)."""

    READER = "DQ.Reader"
    AUTHOR = "DQ.Author"
    APPROVER = "DQ.Approver"
    OPERATOR = "DQ.Operator"
    ADMIN = "DQ.Admin"


class Masking(StrEnum):
    NONE = "none"
    HASH = "hash"  # salted SHA-256, salt from the tenant's secret store
    REDACT = "redact"  # replaced by a fixed marker
    PARTIAL = "partial"  # keeps the last characters


class AttributeClassification(Model):
    attribute: str  # catalog attribute, entity.attribute
    classification: Classification
    masking: Masking = Masking.NONE

    _attr = field_validator("attribute")(check_attribute_path)


class GovernanceProfile(Versioned):
    kind: Literal[Kind.GOVERNANCE_PROFILE] = Kind.GOVERNANCE_PROFILE
    extends: tuple[Ref, ...] = ()
    default_classification: Classification = Classification.INTERNAL
    classifications: tuple[AttributeClassification, ...] = ()
    retention_days: int = Field(default=365, ge=1)
    raw_value_roles: tuple[Role, ...] = (Role.ADMIN,)
    salt_secret: SecretRef = "secret://dq-mask-salt"  # noqa: S105 - a reference to the tenant's salt, not a secret

    @field_validator("classifications")
    @classmethod
    def _sorted(cls, items: tuple[AttributeClassification, ...]) -> tuple[AttributeClassification, ...]:
        unique_ids(items, "classified attribute", attr="attribute")
        return sorted_by_id(items, attr="attribute")

    @field_validator("raw_value_roles")
    @classmethod
    def _roles(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        return tuple(sorted(set(roles)))

    def references(self) -> tuple[Reference, ...]:
        return refs_at("extends", Kind.GOVERNANCE_PROFILE, self.extends)

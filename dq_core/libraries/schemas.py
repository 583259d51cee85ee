"""Schema library: reusable column sets and code lists (taxonomies)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from dq_core.config.base import (
    Id,
    Kind,
    Model,
    NonEmptyStr,
    Ref,
    Reference,
    Versioned,
    refs_at,
    sorted_by_id,
    unique_ids,
)
from dq_core.libraries.rules import LogicalType, Scalar, check_regex


class Classification(StrEnum):
    """Sensitivity classes, least to most sensitive."""

    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"
    CONFIDENTIAL = "confidential"
    PII = "pii"


class ColumnSpec(Model):
    """One column of a dataset: physical name, logical type and constraints."""

    name: NonEmptyStr = Field(description="The column's name in the data.")
    logical_type: LogicalType = Field(
        default=LogicalType.STRING, description="Cleansing casts the column to it; `schema_match` checks it."
    )
    physical_type: str | None = Field(default=None, description="The type in the source system (carried, not checked).")
    required: bool = Field(
        default=False, description="Adds a `not_null` rule; ingest refuses a file without the column."
    )
    unique: bool = Field(default=False, description="Adds a `unique` rule.")
    primary_key: bool = Field(
        default=False,
        description="A key column: a key of one column adds `not_null` and `unique`, a key of several one"
        " `compound_unique`; ingest refuses a file without it.",
    )
    primary_key_position: int | None = Field(default=None, description="The column's place in a compound key.")
    attribute: str | None = Field(
        default=None,
        description="The catalog attribute it holds, `entity.attribute`: the attribute's rules, code list and"
        " classification apply to it.",
    )
    classification: Classification | None = Field(
        default=None, description="Its sensitivity; it can only make the governance profile's stricter."
    )
    description: str = Field(default="", description="Free text for readers of the contract.")
    business_name: str | None = Field(default=None, description="Its name for business readers (carried to ODCS).")
    # logicalTypeOptions
    pattern: str | None = Field(default=None, description="Adds a `regex` rule with this pattern.")
    minimum: float | str | None = Field(
        default=None, description="Adds a `range` rule: a number, or for a date column an ISO date or relative bound."
    )
    maximum: float | str | None = Field(default=None, description="Adds a `range` rule, as `minimum`.")
    min_length: int | None = Field(default=None, ge=0, description="Adds a `length` rule: the fewest characters.")
    max_length: int | None = Field(default=None, ge=0, description="Adds a `length` rule: the most characters.")
    format: str | None = Field(default=None, description="The values' format, as documented (carried, not checked).")
    examples: tuple[Scalar, ...] = Field(default=(), description="Example values (carried to ODCS).")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return None if value is None else check_regex(value)

    @field_validator("attribute")
    @classmethod
    def _attribute(cls, value: str | None) -> str | None:
        return None if value is None else check_attribute_path(value)


def check_attribute_path(value: str) -> str:
    entity, dot, attribute = value.strip().lower().partition(".")
    if not dot or not entity or not attribute:
        msg = f"{value!r} must name a catalog attribute as entity.attribute"
        raise ValueError(msg)
    return f"{entity}.{attribute}"


class ColumnSet(Model):
    id: Id
    description: str = ""
    columns: tuple[ColumnSpec, ...] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _unique(cls, columns: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
        unique_ids(columns, "column", attr="name")
        return columns


class Code(Model):
    code: Scalar
    label: str = ""
    synonyms: tuple[str, ...] = ()  # spellings the cleansing map step turns into this code


class CodeList(Model):
    id: Id
    description: str = ""
    codes: tuple[Code, ...] = Field(min_length=1)

    @field_validator("codes")
    @classmethod
    def _unique(cls, codes: tuple[Code, ...]) -> tuple[Code, ...]:
        unique_ids(codes, "code", attr="code")
        return codes

    def values(self) -> tuple[Scalar, ...]:
        return tuple(code.code for code in self.codes)


class SchemaLibrary(Versioned):
    kind: Literal[Kind.SCHEMA_LIBRARY] = Kind.SCHEMA_LIBRARY
    extends: tuple[Ref, ...] = ()
    column_sets: tuple[ColumnSet, ...] = ()
    code_lists: tuple[CodeList, ...] = ()

    @field_validator("column_sets", "code_lists")
    @classmethod
    def _sorted(cls, items: tuple[ColumnSet, ...]) -> tuple[ColumnSet, ...]:
        unique_ids(items, "entry")
        return sorted_by_id(items)

    def references(self) -> tuple[Reference, ...]:
        return refs_at("extends", Kind.SCHEMA_LIBRARY, self.extends)


class ColumnSetRef(Model):
    """Columns taken from a schema library's column set."""

    library: Id
    column_set: Id

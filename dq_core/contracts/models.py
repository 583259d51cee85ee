"""Data contract: datasets and columns, library references, rule bindings."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, JsonValue, field_validator, model_validator

from dq_core.config.base import (
    Fraction,
    Id,
    Kind,
    Model,
    NonEmptyStr,
    Ref,
    Reference,
    Severity,
    Versioned,
    refs_at,
    unique_ids,
)
from dq_core.libraries.rules import Dimension, RuleSpec
from dq_core.libraries.schemas import ColumnSetRef, ColumnSpec, check_attribute_path
from dq_core.validation.hints import MAX_HINT, check_hint


class RuleBinding(Model):
    """Applies a rule to columns, to a catalog attribute, or to the dataset.

    The rule is either a template of a referenced rule library (``rule``, optionally
    qualified as ``library:template``) or written inline (``check``). Severity,
    mostly, message and where given here override the template's.
    """

    id: Id | None = None
    rule: NonEmptyStr | None = None
    check: RuleSpec | None = None
    columns: tuple[NonEmptyStr, ...] = ()
    attribute: str | None = None
    severity: Severity | None = None
    mostly: Fraction | None = None
    message: str | None = None
    where: str | None = None
    dimension: Dimension | None = None
    odcs_id: str | None = None  # the ODCS quality item's id, so results can cite it
    odcs_name: str | None = None  # the ODCS quality item's name: the rule id (slugified) when there is no id
    hint: str | None = Field(
        default=None,
        max_length=MAX_HINT,
        exclude_if=lambda value: value is None,  # unset: left out, so contracts keep their hash
        description="Overrides the rule's remediation hint (docs/validation.md, Remediation hints).",
    )

    _attr = field_validator("attribute")(lambda v: None if v is None else check_attribute_path(v))

    @model_validator(mode="after")
    def _one_source(self) -> RuleBinding:
        if (self.rule is None) == (self.check is None):
            msg = "give exactly one of rule (a template id) or check (an inline rule)"
            raise ValueError(msg)
        if self.columns and self.attribute:
            msg = "bind to columns or to an attribute, not both"
            raise ValueError(msg)
        if self.hint is not None and self.check is not None:  # a template's type is known once resolved
            check_hint(self.hint, self.check.type, type(self.check.params).model_fields)
        return self


class UnexpectedColumns(StrEnum):
    """What ingest does with columns the contract does not declare."""

    KEEP = "keep"
    DROP = "drop"
    REJECT_FILE = "reject_file"


def check_blob_path(value: str) -> str:
    """A path (or glob) relative to the tenant's container: never absolute, never a URI, never ``..``."""
    text = value.strip()
    parts = text.split("/")
    if not text or text.startswith("/") or "://" in text or "\\" in text or ".." in parts or "" in parts:
        msg = f"{value!r} is not a path in the tenant's container (reference/airports.parquet, landing/*.csv)"
        raise ValueError(msg)
    return text


LOCAL_SCHEME = "file:"


def check_reference_location(value: str) -> str:
    """Where a run reads a reference dataset: a ``file:`` URI (local runs only) or a path or glob in the tenant's
    container."""
    text = value.strip()
    if text.startswith(LOCAL_SCHEME):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost") or not parsed.path:
            msg = f"{value!r} is not a local file URI"
            raise ValueError(msg)
        return text
    return check_blob_path(text)


class ReferenceDatasetSpec(Model):
    """A dataset that cross-dataset rules (``referential``) look values up in, and where its data is.

    Give ``blob`` (a path or glob in the tenant's container) or ``latest_output_of`` (a job id: the cleansed
    output of that job's latest passed run), or neither and supply it at run time (``--reference NAME=PATH``).
    Only the key ``columns`` are read, and only their distinct values are kept.
    """

    name: Id = Field(description="The name rules use in `reference_dataset`.")
    contract: Id | None = Field(default=None, description="The contract that describes the reference dataset.")
    dataset: Id | None = Field(default=None, description="The dataset of that contract (default: its first).")
    columns: tuple[NonEmptyStr, ...] = Field(
        min_length=1, description="The key column(s) rules look values up in (`reference_column`)."
    )
    blob: str | None = Field(
        default=None, description="A path or glob in the tenant's container, e.g. reference/airports/*.parquet."
    )
    latest_output_of: Id | None = Field(
        default=None, description="A job id: read the cleansed output of its latest passed run."
    )

    _blob = field_validator("blob")(lambda v: None if v is None else check_blob_path(v))

    @model_validator(mode="after")
    def _one_location(self) -> ReferenceDatasetSpec:
        if self.blob is not None and self.latest_output_of is not None:
            msg = f"reference dataset {self.name!r}: give blob or latest_output_of, not both"
            raise ValueError(msg)
        return self


class DatasetSpec(Model):
    name: Id
    description: str = ""
    entity: Id | None = None  # catalog entity this dataset describes
    physical_name: str | None = None
    columns_from: tuple[ColumnSetRef, ...] = ()
    columns: tuple[ColumnSpec, ...] = ()
    unexpected_columns: UnexpectedColumns = UnexpectedColumns.KEEP
    bindings: tuple[RuleBinding, ...] = ()

    @field_validator("columns")
    @classmethod
    def _unique(cls, columns: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
        unique_ids(columns, "column", attr="name")
        return columns

    @model_validator(mode="after")
    def _has_columns(self) -> DatasetSpec:
        if not self.columns and not self.columns_from:
            msg = f"dataset {self.name!r} declares no columns (columns or columns_from)"
            raise ValueError(msg)
        return self


class DataContract(Versioned):
    kind: Literal[Kind.CONTRACT] = Kind.CONTRACT
    domain: str | None = None
    data_product: str | None = None
    catalog: Ref | None = None
    rule_libraries: tuple[Ref, ...] = ()
    schema_libraries: tuple[Ref, ...] = ()
    infra_profile: Ref | None = None
    governance_profile: Ref | None = None
    cleansing_policy: Ref | None = None
    action_libraries: tuple[Ref, ...] = ()
    actions: tuple[NonEmptyStr, ...] = ()  # action ids run with their own trigger
    default_phone_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    datasets: tuple[DatasetSpec, ...] = Field(min_length=1)
    reference_datasets: tuple[ReferenceDatasetSpec, ...] = Field(
        default=(), description="Datasets that cross-dataset rules look values up in, and where their data is."
    )
    extensions: dict[str, JsonValue] = Field(default_factory=dict)  # foreign metadata carried through

    @field_validator("datasets")
    @classmethod
    def _unique(cls, datasets: tuple[DatasetSpec, ...]) -> tuple[DatasetSpec, ...]:
        unique_ids(datasets, "dataset", attr="name")
        return datasets

    @field_validator("reference_datasets")
    @classmethod
    def _unique_references(cls, references: tuple[ReferenceDatasetSpec, ...]) -> tuple[ReferenceDatasetSpec, ...]:
        unique_ids(references, "reference dataset", attr="name")
        return references

    def dataset(self, name: str | None = None) -> DatasetSpec:
        if name is None:
            return self.datasets[0]
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        msg = f"contract {self.id}@{self.version} has no dataset {name!r}"
        raise KeyError(msg)

    def references(self) -> tuple[Reference, ...]:
        return (
            refs_at("catalog", Kind.CATALOG, self.catalog)
            + refs_at("rule_libraries", Kind.RULE_LIBRARY, self.rule_libraries)
            + refs_at("schema_libraries", Kind.SCHEMA_LIBRARY, self.schema_libraries)
            + refs_at("action_libraries", Kind.ACTION_LIBRARY, self.action_libraries)
            + refs_at("infra_profile", Kind.INFRA_PROFILE, self.infra_profile)
            + refs_at("governance_profile", Kind.GOVERNANCE_PROFILE, self.governance_profile)
            + refs_at("cleansing_policy", Kind.CLEANSING_POLICY, self.cleansing_policy)
        )

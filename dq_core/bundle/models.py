"""The resolved bundle: the one object the engines consume (``dq.bundle/v1``)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import model_validator

from dq_core.config.base import Environment, Kind, Model
from dq_core.config.canonical import canonical_json, sha256_hex
from dq_core.contracts.models import ReferenceDatasetSpec, UnexpectedColumns
from dq_core.libraries.actions import ActionSpec, Trigger
from dq_core.libraries.cleansing import CleansingStepSpec
from dq_core.libraries.governance import Masking, Role
from dq_core.libraries.infra import InfraProfile
from dq_core.libraries.rules import RuleSpec
from dq_core.libraries.schemas import Classification, CodeList, ColumnSpec

BUNDLE_SCHEMA: Final = "dq.bundle/v1"


class SourceStamp(Model):
    """One object the bundle was built from, pinned by version and content hash."""

    kind: Kind
    id: str
    version: str
    sha256: str


class ResolvedColumn(ColumnSpec):
    classification: Classification  # resolved, never empty here
    masking: Masking = Masking.NONE


class ResolvedDataset(Model):
    name: str
    entity: str | None
    description: str
    physical_name: str | None
    unexpected_columns: UnexpectedColumns
    columns: tuple[ResolvedColumn, ...]

    def column(self, name: str) -> ResolvedColumn | None:
        return next((column for column in self.columns if column.name == name), None)


RuleOrigin = Literal["schema", "contract", "catalog"]


class ResolvedRule(Model):
    """A rule ready to evaluate: overrides applied, bound to concrete columns."""

    id: str
    origin: RuleOrigin
    rule: RuleSpec
    columns: tuple[str, ...] = ()
    template: str | None = None  # library@version:template when it came from a library
    attribute: str | None = None
    odcs_id: str | None = None


class ResolvedAction(Model):
    library: str  # library@version
    triggers: tuple[Trigger, ...]
    action: ActionSpec


class ResolvedGovernance(Model):
    default_classification: Classification
    retention_days: int
    raw_value_roles: tuple[Role, ...]
    salt_secret: str


class ResolvedBundle(Model):
    schema_id: Literal["dq.bundle/v1"] = BUNDLE_SCHEMA
    tenant: str
    environment: Environment
    contract: SourceStamp
    job: SourceStamp | None = None
    dataset: ResolvedDataset
    rules: tuple[ResolvedRule, ...]
    code_lists: tuple[CodeList, ...]
    cleansing: tuple[CleansingStepSpec, ...]
    infra: InfraProfile
    governance: ResolvedGovernance
    actions: tuple[ResolvedAction, ...]
    default_phone_region: str | None = None
    sources: tuple[SourceStamp, ...]
    reference_datasets: tuple[ReferenceDatasetSpec, ...] = ()  # the contract's, for cross-dataset rules
    sha256: str = ""  # of the canonical JSON of every other field; filled in, or verified

    @model_validator(mode="after")
    def _stamp(self) -> ResolvedBundle:
        # without reference datasets the field is left out, so bundles from before it keep their sha256
        exclude = {"sha256"} | (set() if self.reference_datasets else {"reference_datasets"})
        actual = sha256_hex(canonical_json(self.model_dump(mode="json", by_alias=True, exclude=exclude)))
        if not self.sha256:
            object.__setattr__(self, "sha256", actual)  # frozen model: set once, at construction
        elif self.sha256 != actual:
            msg = f"bundle sha256 {self.sha256} does not match its content ({actual})"
            raise ValueError(msg)
        return self

"""The union of every stored configuration object, discriminated by ``kind``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from dq_core.catalog.models import Catalog
from dq_core.config.base import Kind, Versioned
from dq_core.contracts.models import DataContract
from dq_core.jobs.models import JobDefinition
from dq_core.libraries.actions import ActionLibrary
from dq_core.libraries.cleansing import CleansingPolicy
from dq_core.libraries.governance import GovernanceProfile
from dq_core.libraries.infra import InfraProfile
from dq_core.libraries.rules import RuleLibrary
from dq_core.libraries.schemas import SchemaLibrary

ConfigObject = Annotated[
    RuleLibrary
    | SchemaLibrary
    | InfraProfile
    | GovernanceProfile
    | ActionLibrary
    | CleansingPolicy
    | Catalog
    | DataContract
    | JobDefinition,
    Field(discriminator="kind"),
]

CONFIG_OBJECT_ADAPTER: TypeAdapter[Versioned] = TypeAdapter(ConfigObject)

MODEL_BY_KIND: dict[Kind, type[Versioned]] = {
    Kind.RULE_LIBRARY: RuleLibrary,
    Kind.SCHEMA_LIBRARY: SchemaLibrary,
    Kind.INFRA_PROFILE: InfraProfile,
    Kind.GOVERNANCE_PROFILE: GovernanceProfile,
    Kind.ACTION_LIBRARY: ActionLibrary,
    Kind.CLEANSING_POLICY: CleansingPolicy,
    Kind.CATALOG: Catalog,
    Kind.CONTRACT: DataContract,
    Kind.JOB_DEFINITION: JobDefinition,
}

"""Cleansing policy: an ordered list of cleansing steps (one model per step type)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from dq_core.config.base import Id, Kind, Model, NonEmptyStr, Versioned
from dq_core.libraries.rules import LogicalType, Scalar, check_sql_predicate

Columns = tuple[NonEmptyStr, ...]


class StepCommon(Model):
    id: Id | None = None
    description: str = ""


class TrimStep(StepCommon):
    type: Literal["trim"]
    columns: Columns = ()  # empty: every string column
    collapse_whitespace: bool = True


class CaseStep(StepCommon):
    type: Literal["case"]
    columns: Columns = Field(min_length=1)
    mode: Literal["lower", "upper", "title"]


class ParseDatesStep(StepCommon):
    type: Literal["parse_dates"]
    columns: Columns = Field(min_length=1)
    formats: tuple[NonEmptyStr, ...] = Field(min_length=1)  # strftime formats, tried in order
    output: Literal["date", "datetime"] = "date"
    on_error: Literal["reject", "set_null", "keep"] = "reject"


class PhoneStep(StepCommon):
    type: Literal["phone"]
    columns: Columns = Field(min_length=1)
    default_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")  # else the contract's, else US
    on_error: Literal["reject", "set_null", "keep"] = "reject"


class EmailStep(StepCommon):
    type: Literal["email"]
    columns: Columns = Field(min_length=1)
    on_error: Literal["reject", "set_null", "keep"] = "reject"


class MapValuesStep(StepCommon):
    type: Literal["map_values"]
    columns: Columns = Field(min_length=1)
    code_list: Id  # from a referenced schema library; synonyms map to codes
    case_sensitive: bool = False
    unmapped: Literal["keep", "set_null", "reject"] = "keep"


class CastStep(StepCommon):
    type: Literal["cast"]
    columns: Columns = Field(min_length=1)
    logical_type: LogicalType
    on_error: Literal["reject", "set_null"] = "reject"


class ImputeStrategy(StrEnum):
    CONSTANT = "constant"
    MEAN = "mean"
    MEDIAN = "median"
    MODE = "mode"
    FORWARD_FILL = "forward_fill"


class ImputeStep(StepCommon):
    type: Literal["impute"]
    columns: Columns = Field(min_length=1)
    strategy: ImputeStrategy
    value: Scalar = None
    partition_by: Columns = ()  # forward fill within a key
    order_by: Columns = ()

    @model_validator(mode="after")
    def _constant(self) -> ImputeStep:
        if self.strategy is ImputeStrategy.CONSTANT and self.value is None:
            msg = "strategy constant needs a value"
            raise ValueError(msg)
        return self


class QuarantineStep(StepCommon):
    type: Literal["quarantine"]
    predicate: NonEmptyStr  # polars SQL predicate: matching rows go to rejects
    reason: NonEmptyStr

    _sql = field_validator("predicate")(check_sql_predicate)


class MaskStep(StepCommon):
    """Mask or hash columns as the governance profile classifies them."""

    type: Literal["mask"]
    columns: Columns = ()  # empty: every column the governance profile asks to mask


class Survivorship(StrEnum):
    MOST_RECENT = "most_recent"
    MOST_COMPLETE = "most_complete"
    SOURCE_PRIORITY = "source_priority"


class DeduplicateStep(StepCommon):
    type: Literal["deduplicate"]
    key: Columns = ()  # empty: exact duplicates over every column
    survivorship: Survivorship = Survivorship.MOST_COMPLETE
    order_column: str | None = None  # most_recent: the timestamp; source_priority: the source column
    source_order: tuple[str, ...] = ()
    field_level: bool = False  # coalesce each field from the best record that has it

    @model_validator(mode="after")
    def _strategy(self) -> DeduplicateStep:
        if self.survivorship in (Survivorship.MOST_RECENT, Survivorship.SOURCE_PRIORITY) and not self.order_column:
            msg = f"survivorship {self.survivorship.value} needs order_column"
            raise ValueError(msg)
        if self.survivorship is Survivorship.SOURCE_PRIORITY and not self.source_order:
            msg = "survivorship source_priority needs source_order"
            raise ValueError(msg)
        return self


CleansingStepSpec = Annotated[
    TrimStep
    | CaseStep
    | ParseDatesStep
    | PhoneStep
    | EmailStep
    | MapValuesStep
    | CastStep
    | ImputeStep
    | QuarantineStep
    | MaskStep
    | DeduplicateStep,
    Field(discriminator="type"),
]


class CleansingPolicy(Versioned):
    """Steps applied in the order written (order is meaning here, so it is kept)."""

    kind: Literal[Kind.CLEANSING_POLICY] = Kind.CLEANSING_POLICY
    steps: tuple[CleansingStepSpec, ...] = ()

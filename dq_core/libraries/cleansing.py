"""Cleansing policy: an ordered list of cleansing steps (one model per step type)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from dq_core.config.base import Id, Kind, Model, NonEmptyStr, Versioned
from dq_core.libraries.rules import LogicalType, Scalar, check_sql_predicate

Columns = tuple[NonEmptyStr, ...]

ON_ERROR = "A value that fails: `reject` sends its row to the rejects, `set_null` empties it, `keep` keeps the text."


class StepCommon(Model):
    """Fields every cleansing step carries, whatever its type."""

    id: Id | None = Field(default=None, description="The step's id, named in its metrics and reject reasons.")
    description: str = Field(default="", description="Free text for readers of the policy.")


class TrimStep(StepCommon):
    """Strips leading and trailing whitespace and, by default, collapses inner runs of whitespace to one space; text
    left blank becomes null.
    """

    type: Literal["trim"]
    columns: Columns = ()  # empty: every string column
    collapse_whitespace: bool = Field(default=True, description="Also turn inner runs of whitespace into one space.")


class NullValuesStep(StepCommon):
    """Empties the cells holding a marker a source writes for a missing value (`NA`, `N/A`, `NULL`, `-`), ignoring
    surrounding whitespace and, by default, case. Put it before a `cast`, so that the marker is not a value that
    fails to convert, and before a `deduplicate`, so that rows are not merged on it.
    """

    type: Literal["null_values"]
    values: tuple[NonEmptyStr, ...] = Field(
        min_length=1, description="The markers emptied (quote `'NULL'`, `'null'` and `'~'`: unquoted, YAML reads null)."
    )
    columns: Columns = ()  # empty: every string column
    case_sensitive: bool = Field(default=False, description="Match the markers case-sensitively.")

    @field_validator("values", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if isinstance(value, list | tuple) and any(item is None for item in value):
            msg = "a marker is null: write NULL in quotes ('NULL'), since YAML reads NULL, null and ~ unquoted as null"
            raise ValueError(msg)
        return value


class CaseStep(StepCommon):
    """Changes the case of text: `lower`, `upper` or `title`."""

    type: Literal["case"]
    columns: Columns = Field(min_length=1, description="The columns changed.")
    mode: Literal["lower", "upper", "title"] = Field(description="The case written.")


class ParseDatesStep(StepCommon):
    """Parses text as dates (or timestamps) with the first of `formats` that matches the whole value."""

    type: Literal["parse_dates"]
    columns: Columns = Field(min_length=1, description="The columns parsed.")
    formats: tuple[NonEmptyStr, ...] = Field(min_length=1)  # strftime formats, tried in order
    output: Literal["date", "datetime"] = Field(default="date", description="Write dates, or timestamps.")
    on_error: Literal["reject", "set_null", "keep"] = Field(default="reject", description=ON_ERROR)


class PhoneStep(StepCommon):
    """Writes phone numbers in E.164 (`+441234567890`) through the `phonenumbers` library; a number without a country
    code is read in the contract's `default_phone_region`, else the step's, else US.
    """

    type: Literal["phone"]
    columns: Columns = Field(min_length=1, description="The columns normalised.")
    default_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")  # else the contract's, else US
    on_error: Literal["reject", "set_null", "keep"] = Field(default="reject", description=ON_ERROR)


class EmailStep(StepCommon):
    """Checks and normalises e-mail addresses through `email-validator` (syntax only, no DNS; the domain is
    lower-cased).
    """

    type: Literal["email"]
    columns: Columns = Field(min_length=1, description="The columns checked.")
    on_error: Literal["reject", "set_null", "keep"] = Field(default="reject", description=ON_ERROR)


class MapValuesStep(StepCommon):
    """Replaces the codes, labels and synonyms of a code list by the code (`Deutschland` -> `DE`), ignoring surrounding
    whitespace and, by default, case.
    """

    type: Literal["map_values"]
    columns: Columns = Field(min_length=1, description="The columns mapped.")
    code_list: Id  # from a referenced schema library; synonyms map to codes
    case_sensitive: bool = Field(default=False, description="Match labels and synonyms case-sensitively.")
    unmapped: Literal["keep", "set_null", "reject"] = Field(
        default="keep", description="A value the list does not know: `keep` it, `set_null`, or `reject` its row."
    )


class CastStep(StepCommon):
    """Converts columns to a logical type."""

    type: Literal["cast"]
    columns: Columns = Field(min_length=1, description="The columns converted.")
    logical_type: LogicalType = Field(description="The type written.")
    on_error: Literal["reject", "set_null"] = Field(
        default="reject", description="A value that does not convert: `reject` its row, or `set_null`."
    )


class ImputeStrategy(StrEnum):
    CONSTANT = "constant"
    MEAN = "mean"
    MEDIAN = "median"
    MODE = "mode"
    FORWARD_FILL = "forward_fill"


class ImputeStep(StepCommon):
    """Fills nulls: with a constant, the column's mean, median or mode (the smallest of tied modes), or the previous
    value (`forward_fill`, within `partition_by`, in `order_by` order; default: source order).
    """

    type: Literal["impute"]
    columns: Columns = Field(min_length=1, description="The columns filled.")
    strategy: ImputeStrategy = Field(description="Where the filling value comes from.")
    value: Scalar = Field(default=None, description="The value written by `strategy: constant` (required there).")
    partition_by: Columns = Field(
        default=(),
        description=(
            "forward_fill: fill within each value of these columns. An orchestrated run fills all the rows of"
            " one value in one activity (all the rows, without `partition_by`), so keep each value's rows"
            " within what an instance holds (docs/orchestration.md)."
        ),
    )
    order_by: Columns = Field(default=(), description="forward_fill: the columns that order the rows.")

    @model_validator(mode="after")
    def _constant(self) -> ImputeStep:
        if self.strategy is ImputeStrategy.CONSTANT and self.value is None:
            msg = "strategy constant needs a value"
            raise ValueError(msg)
        return self


class QuarantineStep(StepCommon):
    """Sends the rows that match a polars SQL predicate to the rejects, with `reason`."""

    type: Literal["quarantine"]
    predicate: NonEmptyStr  # polars SQL predicate: matching rows go to rejects
    reason: NonEmptyStr = Field(description="The reject reason written for each row.")

    _sql = field_validator("predicate")(check_sql_predicate)


class MaskStep(StepCommon):
    """Mask or hash columns as the governance profile classifies them: `hash` (salted SHA-256), `partial` (the
    last 4 characters kept) or `redact`. Mask steps come last in a policy."""

    type: Literal["mask"]
    columns: Columns = ()  # empty: every column the governance profile asks to mask


class Survivorship(StrEnum):
    MOST_RECENT = "most_recent"
    MOST_COMPLETE = "most_complete"
    SOURCE_PRIORITY = "source_priority"


class DeduplicateStep(StepCommon):
    """Merges rows with equal keys (normalised: trimmed and case-folded) into the best-ranked row of each cluster:
    `most_recent`, `most_complete` or `source_priority`; ties go to the earliest source row. Rows with a null
    key part are never merged.
    """

    type: Literal["deduplicate"]
    key: Columns = ()  # empty: exact duplicates over every column
    survivorship: Survivorship = Field(
        default=Survivorship.MOST_COMPLETE,
        description="Which row of a cluster survives: the newest, the one with most values, or by source.",
    )
    order_column: str | None = None  # most_recent: the timestamp; source_priority: the source column
    source_order: tuple[str, ...] = Field(
        default=(), description="source_priority: the values of `order_column`, best first."
    )
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
    | NullValuesStep
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

    @field_validator("steps")
    @classmethod
    def _mask_last(cls, steps: tuple[CleansingStepSpec, ...]) -> tuple[CleansingStepSpec, ...]:
        masks = [index for index, step in enumerate(steps) if step.type == "mask"]
        after = next((i for i in range(masks[0] + 1, len(steps)) if steps[i].type != "mask"), None) if masks else None
        if after is not None:
            msg = (
                f"step {after} ({steps[after].type}) comes after a mask step: put mask last (an orchestrated run masks"
                " the output at the end, so a later step would see the clear values there and the masked ones in dq"
                " cleanse)"
            )
            raise ValueError(msg)
        return steps

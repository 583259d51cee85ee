"""Rule types and the rule library.

One params model per rule type, joined in a discriminated union on ``type``: the
union is the authoring schema. Each rule type declares its *scope* (what it is
evaluated over) and whether it is row-local (can run per chunk and merge).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator

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
    sorted_by_id,
    unique_ids,
)
from dq_core.libraries.sql_guard import SqlRefusedError, SqlSyntaxError, check_predicate, check_query
from dq_core.validation.hints import MAX_HINT, check_hint

Scalar = str | int | float | bool | None


class Scope(StrEnum):
    COLUMN = "column"  # evaluated once per bound column
    COLUMNS = "columns"  # evaluated over the bound columns together
    DATASET = "dataset"  # evaluated over the whole dataset, no column binding needed


class Dimension(StrEnum):
    """Quality dimensions (the ODCS list plus validity)."""

    ACCURACY = "accuracy"
    COMPLETENESS = "completeness"
    CONFORMITY = "conformity"
    CONSISTENCY = "consistency"
    COVERAGE = "coverage"
    TIMELINESS = "timeliness"
    UNIQUENESS = "uniqueness"
    VALIDITY = "validity"


class Unit(StrEnum):
    ROWS = "rows"
    PERCENT = "percent"


def check_regex(pattern: str) -> str:
    """Reject patterns that neither Python nor the polars (Rust) regex engine accept."""
    try:
        re.compile(pattern)
    except re.error as exc:
        msg = f"invalid regular expression: {exc}"
        raise ValueError(msg) from None
    import polars as pl  # noqa: PLC0415 - polars is heavy; only needed when a pattern is checked

    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.ComputeError as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        reasons = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
        reason = reasons[0] if reasons else "rejected"
        msg = f"invalid regular expression for the polars engine: {reason}"
        raise ValueError(msg) from None
    return pattern


def check_sql_predicate(text: str) -> str:
    """A predicate over the row's own columns (the SQL allow-list) that polars SQL can parse
    (whether its columns exist is known only with data)."""
    import polars as pl  # noqa: PLC0415

    try:
        check_predicate(text)
    except SqlSyntaxError as exc:
        raise ValueError(f"not a valid SQL predicate: {exc}") from None
    except SqlRefusedError as exc:
        raise ValueError(f"SQL refused: {exc}") from None
    try:
        pl.sql_expr(text)
    except Exception as exc:  # noqa: BLE001 - polars raises several types for SQL it cannot parse
        lines = str(exc).strip().splitlines()
        msg = f"not a valid SQL predicate: {lines[0] if lines else type(exc).__name__}"
        raise ValueError(msg) from None
    return text


class Threshold(Model):
    """Comparison of an observed number with bounds (the ODCS operators).

    Every operator given must hold. Authored in snake_case or in the ODCS
    camelCase spelling (``mustBeLessOrEqualTo``).
    """

    must_be: float | None = Field(
        default=None, validation_alias=AliasChoices("must_be", "mustBe"), description="The value must equal this."
    )
    must_not_be: float | None = Field(
        default=None,
        validation_alias=AliasChoices("must_not_be", "mustNotBe"),
        description="The value must differ from this.",
    )
    must_be_greater_than: float | None = Field(
        default=None,
        validation_alias=AliasChoices("must_be_greater_than", "mustBeGreaterThan"),
        description="The value must be above this.",
    )
    must_be_greater_or_equal_to: float | None = Field(
        default=None,
        validation_alias=AliasChoices("must_be_greater_or_equal_to", "mustBeGreaterOrEqualTo"),
        description="The value must be at least this.",
    )
    must_be_less_than: float | None = Field(
        default=None,
        validation_alias=AliasChoices("must_be_less_than", "mustBeLessThan"),
        description="The value must be below this.",
    )
    must_be_less_or_equal_to: float | None = Field(
        default=None,
        validation_alias=AliasChoices("must_be_less_or_equal_to", "mustBeLessOrEqualTo"),
        description="The value must be at most this.",
    )
    must_be_between: tuple[float, float] | None = Field(
        default=None,
        validation_alias=AliasChoices("must_be_between", "mustBeBetween"),
        description="`[low, high]`: the value must lie in it, bounds included.",
    )
    must_not_be_between: tuple[float, float] | None = Field(
        default=None,
        validation_alias=AliasChoices("must_not_be_between", "mustNotBeBetween"),
        description="`[low, high]`: the value must lie outside it (bounds count as inside).",
    )

    @model_validator(mode="after")
    def _at_least_one(self) -> Threshold:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            msg = "give at least one operator (must_be, must_be_less_than, must_be_between, ...)"
            raise ValueError(msg)
        for name in ("must_be_between", "must_not_be_between"):
            bounds = getattr(self, name)
            if bounds is not None and bounds[0] > bounds[1]:
                msg = f"{name}: lower bound {bounds[0]} is above upper bound {bounds[1]}"
                raise ValueError(msg)
        return self

    def holds(self, value: float) -> bool:
        checks = (
            self.must_be is None or value == self.must_be,
            self.must_not_be is None or value != self.must_not_be,
            self.must_be_greater_than is None or value > self.must_be_greater_than,
            self.must_be_greater_or_equal_to is None or value >= self.must_be_greater_or_equal_to,
            self.must_be_less_than is None or value < self.must_be_less_than,
            self.must_be_less_or_equal_to is None or value <= self.must_be_less_or_equal_to,
            self.must_be_between is None or self.must_be_between[0] <= value <= self.must_be_between[1],
            self.must_not_be_between is None or not self.must_not_be_between[0] <= value <= self.must_not_be_between[1],
        )
        return all(checks)


# --- params, one model per rule type ---------------------------------------------------


class RuleParams(Model):
    scope: ClassVar[Scope] = Scope.COLUMN
    row_local: ClassVar[bool] = True


class NoParams(RuleParams):
    pass


class DatasetNoParams(RuleParams):
    scope: ClassVar[Scope] = Scope.DATASET
    row_local: ClassVar[bool] = False


class UniqueParams(RuleParams):
    row_local: ClassVar[bool] = False


class SetParams(RuleParams):
    values: tuple[Scalar, ...] = Field(
        min_length=1, description='The listed values, compared in the column\'s type ("1" matches the integer 1).'
    )


class RegexParams(RuleParams):
    pattern: NonEmptyStr = Field(
        description="A regular expression searched in the value's text: anchor it (`^...$`) for a full match;"
        " look-arounds and back-references are refused."
    )

    _check = field_validator("pattern")(check_regex)


class RangeParams(RuleParams):
    min: float | str | None = Field(
        default=None,
        description="Lower bound: a number, or for a date column an ISO date or a relative bound (`today-30d`).",
    )
    max: float | str | None = Field(
        default=None,
        description="Upper bound: a number, or for a date column an ISO date or a relative bound (`now+1h`).",
    )
    min_inclusive: bool = Field(default=True, description="A value equal to `min` passes.")
    max_inclusive: bool = Field(default=True, description="A value equal to `max` passes.")

    @model_validator(mode="after")
    def _bounds(self) -> RangeParams:
        if self.min is None and self.max is None:
            msg = "give min, max or both"
            raise ValueError(msg)
        if isinstance(self.min, float) and isinstance(self.max, float) and self.min > self.max:
            msg = f"min {self.min} is above max {self.max}"
            raise ValueError(msg)
        return self


class LengthParams(RuleParams):
    min: int | None = Field(default=None, ge=0, description="Fewest characters a value may have.")
    max: int | None = Field(default=None, ge=0, description="Most characters a value may have.")

    @model_validator(mode="after")
    def _bounds(self) -> LengthParams:
        if self.min is None and self.max is None:
            msg = "give min, max or both"
            raise ValueError(msg)
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"min {self.min} is above max {self.max}"
            raise ValueError(msg)
        return self


class LogicalType(StrEnum):
    """Logical column types (the ODCS logicalType values plus a few precise ones)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIME = "time"
    OBJECT = "object"
    ARRAY = "array"


class TypeParams(RuleParams):
    logical_type: LogicalType = Field(
        description="The type every value must have, or parse as when the column is text."
    )


class DateParseableParams(RuleParams):
    formats: tuple[NonEmptyStr, ...] = Field(
        min_length=1,
        description="strftime formats (`%Y-%m-%d`, `%d/%m/%Y`); a value passes when one of them parses it.",
    )


class DateRangeParams(RuleParams):
    min: str | None = None  # ISO date/time, or "today-30d" style relative bound
    max: str | None = Field(default=None, description='ISO date/time, or a relative bound such as "now+1h".')
    formats: tuple[NonEmptyStr, ...] = Field(
        default=(), description="Accepted but not used yet: text values are read as ISO 8601 dates and timestamps."
    )


class CodeListParams(RuleParams):
    code_list: Id  # a code list of a referenced schema library
    case_sensitive: bool = Field(default=True, description="Compare codes case-sensitively (`gb` does not match `GB`).")


class CompoundUniqueParams(RuleParams):
    scope: ClassVar[Scope] = Scope.COLUMNS
    row_local: ClassVar[bool] = False


class Comparison(StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class ColumnComparisonParams(RuleParams):
    scope: ClassVar[Scope] = Scope.DATASET
    left: NonEmptyStr = Field(description="The column on the left of the comparison.")
    op: Comparison = Field(description="The comparison that must hold: `left op right`.")
    right: NonEmptyStr = Field(description="The column on the right of the comparison.")


class ExpressionLanguage(StrEnum):
    """Only SQL: a serialized polars expression can carry pickled Python code, so
    authored configuration never gets to deserialize one."""

    SQL = "sql"  # a predicate, evaluated with polars SQL


class RowExpressionParams(RuleParams):
    scope: ClassVar[Scope] = Scope.DATASET
    expression: NonEmptyStr = Field(description="A polars SQL predicate over the row's columns that must be true.")
    language: ExpressionLanguage = Field(default=ExpressionLanguage.SQL, description="The expression language.")

    _sql = field_validator("expression")(check_sql_predicate)


class RowCountParams(DatasetNoParams):
    threshold: Threshold = Field(description="The bounds the number of rows in scope must satisfy.")


class ColumnsPresentParams(DatasetNoParams):
    columns: tuple[NonEmptyStr, ...] = Field(min_length=1, description="The columns the data must have.")


class SchemaMatchParams(DatasetNoParams):
    allow_extra_columns: bool = Field(
        default=False, description="Columns the dataset does not declare are not a problem."
    )
    check_types: bool = Field(default=True, description="Each declared column must also have its logical type.")


class FreshnessParams(DatasetNoParams):
    column: NonEmptyStr | None = Field(
        default=None,
        description="The date or timestamp column whose newest value is checked (default: the column the rule is "
        "bound to).",
    )
    max_age: NonEmptyStr  # ISO 8601 duration, e.g. PT24H or P1D

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.fullmatch(r"P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?", value):
            msg = f"{value!r} is not an ISO 8601 duration such as P1D or PT6H"
            raise ValueError(msg)
        return value


class ReferentialParams(RuleParams):
    # row-local once the reference values are loaded: each value is looked up on its own
    reference_dataset: NonEmptyStr  # a reference dataset the contract declares in reference_datasets
    reference_column: NonEmptyStr = Field(
        description="The column of the reference dataset that holds the valid values."
    )


def check_sql_query(text: str) -> str:
    """One SELECT over the rule's own table, every function on the allow-list."""
    try:
        check_query(text)
    except SqlRefusedError as exc:
        raise ValueError(f"SQL refused: {exc}") from None
    return text


class CustomSqlParams(DatasetNoParams):
    query: NonEmptyStr  # polars SQL returning one number; {object} and {property} substituted
    threshold: Threshold = Field(description="The bounds the query's number must satisfy.")

    _sql = field_validator("query")(check_sql_query)


class Statistic(StrEnum):
    MEAN = "mean"
    STDDEV = "stddev"
    MIN = "min"
    MAX = "max"
    MEDIAN = "median"
    SUM = "sum"
    DISTINCT_COUNT = "distinct_count"
    DISTINCT_PERCENT = "distinct_percent"
    NULL_PERCENT = "null_percent"


class ColumnStatisticParams(RuleParams):
    row_local: ClassVar[bool] = False
    statistic: Statistic = Field(description="The statistic of the column's values in scope.")
    threshold: Threshold = Field(description="The bounds the statistic must satisfy.")


class DriftMethod(StrEnum):
    PSI = "psi"
    KS = "ks"
    CHI_SQUARED = "chi_squared"


class DistributionDriftParams(RuleParams):
    row_local: ClassVar[bool] = False
    method: DriftMethod = Field(
        default=DriftMethod.PSI,
        description="`psi` (population stability index), `ks` (Kolmogorov-Smirnov) or `chi_squared`.",
    )
    max_drift: float = Field(default=0.2, gt=0, description="The largest drift measure that passes.")
    baseline: Literal["previous_run"] | NonEmptyStr = Field(
        default="previous_run",
        description="The profile compared with: the previous run's (or `dq validate --baseline`).",
    )


class AnomalyMethod(StrEnum):
    ROBUST = "robust"  # median ± k × 1.4826 × MAD: one outlier in the history moves nothing
    STDDEV = "stddev"  # mean ± k × σ (the sample standard deviation)


class Seasonality(StrEnum):
    NONE = "none"
    WEEKDAY = "weekday"  # compare with the earlier runs of the same weekday


class AnomalyParams(RuleParams):
    """The metric must lie within a band computed from its history (docs/validation.md, Anomaly)."""

    scope: ClassVar[Scope] = Scope.DATASET  # row_count needs no column; column metrics name one
    row_local: ClassVar[bool] = False
    metric: Statistic | Literal["row_count"] = Field(
        default="row_count",
        description="What is watched: `row_count`, or a statistic of the bound column (`null_percent`, `mean`, ...).",
    )
    method: AnomalyMethod = Field(
        default=AnomalyMethod.ROBUST,
        description="`robust`: median ± k × 1.4826 × MAD, which one outlier in the history does not move;"
        " `stddev`: mean ± k × σ.",
    )
    window: int = Field(
        default=20,
        ge=3,
        description="The last runs the band is computed from: normal ones only, of the same weekday when seasonal.",
    )
    z_score: float = Field(default=3.0, gt=0, description="k: the band is center ± k × spread.")
    min_history: int = Field(
        default=5,
        ge=2,
        description="Runs needed before the rule judges (it is `skipped` until then); also how many anomalies"
        " in a row are taken as a new level.",
    )
    min_relative_width: float = Field(
        default=0.05,
        ge=0,
        description="Each side of the band is at least this fraction of the center (0.05: 5%), even when σ = 0.",
    )
    min_absolute_width: float = Field(
        default=1.0,
        gt=0,
        description="Each side of the band is at least this, in the metric's unit (1: one row, one percentage point).",
    )
    seasonality: Seasonality = Field(
        default=Seasonality.NONE,
        description="`weekday`: compare with earlier runs of the same weekday (all runs until `min_history` of them"
        " are known).",
    )
    timezone: NonEmptyStr = Field(default="UTC", description="The IANA time zone a run's weekday is read in.")
    max_change_percent: float | None = Field(
        default=None, gt=0, description="Also stay within this change (%) of the last run considered."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value != "UTC":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                msg = f"unknown time zone {value!r} (an IANA name such as Europe/Paris)"
                raise ValueError(msg) from None
        return value


class OdcsMetric(StrEnum):
    NULL_VALUES = "nullValues"
    MISSING_VALUES = "missingValues"
    INVALID_VALUES = "invalidValues"
    DUPLICATE_VALUES = "duplicateValues"
    ROW_COUNT = "rowCount"


class MetricParams(RuleParams):
    """An ODCS library metric compared with a threshold."""

    row_local: ClassVar[bool] = False
    metric: OdcsMetric = Field(description="The ODCS metric counted.")
    unit: Unit = Field(default=Unit.ROWS, description="`rows`: the count; `percent`: 100 × count / rows in scope.")
    missing_values: tuple[Scalar, ...] | None = Field(
        default=None, description="Values that mean missing (`''`, `'N/A'`; null counts only when listed)."
    )
    valid_values: tuple[Scalar, ...] | None = Field(
        default=None, description="invalidValues: the values that are valid; any other non-missing value is invalid."
    )
    pattern: str | None = Field(
        default=None, description="invalidValues: a regular expression every valid value's text contains."
    )
    threshold: Threshold = Field(description="The bounds the count (or percent) must satisfy.")

    _check = field_validator("pattern")(lambda v: v if v is None else check_regex(v))

    @model_validator(mode="after")
    def _arguments(self) -> MetricParams:
        if self.metric is OdcsMetric.MISSING_VALUES and self.missing_values is None:
            msg = "metric missingValues needs missing_values"
            raise ValueError(msg)
        if self.metric is OdcsMetric.INVALID_VALUES and self.valid_values is None and self.pattern is None:
            msg = "metric invalidValues needs valid_values or pattern"
            raise ValueError(msg)
        return self


# --- rule specs: type + params + common fields, joined in one union --------------------


class RuleCommon(Model):
    """Fields every rule carries, whatever its type."""

    id: Id | None = Field(
        default=None, description="The rule's id: required for a template in a rule library, optional inline."
    )
    severity: Severity = Field(
        default=Severity.ERROR, description="`error`: a failure fails the run; `warning` and `info` are reported only."
    )
    mostly: Fraction = Field(
        default=1.0, description="The fraction of non-null values in scope that must pass (`not_null`: of all rows)."
    )
    message: str = Field(default="", description="Shown with the rule's result, for the people who fix the data.")
    dimension: Dimension | None = Field(default=None, description="The quality dimension the result is reported under.")
    description: str = Field(default="", description="Free text for readers of the library.")
    where: str | None = None  # polars SQL predicate; the rule sees only matching rows

    _where = field_validator("where")(lambda v: None if v is None else check_sql_predicate(v))
    # narrowed by every rule type: a Literal tag and its own params model
    type: str
    params: RuleParams
    # after params, so its validator sees them; left out of dumps when unset, so bundles keep their sha256
    hint: str | None = Field(
        default=None,
        max_length=MAX_HINT,
        exclude_if=lambda value: value is None,
        description="What to do when the rule fails: `{name}` placeholders from the rule's params and"
        " docs/validation.md (Remediation hints); default: the rule type's.",
    )

    @field_validator("hint")
    @classmethod
    def _hint(cls, value: str | None, info: ValidationInfo) -> str | None:
        params = info.data.get("params")
        if value is None or not isinstance(params, RuleParams):
            return value
        return check_hint(value, str(info.data.get("type")), type(params).model_fields)

    @property
    def scope(self) -> Scope:
        return self.params.scope

    @property
    def row_local(self) -> bool:
        return self.params.row_local


class NotNullRule(RuleCommon):
    """Every row has a value in the column.

    Counts: element = rows in scope; unexpected = rows whose value is null (nulls are what this rule counts, so none
    are set aside as missing). Fails when fewer than `mostly` of the rows have a value.
    """

    type: Literal["not_null"]
    params: NoParams = NoParams()


class UniqueRule(RuleCommon):
    """No value of the column occurs twice.

    Counts: element = rows in scope; missing = rows with a null (never a duplicate); unexpected = every row whose
    value occurs more than once (three equal values count 3, as Great Expectations counts). Fails when fewer
    than `mostly` of the non-null values in scope pass.
    """

    type: Literal["unique"]
    params: UniqueParams = UniqueParams()


class InSetRule(RuleCommon):
    """Every value is one of `values` (an allow list).

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values not in the list. Fails
    when fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["in_set"]
    params: SetParams


class NotInSetRule(RuleCommon):
    """No value is one of `values` (a deny list).

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values in the list. Fails when
    fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["not_in_set"]
    params: SetParams


class RegexRule(RuleCommon):
    """Every value's text contains a match of `pattern` (a search: anchor with `^...$` for a full match).

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values without a match. Fails
    when fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["regex"]
    params: RegexParams


class NotRegexRule(RuleCommon):
    """No value's text contains a match of `pattern`.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values with a match. Fails when
    fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["not_regex"]
    params: RegexParams


class RangeRule(RuleCommon):
    """Every value lies between `min` and `max`: numbers, or dates and timestamps for a date column.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values outside the bounds, and
    values that are not a number (or not a date). Fails when fewer than `mostly` of the non-null values in scope
    pass.
    """

    type: Literal["range"]
    params: RangeParams


class LengthRule(RuleCommon):
    """Every value's text has between `min` and `max` characters.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values shorter than `min` or
    longer than `max`. Fails when fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["length"]
    params: LengthParams


class TypeRule(RuleCommon):
    """Every value has the logical type `logical_type`. A typed column (Parquet, after cleansing) passes or fails as a
    whole; a text column is parsed value by value.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = text values that do not parse as
    the type (every value, when a typed column has another type). Fails when fewer than `mostly` of the non-null
    values in scope pass.
    """

    type: Literal["type"]
    params: TypeParams


class DateParseableRule(RuleCommon):
    """Every text value parses as a date or timestamp with one of `formats`; a date or timestamp column passes.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values no format parses. Fails
    when fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["date_parseable"]
    params: DateParseableParams


class NotFutureRule(RuleCommon):
    """No date or timestamp lies after the run's clock (dates compare with the run's date; `dq validate --now` sets the
    clock).

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values in the future. Fails when
    fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["not_future"]
    params: NoParams = NoParams()


class DateRangeRule(RuleCommon):
    """Every date or timestamp lies between `min` and `max`: ISO dates or timestamps, or bounds relative to the run's
    clock (`today-30d`, `now+1h`).

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values outside the range, and
    text that is not an ISO date or timestamp. Fails when fewer than `mostly` of the non-null values in scope
    pass.
    """

    type: Literal["date_range"]
    params: DateRangeParams


class CodeListRule(RuleCommon):
    """Every value is a code of the code list `code_list`, from a schema library the contract references.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values that are not a code
    (labels and synonyms are not codes: map them with the `map_values` cleansing step). Fails when fewer than
    `mostly` of the non-null values in scope pass.
    """

    type: Literal["code_list"]
    params: CodeListParams


class CompoundUniqueRule(RuleCommon):
    """No combination of the bound columns occurs twice: a compound key. Bind it to two or more columns.

    Counts: element = rows in scope; missing = rows with a null key part (never a duplicate); unexpected = every row
    whose key occurs more than once. Fails when fewer than `mostly` of the rows with a full key pass.
    """

    type: Literal["compound_unique"]
    params: CompoundUniqueParams = CompoundUniqueParams()


class ColumnComparisonRule(RuleCommon):
    """In every row `left op right` holds, for two columns named in the parameters (numbers, or dates compared as
    timestamps). It needs no column binding.

    Counts: element = rows in scope; missing = rows where either side is null (skipped); unexpected = rows where the
    comparison is false. Fails when fewer than `mostly` of the compared rows pass.
    """

    type: Literal["column_comparison"]
    params: ColumnComparisonParams


class RowExpressionRule(RuleCommon):
    """Every row satisfies a polars SQL predicate over its columns (`amount >= 0 OR status = 'void'`). It needs no
    column binding.

    Counts: element = rows in scope; unexpected = rows where the predicate is false (a null predicate passes, as a
    SQL CHECK does). Fails when fewer than `mostly` of the rows pass.
    """

    type: Literal["row_expression"]
    params: RowExpressionParams


class RowCountRule(RuleCommon):
    """The number of rows in scope satisfies `threshold`.

    Counts: element = observed = rows in scope; there is no unexpected count. Fails when the threshold does not
    hold.
    """

    type: Literal["row_count"]
    params: RowCountParams


class ColumnsPresentRule(RuleCommon):
    """The data has every column of `columns` (other columns may be present). Reads only the schema.

    Counts: element = the columns listed; unexpected = those the data lacks (observed lists them). Fails when one is
    missing.
    """

    type: Literal["columns_present"]
    params: ColumnsPresentParams


class SchemaMatchRule(RuleCommon):
    """The data's columns are the dataset's declared columns: none missing, none extra (unless `allow_extra_columns`),
    each of its declared logical type (unless `check_types: false`). Reads only the schema.

    Counts: element = the declared columns; unexpected = missing + extra + mistyped columns (observed lists each).
    Fails when there is one.
    """

    type: Literal["schema_match"]
    params: SchemaMatchParams = SchemaMatchParams()


class FreshnessRule(RuleCommon):
    """The newest value of `column` is at most `max_age` old at the run's clock.

    Counts: observed = the newest value and its age in seconds; there is no element or unexpected count. Fails when
    the data is older, or when no row in scope has a date.
    """

    type: Literal["freshness"]
    params: FreshnessParams


class ReferentialRule(RuleCommon):
    """Every value exists in `reference_column` of the dataset `reference_dataset` (a foreign key). The contract
    declares that dataset in `reference_datasets`: its key columns and where its data is (a blob path or glob in the
    tenant's container, or the latest cleansed output of a job); `--reference NAME=PATH` gives or overrides it for
    one run (docs/validation.md, Reference datasets). When it cannot be read the rule's status is `error`, with
    the reason.

    Counts: element = rows in scope; missing = null values (skipped); unexpected = values not found in the
    reference. Fails when fewer than `mostly` of the non-null values in scope pass.
    """

    type: Literal["referential"]
    params: ReferentialParams


class CustomSqlRule(RuleCommon):
    """A polars SQL query over the dataset returns one number that must satisfy `threshold`. `{object}` is replaced by
    the dataset's table name, `{property}` by the bound column. The query may read only its own dataset
    (docs/validation.md, Authored SQL).

    Counts: observed = the number; there is no element or unexpected count. Fails when the threshold does not hold
    or the number is null; a query that does not run makes the status `error`.
    """

    type: Literal["custom_sql"]
    params: CustomSqlParams


class ColumnStatisticRule(RuleCommon):
    """A statistic of the column's values in scope (mean, stddev, min, max, median, sum, distinct count or percent,
    null percent) satisfies `threshold`.

    Counts: observed = the statistic; there is no element or unexpected count. Fails when the threshold does not
    hold, or the statistic is null (a mean over no rows).
    """

    type: Literal["column_statistic"]
    params: ColumnStatisticParams


class DistributionDriftRule(RuleCommon):
    """The column's distribution has not moved from the baseline profile's by more than `max_drift` (histograms for
    numbers and dates, value frequencies for text). Compares whole-dataset profiles, so `where` does not apply.

    Counts: observed = the drift measure; there is no element or unexpected count. Fails when it is above
    `max_drift`; `skipped` without a baseline profile.
    """

    type: Literal["distribution_drift"]
    params: DistributionDriftParams = DistributionDriftParams()


class AnomalyRule(RuleCommon):
    """This run's metric (`row_count`, or a statistic of the bound column) lies within a band computed from the
    metric's earlier runs (docs/validation.md, Anomaly).

    Counts: observed = this run's metric; band = the bounds and how they were computed; there is no element or
    unexpected count. Fails outside the band; `skipped` while the history is shorter than `min_history` runs.
    """

    type: Literal["anomaly"]
    params: AnomalyParams = AnomalyParams()


class MetricRule(RuleCommon):
    """An ODCS library metric compared with `threshold`: nullValues, missingValues, invalidValues, duplicateValues or
    rowCount (docs/odcs.md).

    Counts: element = rows in scope; unexpected = the null, missing or invalid values, or the distinct keys that
    occur more than once (rowCount: none); observed = that count, or 100 × count / rows with `unit: percent`.
    Fails when the threshold does not hold.
    """

    type: Literal["metric"]
    params: MetricParams


RuleSpec = Annotated[
    NotNullRule
    | UniqueRule
    | InSetRule
    | NotInSetRule
    | RegexRule
    | NotRegexRule
    | RangeRule
    | LengthRule
    | TypeRule
    | DateParseableRule
    | NotFutureRule
    | DateRangeRule
    | CodeListRule
    | CompoundUniqueRule
    | ColumnComparisonRule
    | RowExpressionRule
    | RowCountRule
    | ColumnsPresentRule
    | SchemaMatchRule
    | FreshnessRule
    | ReferentialRule
    | CustomSqlRule
    | ColumnStatisticRule
    | DistributionDriftRule
    | AnomalyRule
    | MetricRule,
    Field(discriminator="type"),
]
"""Every rule type, discriminated by ``type``: the authoring schema of a rule."""

RULE_TYPES: tuple[type[RuleCommon], ...] = RuleSpec.__origin__.__args__  # type: ignore[attr-defined]


def rule_type_name(model: type[RuleCommon]) -> str:
    annotation = model.model_fields["type"].annotation
    return str(annotation.__args__[0])  # type: ignore[union-attr]


class RuleLibrary(Versioned):
    """Versioned set of rule templates, optionally extending other rule libraries."""

    kind: Literal[Kind.RULE_LIBRARY] = Kind.RULE_LIBRARY
    extends: tuple[Ref, ...] = ()
    rules: tuple[RuleSpec, ...] = ()

    @field_validator("rules")
    @classmethod
    def _ids(cls, rules: tuple[RuleCommon, ...]) -> tuple[RuleCommon, ...]:
        for index, rule in enumerate(rules):
            if rule.id is None:
                msg = f"rules[{index}]: a rule template needs an id"
                raise ValueError(msg)
        unique_ids(rules, "rule template")
        return sorted_by_id(rules)

    def references(self) -> tuple[Reference, ...]:
        return refs_at("extends", Kind.RULE_LIBRARY, self.extends)

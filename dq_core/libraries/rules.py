"""Rule types and the rule library.

One params model per rule type, joined in a discriminated union on ``type``: the
union is the authoring schema. Each rule type declares its *scope* (what it is
evaluated over) and whether it is row-local (can run per chunk and merge).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

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

    must_be: float | None = Field(default=None, validation_alias=AliasChoices("must_be", "mustBe"))
    must_not_be: float | None = Field(default=None, validation_alias=AliasChoices("must_not_be", "mustNotBe"))
    must_be_greater_than: float | None = Field(
        default=None, validation_alias=AliasChoices("must_be_greater_than", "mustBeGreaterThan")
    )
    must_be_greater_or_equal_to: float | None = Field(
        default=None, validation_alias=AliasChoices("must_be_greater_or_equal_to", "mustBeGreaterOrEqualTo")
    )
    must_be_less_than: float | None = Field(
        default=None, validation_alias=AliasChoices("must_be_less_than", "mustBeLessThan")
    )
    must_be_less_or_equal_to: float | None = Field(
        default=None, validation_alias=AliasChoices("must_be_less_or_equal_to", "mustBeLessOrEqualTo")
    )
    must_be_between: tuple[float, float] | None = Field(
        default=None, validation_alias=AliasChoices("must_be_between", "mustBeBetween")
    )
    must_not_be_between: tuple[float, float] | None = Field(
        default=None, validation_alias=AliasChoices("must_not_be_between", "mustNotBeBetween")
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
    values: tuple[Scalar, ...] = Field(min_length=1)


class RegexParams(RuleParams):
    pattern: NonEmptyStr

    _check = field_validator("pattern")(check_regex)


class RangeParams(RuleParams):
    min: float | str | None = None
    max: float | str | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

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
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

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
    logical_type: LogicalType


class DateParseableParams(RuleParams):
    formats: tuple[NonEmptyStr, ...] = Field(min_length=1)


class DateRangeParams(RuleParams):
    min: str | None = None  # ISO date/time, or "today-30d" style relative bound
    max: str | None = None
    formats: tuple[NonEmptyStr, ...] = ()


class CodeListParams(RuleParams):
    code_list: Id  # a code list of a referenced schema library
    case_sensitive: bool = True


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
    left: NonEmptyStr
    op: Comparison
    right: NonEmptyStr


class ExpressionLanguage(StrEnum):
    """Only SQL: a serialized polars expression can carry pickled Python code, so
    authored configuration never gets to deserialize one."""

    SQL = "sql"  # a predicate, evaluated with polars SQL


class RowExpressionParams(RuleParams):
    scope: ClassVar[Scope] = Scope.DATASET
    expression: NonEmptyStr
    language: ExpressionLanguage = ExpressionLanguage.SQL

    _sql = field_validator("expression")(check_sql_predicate)


class RowCountParams(DatasetNoParams):
    threshold: Threshold


class ColumnsPresentParams(DatasetNoParams):
    columns: tuple[NonEmptyStr, ...] = Field(min_length=1)


class SchemaMatchParams(DatasetNoParams):
    allow_extra_columns: bool = False
    check_types: bool = True


class FreshnessParams(DatasetNoParams):
    column: NonEmptyStr
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
    reference_dataset: NonEmptyStr  # a dataset of the same contract, or a reference data URI
    reference_column: NonEmptyStr


def check_sql_query(text: str) -> str:
    """One SELECT over the rule's own table, every function on the allow-list."""
    try:
        check_query(text)
    except SqlRefusedError as exc:
        raise ValueError(f"SQL refused: {exc}") from None
    return text


class CustomSqlParams(DatasetNoParams):
    query: NonEmptyStr  # polars SQL returning one number; {object} and {property} substituted
    threshold: Threshold

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
    statistic: Statistic
    threshold: Threshold


class DriftMethod(StrEnum):
    PSI = "psi"
    KS = "ks"
    CHI_SQUARED = "chi_squared"


class DistributionDriftParams(RuleParams):
    row_local: ClassVar[bool] = False
    method: DriftMethod = DriftMethod.PSI
    max_drift: float = Field(default=0.2, gt=0)
    baseline: Literal["previous_run"] | NonEmptyStr = "previous_run"


class AnomalyParams(RuleParams):
    scope: ClassVar[Scope] = Scope.DATASET  # row_count needs no column; column metrics name one
    row_local: ClassVar[bool] = False
    metric: Statistic | Literal["row_count"] = "row_count"
    window: int = Field(default=20, ge=3)  # runs of history considered
    z_score: float = Field(default=3.0, gt=0)
    min_history: int = Field(default=5, ge=2)
    max_change_percent: float | None = Field(default=None, gt=0)  # also bound the change from the last run


class OdcsMetric(StrEnum):
    NULL_VALUES = "nullValues"
    MISSING_VALUES = "missingValues"
    INVALID_VALUES = "invalidValues"
    DUPLICATE_VALUES = "duplicateValues"
    ROW_COUNT = "rowCount"


class MetricParams(RuleParams):
    """An ODCS library metric compared with a threshold."""

    row_local: ClassVar[bool] = False
    metric: OdcsMetric
    unit: Unit = Unit.ROWS
    missing_values: tuple[Scalar, ...] | None = None
    valid_values: tuple[Scalar, ...] | None = None
    pattern: str | None = None
    threshold: Threshold

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

    id: Id | None = None
    severity: Severity = Severity.ERROR
    mostly: Fraction = 1.0
    message: str = ""
    dimension: Dimension | None = None
    description: str = ""
    where: str | None = None  # polars SQL predicate; the rule sees only matching rows

    _where = field_validator("where")(lambda v: None if v is None else check_sql_predicate(v))
    # narrowed by every rule type: a Literal tag and its own params model
    type: str
    params: RuleParams

    @property
    def scope(self) -> Scope:
        return self.params.scope

    @property
    def row_local(self) -> bool:
        return self.params.row_local


class NotNullRule(RuleCommon):
    type: Literal["not_null"]
    params: NoParams = NoParams()


class UniqueRule(RuleCommon):
    type: Literal["unique"]
    params: UniqueParams = UniqueParams()


class InSetRule(RuleCommon):
    type: Literal["in_set"]
    params: SetParams


class NotInSetRule(RuleCommon):
    type: Literal["not_in_set"]
    params: SetParams


class RegexRule(RuleCommon):
    type: Literal["regex"]
    params: RegexParams


class NotRegexRule(RuleCommon):
    type: Literal["not_regex"]
    params: RegexParams


class RangeRule(RuleCommon):
    type: Literal["range"]
    params: RangeParams


class LengthRule(RuleCommon):
    type: Literal["length"]
    params: LengthParams


class TypeRule(RuleCommon):
    type: Literal["type"]
    params: TypeParams


class DateParseableRule(RuleCommon):
    type: Literal["date_parseable"]
    params: DateParseableParams


class NotFutureRule(RuleCommon):
    type: Literal["not_future"]
    params: NoParams = NoParams()


class DateRangeRule(RuleCommon):
    type: Literal["date_range"]
    params: DateRangeParams


class CodeListRule(RuleCommon):
    type: Literal["code_list"]
    params: CodeListParams


class CompoundUniqueRule(RuleCommon):
    type: Literal["compound_unique"]
    params: CompoundUniqueParams = CompoundUniqueParams()


class ColumnComparisonRule(RuleCommon):
    type: Literal["column_comparison"]
    params: ColumnComparisonParams


class RowExpressionRule(RuleCommon):
    type: Literal["row_expression"]
    params: RowExpressionParams


class RowCountRule(RuleCommon):
    type: Literal["row_count"]
    params: RowCountParams


class ColumnsPresentRule(RuleCommon):
    type: Literal["columns_present"]
    params: ColumnsPresentParams


class SchemaMatchRule(RuleCommon):
    type: Literal["schema_match"]
    params: SchemaMatchParams = SchemaMatchParams()


class FreshnessRule(RuleCommon):
    type: Literal["freshness"]
    params: FreshnessParams


class ReferentialRule(RuleCommon):
    type: Literal["referential"]
    params: ReferentialParams


class CustomSqlRule(RuleCommon):
    type: Literal["custom_sql"]
    params: CustomSqlParams


class ColumnStatisticRule(RuleCommon):
    type: Literal["column_statistic"]
    params: ColumnStatisticParams


class DistributionDriftRule(RuleCommon):
    type: Literal["distribution_drift"]
    params: DistributionDriftParams = DistributionDriftParams()


class AnomalyRule(RuleCommon):
    type: Literal["anomaly"]
    params: AnomalyParams = AnomalyParams()


class MetricRule(RuleCommon):
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

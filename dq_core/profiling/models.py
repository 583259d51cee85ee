"""Profile payloads: the mergeable state of some rows, and the finished profile."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, JsonValue

from dq_core.payloads import Payload

# Sizes that decide exact versus sketched statistics (see docs/profiling.md).
EXACT_VALUES = 1_000  # distinct values kept with exact counts; above: top-K with an error bound
TOP_K = 100  # values kept per state once counts are no longer exact
DISTINCT_K = 4_096  # bottom-k hashes: exact distinct count up to this many values
KLL_K = 400  # KLL sketch size: normalised rank error about 0.7 %
TOP_N = 10  # top values reported
LOW_CARDINALITY = 50  # full value counts reported up to this many distinct values
HISTOGRAM_BINS = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


class ColumnKind(StrEnum):
    NUMERIC = "numeric"
    TEMPORAL = "temporal"
    STRING = "string"
    BOOLEAN = "boolean"
    OTHER = "other"


Value = str | int | float | bool


class ColumnState(Payload):
    """Everything needed to merge one column's statistics with another part's."""

    name: str
    kind: ColumnKind
    dtype: str
    count: int = 0
    nulls: int = 0
    min: Value | None = None  # temporal: epoch microseconds
    max: Value | None = None
    n: int = 0  # numeric/temporal moments (Chan et al.)
    mean: float = 0.0
    m2: float = 0.0
    len_min: int | None = None
    len_max: int | None = None
    len_sum: int = 0
    values: list[tuple[Value, int]] | None = None  # exact counts while distinct <= EXACT_VALUES
    top: list[tuple[Value, int]] = Field(default_factory=list)  # when values is None
    top_error: int = 0  # upper bound of the undercount of any value in ``top``
    hashes: list[int] = Field(default_factory=list)  # bottom-k distinct hashes, sorted
    kll: str | None = None  # base64 KLL sketch of numeric/temporal values


class ProfileState(Payload):
    schema_id: Literal["dq.profile-state/v1"] = "dq.profile-state/v1"
    rows: int
    columns: list[ColumnState]


class Count(Payload):
    value: JsonValue
    count: int
    percent: float


class Bin(Payload):
    lower: JsonValue
    upper: JsonValue
    count: float


class Lengths(Payload):
    min: int
    max: int
    mean: float


class ColumnProfile(Payload):
    name: str
    kind: ColumnKind
    dtype: str
    row_count: int
    null_count: int
    null_percent: float
    distinct_count: int
    distinct_exact: bool
    distinct_relative_error: float | None = None  # one standard error, when estimated
    min: JsonValue = None
    max: JsonValue = None
    mean: JsonValue = None
    stddev: JsonValue = None
    quantiles: dict[str, JsonValue] | None = None  # p01 ... p99
    quantiles_exact: bool | None = None
    quantile_rank_error: float | None = None
    lengths: Lengths | None = None
    top_values: list[Count] = Field(default_factory=list)
    top_values_exact: bool = True
    top_values_max_undercount: int = 0
    histogram: list[Bin] | None = None
    histogram_exact: bool | None = None
    value_counts: list[Count] | None = None  # full counts for low-cardinality columns


class ProfileResult(Payload):
    schema_id: Literal["dq.profile/v1"] = "dq.profile/v1"
    row_count: int
    columns: list[ColumnProfile]

    def column(self, name: str) -> ColumnProfile | None:
        return next((column for column in self.columns if column.name == name), None)

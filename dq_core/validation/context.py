"""What a validation run knows besides the data: the clock, references, history, the caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from dq_core.libraries.governance import Role
from dq_core.validation.anomaly import HistoryItem

if TYPE_CHECKING:
    from dq_core.profiling.models import ProfileResult

ROW = "_dq_source_row"  # the source row number column, written by ingest
TOUCHED = "_dq_touched:"  # + a column: cleansing's per-row bitmask, bit i set when step i changed that cell


def touched_column(column: str) -> str:
    return TOUCHED + column


def touched_columns(names: list[str]) -> list[str]:
    """The columns of ``names`` that are cleansing's bitmasks."""
    return [name for name in names if name.startswith(TOUCHED)]


HELPER = "__dq_"  # columns a query adds for itself (a lazy read's texts beside the typed values, masks)


def bookkeeping(names: list[str]) -> list[str]:
    """The columns of ``names`` that are the platform's, not the tenant's: cleansing's bitmasks, helpers."""
    return [name for name in names if name.startswith((TOUCHED, HELPER))]


DEFAULT_SAMPLE_LIMIT = 20


@dataclass(frozen=True)
class ValidationContext:
    """Inputs of a validation beyond the frame and the bundle.

    ``now`` is passed in (never read from the clock inside the engine) so a run is
    reproducible; ``history`` maps a metric key (``row_count``, ``null_percent:email``)
    to earlier observations, oldest first: numbers, or points that say when and whether
    they were anomalies themselves (``HistoryPoint``).
    """

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    reference_data: Mapping[str, pl.Series] = field(default_factory=dict)  # see env.reference_key
    reference_errors: Mapping[str, str] = field(default_factory=dict)  # reference dataset -> why it is missing
    baseline_profile: ProfileResult | None = None
    current_profile: ProfileResult | None = None
    history: Mapping[str, Sequence[HistoryItem]] = field(default_factory=dict)
    caller_roles: frozenset[Role] = frozenset()
    sample_limit: int = DEFAULT_SAMPLE_LIMIT
    dataset_name: str = "dataset"
    cleansing_steps: tuple[str, ...] = ()  # the names of the bits of the TOUCHED masks (cleansing.engine.step_names)

"""Infra profile: how a run is chunked, parallelised, stored and kept."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from pydantic import Field

from dq_core.config.base import Kind, Model, Versioned


class StorageTier(StrEnum):
    HOT = "hot"
    COOL = "cool"
    COLD = "cold"
    ARCHIVE = "archive"


class StorageTiers(Model):
    raw: StorageTier = StorageTier.HOT
    outputs: StorageTier = StorageTier.HOT
    reports: StorageTier = StorageTier.COOL


class Retention(Model):
    raw_days: int = Field(default=30, ge=1)
    outputs_days: int = Field(default=90, ge=1)
    lineage_days: int = Field(default=400, ge=1)


# Bounds of a run's chunking, for the infra profile and a run's overrides alike. Every chunk
# costs three Parquet files and two activities whatever its size: chunks of one row made a
# run 590 times slower and starved the host. 100 rows keeps that overhead small while the
# test fixtures (a few hundred rows) still split into several chunks; the ceiling keeps one
# chunk's frame well inside an activity's memory.
MIN_CHUNK_ROWS: Final = 100
MAX_CHUNK_ROWS: Final = 5_000_000
MAX_PARALLELISM: Final = 64


class IngestLimits(Model):
    """Guards applied when a raw file is read."""

    max_file_bytes: int = Field(default=5 * 1024**3, ge=1)
    max_columns: int = Field(default=2_000, ge=1)
    max_line_bytes: int = Field(default=1024**2, ge=1)
    max_decompression_ratio: float = Field(default=100.0, gt=1.0)
    max_sheet_rows: int = Field(default=1_048_576, ge=1, le=1_048_576)  # Excel's own maximum
    max_chunks: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Chunks one run may split its file into: every chunk is several activities on the task "
        "hub the tenants share, so a small chunk_rows on a large file must not flood it.",
    )


MAX_FAILED_ROWS = 1_000_000
"""The most failed rows a tenant may ask for: validate_dataset holds that many rows, with their values,
on an instance other tenants' activities share (about 0.5 GB for wide rows, within a 2 GB Flex instance)."""


class InfraProfile(Versioned):
    kind: Literal[Kind.INFRA_PROFILE] = Kind.INFRA_PROFILE
    chunk_rows: int = Field(default=250_000, ge=MIN_CHUNK_ROWS, le=MAX_CHUNK_ROWS)
    max_parallelism: int = Field(default=4, ge=1, le=MAX_PARALLELISM)
    storage: StorageTiers = StorageTiers()
    retention: Retention = Retention()
    limits: IngestLimits = IngestLimits()
    max_failed_rows: int = Field(
        default=100_000,
        ge=0,
        le=MAX_FAILED_ROWS,
        description="Failing rows a run writes to failed_rows.parquet beside result.json (every row that fails a "
        "row-level or uniqueness rule, with the ids of the rules it failed), the first by source row; 0: none.",
    )

"""Guarded ingest: read a raw file into polars, refuse what should not be read.

Every refusal is an :class:`~dq_core.errors.IngestError` with a stable code and one
line: ``empty_file``, ``header_only``, ``format_mismatch`` (not the declared format, or
binary garbage), ``too_large``, ``too_many_columns``, ``too_many_rows`` (XLSX),
``line_too_long``, ``ragged_rows``, ``decompression_ratio``, ``encoding_unknown``,
``encoding_mixed``, ``missing_required_columns``, ``unexpected_columns``,
``duplicate_columns``. The raw file is opened read-only and never modified, moved or
deleted.

The cheap guards run before the expensive reading, and every guard is linear in the
size of the file: the column limit is checked on the header line before any record is
parsed, an XLSX archive's declared sizes before any XML is parsed (then its sheet is
streamed under a budget of rows and expanded bytes, see :mod:`dq_core.ingest.sheets`),
a Parquet file's schema before its data.

Text formats are read as text: every CSV column is a string here, and turning text
into the contract's types happens after cleansing (``conform_types``), where each
failing cell becomes a reject reason instead of a silent null.

This module is the in-one-piece API (:func:`read_guarded`, :func:`ingest`); both read through the
one streaming reader, :class:`dq_core.ingest.stream.ChunkedRead`, which ``dq run`` uses chunk by
chunk. The options, the report and format detection live in :mod:`dq_core.ingest.formats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.ingest.formats import (
    DELIMITERS,
    SNIFF_BYTES,
    SNIFF_DELIMITER_CHARS,
    Format,
    IngestOptions,
    IngestReport,
    expansion_ceiling,
    sheet_budget,
)
from dq_core.ingest.stream import WHOLE, ChunkedRead
from dq_core.libraries.infra import IngestLimits
from dq_core.validation.context import ROW

__all__ = [
    "DELIMITERS",
    "SNIFF_BYTES",
    "SNIFF_DELIMITER_CHARS",
    "Format",
    "IngestOptions",
    "IngestReport",
    "Ingested",
    "RawFrame",
    "expansion_ceiling",
    "ingest",
    "read_guarded",
    "sheet_budget",
    "write_chunks",
]


@dataclass(frozen=True)
class Ingested:
    frame: pl.DataFrame  # with _dq_source_row
    report: IngestReport


@dataclass(frozen=True)
class RawFrame:
    """A raw file read through every guard that does not need the contract."""

    frame: pl.DataFrame  # every column as read (text for CSV and XLSX), blank rows dropped
    format: str
    encoding: str | None
    delimiter: str | None
    bytes: int
    blank_rows: int


def read_guarded(
    path: Path, limits: IngestLimits, options: IngestOptions | None = None, *, columns: Sequence[str] | None = None
) -> RawFrame:
    """Read one raw file under the infra limits, in one piece, through the one reader
    (:class:`dq_core.ingest.stream.ChunkedRead`); refuse what should not be read. ``columns``: only
    these are needed (a Parquet file is read for them alone)."""
    with ChunkedRead(path, limits, options, columns=columns) as reading:
        frame = pl.concat(list(reading.chunks(WHOLE))).drop(ROW)
        return RawFrame(
            frame=frame,
            format=reading.format,
            encoding=reading.encoding,
            delimiter=reading.delimiter,
            bytes=reading.bytes,
            blank_rows=reading.blank_rows,
        )


def ingest(path: Path, bundle: ResolvedBundle, options: IngestOptions | None = None) -> Ingested:
    """Read and check one raw file against the bundle's dataset and the infra limits, in one piece
    (columns as text; :class:`dq_core.ingest.stream.ChunkedRead` reads it chunk by chunk)."""
    with ChunkedRead(path, bundle.infra.limits, options, bundle=bundle) as reading:
        frame = pl.concat(list(reading.chunks(WHOLE)))
        return Ingested(frame=frame, report=reading.report)


def write_chunks(frame: pl.DataFrame, directory: Path, chunk_rows: int) -> list[Path]:
    """Parquet chunks of ``chunk_rows`` rows: part-00000.parquet, part-00001.parquet, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, offset in enumerate(range(0, max(frame.height, 1), chunk_rows)):
        path = directory / f"part-{index:05d}.parquet"
        frame.slice(offset, chunk_rows).write_parquet(path)
        paths.append(path)
    return paths

"""Read a data file into a lazy polars frame, by its extension.

This is the plain reader behind ``dq validate`` and ``dq profile``: CSV (types
inferred, ISO dates parsed), Parquet, JSON lines and XLSX. The raw file is only
read, never modified. Before it is read, :func:`describe` passes it through the
guards of :func:`dq_core.ingest.guarded.read_guarded`, so these commands refuse
the files ``dq run`` refuses (empty, header only, binary, too wide, a zip bomb...)
with the same named errors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dq_core.errors import IngestError, InputError
from dq_core.ingest.guarded import read_guarded, sheet_budget
from dq_core.ingest.sheets import BoundedWorkbook, header_names
from dq_core.libraries.infra import IngestLimits
from dq_core.safe_text import safe_error

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str
    bytes: int
    sha256: str
    limits: IngestLimits = field(default_factory=IngestLimits)


def describe(path: Path, limits: IngestLimits | None = None) -> InputFile:
    """The file's identity, once it has passed the ingest guards under ``limits``."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unsupported file type {path.suffix!r} (use {', '.join(FORMATS)})")
    limits = limits or IngestLimits()
    read_guarded(path, limits)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return InputFile(path=path, format=fmt, bytes=path.stat().st_size, sha256=digest.hexdigest(), limits=limits)


def _read_xlsx(source: InputFile) -> pl.DataFrame:
    """The first sheet, each column typed from its cells (formulas as their cached values),
    streamed under the same budget as the guard."""
    path = source.path
    with BoundedWorkbook(path, sheet_budget(source.bytes, source.limits), path.name, data_only=True) as workbook:
        rows = workbook.rows()
        header = next((values for _, values in rows if values), None)
        if header is None:
            return pl.DataFrame()
        names = header_names(header)
        columns: list[list[Any]] = [[] for _ in names]
        for _, values in rows:
            if values:
                for number, column in enumerate(columns, start=1):
                    column.append(values.get(number))
    return pl.DataFrame([pl.Series(name, column, strict=False) for name, column in zip(names, columns, strict=True)])


def scan(source: InputFile) -> pl.LazyFrame:
    path = source.path
    try:
        if source.format == "csv":
            frame = pl.scan_csv(path, try_parse_dates=True, infer_schema_length=None)
        elif source.format == "parquet":
            frame = pl.scan_parquet(path)
        elif source.format == "jsonl":
            frame = pl.scan_ndjson(path, infer_schema_length=None)
        else:
            frame = _read_xlsx(source).lazy()
        frame.collect_schema()
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - polars and the Excel engine raise many types
        raise InputError(f"{path}: cannot be read as {source.format}: {safe_error(exc)}") from None
    return frame

"""Read a data file into a lazy polars frame, by its extension.

This is the plain reader behind ``dq validate`` and ``dq profile``: CSV (types
inferred, ISO dates parsed), Parquet, JSON lines and XLSX. The raw file is only
read, never modified.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dq_core.errors import InputError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class InputFile:
    path: Path
    format: str
    bytes: int
    sha256: str


def describe(path: Path) -> InputFile:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unsupported file type {path.suffix!r} (use {', '.join(FORMATS)})")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return InputFile(path=path, format=fmt, bytes=path.stat().st_size, sha256=digest.hexdigest())


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
            frame = pl.read_excel(path, engine="openpyxl").lazy()
        frame.collect_schema()
    except Exception as exc:  # noqa: BLE001 - polars and the Excel engine raise many types
        lines = str(exc).strip().splitlines()
        raise InputError(
            f"{path}: cannot be read as {source.format}: {lines[0] if lines else type(exc).__name__}"
        ) from None
    return frame

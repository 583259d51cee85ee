"""What the reader is told and reports: ingest options, the ingest report, format detection by name
and magic bytes, the delimiter sniffer, the bounded XLSX sheet as text, the expansion ceiling.

Shared by the one reader (:mod:`dq_core.ingest.stream`) and its in-one-piece API
(:mod:`dq_core.ingest.guarded`), which re-exports these names.
"""

from __future__ import annotations

import csv
from datetime import datetime, time
from pathlib import Path
from typing import Literal, Self

import polars as pl
from pydantic import Field, field_validator, model_validator

from dq_core.errors import IngestError
from dq_core.ingest.sheets import BoundedWorkbook, SheetBudget, header_names
from dq_core.libraries.infra import IngestLimits
from dq_core.payloads import Payload

SNIFF_BYTES = 64 * 1024
SNIFF_DELIMITER_CHARS = 8 * 1024  # csv.Sniffer is quadratic in its sample: 64 KiB of ',"a' took 13 s, 8 KiB 0.2 s
DELIMITERS = ",;\t|"
_MAGIC = {b"PAR1": "parquet", b"PK\x03\x04": "xlsx", b"\x1f\x8b": "gzip"}
_XLSX_BATCH_ROWS = 50_000  # rows turned into a polars frame at a time: Python objects never pile up

Format = Literal["csv", "csv.gz", "parquet", "jsonl", "xlsx"]


def _one_character(value: str, what: str) -> str:
    if len(value) != 1 or not value.isascii() or value in "\r\n\x00":
        msg = f"the {what} must be one ASCII character other than a line break or NUL, not {value[:10]!r}"
        raise ValueError(msg)
    return value


class IngestOptions(Payload):
    """Explicit overrides of what ingest would detect; checked when a run is requested."""

    format: Format | None = None
    encoding: str | None = Field(default=None, min_length=1, max_length=64)
    delimiter: str | None = None
    quote: str = '"'

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            b"a".decode(value)  # LookupError: unknown, or not a text encoding (rot13, hex, base64)
        except UnicodeError:
            pass  # a text encoding; this byte is just not valid in it
        except LookupError:
            msg = f"{value!r} is not a known text encoding (e.g. utf-8, cp1252, utf-16)"
            raise ValueError(msg) from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str | None) -> str | None:
        return value if value is None else _one_character(value, "delimiter")

    @field_validator("quote")
    @classmethod
    def _quote(cls, value: str) -> str:
        return _one_character(value, "quote character")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.delimiter is not None and self.delimiter == self.quote:
            msg = "the delimiter and the quote character must differ"
            raise ValueError(msg)
        return self


class IngestReport(Payload):
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    bytes: int
    rows: int
    columns: list[str]
    added_columns: list[str] = []  # optional contract columns absent from the file (all null)
    dropped_columns: list[str] = []  # unexpected columns dropped by the contract's policy
    blank_rows: int = 0  # blank lines (or rows of empty fields) skipped, counted here


def _format_of(path: Path, head: bytes, declared: str | None) -> str:
    name = path.name.lower()
    by_name = (
        "csv.gz"
        if name.endswith((".csv.gz", ".tsv.gz"))
        else "csv"
        if name.endswith((".csv", ".tsv", ".txt"))
        else "parquet"
        if name.endswith(".parquet")
        else "jsonl"
        if name.endswith((".jsonl", ".ndjson"))
        else "xlsx"
        if name.endswith(".xlsx")
        else None
    )
    fmt = declared or by_name
    if fmt is None:
        raise IngestError(
            "format_mismatch", f"{path.name}: unknown file type (use .csv, .csv.gz, .parquet, .jsonl or .xlsx)"
        )
    magic = next((kind for prefix, kind in _MAGIC.items() if head.startswith(prefix)), None)
    expected = {"parquet": "parquet", "xlsx": "xlsx", "csv.gz": "gzip"}.get(fmt)
    if expected and magic != expected:
        raise IngestError("format_mismatch", f"{path.name}: declared {fmt}, but the bytes are not {fmt}")
    if not expected and magic is not None:
        raise IngestError("format_mismatch", f"{path.name}: declared {fmt}, but the bytes are {magic}")
    return fmt


def _delimiter(text: str, declared: str | None) -> str:
    if declared:
        return declared
    sample = text[:SNIFF_DELIMITER_CHARS]
    if len(text) > len(sample) and (end := sample.rfind("\n")) > 0:
        sample = sample[:end]  # whole lines only, so the sniffer sees consistent records
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        return max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","


def expansion_ceiling(size: int, limits: IngestLimits) -> int:
    """How many bytes a compressed file of ``size`` bytes may expand to."""
    return min(int(size * limits.max_decompression_ratio), limits.max_file_bytes)


def sheet_budget(size: int, limits: IngestLimits) -> SheetBudget:
    return SheetBudget(
        max_rows=limits.max_sheet_rows,
        max_columns=limits.max_columns,
        max_cell_bytes=expansion_ceiling(size, limits),
        max_ratio=limits.max_decompression_ratio,
    )


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()  # an Excel date cell is a datetime at midnight
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path, limits: IngestLimits, size: int) -> pl.DataFrame:
    """The first sheet as text. Formulas are read as their text (``=HYPERLINK(...)``), not
    silently as empty cached values, so cleansing can reject them with a reason. The sheet is
    streamed under the limits' budget, and its rows become polars frames batch by batch."""
    name = path.name
    with BoundedWorkbook(path, sheet_budget(size, limits), name, data_only=False) as workbook:
        rows = workbook.rows()
        header = next((values for _, values in rows if values), None)
        if header is None:
            return pl.DataFrame()
        names = header_names(header)
        if len(set(names)) != len(names):
            raise IngestError("duplicate_columns", f"{name}: the header repeats a column name")
        width = len(names)
        schema = dict.fromkeys(names, pl.String)
        frames = [pl.DataFrame(schema=schema)]
        batch: list[list[str | None]] = []
        for number, values in rows:
            if not values:
                continue
            if max(values) > width:
                raise IngestError("ragged_rows", f"{name}: row {number} has values beyond the header")
            batch.append([_cell_text(values.get(column)) for column in range(1, width + 1)])
            if len(batch) >= _XLSX_BATCH_ROWS:
                frames.append(pl.DataFrame(batch, schema=schema, orient="row"))
                batch = []
        frames.append(pl.DataFrame(batch, schema=schema, orient="row"))
    return pl.concat(frames, rechunk=True)

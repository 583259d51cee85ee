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
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Literal, Self

import polars as pl
from pydantic import Field, field_validator, model_validator

from dq_core.bundle.models import ResolvedBundle
from dq_core.contracts.models import UnexpectedColumns
from dq_core.errors import IngestError
from dq_core.ingest.sheets import BoundedWorkbook, SheetBudget, header_names
from dq_core.libraries.infra import IngestLimits
from dq_core.payloads import Payload
from dq_core.safe_text import safe_error
from dq_core.validation.context import ROW

SNIFF_BYTES = 64 * 1024
SNIFF_DELIMITER_CHARS = 8 * 1024  # csv.Sniffer is quadratic in its sample: 64 KiB of ',"a' took 13 s, 8 KiB 0.2 s
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
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


@dataclass(frozen=True)
class Ingested:
    frame: pl.DataFrame  # with _dq_source_row
    report: IngestReport


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


def _gunzip(raw: bytes, limits: IngestLimits, name: str) -> bytes:
    """Every member of a (possibly multi-member) gzip stream; a truncated stream is refused."""
    ceiling = expansion_ceiling(len(raw), limits)
    parts: list[bytes] = []
    size = 0
    rest = raw
    try:
        while rest:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            for start in range(0, len(rest), 1 << 16):
                piece = inflater.decompress(rest[start : start + (1 << 16)], ceiling + 1 - size)
                size += len(piece)
                parts.append(piece)
                if size > ceiling or inflater.unconsumed_tail:
                    raise IngestError(
                        "decompression_ratio",
                        f"{name}: expands beyond {limits.max_decompression_ratio:g}x its size or the size limit",
                    )
                if inflater.eof:
                    break
            if not inflater.eof:
                raise IngestError("format_mismatch", f"{name}: the gzip stream is truncated")
            rest = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise IngestError("format_mismatch", f"{name}: not a valid gzip stream ({exc})") from None
    return b"".join(parts)


def _decode(data: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise IngestError("encoding_unknown", f"{name}: cannot be read as {encoding}: {exc}") from None
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec), codec
    if b"\x00" in data[:SNIFF_BYTES]:
        raise IngestError("format_mismatch", f"{name}: binary content (NUL bytes) where text was declared")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if _UTF8_MULTIBYTE.search(data):
            line = data[: exc.start].count(b"\n") + 1
            raise IngestError(
                "encoding_mixed", f"{name}: line {line} is not UTF-8 while other lines are; one file, one encoding"
            ) from None
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only for files that are not UTF-8

    best = from_bytes(data[: 4 * SNIFF_BYTES]).best()
    if best is None:
        raise IngestError("encoding_unknown", f"{name}: the text encoding cannot be determined; give --encoding")
    try:
        return data.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError):
        raise IngestError(
            "encoding_unknown", f"{name}: looks like {best.encoding} but does not decode; give --encoding"
        ) from None


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


def _check_header_width(text: str, delimiter: str, quote: str, limits: IngestLimits, name: str) -> None:
    """The column limit, before any record is parsed: the delimiters of the first line bound
    its field count (quoted delimiters only make the bound larger), and only a header over the
    limit by that count is parsed, once, to count exactly. Linear in the line's length."""
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    if first.count(delimiter) + 1 <= limits.max_columns:
        return
    try:
        width = len(next(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote), []))
    except csv.Error:
        width = first.count(delimiter) + 1
    if width > limits.max_columns:
        raise IngestError("too_many_columns", f"{name}: {width} columns, over the limit of {limits.max_columns}")


def _check_records(text: str, delimiter: str, quote: str, limits: IngestLimits, name: str) -> None:
    """Field count of every record equals the header's; no line is over the limit."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote)
    try:
        header = next(reader)
    except StopIteration:
        raise IngestError("empty_file", f"{name}: no header line") from None
    except csv.Error as exc:
        raise IngestError("format_mismatch", f"{name}: not CSV: {exc}") from None
    width = len(header)
    if width > limits.max_columns:
        raise IngestError("too_many_columns", f"{name}: {width} columns, over the limit of {limits.max_columns}")
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)
    if repeated:
        raise IngestError("duplicate_columns", f"{name}: the header repeats {', '.join(repeated[:10])}")
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > limits.max_line_bytes:
        raise IngestError(
            "line_too_long", f"{name}: a line of {longest} characters, over the limit of {limits.max_line_bytes}"
        )
    try:
        for record in reader:
            if record and len(record) != width:
                raise IngestError(
                    "ragged_rows",
                    f"{name}: line {reader.line_num} has {len(record)} fields, the header has {width}",
                )
    except csv.Error as exc:
        raise IngestError("format_mismatch", f"{name}: line {reader.line_num}: {exc}") from None


def _read_csv(data: bytes, options: IngestOptions, limits: IngestLimits, name: str) -> tuple[pl.DataFrame, str, str]:
    text, encoding = _decode(data, options.encoding, name)
    if not text.strip():
        raise IngestError("empty_file", f"{name}: the file holds no text")
    delimiter = _delimiter(text, options.delimiter)
    _check_header_width(text, delimiter, options.quote, limits, name)
    _check_records(text, delimiter, options.quote, limits, name)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            quote_char=options.quote,
            infer_schema=False,
        )
    except pl.exceptions.DuplicateError as exc:
        raise IngestError("duplicate_columns", f"{name}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # noqa: BLE001 - polars raises several types for malformed CSV
        raise IngestError("format_mismatch", f"{name}: not readable as CSV: {safe_error(exc)}") from None
    return frame, encoding, delimiter


def _without_blank_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Blank lines (and rows of empty fields) are not records: dropped, and counted."""
    if frame.width == 0:
        return frame, 0
    blank = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).cast(pl.String) == "") for c in frame.columns])
    kept = frame.filter(~blank)
    return kept, frame.height - kept.height


def _read_binary(
    path: Path, fmt: str, limits: IngestLimits, size: int, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    name = path.name
    try:
        if fmt == "parquet":
            schema = pl.read_parquet_schema(path)  # the footer only: a wide file is refused unread
            _check_width(len(schema), limits, name)
            wanted = [column for column in columns or () if column in schema]
            return pl.read_parquet(path, columns=wanted or None)
        if fmt == "jsonl":
            return pl.read_ndjson(path, infer_schema_length=None)
        return _read_xlsx(path, limits, size)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - the readers raise many types for broken files
        raise IngestError("format_mismatch", f"{name}: not readable as {fmt}: {safe_error(exc)}") from None


def _check_width(width: int, limits: IngestLimits, name: str) -> None:
    if width > limits.max_columns:
        raise IngestError("too_many_columns", f"{name}: {width} columns, over the limit of {limits.max_columns}")


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


def _conform_columns(
    frame: pl.DataFrame, bundle: ResolvedBundle, name: str
) -> tuple[pl.DataFrame, list[str], list[str]]:
    declared = {column.name: column for column in bundle.dataset.columns}
    present = set(frame.columns)
    missing_required = [c for c, spec in declared.items() if c not in present and (spec.required or spec.primary_key)]
    if missing_required:
        raise IngestError(
            "missing_required_columns", f"{name}: required column(s) missing: {', '.join(missing_required)}"
        )
    added = [c for c in declared if c not in present]
    unexpected = [c for c in frame.columns if c not in declared]
    policy = bundle.dataset.unexpected_columns
    if unexpected and policy is UnexpectedColumns.REJECT_FILE:
        raise IngestError(
            "unexpected_columns", f"{name}: column(s) the contract does not declare: {', '.join(unexpected)}"
        )
    dropped = unexpected if policy is UnexpectedColumns.DROP else []
    frame = frame.drop(dropped).with_columns([pl.lit(None, pl.String).alias(c) for c in added])
    return frame, added, dropped


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
    """Read one raw file under the infra limits; refuse what should not be read.

    ``dq run`` (through :func:`ingest`), ``dq validate`` and ``dq profile`` all pass here,
    so a file one of them refuses, the others refuse too. ``columns``: only these are needed (a Parquet file is
    read for them alone; text formats are parsed whole, as their guards need)."""
    options = options or IngestOptions()
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError("format_mismatch", f"{name}: cannot be read: {exc.strerror}") from None
    if size == 0:
        raise IngestError("empty_file", f"{name}: the file is empty")
    if size > limits.max_file_bytes:
        raise IngestError("too_large", f"{name}: {size} bytes, over the limit of {limits.max_file_bytes}")
    with path.open("rb") as handle:  # read-only: the raw file is never changed
        head = handle.read(8)
    fmt = _format_of(path, head, options.format)
    encoding = delimiter = None
    if fmt in ("csv", "csv.gz"):
        raw = path.read_bytes()
        data = _gunzip(raw, limits, name) if fmt == "csv.gz" else raw
        frame, encoding, delimiter = _read_csv(data, options, limits, name)
    else:
        frame = _read_binary(path, fmt, limits, size, columns)
        _check_width(frame.width, limits, name)
    if frame.width == 0:
        raise IngestError("empty_file", f"{name}: no columns")
    frame, blank_rows = _without_blank_rows(frame)
    if frame.height == 0:
        raise IngestError("header_only", f"{name}: a header and no data rows")
    return RawFrame(frame=frame, format=fmt, encoding=encoding, delimiter=delimiter, bytes=size, blank_rows=blank_rows)


def ingest(path: Path, bundle: ResolvedBundle, options: IngestOptions | None = None) -> Ingested:
    """Read and check one raw file against the bundle's dataset and the infra limits."""
    raw = read_guarded(path, bundle.infra.limits, options)
    frame, added, dropped = _conform_columns(raw.frame, bundle, path.name)
    frame = frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    report = IngestReport(
        format=raw.format,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        bytes=raw.bytes,
        rows=frame.height,
        columns=[c for c in frame.columns if c != ROW],
        added_columns=added,
        dropped_columns=dropped,
        blank_rows=raw.blank_rows,
    )
    return Ingested(frame=frame, report=report)


def write_chunks(frame: pl.DataFrame, directory: Path, chunk_rows: int) -> list[Path]:
    """Parquet chunks of ``chunk_rows`` rows: part-00000.parquet, part-00001.parquet, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, offset in enumerate(range(0, max(frame.height, 1), chunk_rows)):
        path = directory / f"part-{index:05d}.parquet"
        frame.slice(offset, chunk_rows).write_parquet(path)
        paths.append(path)
    return paths

"""The one reader: a raw file through the guards, read by polars in chunks, typed by the contract.

``dq run`` (ingest), ``dq cleanse``, ``dq validate`` and ``dq profile`` all read through
:class:`ChunkedRead`, so a file gives the same rows, columns and types whichever command reads it,
and a file one of them refuses, the others refuse with the same :class:`~dq_core.errors.IngestError`.

The raw file is never held whole in memory, never modified:

* identity (size, SHA-256) and the UTF-8 check are one pass over the raw bytes in blocks (an
  incremental decoder: a character split across two blocks is fine);
* a ``csv.gz`` is decompressed as a stream to a temporary file, under the expansion ceiling; a
  file in another encoding (a UTF-16 BOM, ``--encoding``, or detected on its head) is transcoded
  as a stream to a temporary UTF-8 file; the temporary files go when the read is closed;
* NUL bytes (binary content) are sniffed on the head, the column limit and duplicate names are
  checked on the header line;
* line lengths and the field count of every record (ragged rows, both ways) are one native
  polars pass over the lines (:func:`polars.scan_lines`); only a file with quoted line breaks
  falls back to the record-by-record check;
* the rows are read by polars (``scan_csv`` / ``scan_parquet`` / ``scan_ndjson``) in batches of
  ``chunk_rows``; XLSX is the bounded streaming sheet reader.

Typing comes from the contract, never from inferring the whole file: every CSV column is read as
text; with ``typed`` a declared column is cast to its logical type with the cleansing engine's own
:func:`~dq_core.cleansing.steps.cast_expr`, and each cell that does not convert becomes null and is
counted in :attr:`ChunkedRead.conversions` (``dq validate`` reports it as a failing ``type`` check).
``dq run`` reads untyped: its cleansing's ``conform_types`` casts and turns each failure into a
reject reason.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.steps import _CAST, cast_expr
from dq_core.contracts.models import UnexpectedColumns
from dq_core.errors import IngestError
from dq_core.ingest.guarded import (
    SNIFF_BYTES,
    IngestOptions,
    IngestReport,
    _delimiter,
    _format_of,
    _read_xlsx,
    expansion_ceiling,
)
from dq_core.libraries.infra import IngestLimits
from dq_core.safe_text import safe_error
from dq_core.validation.context import ROW

BLOCK = 1 << 20  # bytes read at a time from the raw file
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
WHOLE = 1 << 62  # chunk_rows that reads the file in one piece (one parallel polars query)
SAMPLES = 5  # masked examples kept per column whose cells do not convert


@dataclass
class Conversion:
    """The cells of one declared column that do not convert to its logical type (``typed`` reads)."""

    logical_type: str
    count: int = 0
    samples: list[tuple[int, str]] = field(default_factory=list)  # (source row, value as read)


@dataclass(frozen=True)
class _Scanned:
    """What the pass over the raw bytes found."""

    sha256: str
    bad_utf8_line: int | None  # the first line that is not UTF-8
    multibyte: bool  # valid UTF-8 multi-byte characters elsewhere in the file


def _scan_bytes(path: Path, *, check_utf8: bool) -> _Scanned:
    """SHA-256 and (optionally) the UTF-8 check, in one pass of blocks."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad_line: int | None = None
    multibyte = False
    lines_before = 0
    tail = b""  # the last bytes of the previous block: a character may straddle two blocks
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
            if not check_utf8:
                continue
            if bad_line is None:
                try:
                    decoder.decode(block)
                    multibyte = multibyte or not block.isascii()
                except UnicodeDecodeError as exc:
                    bad_line = lines_before + block[: max(exc.start, 0)].count(b"\n") + 1
                    multibyte = multibyte or bool(_UTF8_MULTIBYTE.search(block))
                lines_before += block.count(b"\n")
            elif not multibyte:
                multibyte = bool(_UTF8_MULTIBYTE.search(tail + block))
            tail = block[-3:]
    if check_utf8 and bad_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad_line = lines_before + 1
    return _Scanned(sha256=digest.hexdigest(), bad_utf8_line=bad_line, multibyte=multibyte)


def _sha256(path: Path) -> str:
    return _scan_bytes(path, check_utf8=False).sha256


def gunzip_to(source: Path, target: Path, limits: IngestLimits, name: str) -> None:
    """Every member of a (possibly multi-member) gzip stream, decompressed as a stream into
    ``target`` under the expansion ceiling; a truncated stream is refused."""
    ceiling = expansion_ceiling(source.stat().st_size, limits)
    written = 0
    inflater: zlib._Decompress | None = None
    pending = b""
    try:
        with source.open("rb") as src, target.open("wb") as out:
            while True:
                if not pending:
                    pending = src.read(1 << 16)
                    if not pending:
                        break
                if inflater is None:
                    pending = pending.lstrip(b"\x00") if written else pending
                    if not pending:
                        continue
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                piece = inflater.decompress(pending, ceiling + 1 - written)
                written += len(piece)
                out.write(piece)
                if written > ceiling or inflater.unconsumed_tail:
                    raise IngestError(
                        "decompression_ratio",
                        f"{name}: expands beyond {limits.max_decompression_ratio:g}x its size or the size limit",
                    )
                pending = b""
                if inflater.eof:
                    pending, inflater = inflater.unused_data, None
    except zlib.error as exc:
        raise IngestError("format_mismatch", f"{name}: not a valid gzip stream ({exc})") from None
    if inflater is not None:
        raise IngestError("format_mismatch", f"{name}: the gzip stream is truncated")


def _transcode(source: Path, target: Path, encoding: str, name: str, *, detected: bool = False) -> None:
    """``source`` in ``encoding`` as UTF-8 in ``target``, block by block."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
            for block in iter(lambda: src.read(BLOCK), b""):
                out.write(decoder.decode(block))
            out.write(decoder.decode(b"", final=True))
    except (UnicodeDecodeError, LookupError) as exc:
        if detected:
            raise IngestError(
                "encoding_unknown", f"{name}: looks like {encoding} but does not decode; give --encoding"
            ) from None
        raise IngestError("encoding_unknown", f"{name}: cannot be read as {encoding}: {exc}") from None


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


@dataclass(frozen=True)
class _Text:
    path: Path  # UTF-8 text polars can read: the raw file itself, or a temporary copy
    encoding: str
    sha256: str


def _utf8_text(raw: Path, text: Path, folder: Path, options: IngestOptions, name: str) -> _Text:
    """The file as UTF-8 (the raw file itself when it is), its encoding, and the raw file's SHA-256.
    ``text`` is the raw file, or its decompressed copy for a csv.gz."""
    with text.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if options.encoding and not _is_utf8(options.encoding):
        target = folder / "transcoded.csv"
        _transcode(text, target, options.encoding, name)
        return _Text(target, options.encoding, _sha256(raw))
    bom = None if options.encoding else next((codec for mark, codec in _BOMS if head.startswith(mark)), None)
    if bom == "utf-16":
        target = folder / "transcoded.csv"
        _transcode(text, target, "utf-16", name)
        return _Text(target, "utf-16", _sha256(raw))
    if bom is None and not options.encoding and b"\x00" in head:
        raise IngestError("format_mismatch", f"{name}: binary content (NUL bytes) where text was declared")
    scanned = _scan_bytes(text, check_utf8=True)
    sha = scanned.sha256 if raw == text else _sha256(raw)
    encoding = options.encoding or bom or "utf-8"
    if scanned.bad_utf8_line is None:
        return _Text(text, encoding, sha)
    if options.encoding:
        raise IngestError(
            "encoding_unknown", f"{name}: cannot be read as {options.encoding}: line {scanned.bad_utf8_line}"
        )
    if scanned.multibyte:
        raise IngestError(
            "encoding_mixed",
            f"{name}: line {scanned.bad_utf8_line} is not UTF-8 while other lines are; one file, one encoding",
        )
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only for files that are not UTF-8

    with text.open("rb") as handle:
        best = from_bytes(handle.read(4 * SNIFF_BYTES)).best()
    if best is None:
        raise IngestError("encoding_unknown", f"{name}: the text encoding cannot be determined; give --encoding")
    target = folder / "transcoded.csv"
    _transcode(text, target, best.encoding, name, detected=True)
    return _Text(target, best.encoding, sha)


def _head(path: Path, limits: IngestLimits) -> str:
    """The first bytes of the text, at least its first line (up to the line limit)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        while b"\n" not in head and len(head) <= limits.max_line_bytes + SNIFF_BYTES:
            block = handle.read(BLOCK)
            if not block:
                break
            head += block
    return head.decode("utf-8", errors="ignore").removeprefix("\ufeff")


def _header(head: str, delimiter: str, quote: str, limits: IngestLimits, name: str) -> list[str]:
    """The header's names, checked: the column limit first on the first line's delimiters (linear),
    then the parsed record, its width and repeated names."""
    first = head.split("\n", 1)[0]
    try:
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter, quotechar=quote), None)
    except csv.Error as exc:
        if first.count(delimiter) + 1 > limits.max_columns:
            header = first.split(delimiter)
        else:
            raise IngestError("format_mismatch", f"{name}: not CSV: {exc}") from None
    if not header:
        raise IngestError("empty_file", f"{name}: no header line")
    if len(header) > limits.max_columns:
        raise IngestError("too_many_columns", f"{name}: {len(header)} columns, over the limit of {limits.max_columns}")
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)
    if repeated:
        raise IngestError("duplicate_columns", f"{name}: the header repeats {', '.join(repeated[:10])}")
    return header


def _check_lines(path: Path, width: int, delimiter: str, quote: str, limits: IngestLimits, name: str) -> None:
    """Line lengths and the field count of every record, in one native pass over the lines. A
    quoted field's delimiters are not counted (quoted segments are removed first); a file with
    quoted line breaks (a line with an odd number of quotes) is checked record by record."""
    line = pl.col("line").str.strip_suffix("\r")
    quoted = re.escape(quote) + "[^" + re.escape(quote) + "]*" + re.escape(quote)
    unquoted = pl.when(line.str.contains(quote, literal=True)).then(line.str.replace_all(quoted, "")).otherwise(line)
    fields = unquoted.str.count_matches(delimiter, literal=True) + 1
    stats = (
        pl.scan_lines(path, row_index_name="number", row_index_offset=1)
        .select(
            longest=line.str.len_chars().max(),
            open_quotes=(line.str.count_matches(quote, literal=True) % 2 == 1).any(),
            ragged=pl.struct(number=pl.col("number"), fields=fields)
            .filter((pl.col("number") > 1) & (line != "") & (fields != width))
            .first(),
        )
        .collect()
        .row(0, named=True)
    )
    longest = stats["longest"] or 0
    if longest > limits.max_line_bytes:
        raise IngestError(
            "line_too_long", f"{name}: a line of {longest} characters, over the limit of {limits.max_line_bytes}"
        )
    if stats["open_quotes"]:
        _check_records(path, width, delimiter, quote, name)
    elif stats["ragged"] is not None:
        number, count = stats["ragged"]["number"], stats["ragged"]["fields"]
        raise IngestError("ragged_rows", f"{name}: line {number} has {count} fields, the header has {width}")


def _check_records(path: Path, width: int, delimiter: str, quote: str, name: str) -> None:
    """The field count of every record, record by record (only for files with quoted line breaks)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar=quote)
        try:
            next(reader, None)
            for record in reader:
                if record and len(record) != width:
                    raise IngestError(
                        "ragged_rows",
                        f"{name}: line {reader.line_num} has {len(record)} fields, the header has {width}",
                    )
        except csv.Error as exc:
            raise IngestError("format_mismatch", f"{name}: line {reader.line_num}: {exc}") from None


INFER_ROWS = 10_000  # rows of the first chunk a type is inferred from, without a contract
_INFERRED: dict[pl.DataType, pl.DataType] = {
    pl.Int64(): pl.Int64(),
    pl.Float64(): pl.Float64(),
    pl.Boolean(): pl.Boolean(),
    pl.Date(): pl.Date(),
    pl.Time(): pl.Time(),
}


def _inferred(frame: pl.DataFrame) -> dict[str, pl.DataType]:
    """A type for each text column, inferred by polars from the first rows of the first chunk (not
    the whole file); what does not convert later becomes null."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text or frame.height == 0:
        return {}
    sample = frame.select(text).head(INFER_ROWS).write_csv()
    guessed = pl.read_csv(io.StringIO(sample), try_parse_dates=True, infer_schema_length=None).schema
    types: dict[str, pl.DataType] = {}
    for name, dtype in guessed.items():
        if isinstance(dtype, pl.Datetime):
            types[name] = pl.Datetime("us")
        elif dtype in _INFERRED:
            types[name] = _INFERRED[dtype]
    return types


def _blank(frame: pl.DataFrame) -> pl.Series:
    """Blank lines and rows of empty fields: not records."""
    return frame.select(
        pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).cast(pl.String) == "") for c in frame.columns])
    ).to_series()


class ChunkedRead:
    """One raw file read through every guard, chunk by chunk; a context manager (temporary files).

    ``bundle``: the contract's dataset conforms the columns (required, unexpected, added) and, with
    ``typed``, types them. ``columns``: only these are needed (a Parquet file is read for them alone).
    After :meth:`chunks` is exhausted, :attr:`report` is complete.
    """

    def __init__(
        self,
        path: Path,
        limits: IngestLimits,
        options: IngestOptions | None = None,
        *,
        bundle: ResolvedBundle | None = None,
        typed: bool = False,
        infer: bool = False,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.path = path
        self.limits = limits
        self.options = options or IngestOptions()
        self.bundle = bundle
        self.typed = typed
        self.infer = infer
        self._types: dict[str, pl.DataType] | None = None
        self.wanted = columns
        self.name = path.name
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self.sha256 = ""
        self.rows = 0
        self.blank_rows = 0
        self.added: list[str] = []
        self.dropped: list[str] = []
        self.conversions: dict[str, Conversion] = {}
        self._folder: Path | None = None
        self._columns: list[str] = []
        self._present: list[str] = []
        self._finished = False
        self._size = self._check_size()
        with path.open("rb") as handle:  # read-only: the raw file is never changed
            head = handle.read(8)
        self.format = _format_of(path, head, self.options.format)

    # --- identity and cheap guards ---------------------------------------------------------

    def _check_size(self) -> int:
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise IngestError("format_mismatch", f"{self.name}: cannot be read: {exc.strerror}") from None
        if size == 0:
            raise IngestError("empty_file", f"{self.name}: the file is empty")
        if size > self.limits.max_file_bytes:
            raise IngestError("too_large", f"{self.name}: {size} bytes, over the limit of {self.limits.max_file_bytes}")
        return size

    @property
    def bytes(self) -> int:
        return self._size

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _temporary(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="dq-read-"))
        return self._folder

    # --- the query -------------------------------------------------------------------------

    def _csv(self) -> pl.LazyFrame:
        text = self.path
        if self.format == "csv.gz":
            text = self._temporary() / "decompressed.csv"
            gunzip_to(self.path, text, self.limits, self.name)
        prepared = _utf8_text(self.path, text, self._temporary(), self.options, self.name)
        self.encoding, self.sha256 = prepared.encoding, prepared.sha256
        head = _head(prepared.path, self.limits)
        if not head.strip():
            raise IngestError("empty_file", f"{self.name}: the file holds no text")
        delimiter = self.delimiter = _delimiter(head, self.options.delimiter)
        quote = self.options.quote
        header = _header(head, delimiter, quote, self.limits, self.name)
        _check_lines(prepared.path, len(header), delimiter, quote, self.limits, self.name)
        return pl.scan_csv(
            prepared.path, separator=delimiter, quote_char=quote, infer_schema=False, raise_if_empty=False
        )

    def _source(self) -> pl.LazyFrame:
        if self.format in ("csv", "csv.gz"):
            return self._csv()
        self.sha256 = _sha256(self.path)
        if self.format == "parquet":
            schema = pl.read_parquet_schema(self.path)  # the footer only: a wide file is refused unread
            self._check_width(len(schema))
            wanted = [column for column in self.wanted or () if column in schema]
            frame = pl.scan_parquet(self.path)
            return frame.select(wanted) if wanted else frame
        if self.format == "jsonl":
            return pl.scan_ndjson(self.path, infer_schema_length=None)
        return _read_xlsx(self.path, self.limits, self._size).lazy()

    def _check_width(self, width: int) -> None:
        if width > self.limits.max_columns:
            raise IngestError(
                "too_many_columns", f"{self.name}: {width} columns, over the limit of {self.limits.max_columns}"
            )

    def _conform_plan(self, present: list[str]) -> None:
        if self.bundle is None:
            return
        declared = {column.name: column for column in self.bundle.dataset.columns}
        missing = [c for c, spec in declared.items() if c not in present and (spec.required or spec.primary_key)]
        if missing:
            raise IngestError(
                "missing_required_columns", f"{self.name}: required column(s) missing: {', '.join(missing)}"
            )
        self.added = [c for c in declared if c not in present]
        unexpected = [c for c in present if c not in declared]
        policy = self.bundle.dataset.unexpected_columns
        if unexpected and policy is UnexpectedColumns.REJECT_FILE:
            raise IngestError(
                "unexpected_columns", f"{self.name}: column(s) the contract does not declare: {', '.join(unexpected)}"
            )
        self.dropped = unexpected if policy is UnexpectedColumns.DROP else []

    def _targets(self, frame: pl.DataFrame) -> dict[str, pl.DataType]:
        """The type each column is cast to: the contract's (``typed``), else inferred from the first
        chunk (``infer``, for ``dq profile`` without a contract), else none (text stays text)."""
        if self._types is None:
            if self.bundle is not None and self.typed:
                self._types = {
                    spec.name: dtype
                    for spec in self.bundle.dataset.columns
                    if (dtype := _CAST.get(spec.logical_type)) is not None
                }
                logical = {spec.name: spec.logical_type.value for spec in self.bundle.dataset.columns}
                self.conversions = {name: Conversion(logical[name]) for name in self._types if name in frame.columns}
            elif self.infer:
                self._types = _inferred(frame)
            else:
                self._types = {}
        return self._types

    def _conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.bundle is not None:
            frame = frame.drop(self.dropped).with_columns([pl.lit(None, pl.String).alias(c) for c in self.added])
        targets = self._targets(frame)
        casts = {
            name: cast_expr(name, dtype, frame.schema[name])
            for name, dtype in targets.items()
            if name in frame.columns and frame.schema[name] != dtype
        }
        if not casts:
            return frame
        cast = frame.lazy().with_columns(**{f"\x1f{name}": expr for name, expr in casts.items()}).collect()
        tracked = [name for name in casts if name in self.conversions]
        if tracked:
            failed = {name: pl.col(name).is_not_null() & pl.col(f"\x1f{name}").is_null() for name in tracked}
            counts = cast.select(**{name: flag.sum() for name, flag in failed.items()}).row(0, named=True)
            for name, count in counts.items():
                record = self.conversions[name]
                record.count += int(count)
                if count and len(record.samples) < SAMPLES:
                    rows = cast.filter(failed[name]).head(SAMPLES - len(record.samples))
                    record.samples += [
                        (int(row), str(value)) for row, value in zip(rows[ROW], rows[name].cast(pl.String), strict=True)
                    ]
        return cast.with_columns(pl.col(f"\x1f{name}").alias(name) for name in casts).drop(
            f"\x1f{name}" for name in casts
        )

    def chunks(self, chunk_rows: int) -> Iterator[pl.DataFrame]:
        """Frames of at most ``chunk_rows`` rows, blank rows dropped, numbered by ``_dq_source_row``
        across chunks; at least one (possibly empty) frame, so the columns are always known."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        query = self._source()
        try:
            schema = query.collect_schema()
            present = schema.names()
            if self.format not in ("csv", "csv.gz"):
                self._check_width(len(present))
            if not present:
                raise IngestError("empty_file", f"{self.name}: no columns")
            self._present = present
            if self.format == "xlsx" or chunk_rows >= WHOLE:
                batches: Iterator[pl.DataFrame] = iter([query.collect()])
            else:
                batches = iter(query.collect_batches(chunk_size=chunk_rows))
            pending: pl.DataFrame | None = None
            for batch in batches:
                blank = _blank(batch)
                dropped = int(blank.sum())
                self.blank_rows += dropped
                rows = batch.filter(~blank) if dropped else batch
                pending = rows if pending is None else pl.concat([pending, rows])
                while pending.height >= chunk_rows:
                    yield self._number(pending.slice(0, chunk_rows))
                    pending = pending.slice(chunk_rows)
            if self.rows == 0 and (pending is None or pending.height == 0):
                raise IngestError("header_only", f"{self.name}: a header and no data rows")
            if pending is not None and pending.height:
                yield self._number(pending)
        except IngestError:
            raise
        except pl.exceptions.ComputeError as exc:
            raise self._unreadable(exc) from None
        except Exception as exc:  # noqa: BLE001 - the readers raise many types for broken files
            raise IngestError(
                "format_mismatch", f"{self.name}: not readable as {self.format}: {safe_error(exc)}"
            ) from None
        self._finished = True

    def _unreadable(self, exc: Exception) -> IngestError:
        message = str(exc)
        if "more fields" in message:
            return IngestError("ragged_rows", f"{self.name}: a record has more fields than the header")
        return IngestError("format_mismatch", f"{self.name}: not readable as {self.format}: {safe_error(exc)}")

    def _number(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.rows == 0:  # the contract's column checks, once a data row is known (header_only first)
            self._conform_plan(self._present)
        numbered = frame.with_row_index(ROW, offset=self.rows).with_columns(pl.col(ROW).cast(pl.Int64))
        self.rows += frame.height
        conformed = self._conform(numbered)
        self._columns = [c for c in conformed.columns if c != ROW]
        return conformed

    def frame(self) -> pl.DataFrame:
        """Every chunk in one frame (what the whole-dataset engines read)."""
        frames = list(self.chunks(WHOLE))
        return frames[0] if len(frames) == 1 else pl.concat(frames, rechunk=False)

    @property
    def report(self) -> IngestReport:
        if not self._finished:
            raise RuntimeError("the report is complete once every chunk has been read")
        return IngestReport(
            format=self.format,
            encoding=self.encoding,
            delimiter=self.delimiter,
            bytes=self._size,
            rows=self.rows,
            columns=self.columns,
            added_columns=self.added,
            dropped_columns=self.dropped,
            blank_rows=self.blank_rows,
        )

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

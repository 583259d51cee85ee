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

The raw text (identity, encodings, gzip, the header, the pass's verdict) is :mod:`dq_core.ingest.rawtext`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.steps import _CAST, cast_expr
from dq_core.contracts.models import UnexpectedColumns
from dq_core.errors import IngestError
from dq_core.ingest.casts import _exact_cast, _fast_cast, _inferred, _slow_casts
from dq_core.ingest.formats import (
    IngestOptions,
    IngestReport,
    _delimiter,
    _format_of,
    _read_xlsx,
)
from dq_core.ingest.rawtext import (
    _declared_text,
    _detected_text,
    _head,
    _header,
    _sha256,
    _Text,
    _verdict,
    gunzip_to,
)
from dq_core.libraries.infra import IngestLimits
from dq_core.safe_text import safe_error
from dq_core.validation.context import HELPER, ROW

if TYPE_CHECKING:
    from dq_core.ingest.quickscan import QuickScan

WHOLE = 1 << 62  # chunk_rows that reads the file in one piece (one parallel polars query)
SAMPLES = 5  # masked examples kept per column whose cells do not convert


@dataclass
class Conversion:
    """The cells of one declared column that do not convert to its logical type (``typed`` reads)."""

    logical_type: str
    count: int = 0
    samples: list[tuple[int, str]] = field(default_factory=list)  # (source row, value as read)


T = TypeVar("T")


class _Retry(Exception):
    """The file is not UTF-8: read it again, the pass first."""


class _Background(Generic[T]):
    """A function run in a background thread; :meth:`value` waits for its result or raises its error."""

    def __init__(self, function: Callable[[], T]) -> None:
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function,), name="dq-read", daemon=True)
        self._thread.start()

    def _run(self, function: Callable[[], T]) -> None:
        try:
            self._result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by value()
            self._error = exc

    def value(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None  # noqa: S101 - set when there was no error
        return self._result


BLANK = "\x1dblank"  # the blank-row flag of the query, dropped with the blank rows


def _blank_expr(schema: pl.Schema, renamed: dict[str, str] | None = None) -> pl.Expr:
    """Blank lines and rows of empty fields: not records (a text cell is empty when it is ``""``).
    ``renamed``: where a column's values are under another name (a lazy read's texts)."""
    where = renamed or {}
    empty = [
        pl.col(where.get(name, name)).is_null() | (pl.col(where.get(name, name)) == "")
        if dtype == pl.String
        else pl.col(where.get(name, name)).is_null()
        for name, dtype in schema.items()
    ]
    return pl.all_horizontal(empty)


TEXT = HELPER + "text:"  # a typed column's text beside it in a lazy read (the probes compare them)
ROWS = HELPER + "rows"  # the probe that counts the rows (not a difference: settle reads it apart)
SHORT = HELPER + "short"  # the probe that counts rows whose last column is null (settle reads it apart)


@dataclass(frozen=True)
class LazyRead:
    """A whole file as one lazy query (:meth:`ChunkedRead.lazy`): ``frame`` has the dataset's columns,
    typed, numbered by ``ROW``, and the text of each typed column (``TEXT`` + name); ``schema`` is the
    dataset's (without the texts); ``probes`` are aggregations to run in the same query."""

    frame: pl.LazyFrame
    schema: pl.Schema
    probes: dict[str, pl.Expr]


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
        self._cast_types: dict[str, pl.DataType] = {}
        self._overlap_allowed = True
        self._overlap = False
        self._pending: _Background[QuickScan] | None = None
        self._quick = False  # the text pass while a lazy read runs: the cheap one (settle counts fields if need be)
        self._prepared = _Text(path, "utf-8", checked=False)
        self._header_names: list[str] = []
        self._source_schema = pl.Schema()
        self.wanted = columns
        self.name = path.name
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self._digest: _Background[str] | None = None  # the raw file's SHA-256, computed while it is read
        self.rows = 0
        self.blank_rows = 0
        self.added: list[str] = []
        self.dropped: list[str] = []
        self.conversions: dict[str, Conversion] = {}
        self._folder: Path | None = None
        self._columns: list[str] = []
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

    def _hashing(self) -> _Background[str]:
        """The SHA-256 in a background thread (hashlib releases the GIL on large blocks): the file's
        identity costs no wall time beside the read."""
        return _Background(lambda: _sha256(self.path))

    @property
    def sha256(self) -> str:
        """The raw file's SHA-256 (computed while the file is read)."""
        if self._digest is None:
            self._digest = self._hashing()
        try:
            return self._digest.value()
        except OSError as exc:
            raise IngestError("format_mismatch", f"{self.name}: cannot be read: {exc.strerror}") from None

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
        prepared = _declared_text(text, self._temporary(), self.options, self.name)
        header = self._header(prepared)
        if self._overlap and not prepared.checked:
            # read in one piece: the pass runs while polars reads, and refuses the rows after (_batches)
            quick = self._quick
            self._pending = _Background(lambda: self._text_scan(prepared.path, header, quick=quick))
            self._prepared, self._header_names = prepared, header
        else:
            scan = self._text_scan(prepared.path, header)
            if scan.bad_utf8 is not None:
                prepared = _detected_text(text, self._temporary(), self.options, scan.bad_utf8[1], self.name)
                header = self._header(prepared)
                scan = self._text_scan(prepared.path, header)
            _verdict(
                scan, prepared.path, len(header), self.delimiter or ",", self.options.quote, self.limits, self.name
            )
        self.encoding = prepared.encoding
        return pl.scan_csv(
            prepared.path,
            separator=self.delimiter or ",",
            quote_char=self.options.quote,
            infer_schema=False,
            raise_if_empty=False,
        )

    def _header(self, text: _Text) -> list[str]:
        """The header's names, checked (the delimiter detected on the head)."""
        head = _head(text.path, self.limits)
        if not head.strip():
            raise IngestError("empty_file", f"{self.name}: the file holds no text")
        delimiter = self.delimiter = _delimiter(head, self.options.delimiter)
        return _header(head, delimiter, self.options.quote, self.limits, self.name)

    def _text_scan(self, path: Path, header: list[str], *, quick: bool = False) -> QuickScan:
        """The pass over the text: every record's fields counted (numpy), or, ``quick``, only what a lazy
        read needs while polars reads (:mod:`dq_core.ingest.quickscan`)."""
        if quick:
            from dq_core.ingest.quickscan import QuickScan  # noqa: PLC0415

            return QuickScan(len(header), self.delimiter or ",", self.options.quote).run(path)
        from dq_core.ingest.textscan import TextScan  # noqa: PLC0415 - numpy only for text files

        return TextScan(len(header), self.delimiter or ",", self.options.quote).run(path)

    def _source(self) -> pl.LazyFrame:
        if self.format in ("csv", "csv.gz"):
            return self._csv()
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
        """The types the first chunk's text columns are cast to without a contract (``infer``, for
        ``dq profile``): inferred from its first rows; else none."""
        if self._types is None:
            self._types = _inferred(frame) if self.infer else {}
        return self._types

    def _contract_casts(self, schema: pl.Schema, *, exact: bool = False) -> dict[str, pl.Expr]:
        """The casts a ``typed`` read adds to the query: each declared column not already of its type
        (``exact``: a lazy read's, :func:`_exact_cast`)."""
        if self.bundle is None or not self.typed:
            return {}
        casts = {}
        for spec in self.bundle.dataset.columns:
            dtype = _CAST.get(spec.logical_type)
            if dtype is None or spec.name not in schema or schema[spec.name] == dtype:
                continue
            casts[spec.name] = (_exact_cast if exact else _fast_cast)(spec.name, dtype, schema[spec.name])
            self._cast_types[spec.name] = dtype
            self.conversions[spec.name] = Conversion(spec.logical_type.value)
        return casts

    def _query(self, query: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
        """One lazy query: the blank-row flag on the columns as read, the contract's columns (dropped,
        added), and the typed values beside the text (``\x1f`` + name), cast in the same pass."""
        query = query.with_columns(_blank_expr(schema).alias(BLANK))
        if self.bundle is not None:
            query = query.drop(self.dropped).with_columns(pl.lit(None, pl.String).alias(c) for c in self.added)
            schema = pl.Schema(
                {**{n: t for n, t in schema.items() if n not in self.dropped}, **dict.fromkeys(self.added, pl.String())}
            )
        self._source_schema = schema
        casts = self._contract_casts(schema)
        return query.with_columns(**{f"\x1f{name}": expr for name, expr in casts.items()}) if casts else query

    def _typed(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A numbered chunk with its typed values in place: the fast path's misses cast by ``cast_expr``,
        the cells that do not convert counted; or, without a contract, the inferred casts."""
        if not self._cast_types:
            targets = self._targets(frame)
            casts = {n: cast_expr(n, t, frame.schema[n]) for n, t in targets.items() if frame.schema[n] != t}
            return frame.with_columns(**casts) if casts else frame
        cast = _slow_casts(frame, self._cast_types, self._source_schema)
        failed = {name: pl.col(name).is_not_null() & pl.col(f"\x1f{name}").is_null() for name in self._cast_types}
        counts = cast.select(**{name: flag.sum() for name, flag in failed.items()}).row(0, named=True)
        for name, count in counts.items():
            record = self.conversions[name]
            record.count += int(count)
            if count and len(record.samples) < SAMPLES:
                rows = cast.filter(failed[name]).head(SAMPLES - len(record.samples))
                record.samples += [
                    (int(row), str(value)) for row, value in zip(rows[ROW], rows[name].cast(pl.String), strict=True)
                ]
        return cast.with_columns(pl.col(f"\x1f{name}").alias(name) for name in self._cast_types).drop(
            f"\x1f{name}" for name in self._cast_types
        )

    def chunks(self, chunk_rows: int) -> Iterator[pl.DataFrame]:
        """Frames of at most ``chunk_rows`` rows, blank rows dropped, numbered by ``_dq_source_row``
        across chunks; at least one (possibly empty) frame, so the columns are always known."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self._digest = self._digest or self._hashing()
        self._overlap = self._overlap_allowed and chunk_rows >= WHOLE
        try:
            query = self._source()  # a Parquet footer that does not parse is the file's fault too
            schema = query.collect_schema()
            present = schema.names()
            if self.format not in ("csv", "csv.gz"):
                self._check_width(len(present))
            if not present:
                raise IngestError("empty_file", f"{self.name}: no columns")
            try:
                self._conform_plan(present)
            except IngestError:
                blank = _blank_expr(schema)
                if query.filter(~blank).head(1).collect().height == 0:  # header_only comes first
                    raise IngestError("header_only", f"{self.name}: a header and no data rows") from None
                raise
            batches = self._batches(self._query(query, schema), chunk_rows)
            pending: pl.DataFrame | None = None
            for batch in batches:
                flags = batch[BLANK]
                dropped = int(flags.sum())
                self.blank_rows += dropped
                rows = (batch.filter(~flags) if dropped else batch).drop(BLANK)
                pending = rows if pending is None else pl.concat([pending, rows])
                while pending.height >= chunk_rows:
                    yield self._number(pending.slice(0, chunk_rows))
                    pending = pending.slice(chunk_rows)
            if self.rows == 0 and (pending is None or pending.height == 0):
                raise IngestError("header_only", f"{self.name}: a header and no data rows")
            if pending is not None and pending.height:
                yield self._number(pending)
        except _Retry:
            self._overlap_allowed = False  # nothing was yielded nor counted yet: the same read, the pass first
            yield from self.chunks(chunk_rows)
            return
        except IngestError:
            raise
        except pl.exceptions.ComputeError as exc:
            raise self._unreadable(exc) from None
        except Exception as exc:  # noqa: BLE001 - the readers raise many types for broken files
            raise IngestError(
                "format_mismatch", f"{self.name}: not readable as {self.format}: {safe_error(exc)}"
            ) from None
        self._finished = True

    def lazy(self) -> LazyRead | None:
        """The whole file as one lazy, typed, numbered query that validation fuses with its own (no
        frame materialised): a CSV or Parquet file typed by the contract (``typed``), read once. Its
        :attr:`LazyRead.probes` count what the chunked read would have handled differently, blank rows
        and cells the fast casts leave null; :meth:`settle` takes their values after the query ran.
        None: this file is read by :meth:`chunks` (another format, or nothing to type)."""
        if self.format not in ("csv", "csv.gz", "parquet") or self.bundle is None or not self.typed:
            return None
        self._digest = self._digest or self._hashing()
        self._overlap = self._overlap_allowed
        self._quick = True
        try:
            query = self._source()
            schema = query.collect_schema()
            present = schema.names()
            if self.format == "parquet":
                self._check_width(len(present))
            if not present:
                raise IngestError("empty_file", f"{self.name}: no columns")
            if any(name == ROW or name.startswith((HELPER, "_dq_")) for name in present):
                raise IngestError("format_mismatch", "names of the platform's own columns")  # the chunked read says
            self._conform_plan(present)
        except Exception:  # noqa: BLE001 - an unreadable file too: the chunked read names the refusal
            self._discard()
            return None  # (header_only before missing columns, a broken Parquet footer, ...)
        query = query.drop(self.dropped).with_columns(pl.lit(None, pl.String).alias(c) for c in self.added)
        source = pl.Schema(
            {**{n: t for n, t in schema.items() if n not in self.dropped}, **dict.fromkeys(self.added, pl.String())}
        )
        casts = self._contract_casts(source, exact=True)
        self.conversions.clear()
        typed = query.with_columns(**{f"{TEXT}{name}": pl.col(name) for name in casts}).with_columns(**casts)
        numbered = typed.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
        probes = {ROWS: pl.len(), BLANK: _blank_expr(source, {name: f"{TEXT}{name}" for name in casts}).sum()}
        probes |= {
            f"{TEXT}{name}": (pl.col(f"{TEXT}{name}").is_not_null() & pl.col(name).is_null()).sum() for name in casts
        }
        last = self._header_names[-1] if self._header_names else None
        if last is not None and last in source.names():  # a record with fewer fields leaves the last one null
            probes[SHORT] = pl.col(f"{TEXT}{last}" if last in casts else last).is_null().sum()
        dataset = pl.Schema({ROW: pl.Int64(), **{n: self._cast_types.get(n, t) for n, t in source.items()}})
        self._columns = [n for n in dataset.names() if n != ROW]
        return LazyRead(frame=numbered, schema=dataset, probes=probes)

    def settle(self, values: dict[str, Any]) -> bool:
        """After the lazy query ran: the text pass's verdict (a refusal raises, as for :meth:`chunks`),
        then whether its answer stands: no blank row, every cell converted by the fast casts, the file
        UTF-8. False: read it again with :meth:`chunks`."""
        scan = self._pending.value() if self._pending is not None else None
        if scan is not None and scan.bad_utf8 is not None:
            self._discard()
            return False
        if scan is not None and not scan.fields_counted and (scan.quoted or values.get(SHORT) != 0):
            # polars refuses a record with more fields; one with fewer would leave the last column null
            scan = self._text_scan(self._prepared.path, self._header_names)
        if scan is not None:
            _verdict(scan, self._prepared.path, len(self._header_names), self.delimiter or ",", self.options.quote,
                     self.limits, self.name)  # fmt: skip
        if ROWS not in values or any(value for key, value in values.items() if key not in (ROWS, SHORT)):
            self._discard()
            return False
        self._pending = None
        self.rows = int(values.get(ROWS, 0))
        if self.rows == 0:
            raise IngestError("header_only", f"{self.name}: a header and no data rows")
        self._finished = True
        return True

    def _discard(self) -> None:
        """Forget a lazy attempt: the chunked read starts over (the digest thread is kept)."""
        if self._pending is not None:
            with contextlib.suppress(Exception):  # the chunked read runs the pass again and names its error
                self._pending.value()
        self._pending = None
        self._overlap = False
        self._quick = False
        self._cast_types.clear()
        self.conversions.clear()
        self.added, self.dropped = [], []
        self.rows = 0

    def _batches(self, query: pl.LazyFrame, chunk_rows: int) -> Iterator[pl.DataFrame]:
        """The rows: in one piece (``WHOLE``: one parallel polars query), else batch by batch. In one
        piece, the pass over the text runs meanwhile: its refusal wins over the rows (or polars' error);
        a file that turns out not to be UTF-8 is read again, after the pass (:class:`_Retry`)."""
        if chunk_rows < WHOLE and self.format != "xlsx":
            return iter(query.collect_batches(chunk_size=chunk_rows))
        if self._pending is None:
            return iter([query.collect()])
        failure: Exception | None = None
        try:
            rows = query.collect()
        except Exception as exc:  # noqa: BLE001 - the pass decides first what the file's fault is
            failure = exc
        scan = self._pending.value()
        self._pending = None
        if scan.bad_utf8 is not None:
            raise _Retry
        text = self._prepared.path
        _verdict(scan, text, len(self._header_names), self.delimiter or ",", self.options.quote, self.limits, self.name)
        if failure is not None:
            raise failure
        return iter([rows])

    def _unreadable(self, exc: Exception) -> IngestError:
        message = str(exc)
        if "more fields" in message:
            return IngestError("ragged_rows", f"{self.name}: a record has more fields than the header")
        return IngestError("format_mismatch", f"{self.name}: not readable as {self.format}: {safe_error(exc)}")

    def _number(self, frame: pl.DataFrame) -> pl.DataFrame:
        numbered = frame.with_row_index(ROW, offset=self.rows).with_columns(pl.col(ROW).cast(pl.Int64))
        self.rows += frame.height
        typed = self._typed(numbered)
        self._columns = [c for c in typed.columns if c != ROW]
        return typed

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

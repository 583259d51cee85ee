"""Bounded reading of XLSX workbooks: the archive is checked before it is opened, the
sheets are streamed one cell at a time under a budget of rows and expanded bytes.

An XLSX file is a zip of XML. Six megabytes of it can hold millions of tiny rows, or
cells that each repeat one long shared string, and openpyxl's read-only worksheet adds
its own amplifiers: every row is padded to the sheet's declared ``<dimension>`` (up to
16,384 columns) and every skipped row number becomes an empty row (``<row r="2000000000">``
is two billion iterations). So this reader

* refuses, before any XML is parsed, an archive whose declared uncompressed size is over
  the allowed ratio times its size, a part over 1 MiB that expands more than that ratio,
  or a compression other than deflate (``zipfile`` never inflates a part beyond its
  declared size, so the declared sizes bound what is read);
* opens the package with openpyxl's own readers but never sizes a sheet (``load_workbook``
  parses a sheet without ``<dimension>`` whole, on opening);
* counts a sheet's ``<row`` tags in its inflated bytes at C speed before parsing it;
* walks the sheet's XML itself, one ``<c>`` at a time, with openpyxl's own cell parser
  (shared and inline strings, formulas, dates), dropping every element once it is read,
  ignoring the declared dimension;
* yields only the cells that hold a value, and counts rows, columns and the characters
  of cell text against the budget, refusing with a named
  :class:`~dq_core.errors.IngestError` as soon as one is exceeded.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element

from dq_core.errors import IngestError
from dq_core.safe_text import safe_error

EXCEL_MAX_ROWS = 1_048_576  # the most rows a worksheet can have in Excel
EXCEL_MAX_COLUMNS = 16_384  # column XFD
SMALL_MEMBER_BYTES = 1024**2  # members below this expand as they like (tiny XML parts compress very well)
_SCALAR_BYTES = 16  # what a number, date or boolean costs once it is text

Row = tuple[int, dict[int, Any]]  # sheet row number, {column number: value} of the cells with a value


@dataclass(frozen=True)
class SheetBudget:
    """What one workbook may cost: rows over all sheets read, columns, characters of cell
    text, and how much the archive (and each of its large members) may expand."""

    max_rows: int
    max_columns: int
    max_cell_bytes: int
    max_ratio: float


def check_archive(source: Path | bytes, budget: SheetBudget, name: str) -> None:
    """Refuse a zip that is not one, or that expands beyond the budget, before any XML is parsed."""
    try:
        with zipfile.ZipFile(BytesIO(source) if isinstance(source, bytes) else source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError("format_mismatch", f"{name}: not a readable .xlsx workbook ({exc})") from None
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    total = 0
    for member in members:
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise IngestError("format_mismatch", f"{name}: a workbook part uses a compression XLSX does not use")
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > SMALL_MEMBER_BYTES and ratio > budget.max_ratio:
            raise IngestError(
                "decompression_ratio",
                f"{name}: a workbook part expands {ratio:.0f}x, over the limit of {budget.max_ratio:g}x",
            )
    if total > size * budget.max_ratio:
        raise IngestError(
            "decompression_ratio",
            f"{name}: expands to {total} bytes, over {budget.max_ratio:g}x its size of {size} bytes",
        )


class BoundedWorkbook:
    """A workbook whose archive passed :func:`check_archive`; its sheets' rows under one budget.

    Opened with openpyxl's own package reader (manifest, shared strings, workbook, styles),
    but without ``load_workbook``: that sizes every worksheet on opening, and a sheet without
    a ``<dimension>`` is then parsed whole, bomb or not. Use as a context manager;
    :meth:`rows` streams one worksheet (the first by default).
    """

    def __init__(self, source: Path | bytes, budget: SheetBudget, name: str, *, data_only: bool) -> None:
        from openpyxl.reader.excel import ExcelReader  # noqa: PLC0415 - only for Excel input
        from openpyxl.styles.stylesheet import apply_stylesheet  # noqa: PLC0415

        check_archive(source, budget, name)
        self.budget, self.name = budget, name
        self._rows = 0
        self._expanded = 0
        self._handle: IO[bytes] = BytesIO(source) if isinstance(source, bytes) else source.open("rb")
        try:
            reader = ExcelReader(self._handle, read_only=True, data_only=data_only)
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            self._sheets = {
                sheet.name: rel.target
                for sheet, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            }
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken packages
            self._handle.close()
            message = f"{name}: not a readable .xlsx workbook ({_first_line(exc)})"
            raise IngestError("format_mismatch", message) from None
        self._reader = reader

    def __enter__(self) -> BoundedWorkbook:
        return self

    def __exit__(self, *_: object) -> None:
        self._reader.archive.close()
        self._handle.close()

    @property
    def sheetnames(self) -> list[str]:
        """The worksheets, in the workbook's order (chartsheets hold no cells)."""
        return list(self._sheets)

    def rows(self, sheet_name: str | None = None) -> Iterator[Row]:
        """Every ``<row>`` of the sheet in document order, blank ones included (an empty dict)."""
        part = self._sheets[sheet_name] if sheet_name is not None else next(iter(self._sheets.values()), None)
        if part is None:
            return
        try:
            self._count_rows(part)
            with self._reader.archive.open(part) as source:
                yield from self._stream(source)
        except IngestError:
            raise
        except Exception as exc:  # noqa: BLE001 - broken XML, a bad shared-string index, a bad coordinate, ...
            message = f"{self.name}: not a readable .xlsx sheet ({_first_line(exc)})"
            raise IngestError("format_mismatch", message) from None

    def _count_rows(self, part: str) -> None:
        """Refuse a sheet with too many rows before parsing it: its ``<row`` tags, counted in
        the inflated bytes at C speed (prefixed tags are not counted: a lower bound only)."""
        count, tail = 0, b""
        with self._reader.archive.open(part) as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                window = tail + block
                count += sum(window.count(tag) for tag in (b"<row ", b"<row>", b"<row/>"))
                tail = window[-4:]  # shorter than every tag: a tag is never counted twice
                if self._rows + count > self.budget.max_rows:
                    raise IngestError(
                        "too_many_rows", f"{self.name}: more than {self.budget.max_rows} rows, over the limit"
                    )

    def _stream(self, source: IO[bytes]) -> Iterator[Row]:
        from openpyxl.worksheet._reader import CELL_TAG, ROW_TAG, WorkSheetParser  # noqa: PLC0415 - its cell parser
        from openpyxl.xml.functions import iterparse  # noqa: PLC0415

        workbook = self._reader.wb
        parser = WorkSheetParser(
            None,
            self._reader.shared_strings,
            data_only=self._reader.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        open_elements: list[Element] = []
        in_cell = 0
        number = 0
        values: dict[int, Any] = {}
        for event, element in iterparse(source, events=("start", "end")):
            tag = element.tag
            if event == "start":
                open_elements.append(element)
                if tag == CELL_TAG:
                    in_cell += 1
                elif tag == ROW_TAG and not in_cell:
                    number = self._start_row(element.get("r"), number)
                    parser.row_counter, parser.col_counter, values = number, 0, {}
                continue
            open_elements.pop()
            if tag == CELL_TAG:
                in_cell -= 1
                self._add_cell(parser.parse_cell(element), number, values)
            elif in_cell:
                continue  # a cell's <v>, <f> or <is>: read with the cell
            elif tag == ROW_TAG:
                yield number, values
            if open_elements:
                del open_elements[-1][-1]  # read: drop it, so memory stays flat however long the sheet

    def _start_row(self, declared: str | None, previous: int) -> int:
        self._rows += 1
        if self._rows > self.budget.max_rows:
            raise IngestError("too_many_rows", f"{self.name}: more than {self.budget.max_rows} rows, over the limit")
        number = previous + 1 if declared is None else int(float(declared))
        if not 1 <= number <= EXCEL_MAX_ROWS:
            raise IngestError(
                "too_many_rows", f"{self.name}: row number {number} is outside Excel's 1..{EXCEL_MAX_ROWS}"
            )
        return number

    def _add_cell(self, cell: dict[str, Any], row: int, values: dict[int, Any]) -> None:
        column, value = cell["column"], cell["value"]
        if column > EXCEL_MAX_COLUMNS:
            raise IngestError("too_many_columns", f"{self.name}: row {row} has a cell beyond column XFD")
        if value is None:
            return
        if column > self.budget.max_columns:
            raise IngestError(
                "too_many_columns",
                f"{self.name}: row {row} has a value in column {column}, over the limit of {self.budget.max_columns}",
            )
        self._expanded += len(value) if isinstance(value, str) else _SCALAR_BYTES
        if self._expanded > self.budget.max_cell_bytes:
            raise IngestError(
                "decompression_ratio",
                f"{self.name}: the cells expand beyond {self.budget.max_cell_bytes} characters, over the limit",
            )
        values[column] = value


def header_names(header: dict[int, Any]) -> list[str]:
    """Column names from a header row's cells; a gap is ``column_N`` (its 1-based position)."""
    width = max(header, default=0)
    return [str(header[column]) if column in header else f"column_{column}" for column in range(1, width + 1)]


def _first_line(exc: BaseException) -> str:
    return safe_error(exc)

"""The cheap pass over a text file's bytes: UTF-8, a bound on the longest line, and whether it has quotes.

What a one-query read (:meth:`~dq_core.ingest.stream.ChunkedRead.lazy`) needs from the bytes while
polars reads the file, at the speed of ``bytes.isascii`` and ``bytes.find`` (about 0.03 s for 250 MB):
no numpy, no field counts. The field count of every record is left to polars and a probe: a record
with more fields than the header fails polars' read, and one with fewer leaves the last column null,
so a file whose last column is never null and that has no quote character has no ragged record.
When that cannot be said, :class:`~dq_core.ingest.textscan.TextScan` counts the fields.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Self

BLOCK = 1 << 20  # bytes read at a time (rawtext's too: rawtext names this module's type, so no import back)


class QuickScan:
    """UTF-8 (ASCII blocks only looked at, the others through an incremental decoder, so a character
    split across two blocks is fine), ``longest``: an upper bound of the longest physical line in bytes
    (exact across blocks, the lines inside one block bounded by the distance between its first and last
    line breaks), and ``quoted``: whether the quote character occurs. ``ragged`` is never found here
    (``fields_counted`` is false); ``stray`` is false (no quotes looked at)."""

    fields_counted = False

    def __init__(self, width: int | None = None, delimiter: str = ",", quote: str = '"') -> None:
        self.width = width
        self.delimiter = ord(delimiter)
        self.quote = ord(quote)
        self.bad_utf8: tuple[int, int] | None = None  # (offset, line) of the first byte that is not UTF-8
        self.longest = 0  # bytes of the longest physical line (here: at least that)
        self.ragged: tuple[int, int] | None = None  # (line, fields) of the first record of another width
        self.quoted = False  # the file has quote characters
        self.stray = False  # a quote inside a field (``55" screen``): quote parity says nothing, csv decides
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0
        self._bad_at: int | None = None  # the offset of the first byte that is not UTF-8
        self._line_bytes = 0  # bytes of the current physical line so far
        self._last_break = -1  # the offset of the last line break

    def run(self, path: Path, block_size: int = BLOCK) -> Self:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(block_size), b""):
                self._utf8(block)
                self._block(block)
        if self._bad_at is None:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._bad_at = self._offset
        if self._bad_at is not None:
            self.bad_utf8 = (self._bad_at, _line_at(path, self._bad_at, block_size))
        self.longest = max(self.longest, self._line_bytes)
        self._finish()
        if not self.fields_counted:
            self._unended(path)
        return self

    def _utf8(self, block: bytes) -> None:
        if self._bad_at is None and not (block.isascii() and not self._decoder.getstate()[0]):
            try:
                self._decoder.decode(block)
            except UnicodeDecodeError as exc:
                self._bad_at = self._offset + max(exc.start, 0)
        self._offset += len(block)

    def _block(self, block: bytes) -> None:
        first = block.find(b"\n")
        if first < 0:
            self._line_bytes += len(block)
        else:
            last = block.rfind(b"\n")
            self.longest = max(self.longest, self._line_bytes + first, last - first - 1)
            self._line_bytes = len(block) - last - 1
            self._last_break = self._offset - len(block) + last
        self.quoted = self.quoted or block.find(self.quote.to_bytes(1, "big")) >= 0

    def _finish(self) -> None:
        """After the last block (the field counts' last record, in :class:`TextScan`)."""

    def _unended(self, path: Path) -> None:
        """A last record without a line break, its fields counted: polars drops an empty field after its
        last delimiter (``...,1,`` reads as five fields for a header of five), so its probe cannot tell."""
        if self.width is None or self._last_break < 0 or self._line_bytes == 0 or self.quoted:
            return  # no record after the header, every record ended, or csv counts the fields
        delimiter, delimiters, content, last = self.delimiter.to_bytes(1, "big"), 0, 0, b""
        with path.open("rb") as handle:  # block by block: the record may be as long as the file
            handle.seek(self._last_break + 1)
            for block in iter(lambda: handle.read(BLOCK), b""):
                delimiters += block.count(delimiter)
                content += len(block)
                last = block[-1:]
        content -= last == b"\r"  # a CR before the end is not content
        if content and delimiters + 1 != self.width:
            self.ragged = (_line_at(path, self._last_break + 1, BLOCK), delimiters + 1)


def _line_at(path: Path, offset: int, block_size: int) -> int:
    """The physical line (from 1) of the byte at ``offset``: line breaks before it, counted again (only
    for a file found not to be UTF-8, once)."""
    lines = 1
    with path.open("rb") as handle:
        while offset > 0:
            block = handle.read(min(block_size, offset))
            if not block:
                break
            lines += block.count(b"\n")
            offset -= len(block)
    return lines

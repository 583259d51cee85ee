"""The pass over a text file's bytes that the guards need, vectorised per block with numpy.

Its own module so that numpy is imported only when a text file is read (``dq validate`` of a
Parquet file never loads it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dq_core.ingest.quickscan import QuickScan

NEWLINE, RETURN = ord("\n"), ord("\r")


class TextScan(QuickScan):
    """One pass over a text file's bytes in blocks: :class:`QuickScan`'s UTF-8 check, the exact longest
    line, and, when the header's ``width`` is known, the field count of every record with numpy:
    delimiters outside quotes (quote parity carried across blocks, so quoted line breaks are fine)
    between record ends. Vectorised per block: no Python loop over lines."""

    fields_counted = True

    def __init__(self, width: int | None = None, delimiter: str = ",", quote: str = '"') -> None:
        super().__init__(width, delimiter, quote)
        self._lines = 0  # physical lines ended before the current block
        self._record_bytes = 0  # bytes of the current record so far
        self._delimiters = 0  # delimiters outside quotes in the current record so far
        self._records = 0  # records ended so far (the first is the header)
        self._in_quote = False
        self._last = -1  # the last byte of the previous block

    def _finish(self) -> None:
        last = self._record_bytes - (self._last == RETURN)
        unended = self.width is not None and self.ragged is None and last > 0  # a last record without a line break
        if unended and self._record_end(np.array([self._delimiters]), np.array([last])) is not None:
            self.ragged = (self._lines + 1, self._delimiters + 1)
        self.stray = self.stray or self._in_quote  # a quote left open at the end: the same

    def _block(self, block: bytes) -> None:
        data = np.frombuffer(block, dtype=np.uint8)
        newline = data == NEWLINE
        breaks = np.flatnonzero(newline)
        if breaks.size:
            self.longest = max(self.longest, self._line_bytes + int(breaks[0]), int(np.diff(breaks).max(initial=1)) - 1)
            self._line_bytes = len(block) - int(breaks[-1]) - 1
        else:
            self._line_bytes += len(block)
        if self.width is not None:
            self._fields(block, data, newline, breaks)
        self._lines += int(breaks.size)
        self._last = block[-1]

    def _stray_quote(self, data: np.ndarray[Any, Any]) -> bool:
        """A quote with neither a field edge (delimiter, line break, quote) before it nor after it:
        csv reads it as a plain character, so counting quotes cannot tell records apart."""
        positions = np.flatnonzero(data == self.quote)
        if not positions.size:
            return False
        edges = np.array([self.delimiter, self.quote, NEWLINE, RETURN], dtype=np.uint8)
        previous = data[np.maximum(positions - 1, 0)]
        if positions[0] == 0:
            previous[0] = self._last if self._last >= 0 else NEWLINE
        following = data[np.minimum(positions + 1, data.size - 1)]
        edge = np.isin(previous, edges) | np.isin(following, edges) | (positions == data.size - 1)
        return not bool(edge.all())

    def _fields(
        self, block: bytes, data: np.ndarray[Any, Any], newline: np.ndarray[Any, Any], breaks: np.ndarray[Any, Any]
    ) -> None:
        if self.ragged is not None:
            return
        delimiter = data == self.delimiter
        ends = breaks
        if self._in_quote or block.find(self.quote.to_bytes(1, "big")) >= 0:
            self.quoted = True
            self.stray = self.stray or self._stray_quote(data)
            parity = np.cumsum(data == self.quote, dtype=np.uint8) & 1  # quotes so far (mod 2), wraps safely
            outside = parity == (1 if self._in_quote else 0)
            self._in_quote = bool(parity[-1]) != self._in_quote
            ends = np.flatnonzero(newline & outside)
            delimiter &= outside
        if not ends.size:
            self._delimiters += int(np.count_nonzero(delimiter))
            self._record_bytes += len(block)
            return
        starts = np.empty(ends.size, dtype=np.intp)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        counts = np.add.reduceat(delimiter.view(np.uint8), starts, dtype=np.int64)  # the last runs to the end
        rest = int(np.count_nonzero(delimiter[int(ends[-1]) + 1 :]))
        counts[-1] -= rest
        counts[0] += self._delimiters
        sizes = ends - starts
        sizes[0] += self._record_bytes
        crlf = np.empty(ends.size, dtype=bool)
        crlf[1:] = data[ends[1:] - 1] == RETURN
        crlf[0] = data[ends[0] - 1] == RETURN if ends[0] > 0 else self._last == RETURN
        sizes -= crlf  # a CR before the line break is not content
        first = self._record_end(counts, sizes)
        if first is not None:
            self.ragged = (self._lines + int(np.searchsorted(breaks, ends[first])) + 1, int(counts[first]) + 1)
        self._delimiters = rest
        self._record_bytes = len(block) - int(ends[-1]) - 1

    def _record_end(self, counts: np.ndarray[Any, Any], sizes: np.ndarray[Any, Any]) -> int | None:
        """The index of the first record (of these) whose width is not the header's, if any."""
        assert self.width is not None  # noqa: S101 - only called with a width
        skip = 1 if self._records == 0 else 0  # the header
        self._records += int(counts.size)
        wrong = np.flatnonzero((counts[skip:] + 1 != self.width) & (sizes[skip:] > 0))
        return int(wrong[0]) + skip if wrong.size else None

"""The bars of a column's histogram as the report draws them, from the stored profile.

The profile stores 20 equal-width bins between the minimum and the maximum (exact, or
estimated from a sketch) and, for columns of at most 50 distinct values, the count of
every value. Drawn as stored, an integer column reads badly: 2.5-wide bins hold two or
three whole numbers in turn, so a flat distribution zig-zags, and a small range such as
quarters 1..4 shows four thin bars among sixteen empty bins. So:

* a **constant** column (minimum = maximum) is one bar;
* an **integer** column (integer dtype, or every counted value whole) with its value
  counts gets one bar per whole number when the range spans at most 30 of them, else
  bars of a whole-number width (``ceil(span / 20)``) starting at the minimum;
* an **integer** column without value counts keeps the stored bins, each drawn over the
  whole numbers it holds, and as high as its rows per whole number (a bin of three years
  is as high as a bin of two with the same rows per year); bins holding no whole number
  are dropped (their rows go to the next bar);
* other columns: the stored bins, equal widths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import JsonValue

from dq_core.profiling.models import HISTOGRAM_BINS, Bin, ColumnKind, ColumnProfile
from dq_core.reporting import formatting as fmt

PER_VALUE = 30  # whole numbers in the range up to which every one gets its own bar
TICKS = 12  # bars up to which each bar is labelled underneath

Writer = Callable[[JsonValue], str]


@dataclass(frozen=True)
class Bar:
    start: float  # left edge on the axis
    end: float  # right edge
    rows: float  # rows in the bar
    label: str  # what it covers, for the tooltip (and under the bar when labelled)

    @property
    def height(self) -> float:
        """Rows per unit of width (equal widths: rows)."""
        return self.rows / max(self.end - self.start, 1e-12)


@dataclass(frozen=True)
class Bars:
    bars: list[Bar]
    low: str  # label of the axis' left end
    high: str  # label of the right end
    ticks: bool  # label every bar underneath instead of the two ends


def integer_like(column: ColumnProfile) -> bool:
    if column.kind is not ColumnKind.NUMERIC:
        return False
    if fmt.integer_dtype(column.dtype):
        return True
    counted = column.value_counts or []
    return bool(counted) and all(fmt.whole(c.value) for c in counted)


def _span(first: int, last: int, write: Writer) -> str:
    return write(first) if first == last else f"{write(first)} – {write(last)}"


def _per_value(column: ColumnProfile, write: Writer) -> Bars:
    counts: dict[int, float] = {}
    for c in column.value_counts or []:
        if not fmt.whole(c.value):
            continue
        key = int(c.value)  # type: ignore[arg-type]  # whole: an int or a float
        counts[key] = counts.get(key, 0) + c.count
    low, high = min(counts), max(counts)
    span = high - low + 1
    width = 1 if span <= PER_VALUE else math.ceil(span / HISTOGRAM_BINS)
    bars = []
    for start in range(low, high + 1, width):
        last = min(start + width - 1, high)
        rows = sum(counts.get(v, 0) for v in range(start, last + 1))
        bars.append(Bar(start - 0.5, last + 0.5, rows, _span(start, last, write)))
    return Bars(bars, write(low), write(high), ticks=width == 1 and len(bars) <= TICKS)


def _whole_numbers(bins: list[Bin], write: Writer) -> Bars | None:
    bars: list[Bar] = []
    carried = 0.0
    for index, b in enumerate(bins):
        if not (fmt.is_number(b.lower) and fmt.is_number(b.upper)):
            return None
        lower, upper = float(b.lower), float(b.upper)  # type: ignore[arg-type]
        first = math.ceil(lower)
        last = math.floor(upper) if index == len(bins) - 1 else math.ceil(upper) - 1
        if last < first:  # holds no whole number: nothing of it to draw
            carried += b.count
            continue
        bars.append(Bar(first - 0.5, last + 0.5, b.count + carried, _span(first, last, write)))
        carried = 0.0
    if not bars:
        return None
    if carried:
        end = bars[-1]
        bars[-1] = Bar(end.start, end.end, end.rows + carried, end.label)
    return Bars(bars, write(math.ceil(bars[0].start)), write(math.floor(bars[-1].end)), ticks=False)


def bars_of(column: ColumnProfile, write: Writer) -> Bars | None:
    """The bars to draw for a column, or None when the profile has no histogram of it."""
    bins = column.histogram
    if not bins:
        return None
    present = column.row_count - column.null_count
    if column.min is not None and column.min == column.max:
        return Bars([Bar(0.0, 1.0, present, write(column.min))], write(column.min), "", ticks=True)
    if integer_like(column):
        if column.value_counts and all(fmt.whole(c.value) for c in column.value_counts):
            return _per_value(column, write)
        drawn = _whole_numbers(bins, write)
        if drawn is not None:
            return drawn
    bars = [Bar(float(i), float(i + 1), b.count, f"{write(b.lower)} – {write(b.upper)}") for i, b in enumerate(bins)]
    return Bars(bars, write(bins[0].lower), write(bins[-1].upper), ticks=False)

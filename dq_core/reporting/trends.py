"""Inline SVG charts over a dataset's runs (the history page): a verdict strip and line
charts, with an expected band shaded under a metric's line.

Every chart of a page shares one x axis: one slot per run, oldest on the left, so a run sits
at the same place in every chart (runs a minute or a month apart get the same room). Built
on the report's SVG helpers and colours (:mod:`dq_core.reporting.charts`): every piece of
data is escaped, nothing is loaded from anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from dq_core.reporting import formatting as fmt
from dq_core.reporting.charts import BAD, GOOD, INFO, MUTED, TEXT, TRACK, WARN, _attr, _svg, _text

PALETTE = (INFO, GOOD, "#8250df", WARN, "#bc4c00", "#1b7c83", "#bf3989", MUTED)
"""Colours of the lines of one chart, in order (a chart has at most a handful of lines)."""

VERDICT_COLOUR = {"passed": GOOD, "failed": BAD, "error": WARN}

LEFT, RIGHT, TOP, BOTTOM = 64, 12, 10, 22
"""Margins of a chart: the y labels on the left, the first and last run's date underneath."""

Bounds = tuple[float | None, float | None]


@dataclass(frozen=True)
class Line:
    """One line of a chart: a value (or None: no point) per slot."""

    name: str
    values: Sequence[float | None]
    colour: str


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class _Frame:
    """Where slots and values go in a chart of ``width`` × ``height``."""

    slots: int
    width: int
    height: int
    low: float
    high: float

    def x(self, slot: int) -> float:
        return LEFT + (self.width - LEFT - RIGHT) * (slot + 0.5) / self.slots

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return TOP + (self.height - TOP - BOTTOM) * (self.high - value) / span

    @property
    def step(self) -> float:
        return (self.width - LEFT - RIGHT) / self.slots


def _range(values: Sequence[float], floor: float | None, ceiling: float | None) -> tuple[float, float]:
    """The y range: ``floor`` / ``ceiling`` when given, else the values with a margin (never
    below 0 when no value is: counts, percents and drifts do not go negative)."""
    low = min(values) if floor is None else floor
    high = max(values) if ceiling is None else ceiling
    if floor is None or ceiling is None:
        pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
        low = (low - pad if low < 0 else max(0.0, low - pad)) if floor is None else low
        high = high + pad if ceiling is None else high
    return low, high


def _axes(frame: _Frame, dates: tuple[str, str], write: Callable[[float], str]) -> list[str]:
    bottom = frame.height - BOTTOM
    parts = [f'<line x1="{LEFT}" y1="{bottom + 0.5}" x2="{frame.width - RIGHT}" y2="{bottom + 0.5}" stroke="{MUTED}"/>']
    for value in (frame.low, (frame.low + frame.high) / 2, frame.high):
        y = frame.y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{frame.width - RIGHT}" y2="{y:.1f}" stroke="{TRACK}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{_text(write(value))}</text>"
        )
    first, last = dates
    parts.append(f'<text class="tick" x="{LEFT}" y="{frame.height - 6}" fill="{TEXT}">{_text(first)}</text>')
    if frame.slots > 1:
        parts.append(
            f'<text class="tick" x="{frame.width - RIGHT}" y="{frame.height - 6}" text-anchor="end" fill="{TEXT}">'
            f"{_text(last)}</text>"
        )
    return parts


def _band_shapes(frame: _Frame, band: Sequence[Bounds | None]) -> list[str]:
    """Each run's expected band shaded across its slot (a missing bound reaches the chart's
    edge): consecutive runs make one stepped band, and a band that moves shows where it moved."""
    top, bottom = float(TOP), float(frame.height - BOTTOM)
    shapes: list[str] = []
    for slot, bounds in enumerate(band):
        lower, upper = (None, None) if bounds is None else (_finite(bounds[0]), _finite(bounds[1]))
        if lower is None and upper is None:
            continue
        y_upper = top if upper is None else max(top, min(bottom, frame.y(upper)))
        y_lower = bottom if lower is None else max(top, min(bottom, frame.y(lower)))
        shapes.append(
            f'<rect class="band" data-slot="{slot}" x="{frame.x(slot) - frame.step / 2:.1f}" y="{y_upper:.1f}" '
            f'width="{frame.step:.1f}" height="{max(y_lower - y_upper, 1.0):.1f}" fill="{GOOD}" opacity="0.18"/>'
        )
    return shapes


def _outside(value: float, bounds: Bounds | None) -> bool:
    if bounds is None:
        return False
    lower, upper = bounds
    return (lower is not None and value < lower) or (upper is not None and value > upper)


def trend(
    slots: Sequence[str],
    lines: Sequence[Line],
    label: str,
    *,
    dates: tuple[str, str] = ("", ""),
    band: Sequence[Bounds | None] = (),
    write: Callable[[float], str] = fmt.number,
    floor: float | None = None,
    ceiling: float | None = None,
    width: int = 1200,
    height: int = 190,
) -> Markup:
    """Lines over the runs (``slots``: each run's tooltip, oldest first), a dot per value with
    its value in its tooltip and as ``data-value``; ``band``: the expected range per slot,
    shaded, and a dot outside its band drawn red (``data-outside``). ``floor`` / ``ceiling``
    fix the y range (scores: 0 to 100); otherwise it fits the values and the band."""
    if not slots:
        return Markup("")
    known = [v for line in lines for v in map(_finite, line.values) if v is not None]
    known += [v for bounds in band if bounds is not None for v in map(_finite, bounds) if v is not None]
    if not known and floor is None:
        return Markup("")
    low, high = _range(known or [0.0], floor, ceiling)
    frame = _Frame(len(slots), width, height, low, high)
    parts = _axes(frame, dates, write)
    parts += _band_shapes(frame, band)
    for line in lines:
        points = [(slot, _finite(value)) for slot, value in enumerate(line.values)]
        runs: list[list[str]] = [[]]
        for slot, value in points:
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{frame.x(slot):.1f},{frame.y(value):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline class="line" data-line="{_attr(line.name)}" points="{" ".join(run)}" fill="none" '
                    f'stroke="{line.colour}" stroke-width="2"/>'
                )
        for slot, value in points:
            if value is None:
                continue
            outside = _outside(value, band[slot] if slot < len(band) else None)
            colour = BAD if outside else line.colour
            parts.append(
                f'<circle class="point" data-line="{_attr(line.name)}" data-slot="{slot}" '
                f'data-value="{_attr(repr(value))}" data-outside="{str(outside).lower()}" '
                f'cx="{frame.x(slot):.1f}" cy="{frame.y(value):.1f}" r="{4 if outside else 3}" fill="{colour}">'
                f"<title>{_text(slots[slot])}: {_text(line.name)} {_text(write(value))}"
                f"{' (outside its band)' if outside else ''}</title></circle>"
            )
    return _svg(width, height, label, "".join(parts))


def verdicts(
    slots: Sequence[str], statuses: Sequence[str], *, dates: tuple[str, str] = ("", ""), width: int = 1200
) -> Markup:
    """One square per run in its verdict's colour (passed, failed, error), on the charts' x axis."""
    if not slots:
        return Markup("")
    height = 44
    frame = _Frame(len(slots), width, height, 0.0, 1.0)
    size = max(3.0, min(16.0, frame.step * 0.8))
    parts = [
        f'<text class="tick" x="{LEFT - 6}" y="20" text-anchor="end" fill="{TEXT}">verdict</text>',
        f'<text class="tick" x="{LEFT}" y="{height - 4}" fill="{TEXT}">{_text(dates[0])}</text>',
    ]
    if len(slots) > 1:
        parts.append(
            f'<text class="tick" x="{width - RIGHT}" y="{height - 4}" text-anchor="end" fill="{TEXT}">'
            f"{_text(dates[1])}</text>"
        )
    for slot, (tip, status) in enumerate(zip(slots, statuses, strict=True)):
        parts.append(
            f'<rect class="verdict" data-slot="{slot}" data-status="{_attr(status)}" '
            f'x="{frame.x(slot) - size / 2:.1f}" y="{16 - size / 2:.1f}" width="{size:.1f}" height="{size:.1f}" rx="2" '
            f'fill="{VERDICT_COLOUR.get(status, MUTED)}"><title>{_text(tip)}: {_text(status)}</title></rect>'
        )
    return _svg(width, height, f"verdicts of {len(slots)} runs", "".join(parts))

"""Inline SVG charts for the run report: histograms, top values (an HTML grid with an SVG
bar per value), null shares, the cleansing funnel, anomaly bands and step timelines.

Every function returns :class:`markupsafe.Markup` (safe to place in an autoescaped
template) and escapes every piece of data it puts into the SVG itself: a column value
is data, never markup. No external fonts, images or scripts (and no namespace URL: inline SVG in HTML needs
none), so the page works offline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup
from pydantic import JsonValue

from dq_core.profiling.models import Count
from dq_core.reporting import formatting as fmt
from dq_core.reporting.histograms import Bars

# Colours shared with the stylesheet (report.html.j2).
GOOD = "#1a7f37"
BAD = "#cf222e"
WARN = "#bf8700"
INFO = "#0969da"
MUTED = "#8c959f"
TRACK = "#eaeef2"
TEXT = "#1f2328"

_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _text(value: object) -> str:
    return escape(str(value), quote=False)


def short(value: JsonValue, limit: int = 28) -> str:
    """A value as short text for a label (the full value goes into the tooltip)."""
    text = value if isinstance(value, str) else fmt.value(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: int, height: int, label: str, body: str) -> Markup:
    return Markup(  # noqa: S704 - every piece of data in body went through _attr/_text
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_attr(label)}" {_FONT} font-size="11">{body}</svg>'
    )


def histogram(drawn: Bars, label: str, *, width: int = 300, height: int = 120) -> Markup:
    """Bars of a column's histogram (see :mod:`dq_core.reporting.histograms`), the ends of the
    axis underneath, or every bar's value when there are few (one bar: a constant column)."""
    bars = drawn.bars
    if not bars:
        return Markup("")
    top = max(b.height for b in bars) or 1.0
    plot_h = height - 28
    low, high = bars[0].start, bars[-1].end
    scale = width / ((high - low) or 1.0)
    lone = len(bars) == 1
    parts = [f'<line x1="0" y1="{plot_h + 0.5}" x2="{width}" y2="{plot_h + 0.5}" stroke="{MUTED}"/>']
    for b in bars:
        h = 0.0 if b.rows <= 0 else max(1.5, plot_h * b.height / top)
        x0, x1 = (width * 0.3, width * 0.7) if lone else ((b.start - low) * scale, (b.end - low) * scale)
        rows = f"{b.rows:,.0f}" if float(b.rows).is_integer() else f"{b.rows:,.1f}"
        parts.append(
            f'<rect class="bar" x="{x0 + 0.5:.1f}" y="{plot_h - h:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{INFO}"><title>{_text(b.label)}: {rows} rows</title></rect>'
        )
        if drawn.ticks:
            parts.append(
                f'<text class="tick" x="{(x0 + x1) / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="{TEXT}">'
                f"{_text(short(b.label, 24))}</text>"
            )
    if not drawn.ticks:
        parts.append(f'<text class="tick" x="0" y="{height - 8}" fill="{TEXT}">{_text(short(drawn.low))}</text>')
        parts.append(
            f'<text class="tick" x="{width}" y="{height - 8}" text-anchor="end" fill="{TEXT}">'
            f"{_text(short(drawn.high))}</text>"
        )
    return _svg(width, height, label, "".join(parts))


def top_values(counts: Sequence[Count], label: str, write: Callable[[JsonValue], str]) -> Markup:
    """Every stored value with a bar of its count: a grid of label | bar | count, so a long
    label is cut with an ellipsis (the whole value in its tooltip) and never runs into its bar."""
    if not counts:
        return Markup("")
    top = max(c.count for c in counts) or 1
    rows = []
    for c in counts:
        shown = "(empty)" if c.value == "" else write(c.value)
        tip = f"{shown}: {c.count:,} rows ({c.percent:.1f}%)"
        cls = "tv-label null" if c.value is None else "tv-label"
        rows.append(
            f'<span class="{cls}" title="{_attr(tip)}">{_text(shown)}</span>'
            f'<svg class="tv-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect width="100" height="10" fill="{TRACK}"/>'
            f'<rect class="bar" width="{max(100 * c.count / top, 0.5):.1f}" height="10" fill="{INFO}"/></svg>'
            f'<span class="tv-count">{c.count:,} · {c.percent:.1f}%</span>'
        )
    return Markup(  # noqa: S704 - every piece of data went through _attr/_text
        f'<div class="top-values" role="group" aria-label="{_attr(label)}" data-values="{len(counts)}">'
        + "".join(rows)
        + "</div>"
    )


def share_bar(percent: float, label: str, *, width: int = 300, colour: str = WARN) -> Markup:
    """One thin bar: the share of something (nulls) against the whole."""
    filled = max(0.0, min(100.0, percent)) * width / 100
    body = (
        f'<rect x="0" y="0" width="{width}" height="8" rx="4" fill="{TRACK}"/>'
        f'<rect x="0" y="0" width="{filled:.1f}" height="8" rx="4" fill="{colour}"/>'
    )
    return _svg(width, 8, label, body)


@dataclass(frozen=True)
class FunnelPart:
    name: str
    rows: int
    colour: str


def funnel(rows_in: int, parts: Sequence[FunnelPart], *, width: int = 640) -> Markup:
    """Rows in as one full bar, and below it how they split (cleansed, rejected, duplicates)."""
    total = max(rows_in, 1)
    bar_h, gap = 26, 34
    height = bar_h * 2 + gap + 24
    body = [
        f'<rect x="0" y="0" width="{width}" height="{bar_h}" rx="3" fill="{MUTED}"/>',
        f'<text x="8" y="{bar_h / 2 + 4}" fill="#fff" font-weight="600">rows in: {rows_in:,}</text>',
    ]
    x = 0.0
    y = bar_h + gap
    for part in parts:
        w = width * part.rows / total
        if w <= 0:
            continue
        body.append(
            f'<path d="M{x:.1f},{bar_h} L{x + w:.1f},{bar_h} L{x + w:.1f},{y} L{x:.1f},{y} Z" '
            f'fill="{part.colour}" opacity="0.15"/>'
            f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{part.colour}">'
            f"<title>{_text(part.name)}: {part.rows:,}</title></rect>"
        )
        x += w
    legend_x = 0
    for part in parts:
        body.append(
            f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" rx="2" fill="{part.colour}"/>'
            f'<text x="{legend_x + 14}" y="{height - 3}" fill="{TEXT}">{_text(part.name)} {part.rows:,}</text>'
        )
        legend_x += 170
    return _svg(width, height, f"cleansing funnel: {rows_in} rows in", "".join(body))


def band(
    observed: float,
    lower: float | None,
    upper: float | None,
    label: str,
    *,
    write: Callable[[JsonValue], str] = fmt.value,
    width: int = 260,
) -> Markup:
    """The expected band of a metric (shaded) and where the observed value fell (a dot)."""
    known = [v for v in (observed, lower, upper) if v is not None]
    low, high = min(known), max(known)
    pad = (high - low) * 0.15 or abs(high) * 0.15 or 1.0
    low, high = low - pad, high + pad

    def pos(v: float) -> float:
        return 6 + (width - 12) * (v - low) / (high - low)

    left = pos(lower) if lower is not None else 0.0
    right = pos(upper) if upper is not None else float(width)
    inside = (lower is None or observed >= lower) and (upper is None or observed <= upper)
    colour = GOOD if inside else BAD
    shown_lower = fmt.DASH if lower is None else write(lower)
    shown_upper = fmt.DASH if upper is None else write(upper)
    body = (
        f'<line x1="0" y1="14" x2="{width}" y2="14" stroke="{MUTED}"/>'
        f'<rect x="{left:.1f}" y="6" width="{max(right - left, 1):.1f}" height="16" fill="{GOOD}" opacity="0.18">'
        f"<title>expected {_text(shown_lower)} … {_text(shown_upper)}</title></rect>"
        f'<circle cx="{pos(observed):.1f}" cy="14" r="5" fill="{colour}"><title>observed {_text(write(observed))}'
        f"</title></circle>"
    )
    return _svg(width, 28, label, body)


def timeline(offset: float, duration: float, total: float, colour: str, *, width: int = 160) -> Markup:
    """One step's place in the run: a bar from its start offset for its duration."""
    scale = width / total if total > 0 else 0.0
    x = offset * scale
    w = max(duration * scale, 2.0)
    body = (
        f'<rect x="0" y="4" width="{width}" height="8" rx="2" fill="{TRACK}"/>'
        f'<rect x="{min(x, width - 2):.1f}" y="4" width="{min(w, width):.1f}" height="8" rx="2" fill="{colour}"/>'
    )
    return _svg(width, 16, "step timeline", body)

"""Anomaly bands: the range a metric is expected in, learnt from its own history.

``considered`` picks the history a band is computed from: the last ``window`` runs that
were not anomalies themselves (an outage does not teach the band that outages are
normal), of the same weekday when the rule is seasonal. After ``min_history``
consecutive anomalies (of that weekday, for a seasonal rule) the metric has moved to a
new level: those runs count as normal and the older ones are forgotten, so a lasting
change alarms ``min_history`` times, not forever. ``band_of`` turns the values into a
band: center ± k × spread, robust (median and 1.4826 × MAD, which equals σ for normal
data and ignores a few outliers) or mean and σ, and never narrower than the minimum
widths on each side, so a history of identical values (σ = 0) still tolerates a small
change.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from dq_core.libraries import rules as r
from dq_core.validation.results import Band, RuleResult, RuleStatus, ValidationResult

MAD_TO_SIGMA = 1.4826  # 1 / Φ⁻¹(3/4): the MAD of normal data times this is its σ
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class HistoryPoint:
    """One earlier observation of a metric: its value, when, and whether it was outside its band."""

    value: float
    at: datetime | None = None
    anomalous: bool = False


HistoryItem = float | HistoryPoint  # a bare number: a normal observation of unknown time


@dataclass(frozen=True)
class Considered:
    """The history a band is computed from, oldest first."""

    values: list[float]
    excluded: int  # anomalous runs among (and between) them, left out
    weekday: str | None  # the weekday compared with, when the rule is seasonal and has enough of it


def history_limit(params: r.AnomalyParams) -> int:
    """How many earlier points to read: the window twice over (room for left-out anomalies),
    seven times that when only one weekday in seven counts, and never fewer than 50."""
    weekly = 7 if params.seasonality is r.Seasonality.WEEKDAY else 1
    return max(50, 2 * params.window * weekly)


def points_of(history: Iterable[HistoryItem]) -> list[HistoryPoint]:
    """Every item as a point; values that are not finite numbers are dropped."""
    points = [item if isinstance(item, HistoryPoint) else HistoryPoint(float(item)) for item in history]
    return [point for point in points if math.isfinite(point.value)]


def since_level_shift(points: Sequence[HistoryPoint], streak: int) -> list[HistoryPoint]:
    """The history from the start of its last run of at least ``streak`` consecutive anomalies,
    those counted as normal (the metric moved to a new level); all of it when there is none."""
    start = end = -1
    length = 0
    for index, point in enumerate(points):
        length = length + 1 if point.anomalous else 0
        if length >= streak:
            start, end = index - length + 1, index
    if start < 0:
        return list(points)
    return [replace(point, anomalous=False) if index <= end else point for index, point in enumerate(points)][start:]


def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def _weekday(at: datetime, zone: tzinfo) -> int:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # naive times are UTC
    return aware.astimezone(zone).weekday()


def _window(pool: Sequence[HistoryPoint], window: int) -> tuple[list[float], int]:
    """The last ``window`` normal values of ``pool`` and the anomalies among and after them."""
    normal = [index for index, point in enumerate(pool) if not point.anomalous][-window:]
    first = normal[0] if normal else 0
    excluded = sum(point.anomalous for point in pool[first:])
    return [pool[index].value for index in normal], excluded


def considered(params: r.AnomalyParams, history: Iterable[HistoryItem], now: datetime | None) -> Considered:
    """The values the band is computed from: see the module doc. Seasonal rules fall back to
    every weekday while fewer than ``min_history`` runs of this weekday are known."""
    points = since_level_shift(points_of(history), params.min_history)
    if params.seasonality is r.Seasonality.WEEKDAY and now is not None:
        zone = _zone(params.timezone)
        day = _weekday(now, zone)
        same = [point for point in points if point.at is not None and _weekday(point.at, zone) == day]
        values, excluded = _window(since_level_shift(same, params.min_history), params.window)
        if len(values) >= params.min_history:
            return Considered(values, excluded, WEEKDAYS[day])
    values, excluded = _window(points, params.window)
    return Considered(values, excluded, None)


def band_of(params: r.AnomalyParams, history: Considered) -> Band:
    """center ± max(k × spread, min_relative_width × |center|, min_absolute_width), then, with
    ``max_change_percent``, within that change of the last value considered."""
    values = history.values
    if params.method is r.AnomalyMethod.ROBUST:
        center = statistics.median(values)
        spread = MAD_TO_SIGMA * statistics.median(abs(value - center) for value in values)
        how = f"median ± {params.z_score:g} × 1.4826·MAD"
        stats = f"median {center:.6g}, 1.4826·MAD {spread:.6g}"
    else:
        center = statistics.fmean(values)
        spread = statistics.stdev(values)
        how = f"mean ± {params.z_score:g}σ"
        stats = f"mean {center:.6g}, σ {spread:.6g}"
    runs = f"the last {len(values)} runs" + (f" on a {history.weekday}" if history.weekday else "")
    method = f"{how} of {runs} ({stats})"
    half = max(params.z_score * spread, params.min_relative_width * abs(center), params.min_absolute_width)
    if half > params.z_score * spread:
        method += f"; widened to ± {half:.6g}, the minimum width"
    lower, upper = center - half, center + half
    if params.max_change_percent is not None:
        last = values[-1]
        allowed = max(abs(last) * params.max_change_percent / 100, params.min_absolute_width)
        lower, upper = max(lower, last - allowed), min(upper, last + allowed)
        previous = f"last {history.weekday} run" if history.weekday else "last run"
        method += f"; within {params.max_change_percent:g}% of the {previous} ({last:.6g})"
    if history.excluded:
        method += f"; {history.excluded} anomalous run{'s' if history.excluded > 1 else ''} left out"
    return Band(
        lower=lower,
        upper=upper,
        method=method,
        center=center,
        spread=spread,
        points=len(values),
        excluded=history.excluded,
        weekday=history.weekday,
    )


def within(band: Band, value: float | None) -> bool:
    """A value inside its band (bounds included); a missing value never is."""
    return value is not None and band.lower is not None and band.upper is not None and band.lower <= value <= band.upper


def _judged(rule: RuleResult) -> bool:
    """Whether a rule's verdict counts for the history: it was passed or failed, and a seasonal
    rule compared with its own weekday (not with every day, while it learns that weekday)."""
    if rule.status not in (RuleStatus.PASSED, RuleStatus.FAILED):
        return False
    seasonal = rule.params.get("seasonality") == r.Seasonality.WEEKDAY.value
    return not seasonal or (rule.band is not None and rule.band.weekday is not None)


def outside_their_bands(validation: ValidationResult) -> set[str]:
    """The metrics this run recorded as anomalous: outside the band of every anomaly rule
    that judged them (see ``_judged``; skipped, errored and still-learning rules did not)."""
    judged: dict[str, list[bool]] = {}
    for rule in validation.rules:
        if rule.type == "anomaly" and rule.metric and _judged(rule):
            judged.setdefault(rule.metric, []).append(rule.status is RuleStatus.FAILED)
    return {metric for metric, verdicts in judged.items() if all(verdicts)}

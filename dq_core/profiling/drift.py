"""Distribution drift between a baseline profile and a current one.

Numbers and dates compare their histograms: each histogram is read as a
piecewise-linear CDF; PSI uses the baseline's bins (the current mass of a bin is
read off the current CDF), KS is the largest gap between the CDFs on the union of
bin edges. Text and booleans compare value frequencies (the full value counts,
else the top values plus an "other" bucket). Empty buckets get a floor of 1e-4
so that PSI stays finite.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable
from datetime import date, datetime

from dq_core.libraries.rules import DriftMethod
from dq_core.profiling.models import Bin, ColumnKind, ColumnProfile, ProfileResult

FLOOR = 1e-4


def _number(value: object) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        moment = (
            datetime.fromisoformat(value)
            if "T" in value
            else datetime.combine(date.fromisoformat(value), datetime.min.time())
        )
        return moment.timestamp()
    msg = f"not a histogram edge: {value!r}"
    raise TypeError(msg)


def _cdf(bins: list[Bin]) -> tuple[list[float], Callable[[float], float]]:
    edges = [_number(bins[0].lower)] + [_number(b.upper) for b in bins]
    total = sum(b.count for b in bins) or 1.0
    cumulative = [0.0]
    for b in bins:
        cumulative.append(cumulative[-1] + b.count / total)

    def at(x: float) -> float:
        if x <= edges[0]:
            return 0.0
        if x >= edges[-1]:
            return 1.0
        i = bisect.bisect_right(edges, x) - 1
        span = edges[i + 1] - edges[i]
        inside = (x - edges[i]) / span if span else 1.0
        return cumulative[i] + (cumulative[i + 1] - cumulative[i]) * inside

    return edges, at


def _psi(expected: list[float], actual: list[float]) -> float:
    return sum(
        (max(a, FLOOR) - max(e, FLOOR)) * math.log(max(a, FLOOR) / max(e, FLOOR))
        for e, a in zip(expected, actual, strict=True)
    )


def _chi_squared(expected: list[float], actual: list[float]) -> float:
    """Pearson's statistic on proportions (a distance, independent of the row counts)."""
    return sum((a - e) ** 2 / max(e, FLOOR) for e, a in zip(expected, actual, strict=True))


def _numeric(baseline: ColumnProfile, current: ColumnProfile, method: DriftMethod) -> float | None:
    if not baseline.histogram or not current.histogram:
        return None
    base_edges, base_cdf = _cdf(baseline.histogram)
    cur_edges, cur_cdf = _cdf(current.histogram)
    if method is DriftMethod.KS:
        return max(abs(base_cdf(x) - cur_cdf(x)) for x in sorted({*base_edges, *cur_edges}))
    expected = [base_cdf(hi) - base_cdf(lo) for lo, hi in itertools.pairwise(base_edges)]
    actual = [cur_cdf(hi) - cur_cdf(lo) for lo, hi in itertools.pairwise(base_edges)]
    # mass of the current data outside the baseline's range is a bucket of its own
    expected.append(0.0)
    actual.append(cur_cdf(base_edges[0]) + 1 - cur_cdf(base_edges[-1]))
    if method is DriftMethod.CHI_SQUARED:
        return _chi_squared(expected, actual)
    return _psi(expected, actual)


def _frequencies(profile: ColumnProfile) -> dict[str, float]:
    counts = profile.value_counts or profile.top_values
    present = profile.row_count - profile.null_count
    if present <= 0:
        return {}
    found = {str(c.value): c.count / present for c in counts}
    found["\x00other"] = max(0.0, 1 - sum(found.values()))
    return found


def _categorical(baseline: ColumnProfile, current: ColumnProfile, method: DriftMethod) -> float | None:
    expected, actual = _frequencies(baseline), _frequencies(current)
    if not expected or not actual:
        return None
    keys = sorted(set(expected) | set(actual))
    e = [expected.get(k, 0.0) for k in keys]
    a = [actual.get(k, 0.0) for k in keys]
    if method is DriftMethod.PSI:
        return _psi(e, a)
    if method is DriftMethod.CHI_SQUARED:
        return _chi_squared(e, a)
    return max(abs(x - y) for x, y in zip(a, e, strict=True))  # KS on categories: largest frequency gap


def drift(baseline: ProfileResult, current: ProfileResult, column: str, method: DriftMethod) -> float | None:
    """The drift of one column, or None when a profile lacks the column or its distribution."""
    before, after = baseline.column(column), current.column(column)
    if before is None or after is None:
        return None
    if before.kind in (ColumnKind.NUMERIC, ColumnKind.TEMPORAL):
        return _numeric(before, after, method)
    return _categorical(before, after, method)

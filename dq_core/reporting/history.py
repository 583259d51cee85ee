"""The history page of a dataset: one self-contained HTML page over its recorded runs.

:func:`collect_history` turns the runs' results (``RunResult``, any order) into series, one
value per run, oldest first: the verdict, the rows in / out / rejected, the quality score per
dimension, and every anomaly metric with its expected band (``RuleResult.band`` of the
``anomaly`` rules; a ``distribution_drift`` rule's band is 0 to its ``max_drift``).
:func:`render_history` draws them as inline SVG (:mod:`dq_core.reporting.trends`) with the
report's stylesheet, and lists the runs. The page has no script at all: its
Content-Security-Policy allows nothing but its stylesheet (by hash), and it loads nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup

from dq_core.errors import ObjectNotFound
from dq_core.reporting import formatting as fmt
from dq_core.reporting import observations
from dq_core.reporting.render import _asset, _csp_hash, _dq_version, _environment
from dq_core.reporting.trends import PALETTE, Line, trend, verdicts
from dq_core.results.run import RunResult, scores_of
from dq_core.validation.results import RuleResult

BANDED_TYPES = ("anomaly", "distribution_drift")
ROW_LINES = (("rows in", "rows_in"), ("rows out", "rows_out"), ("rejected", "rows_rejected"))


class NoHistory(ObjectNotFound):
    """No recorded run of the dataset to draw (an unknown dataset, or one never run)."""

    code = "no_history"


@dataclass(frozen=True)
class RunPoint:
    """One run of the history, as the page lists it."""

    run_id: str
    started_at: datetime
    status: str  # passed | failed | error
    environment: str
    contract: str  # id@version
    rows_in: int | None
    rows_out: int | None
    rows_rejected: int | None
    rules_evaluated: int | None
    rules_failed: int | None
    anomalies: int
    error: str | None  # code: message, when the run stopped
    overall: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)  # dimension -> score

    @property
    def tip(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · run {self.run_id}"


@dataclass(frozen=True)
class BandPoint:
    """A metric in one run: what was observed and the band it was expected in."""

    observed: float | None
    lower: float | None
    upper: float | None
    status: str  # the rule's: passed | failed | skipped | error

    @property
    def outside(self) -> bool:
        if self.observed is None:
            return False
        return (self.lower is not None and self.observed < self.lower) or (
            self.upper is not None and self.observed > self.upper
        )


@dataclass(frozen=True)
class MetricSeries:
    """One anomaly or drift rule over the runs: a point per run (None: not in that run)."""

    rule_id: str
    metric: str
    type: str
    points: tuple[BandPoint | None, ...]
    method: str  # how the latest band was computed
    kind: observations.Kind = "number"  # what the metric is (a count, a percent): how it is written

    @property
    def latest(self) -> BandPoint | None:
        """The newest run's observation (a rule skipped in it may have none)."""
        observed = [point for point in self.points if point is not None and point.observed is not None]
        return observed[-1] if observed else None

    @property
    def outside(self) -> int:
        return sum(point is not None and point.outside for point in self.points)


@dataclass(frozen=True)
class DatasetHistory:
    tenant: str
    dataset: str
    runs: tuple[RunPoint, ...]  # oldest first
    metrics: tuple[MetricSeries, ...]
    dimensions: tuple[str, ...]  # the score dimensions any run has, in the order first seen

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(sorted({run.environment for run in self.runs}))

    def count(self, status: str) -> int:
        return sum(run.status == status for run in self.runs)


def _number(value: object) -> float | None:
    return float(value) if fmt.is_number(value) else None  # type: ignore[arg-type]


def _scores(result: RunResult) -> tuple[float | None, dict[str, float | None]]:
    """Overall and per dimension; a result written before runs carried scores is scored from its
    validation (the same numbers), one that stopped before validating has none."""
    scores = scores_of(result)
    if scores is None:
        return None, {}
    return scores.overall, {name: dimension.score for name, dimension in scores.dimensions.items()}


def _run_point(result: RunResult) -> RunPoint:
    cleansing, validation = result.cleansing, result.validation
    overall, scores = _scores(result)
    rows_in = cleansing.rows_in if cleansing else (result.input.rows if result.input else None)
    contract = f"{result.contract.id}@{result.contract.version}" if result.contract else "—"
    return RunPoint(
        run_id=result.run_id,
        started_at=result.started_at,
        status=result.status.value,
        environment=result.environment,
        contract=contract,
        rows_in=rows_in,
        rows_out=cleansing.rows_out if cleansing else None,
        rows_rejected=cleansing.rows_rejected if cleansing else None,
        rules_evaluated=validation.summary.evaluated if validation else None,
        rules_failed=validation.summary.failed if validation else None,
        anomalies=len(result.anomalies),
        error=f"{result.error.code}: {result.error.message}" if result.error else None,
        overall=overall,
        scores=scores,
    )


def _band_point(rule: RuleResult) -> BandPoint:
    if rule.band is not None:
        lower, upper = rule.band.lower, rule.band.upper
    elif rule.type == "distribution_drift":
        lower, upper = 0.0, _number(rule.params.get("max_drift"))
    else:
        lower = upper = None
    return BandPoint(observed=_number(rule.observed_value), lower=lower, upper=upper, status=rule.status.value)


def _banded(rule: RuleResult) -> bool:
    return rule.type in BANDED_TYPES or rule.band is not None


def _metric_series(ordered: Sequence[RunResult]) -> tuple[MetricSeries, ...]:
    """Every anomaly or drift rule over the runs: a point per run that evaluated it; the band
    method and the metric's kind from the newest run that had a band (else the newest run)."""
    points: dict[str, dict[int, BandPoint]] = {}
    shown: dict[str, RuleResult] = {}
    for slot, result in enumerate(ordered):
        for rule in result.validation.rules if result.validation else ():
            if not _banded(rule):
                continue
            points.setdefault(rule.rule_id, {})[slot] = _band_point(rule)
            if rule.band is not None or shown.get(rule.rule_id, rule).band is None:
                shown[rule.rule_id] = rule
    return tuple(
        MetricSeries(
            rule_id=rule_id,
            metric=rule.metric or rule.type,
            type=rule.type,
            points=tuple(points[rule_id].get(slot) for slot in range(len(ordered))),
            method=rule.band.method if rule.band else "",
            kind=observations.measure(rule)[0],
        )
        for rule_id, rule in sorted(shown.items())
    )


def collect_history(results: Iterable[RunResult], dataset: str) -> DatasetHistory:
    """The series of ``dataset``'s runs among ``results`` (others are left out), oldest first;
    :class:`NoHistory` when none is of that dataset."""
    ordered = sorted(
        (r for r in results if r.contract is not None and r.contract.dataset == dataset),
        key=lambda r: (r.started_at, r.run_id),
    )
    if not ordered:
        raise NoHistory(f"no recorded run of dataset {dataset!r}")
    runs = tuple(_run_point(result) for result in ordered)
    dimensions: dict[str, None] = {}  # in the order first seen
    for run in runs:
        dimensions.update(dict.fromkeys(run.scores))
    return DatasetHistory(
        tenant=ordered[-1].tenant,
        dataset=dataset,
        runs=runs,
        metrics=_metric_series(ordered),
        dimensions=tuple(dimensions),
    )


# --- rendering -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartView:
    chart: Markup
    legend: list[tuple[str, str]]  # (name, colour)


@dataclass(frozen=True)
class MetricView:
    series: MetricSeries
    chart: Markup
    observed: str
    lower: str
    upper: str


def _dates(runs: Sequence[RunPoint]) -> tuple[str, str]:
    """The first and last run's day under the x axis; their time too when they share the day."""
    first, last = runs[0].started_at, runs[-1].started_at
    shown = "%Y-%m-%d %H:%M" if first.date() == last.date() else "%Y-%m-%d"
    return first.strftime(shown), last.strftime(shown)


def _lines(names: Sequence[tuple[str, Sequence[float | None]]]) -> list[Line]:
    drawn = [(name, values) for name, values in names if any(v is not None for v in values)]
    return [Line(name, values, PALETTE[i % len(PALETTE)]) for i, (name, values) in enumerate(drawn)]


Write = Callable[[float], str]


def _chart(
    history: DatasetHistory, lines: list[Line], label: str, write: Write, *, ceiling: float | None = None
) -> ChartView:
    """Lines over the runs, from 0 (counts and scores) to ``ceiling`` or what the values reach."""
    if not lines:
        return ChartView(Markup(""), [])
    slots = [run.tip for run in history.runs]
    chart = trend(slots, lines, label, dates=_dates(history.runs), write=write, floor=0.0, ceiling=ceiling)
    return ChartView(chart, [(line.name, line.colour) for line in lines])


def _rows_chart(history: DatasetHistory) -> ChartView:
    named = [(name, [getattr(run, key) for run in history.runs]) for name, key in ROW_LINES]
    return _chart(history, _lines(named), f"rows of {history.dataset} per run", fmt.count)


def _scores_chart(history: DatasetHistory) -> ChartView:
    named = [("overall", [run.overall for run in history.runs])]
    named += [(name, [run.scores.get(name) for run in history.runs]) for name in history.dimensions]
    return _chart(history, _lines(named), f"quality scores of {history.dataset} per run", fmt.number, ceiling=100.0)


def _metric_view(history: DatasetHistory, series: MetricSeries) -> MetricView:
    write = observations.writer(series.kind)
    values = [None if p is None else p.observed for p in series.points]
    band = [None if p is None else (p.lower, p.upper) for p in series.points]
    chart = trend(
        [run.tip for run in history.runs],
        [Line(series.metric, values, PALETTE[0])],
        f"{series.metric} of rule {series.rule_id} against its expected band",
        dates=_dates(history.runs),
        band=band,
        write=write,
        width=520,
        height=150,
    )
    latest = series.latest
    banded = next((p for p in reversed(series.points) if p is not None and (p.lower, p.upper) != (None, None)), None)
    return MetricView(
        series=series,
        chart=chart,
        observed=fmt.DASH if latest is None or latest.observed is None else write(latest.observed),
        lower=fmt.DASH if banded is None or banded.lower is None else write(banded.lower),
        upper=fmt.DASH if banded is None or banded.upper is None else write(banded.upper),
    )


def render_history(history: DatasetHistory, *, run_link: Callable[[str], str] | None = None) -> str:
    """The history page as one HTML document (no external references, no script).
    ``run_link``: the address of a run's own report (the API's), or None to list run ids only."""
    style = _asset("report.css") + _asset("history.css")
    runs = history.runs
    template = _environment().get_template("history.html.j2")
    return template.render(
        history=history,
        latest=runs[-1],
        first=runs[0],
        verdicts=verdicts([run.tip for run in runs], [run.status for run in runs], dates=_dates(runs)),
        rows=_rows_chart(history),
        scores=_scores_chart(history),
        metrics=[_metric_view(history, series) for series in history.metrics],
        listed=list(reversed(runs)),
        run_link=run_link,
        style=Markup(style),  # noqa: S704 - our own packaged files
        csp=f"default-src 'none'; style-src {_csp_hash(style)}; img-src data:; base-uri 'none'; form-action 'none'",
        dq_version=_dq_version(),
    )

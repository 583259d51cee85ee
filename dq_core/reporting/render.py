"""``report.html``: one self-contained page per run, rendered from what the run left behind.

The page is built from ``result.json`` (:class:`~dq_core.results.run.RunResult`), the
run's ``profile.json`` and its lineage steps, nothing else: failing samples are shown as
validation stored them (masked per governance), and the profile of a sensitive column
that the outputs keep unmasked is reduced to counts. The template escapes every value
(jinja2 autoescape); charts are inline SVG built here; a few lines of inline script sort
the rules table. A Content-Security-Policy allows nothing but that script and the
stylesheet (by hash): the page loads nothing from anywhere, and works offline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from importlib.metadata import PackageNotFoundError, version

import jinja2
from markupsafe import Markup, escape
from pydantic import JsonValue

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.engine import CONFORM, FORMULAS, CleansingReport, StepMetrics
from dq_core.libraries.governance import Masking
from dq_core.lineage.models import StepRecord
from dq_core.profiling.models import ColumnKind, ColumnProfile, ProfileResult
from dq_core.reporting import charts, histograms, observations
from dq_core.reporting import formatting as fmt
from dq_core.reporting.observations import Shown
from dq_core.reporting.score_views import score_section
from dq_core.results.run import RunResult
from dq_core.validation.masking import SENSITIVE
from dq_core.validation.results import RuleResult, RuleStatus

STAGE_ORDER = ("resolve", "ingest", "cleanse", "profile", "validate", "anomaly_check", "result", "act", "finalise")
_STATUS_RANK = {RuleStatus.ERROR: 0, RuleStatus.FAILED: 1, RuleStatus.PASSED: 2, RuleStatus.SKIPPED: 3}
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_STEP_COLOUR = {"succeeded": charts.GOOD, "passed": charts.GOOD, "failed": charts.BAD, "error": charts.BAD}


@dataclass(frozen=True)
class ReportGovernance:
    """What the report needs to know of the governance profile.

    ``sensitive`` maps pii and confidential columns to their classification (shown as a
    badge); ``unmasked`` are the sensitive columns whose values the run's outputs keep as
    they are (no mask step covers them): the report shows no value of those, only counts.
    """

    sensitive: Mapping[str, str] = field(default_factory=dict)
    unmasked: frozenset[str] = frozenset()
    known: bool = True  # False: no bundle says which columns are classified, so no value is shown

    def hidden_reason(self, column: str) -> str | None:
        if not self.known:
            return "values not shown: without the run's bundle the column's classification is unknown"
        if column in self.unmasked:
            return f"{self.sensitive[column]} column, not masked in the profiled data: values not shown"
        return None


UNKNOWN_GOVERNANCE = ReportGovernance(known=False)


def governance_of(bundle: ResolvedBundle, *, cleansed: bool = True) -> ReportGovernance:
    """The bundle's classified columns, and which of them the profiled data holds unmasked:
    those no mask step covers, or all of them when the data was not cleansed (dq validate)."""
    masks = [step for step in bundle.cleansing if step.type == "mask"] if cleansed else []
    sensitive = {c.name: c.classification.value for c in bundle.dataset.columns if c.classification in SENSITIVE}

    def masked(name: str) -> bool:
        column = bundle.dataset.column(name)
        if column is None or column.masking is Masking.NONE:
            return False
        return any(not step.columns or name in step.columns for step in masks)

    return ReportGovernance(sensitive=sensitive, unmasked=frozenset(n for n in sensitive if not masked(n)))


# --- view models -----------------------------------------------------------------------------


def _sort_key(value: JsonValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(float(value))
    return str(value)


def display(value: JsonValue) -> str:
    """A value as the page shows it (see :mod:`dq_core.reporting.formatting`): numbers in
    positional notation, four significant digits, lists and objects as readable lines."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return fmt.number(value)
    return fmt.value(value)


Writer = Callable[[JsonValue], str]


def _value_writer(*, plain: bool = False, temporal: bool = False, digits: int | None = None) -> Writer:
    """How the values of one column are written: every digit (``digits``: rounded), years
    without separators, temporal values as readable timestamps."""

    def write(item: JsonValue) -> str:
        if item is None:
            return "null"
        if temporal and isinstance(item, str):
            return fmt.timestamp(item)
        if fmt.is_number(item) and digits is not None:
            return fmt.number(item, digits=digits, plain=plain)  # type: ignore[arg-type]
        return fmt.value(item, plain=plain)

    return write


@dataclass(frozen=True)
class SampleTable:
    columns: list[str]
    rows: list[tuple[str, list[str | None]]]  # source row (1-based, as a person counts), values as written


@dataclass(frozen=True)
class RuleRow:
    rule: RuleResult
    order: int
    status_rank: int
    severity_rank: int
    observed: Shown
    expected: Shown
    columns: str
    samples: SampleTable | None


def _samples(rule: RuleResult, years: frozenset[str]) -> SampleTable | None:
    if not rule.unexpected_samples:
        return None
    columns: list[str] = []
    for sample in rule.unexpected_samples:
        columns.extend(name for name in sample.values if name not in columns)
    writers = {name: _value_writer(plain=name in years) for name in columns}
    rows = [
        (
            "—" if s.row is None else f"{s.row + 1:,}",
            [None if s.values.get(name) is None else writers[name](s.values.get(name)) for name in columns],
        )
        for s in rule.unexpected_samples
    ]
    return SampleTable(columns=columns, rows=rows)


def _columns_of(rule: RuleResult) -> list[str]:
    if rule.columns:
        return list(rule.columns)
    sides = [rule.params.get(side) for side in ("left", "right")]  # column_comparison names its two sides
    return [side for side in sides if isinstance(side, str)]


def rule_rows(
    rules: Sequence[RuleResult], *, years: frozenset[str] = frozenset(), profiled: frozenset[str] = frozenset()
) -> list[RuleRow]:
    """Failing first: errors, failures, then passes and skips; within each, by severity, then
    by the share of unexpected rows (largest first), then by id. ``years``: the profile's
    year-like columns, ``profiled``: every column of the profile (see :func:`observations.plain_for`)."""
    ordered = sorted(
        rules,
        key=lambda r: (
            _STATUS_RANK[r.status],
            _SEVERITY_RANK.get(r.severity.value, 9),
            -(r.unexpected_percent or 0.0),
            r.rule_id,
        ),
    )
    rows = []
    for index, rule in enumerate(ordered):
        plain = observations.plain_for(rule, years, profiled)
        rows.append(
            RuleRow(
                rule=rule,
                order=index,
                status_rank=_STATUS_RANK[rule.status],
                severity_rank=_SEVERITY_RANK.get(rule.severity.value, 9),
                observed=observations.observed(rule, plain=plain),
                expected=observations.expected(rule, plain=plain),
                columns=", ".join(_columns_of(rule)),
                samples=_samples(rule, years),
            )
        )
    return rows


@dataclass(frozen=True)
class ColumnView:
    column: ColumnProfile
    dtype: str  # shortened for the card's header
    classification: str | None
    hidden: str | None  # why no value of the column is shown (counts only), or None
    stats: list[tuple[str, str]]  # min, max, mean as written
    null_bar: Markup
    chart: Markup
    chart_title: str
    span: int = 1  # rows of cards it takes: a long list of values takes more


def card_rows(values: int) -> int:
    """Rows of the profile grid a card with this many listed values takes (all are shown)."""
    return 1 if values <= 16 else (2 if values <= 34 else 3)  # noqa: PLR2004 - about 18 px a value


def year_column(column: ColumnProfile) -> bool:
    """Integer values that are years: written without thousands separators."""
    return histograms.integer_like(column) and fmt.year_like(column.name, column.min, column.max)


def _dtype(dtype: str) -> str:
    """``Datetime(time_unit='us', time_zone=None)`` → ``Datetime(us)``."""
    match = re.fullmatch(r"Datetime\(time_unit='(\w+)', time_zone=(?:None|'([^']+)')\)", dtype)
    if match is None:
        return dtype
    unit, zone = match.groups()
    return f"Datetime({unit}, {zone})" if zone else f"Datetime({unit})"


def _column_view(column: ColumnProfile, governance: ReportGovernance) -> ColumnView:
    hidden = governance.hidden_reason(column.name)
    plain, temporal = year_column(column), column.kind is ColumnKind.TEMPORAL
    exact = _value_writer(plain=plain, temporal=temporal)
    rounded = _value_writer(plain=plain, temporal=temporal, digits=4)  # bin edges
    mean = _value_writer(plain=plain, temporal=temporal, digits=5)  # a year's mean keeps its decimal
    chart, title, stats, span = Markup(""), "", [], 1
    if not hidden:
        stats = [
            (name, writer(item))
            for name, item, writer in (
                ("min", column.min, exact),
                ("max", column.max, exact),
                ("mean", column.mean, mean),
            )
            if item is not None
        ]
        drawn = histograms.bars_of(column, rounded)
        counts = column.value_counts or column.top_values
        if drawn is not None:
            chart, title = charts.histogram(drawn, f"histogram of {column.name}"), "histogram"
        elif counts:
            chart = charts.top_values(counts, f"top values of {column.name}", exact)
            many = f"{len(counts)} values"
            title = ("all " + many if len(counts) > 1 else "one value") if column.value_counts else "top " + many
            span = card_rows(len(counts))
    return ColumnView(
        column=column,
        dtype=_dtype(column.dtype),
        classification=governance.sensitive.get(column.name),
        hidden=hidden,
        stats=stats,
        null_bar=charts.share_bar(column.null_percent, f"nulls in {column.name}: {column.null_percent:.1f}%"),
        chart=chart,
        chart_title=title,
        span=span,
    )


@dataclass(frozen=True)
class AnomalyView:
    rule: RuleResult
    anomaly: bool  # listed as an anomaly of the run (failed), else watched and within its band
    observed: str
    lower: str
    upper: str
    method: str
    chart: Markup


def _anomaly_views(result: RunResult, years: frozenset[str]) -> list[AnomalyView]:
    if result.validation is None:
        return []
    flagged = {a.rule_id for a in result.anomalies}
    views = []
    for rule in result.validation.rules:
        if rule.rule_id not in flagged and rule.band is None and rule.type not in ("anomaly", "distribution_drift"):
            continue
        kind, _ = observations.measure(rule)
        write = observations.writer(kind, plain=observations.plain_for(rule, years))
        observed = rule.observed_value
        chart = Markup("")
        number = isinstance(observed, (int, float)) and not isinstance(observed, bool)
        if rule.band is not None and number and (rule.band.lower is not None or rule.band.upper is not None):
            assert isinstance(observed, (int, float))  # noqa: S101 - checked just above
            chart = charts.band(
                float(observed), rule.band.lower, rule.band.upper, f"expected band of {rule.rule_id}", write=write
            )
        band = rule.band
        views.append(
            AnomalyView(
                rule=rule,
                anomaly=rule.rule_id in flagged,
                observed=observations.observed(rule).text,
                lower="—" if band is None or band.lower is None else write(band.lower),
                upper="—" if band is None or band.upper is None else write(band.upper),
                method=band.method if band else "",
                chart=chart,
            )
        )
    return sorted(views, key=lambda v: (not v.anomaly, v.rule.rule_id))


@dataclass(frozen=True)
class StepView:
    step: StepRecord
    seconds: float | None
    timeline: Markup
    metrics: str


def _step_views(steps: Sequence[StepRecord]) -> list[StepView]:
    if not steps:
        return []

    def order(step: StepRecord) -> tuple[int, datetime]:
        rank = STAGE_ORDER.index(step.step) if step.step in STAGE_ORDER else len(STAGE_ORDER)
        return rank, step.started_at

    ordered = sorted(steps, key=order)
    start = min(s.started_at for s in ordered)
    end = max((s.finished_at or s.started_at) for s in ordered)
    total = (end - start).total_seconds()
    views = []
    for step in ordered:
        seconds = (step.finished_at - step.started_at).total_seconds() if step.finished_at else None
        offset = (step.started_at - start).total_seconds()
        colour = _STEP_COLOUR.get(step.status, charts.INFO)
        views.append(
            StepView(
                step=step,
                seconds=seconds,
                timeline=charts.timeline(offset, seconds or 0.0, total, colour),
                metrics=", ".join(f"{k} {display(v)}" for k, v in step.metrics.items()),
            )
        )
    return views


def _verdict(result: RunResult) -> tuple[str, str]:
    if result.status.value == "error":
        reason = f"{result.error.code}: {result.error.message}" if result.error else "the run stopped"
        return "Error", f"The run could not finish — {reason}"
    if result.validation is None:
        return result.status.value.capitalize(), "No validation result."
    summary = result.validation.summary
    warnings = summary.failed - summary.failed_error_severity
    if result.status.value == "passed":
        tail = f", {warnings} rule(s) of lower severity failed" if warnings else ""
        tail += f", {summary.errors} of lower severity could not be evaluated" if summary.errors else ""
        return "Passed", f"Every error-severity rule held ({summary.passed} of {summary.evaluated} rules passed{tail})."
    parts = [f"{summary.failed_error_severity} error-severity rule(s) failed"]
    if warnings:
        parts.append(f"{warnings} of lower severity")
    if summary.errors:
        parts.append(f"{summary.errors} could not be evaluated")
    return "Failed", "; ".join(parts) + f" — {summary.passed} of {summary.evaluated} rules passed."


def _funnel(cleansing: CleansingReport) -> Markup:
    return charts.funnel(
        cleansing.rows_in,
        [
            charts.FunnelPart("cleansed", cleansing.rows_out, charts.GOOD),
            charts.FunnelPart("rejected", cleansing.rows_rejected, charts.BAD),
            charts.FunnelPart("duplicates removed", cleansing.duplicates_removed, charts.WARN),
        ],
    )


def step_type(step: StepMetrics) -> str:
    """A cleansing step's own type. The built-in steps around the policy are named by their
    type; results written before each had its own type called the formula guard ``conform_types``."""
    return step.step if step.step in (FORMULAS, CONFORM) else step.type


def _reject_reasons(cleansing: CleansingReport) -> list[tuple[str, str, int]]:
    """(step, its type, rows rejected there), most rejects first."""
    types = {step.step: step_type(step) for step in cleansing.steps}
    ordered = sorted(cleansing.reject_reasons.items(), key=lambda kv: -kv[1])
    return [(step, types.get(step, ""), rows) for step, rows in ordered]


# --- rendering -------------------------------------------------------------------------------


def breakable(text: str, after: str = "._") -> Markup:
    """Text (escaped) that may wrap after the characters ``after``: long ids and names of
    columns and rule types break between their parts, not inside a word."""
    pattern = "([" + re.escape(after) + "])(?=.)"
    return Markup(re.sub(pattern, r"\1<wbr>", str(escape(text))))  # noqa: S704 - escaped first


@cache
def _asset(name: str) -> str:
    return resources.files("dq_core.reporting").joinpath("templates", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dq_core.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count"] = fmt.count
    env.filters["pct"] = fmt.percent
    env.filters["duration"] = fmt.duration
    env.filters["breakable"] = breakable
    env.filters["sortkey"] = _sort_key
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M:%S UTC") if d else "—"
    env.filters["clock"] = lambda d: d.strftime("%H:%M:%S.%f")[:-3] if d else "—"
    env.filters["relative"] = lambda uri, folder: uri.removeprefix(folder) or uri
    return env


def _dq_version() -> str:
    try:
        return version("dq-platform")
    except PackageNotFoundError:
        return "0+unknown"


def render_report(
    result: RunResult,
    *,
    profile: ProfileResult | None = None,
    steps: Sequence[StepRecord] = (),
    governance: ReportGovernance | None = None,
) -> str:
    """The run's report as one HTML document (no external references).

    ``governance`` says which columns are classified; without it no profile value is shown
    (counts only). Failing samples are shown as the result holds them (masked by validation).
    """
    governance = governance or UNKNOWN_GOVERNANCE
    script, style = _asset("report.js"), _asset("report.css")
    cleansing = result.cleansing
    rows_in = cleansing.rows_in if cleansing else (result.input.rows if result.input else None)
    verdict, verdict_detail = _verdict(result)
    columns = [_column_view(column, governance) for column in profile.columns] if profile else []
    years = frozenset(c.name for c in profile.columns if year_column(c)) if profile else frozenset()
    profiled = frozenset(c.name for c in profile.columns) if profile else frozenset()
    duration = (result.finished_at - result.started_at).total_seconds()
    versions: dict[str, str] = {}
    for step in steps:
        versions.update(step.versions)
    versions.pop("bundle_sha256", None)  # shown with the other hashes
    template = _environment().get_template("report.html.j2")
    return template.render(
        result=result,
        verdict=verdict,
        verdict_detail=verdict_detail,
        rows_in=rows_in,
        duration=duration,
        cleansing=cleansing,
        funnel=_funnel(cleansing) if cleansing else Markup(""),
        reject_reasons=_reject_reasons(cleansing) if cleansing else [],
        rules=rule_rows(result.validation.rules, years=years, profiled=profiled) if result.validation else [],
        summary=result.validation.summary if result.validation else None,
        scores=score_section(result),
        columns=columns,
        profile_rows=profile.row_count if profile else None,
        anomalies=_anomaly_views(result, years),
        cleansing_steps=[(step, step_type(step)) for step in cleansing.steps] if cleansing else [],
        steps=_step_views(steps),
        versions=sorted(versions.items()),
        governance=governance,
        run_folder=f"runs/{result.run_id}/",
        hidden_count=sum(view.hidden is not None for view in columns),
        script=Markup(script),  # noqa: S704 - our own packaged file
        style=Markup(style),  # noqa: S704 - our own packaged file
        csp=f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'",
        dq_version=_dq_version(),
    )

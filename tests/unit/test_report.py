"""report.html and result.csv from hand-built results: escaping, no external references,
failing rules first, governance of profile values, the CSP, and the CSV's shape."""

from __future__ import annotations

import base64
import csv
import hashlib
import html as html_lib
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from dq_core.cleansing.engine import CleansingReport
from dq_core.config.base import Severity
from dq_core.lineage.models import StepRecord
from dq_core.profiling.models import Bin, ColumnKind, ColumnProfile, Count, ProfileResult
from dq_core.reporting import UNKNOWN_GOVERNANCE, ReportGovernance, governance_of, render_report
from dq_core.reporting.exports import CSV, GX, REPORT, run_exports
from dq_core.reporting.render import rule_rows
from dq_core.results.csv_export import CSV_COLUMNS, to_csv
from dq_core.results.run import ActionOutcome, Anomaly, InputStamp, RunError, RunResult, RunStatus
from dq_core.validation.results import Band, RuleResult, RuleStatus, Sample, ValidationResult
from services import workspace as service
from tests.conftest import LIBRARIES

HOSTILE = '<script>alert("x")</script>'
IMG = '"><img src=x onerror=alert(1)>'
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _rule(rule_id: str, status: str, severity: str = "error", **fields: Any) -> RuleResult:
    base: dict[str, Any] = {
        "rule_id": rule_id,
        "type": "not_null",
        "columns": ("c",),
        "severity": Severity(severity),
        "status": RuleStatus(status),
        "element_count": 10,
        "unexpected_count": 0 if status == "passed" else 2,
        "unexpected_percent": 0.0 if status == "passed" else 20.0,
    }
    return RuleResult.model_validate(base | fields)


def _result(rules: list[RuleResult], **fields: Any) -> RunResult:
    base: dict[str, Any] = {
        "run_id": "run-1",
        "tenant": "t",
        "environment": "dev",
        "status": RunStatus.FAILED,
        "started_at": T0,
        "finished_at": T0 + timedelta(seconds=3),
        "validation": ValidationResult.of(rules),
        "input": InputStamp(uri="file:///data/in.csv", sha256="0" * 64, format="csv", bytes=100, rows=10),
        "cleansing": CleansingReport(
            rows_in=10, rows_out=7, rows_rejected=2, duplicates_removed=1, steps=[], reject_reasons={"email": 2}
        ),
    }
    return RunResult.model_validate(base | fields)


def _column(name: str, values: list[str], **fields: Any) -> ColumnProfile:
    counts = [Count(value=v, count=1, percent=100 / len(values)) for v in values]
    base: dict[str, Any] = {
        "name": name,
        "kind": ColumnKind.STRING,
        "dtype": "String",
        "row_count": len(values),
        "null_count": 0,
        "null_percent": 0.0,
        "distinct_count": len(values),
        "distinct_exact": True,
        "min": min(values),
        "max": max(values),
        "top_values": counts,
        "value_counts": counts,
    }
    return ColumnProfile.model_validate(base | fields)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.scripts += tag == "script"


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _rule_order(html: str) -> list[str]:
    return re.findall(r'<tr data-rule-id="([^"]+)"', html)


def test_hostile_values_are_escaped_everywhere() -> None:
    rule = _rule(
        "rule<b>",
        "failed",
        message=HOSTILE,
        columns=("c" + IMG,),
        unexpected_samples=(Sample(row=3, values={"c" + IMG: HOSTILE, "other": IMG}),),
        observed_value=HOSTILE,
        error=IMG,
    )
    result = _result(
        [rule],
        actions=[
            ActionOutcome(
                action_id="a", type="webhook", trigger="on_failure", status="failed", attempts=1, detail=HOSTILE
            )
        ],
        status=RunStatus.ERROR,
        error=RunError(code="input_invalid", message=HOSTILE),
    )
    profile = ProfileResult(row_count=2, columns=[_column("col" + IMG, [HOSTILE, IMG])])
    steps = [
        StepRecord(
            tenant="t",
            run_id="run-1",
            step="cleanse",
            status="succeeded",
            started_at=T0,
            finished_at=T0,
            metrics={"x": HOSTILE},
            outputs={"o": IMG},
            versions={"v": HOSTILE},
        )
    ]
    html = render_report(result, profile=profile, steps=steps, governance=ReportGovernance())
    assert HOSTILE not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(" in html  # shown as text
    assert "rule&lt;b&gt;" in html
    parsed = _tags(html)
    assert parsed.scripts == 1  # ours, at the end
    assert not any(tag in ("img", "iframe", "object", "embed", "link", "base") for tag, _ in parsed.tags)
    for _, attrs in parsed.tags:
        assert not [name for name in attrs if name.startswith("on")]  # no event handler got in


def test_no_external_reference_of_any_kind() -> None:
    result = _result([_rule("a", "failed"), _rule("b", "passed")])
    profile = ProfileResult(
        row_count=3,
        columns=[
            _column("s", ["x", "y", "z"]),
            _column(
                "n",
                ["1", "2", "3"],
                kind=ColumnKind.NUMERIC,
                histogram=[Bin(lower=0, upper=1, count=2), Bin(lower=1, upper=2, count=1)],
            ),
        ],
    )
    html = render_report(result, profile=profile, governance=ReportGovernance())
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("file:///", "")
    assert "url(" not in html and "@import" not in html
    for tag, attrs in _tags(html).tags:
        assert not {"src", "href", "srcset", "action", "xlink:href", "poster", "data"} & set(attrs), (tag, attrs)
    assert html.count("<svg") >= 3  # histogram, top values, null bars, funnel: drawn inline


def test_csp_allows_exactly_the_inline_script_and_style() -> None:
    html = render_report(_result([_rule("a", "failed")]))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = html_lib.unescape(csp.group(1))  # an attribute: the browser reads it unescaped
    script = re.search(r"<script>(.*)</script>", html, re.S)
    style = re.search(r"<style>(.*)</style>", html, re.S)
    assert script is not None and style is not None
    for body in (script.group(1), style.group(1)):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy


def test_failing_rules_come_first_errors_then_failures_by_severity_then_share() -> None:
    rules = [
        _rule("p1", "passed"),
        _rule("w1", "failed", "warning", unexpected_percent=90.0),
        _rule("e_small", "failed", unexpected_percent=5.0),
        _rule("s1", "skipped"),
        _rule("err", "error", unexpected_count=None, unexpected_percent=None),
        _rule("e_big", "failed", unexpected_percent=50.0),
        _rule("i1", "failed", "info", unexpected_percent=99.0),
    ]
    expected = ["err", "e_big", "e_small", "w1", "i1", "p1", "s1"]
    assert [row.rule.rule_id for row in rule_rows(rules)] == expected
    assert _rule_order(render_report(_result(rules))) == expected


def test_summary_numbers_carry_machine_readable_attributes() -> None:
    rules = [_rule("a", "failed"), _rule("b", "passed"), _rule("c", "failed", "warning")]
    html = render_report(_result(rules, anomalies=[Anomaly(rule_id="c", metric="m", observed_value=3, band=None)]))
    metrics = dict(re.findall(r'data-metric="([a-z_]+)"[^>]*>([^<]+)<', html))
    assert metrics.pop("status").strip() == ""  # the verdict banner carries its value as data-value
    assert metrics == {
        "rows_in": "10",
        "rows_out": "7",
        "rows_rejected": "2",
        "duplicates_removed": "1",
        "anomalies": "1",
        "rules_evaluated": "3",
        "rules_passed": "1",
        "rules_failed": "2",
        "rules_failed_error_severity": "1",
        "rules_errors": "0",
        "rules_skipped": "0",
        "score_overall": "87.5",  # (3 × 10 rows at 80 + 3 × 10 at 100 + 2 × 10 at 80) / 80 (docs/scores.md)
    }
    assert 'data-metric="status" data-value="failed"' in html


def test_anomaly_band_is_drawn_with_its_bounds() -> None:
    rule = _rule(
        "vol",
        "failed",
        type="anomaly",
        metric="row_count",
        observed_value=500,
        band=Band(lower=900.0, upper=1100.0, method="median ± 3 MAD"),
    )
    html = render_report(
        _result([rule], anomalies=[Anomaly(rule_id="vol", metric="row_count", observed_value=500, band=rule.band)])
    )
    section = html[html.index('id="anomalies"') : html.index('id="profile"')]
    assert 'data-anomaly-rule="vol"' in section
    assert "900" in section and "1,100" in section and "median ± 3 MAD" in section
    assert "<circle" in section  # the observed value on the band chart


@pytest.fixture(scope="module")
def demo_governance() -> ReportGovernance:
    workspace = service.workspace_from_directory(LIBRARIES)
    return governance_of(service.contract_bundle(workspace, service.Scope("contoso", "dev"), "customers"))


def test_profile_values_of_unmasked_classified_columns_are_not_shown(demo_governance: ReportGovernance) -> None:
    assert demo_governance.sensitive["email"] == "pii"
    assert demo_governance.sensitive["lifetime_value"] == "confidential"
    assert demo_governance.unmasked == {"lifetime_value"}  # the others are hashed, redacted or partial
    profile = ProfileResult(
        row_count=2,
        columns=[
            _column("email", ["sha256:aaaa", "sha256:bbbb"]),
            _column("lifetime_value", ["15200.5", "-45.25"]),
            _column("country", ["GB", "DE"]),
        ],
    )
    html = render_report(_result([_rule("a", "passed")]), profile=profile, governance=demo_governance)
    assert "sha256:aaaa" in html and "GB" in html
    assert "15200.5" not in html and "15,200" not in html and "-45.25" not in html
    assert "confidential column, not masked in the profiled data: values not shown" in html


def test_without_governance_no_profile_value_is_shown(demo_governance: ReportGovernance) -> None:
    profile = ProfileResult(row_count=2, columns=[_column("country", ["GB", "DE"])])
    html = render_report(_result([_rule("a", "passed")]), profile=profile)
    assert ">GB<" not in html and "GB:" not in html
    assert "classification is unknown" in html
    assert UNKNOWN_GOVERNANCE.hidden_reason("country") is not None
    workspace = service.workspace_from_directory(LIBRARIES)
    bundle = service.contract_bundle(workspace, service.Scope("contoso", "dev"), "customers")
    uncleansed = governance_of(bundle, cleansed=False)  # dq validate: nothing was masked
    assert uncleansed.unmasked == set(demo_governance.sensitive)


def test_error_run_without_validation_still_renders() -> None:
    result = _result(
        [], validation=None, cleansing=None, status=RunStatus.ERROR, error=RunError(code="config_invalid", message="m")
    )
    html = render_report(result)
    assert 'data-metric="rows_in">10<' in html  # from the input stamp
    assert "config_invalid" in html and "No rules were evaluated" in html
    files = run_exports(result)
    assert set(files) == {REPORT, CSV}  # no GX document without rules
    assert files[CSV].decode() == ",".join(CSV_COLUMNS) + "\n"


def test_csv_has_one_row_per_rule_and_defuses_formulas() -> None:
    rules = [
        _rule("a", "failed", columns=("x", "y"), message="=HYPERLINK(1)", observed_value=-12.5, mostly=0.95),
        _rule("b", "passed", observed_value={"min": 1}, unexpected_count=None, unexpected_percent=None),
        _rule("c", "error", error="boom", observed_value="@sum"),
    ]
    validation = ValidationResult.of(rules)
    rows = list(csv.DictReader(io.StringIO(to_csv(validation))))
    assert [row["rule_id"] for row in rows] == ["a", "b", "c"]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["columns"] == "x|y"
    assert rows[0]["message"] == "'=HYPERLINK(1)"
    assert rows[0]["observed_value"] == "-12.5"  # numbers stay numbers
    assert rows[0]["mostly"] == "0.95" and rows[0]["unexpected_count"] == "2"
    assert rows[1]["observed_value"] == '{"min": 1}' and rows[1]["unexpected_count"] == ""
    assert rows[2]["observed_value"] == "'@sum" and rows[2]["message"] == "boom" and rows[2]["status"] == "error"


def test_exports_of_a_run_hold_the_same_numbers() -> None:
    result = _result([_rule("a", "failed"), _rule("b", "passed")])
    files = run_exports(result, governance=ReportGovernance())
    assert set(files) == {REPORT, GX, CSV}
    rows = list(csv.DictReader(io.StringIO(files[CSV].decode())))
    assert {row["rule_id"]: row["unexpected_count"] for row in rows} == {"a": "2", "b": "0"}
    assert b'"unsuccessful_expectations": 1' in files[GX]

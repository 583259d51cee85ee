"""The history page from generated run histories: the series collected from the results
(verdicts, rows, anomaly bands, drift), the SVG points and bands drawn from them, the runs
table, escaping, and a page that loads and runs nothing."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import random
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from dq_core.reporting.history import NoHistory, collect_history, render_history
from dq_core.reporting.trends import LEFT, RIGHT, Line, trend
from dq_core.results.run import ContractStamp, scores_of
from dq_core.results.scores import DimensionScore, QualityScores
from tests.history_support import plan, results

HOSTILE = '<script>alert("x")</script>'


class _Svg(HTMLParser):
    """Every element with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))


def _elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Svg()
    parser.feed(html)
    return parser.elements


def _within(html: str, section: str) -> str:
    start = html.index(f'<section class="panel" id="{section}">')
    return html[start : html.index("</section>", start)]


def test_the_series_follow_the_runs_oldest_first_whatever_order_they_come_in() -> None:
    planned = plan(9)
    made = results(planned)
    shuffled = made[:]
    random.Random(3).shuffle(shuffled)
    other = results(plan(3), dataset="customers")  # another dataset's runs are left out
    history = collect_history(shuffled + other, "orders")

    assert [run.run_id for run in history.runs] == [r.run_id for r in made]
    assert [run.status for run in history.runs] == [p.status for p in planned]
    assert {"passed", "failed", "error"} <= {run.status for run in history.runs}
    assert [run.rows_in for run in history.runs] == [p.rows_in for p in planned]
    errored = [p.status == "error" for p in planned]
    assert [run.rows_out for run in history.runs] == [
        None if e else p.rows_in - p.rejected for p, e in zip(planned, errored, strict=True)
    ]
    assert [run.error is not None for run in history.runs] == errored
    assert history.tenant == "contoso" and history.environments == ("dev",)
    assert [run.overall is None for run in history.runs] == errored  # no validation, no score
    stored = QualityScores(overall=42.5, dimensions={"timeliness": DimensionScore(score=42.5, rules=1, weight=3)})
    kept = collect_history([made[1].model_copy(update={"scores": stored})], "orders").runs[0]
    assert (kept.overall, kept.scores) == (42.5, {"timeliness": 42.5})  # stored scores are shown as stored

    by_rule = {series.rule_id: series for series in history.metrics}
    assert set(by_rule) == {"email_nulls_trend", "amount_drift"}  # the not_null rule has no band
    trend_series = by_rule["email_nulls_trend"]
    assert trend_series.metric == "null_percent:email" and trend_series.kind == "percent"
    for point, p, e in zip(trend_series.points, planned, errored, strict=True):
        if e:
            assert point is None  # the error run evaluated no rule
            continue
        assert point is not None
        assert point.observed == p.observed
        assert (point.lower, point.upper) == (p.band or (None, None))
    expected_outside = sum(
        1
        for p, e in zip(planned, errored, strict=True)
        if not e and p.band and p.observed is not None and not p.band[0] <= p.observed <= p.band[1]
    )
    assert expected_outside > 0 and trend_series.outside == expected_outside
    drift = by_rule["amount_drift"]
    assert all(p is None or (p.lower, p.upper) == (0.0, 0.2) for p in drift.points)  # 0 .. max_drift


def test_no_run_of_the_dataset_is_a_named_error() -> None:
    with pytest.raises(NoHistory) as raised:
        collect_history(results(plan(2), dataset="customers"), "orders")
    assert raised.value.one_line() == "no_history: no recorded run of dataset 'orders'"
    with pytest.raises(NoHistory):
        collect_history([], "orders")


def test_the_page_draws_each_run_where_its_values_are() -> None:
    planned = plan(8)
    made = results(planned)
    html = render_history(collect_history(made, "orders"), run_link=lambda run_id: f"../../runs/{run_id}/report")
    elements = _elements(html)

    strip = [a for tag, a in elements if tag == "rect" and "verdict" in a.get("class", "")]
    assert [a["data-status"] for a in strip] == [p.status for p in planned]
    colours = {a["data-status"]: a["fill"] for a in strip}
    assert len(set(colours.values())) == 3  # passed, failed, error each their own colour

    rows = [a for tag, a in _elements(_within(html, "rows")) if tag == "circle" and a.get("data-line") == "rows in"]
    assert [float(a["data-value"]) for a in rows] == [p.rows_in for p in planned]
    assert [int(a["data-slot"]) for a in rows] == list(range(len(planned)))
    xs = [float(a["cx"]) for a in rows]
    assert xs == sorted(xs) and xs[0] > LEFT and xs[-1] < 1200 - RIGHT  # left to right, inside the plot
    by_value = sorted(rows, key=lambda a: float(a["data-value"]))
    assert [float(a["cy"]) for a in by_value] == sorted((float(a["cy"]) for a in rows), reverse=True)  # higher is up
    drawn = _elements(_within(html, "rows"))
    rejected = [a for tag, a in drawn if tag == "circle" and a.get("data-line") == "rejected"]
    assert [float(a["data-value"]) for a in rejected] == [p.rejected for p in planned if p.status != "error"]

    article = html[html.index('data-metric-rule="email_nulls_trend"') :]
    article = article[: article.index("</article>")]
    points = [a for tag, a in _elements(article) if tag == "circle"]
    observed = [p for p in planned if p.status != "error" and p.observed is not None]
    assert [float(a["data-value"]) for a in points] == [p.observed for p in observed]
    outside = [p.band is not None and not p.band[0] <= p.observed <= p.band[1] for p in observed]  # type: ignore[operator]
    assert [a["data-outside"] == "true" for a in points] == outside and any(outside)
    assert all(a["fill"] == "#cf222e" for a, o in zip(points, outside, strict=True) if o)
    bands = [a for tag, a in _elements(article) if tag in ("polygon", "rect") and a.get("class") == "band"]
    assert bands  # the band is shaded (runs 2-4 in one piece; the error run breaks it)
    assert 'data-field="outside">' + str(sum(outside)) + " of " in article

    table = [a for tag, a in _elements(_within(html, "runs")) if tag == "tr" and "data-run-id" in a]
    assert [a["data-run-id"] for a in table] == [f"orders-run-{i:02d}" for i in reversed(range(len(planned)))]
    links = [a["href"] for tag, a in _elements(_within(html, "runs")) if tag == "a"]
    assert links[0] == "../../runs/orders-run-07/report" and len(links) == len(planned)

    scored = [scores_of(result) for result in made]  # stored, or from the validation (results before scores)
    drawn = _elements(_within(html, "scores"))
    overall = [a for tag, a in drawn if tag == "circle" and a.get("data-line") == "overall"]
    assert [float(a["data-value"]) for a in overall] == [s.overall for s in scored if s and s.overall is not None]
    assert [int(a["data-slot"]) for a in overall] == [i for i, s in enumerate(scored) if s and s.overall is not None]
    assert len({a["data-value"] for a in overall}) > 1  # the scores move with the failures
    dimensions = {name for s in scored if s for name, d in s.dimensions.items() if d.score is not None}
    legend = {a["data-legend"] for tag, a in drawn if tag == "li"}
    assert legend == {"overall"} | dimensions and "completeness" in dimensions
    assert all(0 <= float(a["cy"]) <= 190 for tag, a in drawn if tag == "circle")  # 0..100 fits the chart


def test_the_page_loads_nothing_and_runs_no_script() -> None:
    html = render_history(collect_history(results(plan(4)), "orders"))
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = html_lib.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "script-src" not in policy
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy  # the one stylesheet, by hash
    assert " style=" not in html  # no style attribute: the policy would refuse it
    assert "<a " not in html  # without run_link the runs are listed by id only


def test_names_from_results_are_escaped() -> None:
    made = results(plan(3), dataset="orders")
    hostile = [
        r.model_copy(
            update={
                "run_id": f"{HOSTILE}-{i}",
                "contract": ContractStamp(
                    id=HOSTILE, version="1.0.0", sha256="a" * 64, dataset="orders", bundle_sha256="b" * 64
                ),
            }
        )
        for i, r in enumerate(made)
    ]
    html = render_history(collect_history(hostile, "orders"), run_link=lambda run_id: f"/r/{run_id}")
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html or "&lt;script&gt;" in html


def test_a_one_run_history_and_a_flat_line_still_draw() -> None:
    history = collect_history(results(plan(1)), "orders")
    html = render_history(history)
    assert html.count('class="verdict"') == 1
    flat = trend(["a", "b"], [Line("x", [5.0, 5.0], "#000")], "flat")
    ys = {a["cy"] for tag, a in _elements(str(flat)) if tag == "circle"}
    assert len(ys) == 1  # the same value at the same height, inside the chart
    assert trend([], [Line("x", [], "#000")], "none") == ""
    nothing: list[Any] = [None, None]
    assert trend(["a", "b"], [Line("x", nothing, "#000")], "no values") == ""


def test_the_cli_states_the_history_limits_of_the_service() -> None:
    """dq report's parser repeats them (it does not import the service: every command builds it)."""
    import cli.report_command as command
    import services.history as service

    assert (command.DEFAULT_LIMIT, command.MAX_LIMIT) == (service.DEFAULT_LIMIT, service.MAX_LIMIT)

"""The history page on the demo tenant, as a user gets it: runs of the customers contract
recorded with ``dq run`` and ``dq validate --record`` (full extract, a clean one, an empty
file that stops the run; the contract watching its row count and email nulls with anomaly
rules), then ``dq report --history customers``, checked in headless Chromium (loads nothing,
no console error, charts with a size), and the same page from ``dq serve`` over real HTTP
with real tokens, one tenant's runs only. A screenshot goes to ``out/report-history-1280.png``."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.auth_support import TokenFactory
from tests.conftest import ROOT
from tests.e2e.test_cli import _assert_bad_input, dq
from tests.e2e.test_report_browser import _browse, _screenshot
from tests.serve_support import served

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"
WATCHED = """\
      - id: volume_trend
        check: {type: anomaly, params: {metric: row_count, window: 5, min_history: 2}, severity: warning}
      - id: email_nulls_trend
        columns: [email]
        check: {type: anomaly, params: {metric: null_percent, window: 5, min_history: 2}, severity: warning}
"""
CLEAN_ROWS = (1, 5, 9, 16, 17, 18)  # customers of the sample without a planted defect
HISTORY = "/api/tenants/{tenant}/datasets/{dataset}/history"


@dataclass(frozen=True)
class Recorded:
    home: Path
    libraries: Path
    page: Path
    results: list[dict[str, Any]]  # oldest first


def _libraries(folder: Path) -> Path:
    libraries = folder / "libraries"
    shutil.copytree(ROOT / "libraries", libraries)
    contract = libraries / "contoso" / "dev" / "contracts" / "customers.yaml"
    text = contract.read_text(encoding="utf-8")
    anchor = "      - {id: adult_customers, rule: adult_at_signup}\n"
    assert anchor in text
    contract.write_text(text.replace(anchor, anchor + WATCHED), encoding="utf-8")
    return libraries


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    folder = tmp_path_factory.mktemp("history")
    libraries, home, salt = _libraries(folder), folder / "home", folder / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    clean, empty = folder / "clean.csv", folder / "empty.csv"
    clean.write_text("\n".join([lines[0], *(lines[row] for row in CLEAN_ROWS)]) + "\n", encoding="utf-8")
    empty.write_text(lines[0] + "\n", encoding="utf-8")
    common = ("--contract", "customers", "--libraries", str(libraries), "--home", str(home))
    results = []
    for i, (data, expected) in enumerate([(SAMPLE, 1), (SAMPLE, 1), (clean, 0), (SAMPLE, 1), (empty, 2)]):
        out = folder / f"run-{i}"
        done = dq("run", str(data), *common, "--out", str(out), "--salt-file", str(salt))
        assert done.returncode == expected, done.stderr
        results.append(json.loads((out / "result.json").read_text()))
    out = folder / "validated"
    done = dq("validate", str(SAMPLE), *common, "--record", "--out", str(out))  # no cleansing: rows in only
    assert done.returncode == 1, done.stderr
    results.append(json.loads((out / "result.json").read_text()))

    page = folder / "history.html"
    made = dq(
        "report", "--history", "customers", "--libraries", str(libraries), "--home", str(home), "--out", str(page)
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"history of dataset customers (contoso) → {page}"
    return Recorded(home=home, libraries=libraries, page=page, results=results)


def _attributes(html: str, tag: str, marker: str) -> list[dict[str, str]]:
    found = []
    for element in re.findall(rf"<{tag}\b[^>]*{marker}[^>]*>", html):
        found.append(dict(re.findall(r'([\w-]+)="([^"]*)"', element)))
    return found


def _metric_points(html: str, rule_id: str) -> list[float]:
    start = html.index(f'data-metric-rule="{rule_id}"')
    article = html[start : html.index("</article>", start)]
    return [float(a["data-value"]) for a in _attributes(article, "circle", 'class="point"')]


def test_dq_report_history_draws_the_recorded_runs_of_the_demo_tenant(recorded: Recorded) -> None:
    html, results = recorded.page.read_text(encoding="utf-8"), recorded.results
    statuses = [r["status"] for r in results]
    assert statuses == ["failed", "failed", "passed", "failed", "error", "failed"]
    strip = _attributes(html, "rect", 'class="verdict"')
    assert [a["data-status"] for a in strip] == statuses
    assert f'data-metric="runs">{len(results)}<' in html
    assert 'data-metric="latest_status" data-value="failed"' in html

    rows = html[html.index('id="rows"') : html.index('id="scores"')]
    rows_in = [float(a["data-value"]) for a in _attributes(rows, "circle", 'data-line="rows in"')]
    expected_in = [
        r["cleansing"]["rows_in"] if r["cleansing"] else r["input"]["rows"]
        for r in results
        if r["cleansing"] or (r["input"] and r["input"].get("rows") is not None)
    ]
    assert rows_in == expected_in and 20 in rows_in and len(CLEAN_ROWS) in rows_in
    rejected = [float(a["data-value"]) for a in _attributes(rows, "circle", 'data-line="rejected"')]
    assert rejected == [r["cleansing"]["rows_rejected"] for r in results if r["cleansing"]]

    for rule_id in ("volume_trend", "email_nulls_trend"):
        observed = [
            rule["observed_value"]
            for r in results
            if r["validation"]
            for rule in r["validation"]["rules"]
            if rule["rule_id"] == rule_id and rule["observed_value"] is not None
        ]
        assert observed and _metric_points(html, rule_id) == pytest.approx(observed)
    # the clean extract's 6 rows against a band learnt from runs of 20: outside it, in red
    volume = html[html.index('data-metric-rule="volume_trend"') :]
    volume = volume[: volume.index("</article>")]
    outside = [a for a in _attributes(volume, "circle", 'class="point"') if a["data-outside"] == "true"]
    clean_volume = [
        rule["observed_value"] for rule in results[2]["validation"]["rules"] if rule["rule_id"] == "volume_trend"
    ]
    assert [float(a["data-value"]) for a in outside] == clean_volume
    assert 'class="band"' in volume

    scores = html[html.index('id="scores"') : html.index('id="metrics"')]
    overall = [float(a["data-value"]) for a in _attributes(scores, "circle", 'data-line="overall"')]
    assert overall == [r["scores"]["overall"] for r in results if r["scores"]] and len(overall) == len(results) - 1
    assert 'data-legend="validity"' in scores and 'data-legend="completeness"' in scores

    table = [a["data-run-id"] for a in _attributes(html, "tr", "data-run-id=")]
    assert table == [r["run_id"] for r in reversed(results)]
    assert "header_only" in html  # the error run says why it stopped
    assert "alice.martin@example.com" not in html  # a history shows counts and metrics, never values


def test_the_history_page_in_headless_chromium(recorded: Recorded, tmp_path: Path) -> None:
    with _browse(recorded.page, 1280) as seen:
        page = seen.page
        assert seen.blocked == [] and seen.errors == []
        assert [m.text for m in seen.console if m.type in ("error", "warning")] == []
        assert page.title().startswith("customers · quality history")
        sizes = page.eval_on_selector_all(
            "section svg[role=img]",
            "svgs => svgs.map(s => { const r = s.getBoundingClientRect(); "
            "return [s.closest('section').id, r.width, r.height]; })",
        )
        assert {section for section, _, _ in sizes} == {"verdicts", "rows", "scores", "metrics"}
        assert all(width > 300 and height > 30 for _, width, height in sizes), sizes
        points = page.locator("#metrics circle.point")
        assert points.count() > 0 and points.first.bounding_box() is not None
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0  # nothing too wide
        _screenshot(page, "history", 1280, tmp_path)  # out/report-history-1280.png


def test_bad_history_questions_are_one_line_and_exit_2(recorded: Recorded) -> None:
    where = ("--libraries", str(recorded.libraries), "--home", str(recorded.home))
    _assert_bad_input(
        dq("report", "--history", "invoices", *where), "no_history: no recorded run of dataset 'invoices'"
    )
    _assert_bad_input(dq("report", "--history", "customers", "--env", "prod", *where), "for tenant contoso/prod")
    _assert_bad_input(dq("report", "--history", "customers", "--limit", "0", *where), "between 1 and 500")
    _assert_bad_input(dq("report", "--history", "../etc", *where), "not a dataset name")
    _assert_bad_input(dq("report", "--history", "customers", str(recorded.home), *where), "not both")
    _assert_bad_input(dq("report", "--home", str(recorded.home)), "or --history DATASET")
    assert len(dq("report", "--history", "invoices", *where).stderr.strip().splitlines()) == 1


def test_the_api_serves_the_same_page_to_the_tenants_readers_only(recorded: Recorded) -> None:
    factory = TokenFactory()
    with factory.serve() as jwks, served(recorded.home, factory.settings_env(jwks.url)) as api:
        reader = {"Authorization": factory.bearer(tenants=["contoso"], roles=["DQ.Reader"])}
        url = api.url + HISTORY.format(tenant="contoso", dataset="customers")
        page = httpx.get(url, headers=reader)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "sandbox" in page.headers["content-security-policy"]
        html = page.text
        assert [a["data-run-id"] for a in _attributes(html, "tr", "data-run-id=")] == [
            r["run_id"] for r in reversed(recorded.results)
        ]
        links = re.findall(r'<a href="([^"]+)">', html)
        assert len(links) == len(recorded.results)
        report = httpx.get(str(httpx.URL(url).join(links[1])), headers=reader)  # the error run wrote a report
        assert report.status_code == 200 and 'data-status="error"' in report.text

        limited = httpx.get(url, params={"limit": 2}, headers=reader)
        assert limited.status_code == 200 and limited.text.count("<tr data-run-id=") == 2

        anonymous = httpx.get(url)
        assert anonymous.status_code == 401
        other = {"Authorization": factory.bearer(tenants=["fabrikam"], roles=["DQ.Reader"])}
        assert httpx.get(url, headers=other).status_code == 403  # contoso's history, asked by fabrikam
        theirs = httpx.get(api.url + HISTORY.format(tenant="fabrikam", dataset="customers"), headers=other)
        assert theirs.status_code == 404 and theirs.json()["code"] == "no_history"  # contoso's runs stay contoso's
        unknown = httpx.get(api.url + HISTORY.format(tenant="contoso", dataset="invoices"), headers=reader)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert unknown.json()["code"] == "no_history" and "\n" not in unknown.json()["detail"]
        bad = httpx.get(url, params={"limit": 0}, headers=reader)
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
        assert httpx.get(url, params={"env": "prod"}, headers=reader).status_code == 404

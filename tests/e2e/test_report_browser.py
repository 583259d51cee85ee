"""report.html of a real ``dq run`` (the demo sample, planted defects) in headless Chromium:
nothing requested from anywhere, no console error, sortable rules, the numbers of
result.json on the page, no raw personal data, a screenshot. Also ``dq report``."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Route, sync_playwright

from adapters.local.sqlite_lineage import SqliteLineageStore
from tests.conftest import ROOT
from tests.e2e.test_cli import _assert_bad_input, dq

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PERSONAL = ("full_name", "email", "phone", "birth_date", "lifetime_value")  # pii and confidential in the demo


@dataclass(frozen=True)
class Run:
    out: Path
    home: Path
    result: dict[str, Any]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("report-run")
    salt = folder / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    out, home = folder / "out", folder / "home"
    done = dq(
        "run", str(SAMPLE), "--contract", "customers", "--out", str(out), "--home", str(home), "--salt-file", str(salt)
    )
    assert done.returncode == 1, done.stderr  # the planted defects fail error rules
    return Run(out=out, home=home, result=json.loads((out / "result.json").read_text()))


@dataclass
class Browsed:
    page: Page
    console: list[ConsoleMessage]
    errors: list[str]
    blocked: list[str]


@pytest.fixture
def browsed(run: Run) -> Iterator[Browsed]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        seen = Browsed(page=page, console=[], errors=[], blocked=[])

        def only_files(route: Route, request: Request) -> None:
            if request.url.startswith("file://"):
                route.continue_()
            else:
                seen.blocked.append(request.url)
                route.abort()

        page.route("**/*", only_files)
        page.on("console", lambda message: seen.console.append(message))  # noqa: PLW0108 - playwright needs a function
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.on("requestfailed", lambda request: seen.blocked.append(request.url))
        page.goto((run.out / "report.html").as_uri(), wait_until="load")
        yield seen
        browser.close()


def _number(text: str) -> int | None:
    text = text.strip()
    return None if text == "—" else int(text.replace(",", ""))


def _metric(page: Page, name: str) -> int | None:
    return _number(page.locator(f'[data-metric="{name}"]').inner_text())


def _rule_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all("#rules-table > tbody > tr", "rows => rows.map(r => r.dataset.ruleId)")


def test_report_renders_offline_with_the_numbers_of_result_json(run: Run, browsed: Browsed, tmp_path: Path) -> None:
    page, result = browsed.page, run.result
    assert browsed.blocked == []
    assert browsed.errors == []
    assert [m.text for m in browsed.console if m.type in ("error", "warning")] == []
    assert page.title().startswith("Failed · customers/customers")

    cleansing, summary = result["cleansing"], result["validation"]["summary"]
    assert _metric(page, "rows_in") == cleansing["rows_in"] == 20
    assert _metric(page, "rows_out") == cleansing["rows_out"]
    assert _metric(page, "rows_rejected") == cleansing["rows_rejected"] > 0
    assert _metric(page, "duplicates_removed") == cleansing["duplicates_removed"] > 0
    assert _metric(page, "rules_evaluated") == summary["evaluated"]
    assert _metric(page, "rules_passed") == summary["passed"]
    assert _metric(page, "rules_failed") == summary["failed"] > 0
    assert _metric(page, "rules_errors") == summary["errors"]
    assert _metric(page, "anomalies") == len(result["anomalies"])
    assert page.locator('[data-metric="status"]').get_attribute("data-value") == result["status"] == "failed"

    rules = result["validation"]["rules"]
    assert sorted(_rule_ids(page)) == sorted(rule["rule_id"] for rule in rules)
    for rule in rules:
        row = page.locator(f'#rules-table tr[data-rule-id="{rule["rule_id"]}"]')
        assert row.get_attribute("data-status") == rule["status"]
        assert _number(row.locator('[data-field="unexpected_count"]').inner_text()) == rule["unexpected_count"]
        assert _number(row.locator('[data-field="element_count"]').inner_text()) == rule["element_count"]
    statuses = [page.locator(f'tr[data-rule-id="{i}"]').get_attribute("data-status") for i in _rule_ids(page)]
    first_pass = statuses.index("passed")
    assert set(statuses[:first_pass]) <= {"failed", "error"} and "failed" not in statuses[first_pass:]

    for action in result["actions"]:  # the report is written after the actions ran
        cells = page.locator(f'tr[data-action-id="{action["action_id"]}"] td')
        assert cells.nth(3).inner_text().replace(" ", "_") == action["status"]
    steps = page.eval_on_selector_all("#lineage tr[data-step]", "rows => rows.map(r => r.dataset.step)")
    assert steps[:3] == ["resolve", "ingest", "cleanse"] and "act" in steps

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    (ROOT / "out").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "out" / "report-screenshot.png")


def test_clicking_a_header_sorts_the_rules(browsed: Browsed) -> None:
    page = browsed.page
    initial = _rule_ids(page)
    header = page.locator("#rules-table thead th").filter(has=page.locator('button[data-sort-key="rule_id"]'))
    header.locator("button").click()
    ascending = _rule_ids(page)
    assert ascending == sorted(initial, key=lambda rule_id: rule_id) and ascending != initial
    assert header.get_attribute("aria-sort") == "ascending"
    header.locator("button").click()
    assert _rule_ids(page) == ascending[::-1]
    assert header.get_attribute("aria-sort") == "descending"
    page.locator('button[data-sort-key="unexpected_count"]').click()
    counts = [
        _number(page.locator(f'tr[data-rule-id="{i}"] [data-field="unexpected_count"]').inner_text())
        for i in _rule_ids(page)
    ]
    known = [c for c in counts if c is not None]
    assert known == sorted(known) and counts[: len(known)] == known  # blanks last
    assert browsed.errors == []


def test_samples_are_masked_and_no_raw_personal_value_reaches_the_page(run: Run, browsed: Browsed) -> None:
    page = browsed.page
    row = page.locator('tr[data-rule-id="customers.lifetime_value.range"]')
    row.locator("details summary").click()
    values = row.locator("td.sample-value").all_inner_texts()
    assert values == ["***"]  # lifetime_value is confidential: validation masked the sample
    with SAMPLE.open(encoding="utf-8") as handle:
        raw = {row[name].strip() for row in csv.DictReader(handle) for name in PERSONAL}
    raw = {value for value in raw if len(value) >= 5}  # long enough to be unambiguous
    assert len(raw) > 40
    content = page.content() + (run.out / "result.csv").read_text()
    leaked = sorted(value for value in raw if value in content)
    assert leaked == []
    email = page.locator('article[data-column="email"]')
    assert "sha256:" in email.inner_text()  # hashed values are shown as hashed
    assert "values not shown" in page.locator('article[data-column="lifetime_value"]').inner_text()


def test_finalise_writes_the_exports_and_records_them_in_lineage(run: Run) -> None:
    for name in ("report.html", "validation.gx.json", "result.csv", "bundle.json"):
        assert (run.out / name).is_file(), name
    gx = json.loads((run.out / "validation.gx.json").read_text())
    assert gx["statistics"]["unsuccessful_expectations"] == run.result["validation"]["summary"]["failed"]
    with (run.out / "result.csv").open(encoding="utf-8") as handle:
        rows = {row["rule_id"]: row for row in csv.DictReader(handle)}
    for rule in run.result["validation"]["rules"]:
        expected = "" if rule["unexpected_count"] is None else str(rule["unexpected_count"])
        assert rows[rule["rule_id"]]["unexpected_count"] == expected
    steps = SqliteLineageStore(str(run.home / "lineage.db")).steps("contoso", run.result["run_id"])
    finalise = next(step for step in steps if step.step == "finalise")
    folder = f"runs/{run.result['run_id']}/"
    assert finalise.outputs == {
        "result": folder + "result.json",
        "report": folder + "report.html",
        "gx": folder + "validation.gx.json",
        "csv": folder + "result.csv",
    }
    assert "exports_error" not in finalise.metrics


def test_dq_report_renders_a_run_folder_again(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "again.html"
    done = dq("report", str(run.out), "--out", str(target), "--home", str(run.home))
    assert done.returncode == 0, done.stderr
    assert f"report of run {run.result['run_id']}" in done.stdout
    html = target.read_text()
    assert 'data-step="finalise"' in html  # the lineage store has the closed run now
    assert f'data-metric="rows_rejected">{run.result["cleansing"]["rows_rejected"]}<' in html
    assert "sha256:" in html and "values not shown" in html  # bundle.json next to it: governance known


def test_dq_report_refuses_what_is_not_a_result(tmp_path: Path) -> None:
    _assert_bad_input(dq("report", str(tmp_path)), "result.json: no such file")
    (tmp_path / "result.json").write_text('{"schema_id": "something else"}')
    _assert_bad_input(dq("report", str(tmp_path)), "not a dq.run-result/v1 document")


def test_dq_validate_out_writes_a_report_without_personal_values(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = dq(
        "validate",
        str(SAMPLE),
        "--contract",
        "customers",
        "--out",
        str(out),
        "--record",
        "--home",
        str(tmp_path / "home"),
    )
    assert done.returncode == 1, done.stderr
    result = json.loads((out / "result.json").read_text())
    html = (out / "report.html").read_text()
    assert f'data-metric="rules_failed">{result["validation"]["summary"]["failed"]}<' in html
    assert "alice.martin@example.com" in SAMPLE.read_text() and "alice.martin@example.com" not in html
    assert html.count("not masked in the profiled data: values not shown") == len(PERSONAL)  # nothing was cleansed
    with (out / "result.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(result["validation"]["rules"])

"""report.html of a real ``dq run`` (the demo sample, planted defects) in headless Chromium:
nothing requested from anywhere, no console error, sortable rules, the numbers of
result.json on the page, no raw personal data, a screenshot. Also ``dq report``.

And that it reads well at 1280 and 1920 px, on the demo and on a run of station readings
(years, quarters, a constant column, 31 rivers, a freshness, schema, anomaly and statistic
rule): nothing clipped or wider than the page, observed values written by what they are
with the threshold or band beside them, years without separators, sensible histogram bars,
top-value labels clear of their bars, cleansing steps by their own type. The screenshots
are saved in the test's tmp folder (their paths printed) and copied to ``out/``."""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Locator, Page, Request, Route, sync_playwright

from adapters.local.sqlite_lineage import SqliteLineageStore
from tests.conftest import ROOT
from tests.e2e.test_cli import _assert_bad_input, dq

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PERSONAL = ("full_name", "email", "phone", "birth_date", "lifetime_value")  # pii and confidential in the demo
WIDTHS = (1280, 1920)


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


@contextmanager
def _browse(report: Path, width: int = 1280) -> Iterator[Browsed]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
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
        page.goto(report.as_uri(), wait_until="load")
        yield seen
        browser.close()


@pytest.fixture
def browsed(run: Run) -> Iterator[Browsed]:
    with _browse(run.out / "report.html") as seen:
        yield seen


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
        attribution = row.locator('[data-field="attribution"]')
        if rule["attribution"] is None:
            assert attribution.count() == 0
        else:  # a failing rule of a cleansed run: its failing rows, touched by cleansing or as sent
            assert attribution.get_attribute("data-touched") == str(rule["attribution"]["touched"])
            assert attribution.get_attribute("data-untouched") == str(rule["attribution"]["untouched"])
            assert "as the source sent them" in attribution.inner_text()
    assert any(rule["attribution"] for rule in rules)
    written = page.locator('[data-field="failed_rows"]')  # failed_rows.parquet, named with its row count
    assert written.get_attribute("data-rows") == str(result["failed_rows"]["rows"]) and result["failed_rows"]["rows"]
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


# --- reads well at 1280 and 1920 px -------------------------------------------------------

READINGS_CONTRACT = """\
kind: contract
tenant: contoso
environment: dev
id: readings
version: 1.0.0
status: published
description: River station readings (the report's reading test).
owner: test@contoso.example
infra_profile: standard@1.0.0
datasets:
  - name: readings
    columns:
      - {name: station, logical_type: string, required: true}
      - {name: river, logical_type: string}
      - {name: year, logical_type: integer, required: true, minimum: 1950, maximum: 2020}
      - {name: quarter, logical_type: integer, minimum: 1, maximum: 4}
      - {name: version, logical_type: integer}
      - {name: flow, logical_type: number}
      - {name: measured_at, logical_type: timestamp}
    bindings:
      - id: volume
        check:
          type: row_count
          params: {threshold: {must_be_between: [100, 5000000]}}
          message: >-
            a readings feed carries at least a hundred rows and at most five million; fewer is a partial
            extract, more is two extracts concatenated after an upstream re-run
      - id: fresh
        check: {type: freshness, params: {column: measured_at, max_age: PT36H}, severity: warning}
      - id: shape
        check: {type: schema_match, params: {allow_extra_columns: false}}
      - id: present
        check: {type: columns_present, params: {columns: [station, year, flow, depth]}}
      - id: mean_flow
        columns: [flow]
        check: {type: column_statistic, params: {statistic: mean, threshold: {must_be_greater_than: 1000}}}
      - id: volume_trend
        check: {type: anomaly, params: {metric: row_count, window: 5, min_history: 2}}
      - id: station_names
        columns: [station]
        check:
          type: regex
          params: {pattern: '^[A-Z][a-z]+(-[A-Z][a-z]+)*_[0-9]{3}$'}
          mostly: 0.9
          message: >-
            station ids are a capitalised place name, an underscore and three digits (Severn_014), see
            https://example.invalid/guides/stations/naming-conventions-for-river-gauging-stations-and-their-identifiers
"""
LONG_RIVER = "Llanfairpwllgwyngyll-Gogerychwyrndrobwll-Llantysilio-Gogogoch-Afon"
RIVERS = (
    *("Thames", "Severn", "Trent", "Great-Ouse", "Wye", "Tweed", "Avon", "Dee", "Tay", "Spey", "Clyde", "Mersey"),
    *("Tyne", "Wear", "Tees", "Exe", "Tamar", "Medway", "Nene", "Welland", "Witham", "Derwent", "Ribble", "Lune"),
    *("Eden", "Usk", "Taff", "Towy", "Teifi", "Conwy", LONG_RIVER),
)


def _write_readings(path: Path) -> None:
    """1,200 readings: every year 1950..2024 16 times, quarters 1..4, one version, 31 rivers."""
    rng = random.Random(18)
    start = datetime(2026, 11, 24, 6, 0)
    lines = ["station,river,year,quarter,version,flow,measured_at"]
    for i in range(1200):
        river = RIVERS[i % len(RIVERS)]
        station = f"{river}_{i % 40:03d}" if i % 97 else f"gauge {i}"
        moment = (start - timedelta(minutes=3 * i)).isoformat()
        lines.append(f"{station},{river},{1950 + (i * 7) % 75},{1 + i % 4},3,{rng.uniform(200, 250000):.3f},{moment}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def readings(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("report-readings")
    libraries, home, data = folder / "libraries", folder / "home", folder / "readings.csv"
    shutil.copytree(ROOT / "libraries", libraries)
    (libraries / "contoso" / "dev" / "contracts" / "readings.yaml").write_text(READINGS_CONTRACT, encoding="utf-8")
    _write_readings(data)
    out = folder
    for day in (22, 23, 24):  # two runs of history give the anomaly rule its band in the third
        out = folder / f"out-{day}"
        done = dq(
            "run",
            str(data),
            "--contract",
            "readings",
            "--libraries",
            str(libraries),
            "--out",
            str(out),
            "--home",
            str(home),
            "--now",
            f"2026-11-{day}T12:00:00Z",
        )
        assert done.returncode == 1, done.stderr  # years beyond 2020, a missing column
    return Run(out=out, home=home, result=json.loads((out / "result.json").read_text()))


_LAYOUT = """() => {
  document.querySelectorAll("#rules-table details").forEach(d => { d.open = true; });
  const wrap = document.getElementById("rules-table").parentElement;
  const clipped = el => el.scrollWidth > el.clientWidth + 1;
  return {
    page: document.documentElement.scrollWidth - window.innerWidth,
    table: wrap.scrollWidth - wrap.clientWidth,
    tableRight: document.getElementById("rules-table").getBoundingClientRect().right,
    panelRight: document.getElementById("rules").getBoundingClientRect().right,
    messages: document.querySelectorAll("#rules-table td.message").length,
    clipped: [...document.querySelectorAll("#rules-table td")].filter(clipped)
      .map(td => td.closest("tr").dataset.ruleId + ":" + td.cellIndex),
  };
}"""
_CELLS = """rows => rows.map(r => ({
  id: r.dataset.ruleId,
  observed: r.querySelector('[data-field="observed"]').innerText.trim(),
  observedKind: r.querySelector('[data-field="observed"]').dataset.kind,
  expected: r.querySelector('[data-field="expected"]').innerText.trim(),
}))"""
_TOP_VALUES = """grid => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
  const kids = [...grid.children];
  const rows = [];
  for (let i = 0; i < kids.length; i += 3) { rows.push(kids.slice(i, i + 3).map(box)); }
  const labels = [...grid.querySelectorAll(".tv-label")];
  return {
    stored: Number(grid.dataset.values),
    rows,
    labels: labels.map(l => ({ text: l.innerText, title: l.title, cut: l.scrollWidth > l.clientWidth })),
  };
}"""


def _svg_texts(card: Locator) -> list[str]:
    texts: list[str] = card.locator("svg text").evaluate_all("texts => texts.map(t => t.textContent)")
    return texts


def _intersect(a: list[float], b: list[float]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _screenshot(page: Page, name: str, width: int, tmp_path: Path) -> Path:
    shot = tmp_path / f"report-{name}-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    (ROOT / "out").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "out" / shot.name)
    print(f"screenshot: {shot}")
    return shot


def _assert_reads_well(page: Page, width: int) -> list[dict[str, str]]:
    layout = page.evaluate(_LAYOUT)
    assert layout["page"] <= 0, layout  # nothing wider than the window
    assert layout["table"] <= 0 and layout["tableRight"] <= layout["panelRight"], layout  # no hidden part
    assert layout["messages"] > 0 and layout["clipped"] == [], layout  # every cell shows all it holds
    cells: list[dict[str, str]] = page.eval_on_selector_all("#rules-table > tbody > tr", _CELLS)
    for cell in cells:
        shown = cell["observed"] + " " + cell["expected"]
        assert not re.search(r"\de[+-]?\d", shown), cell  # never scientific notation
        assert not set('{["') & set(cell["observed"]), cell  # never raw JSON
        assert cell["expected"] not in ("", "—"), cell  # the threshold or band beside every observation
        if cell["observedKind"] == "percent":
            assert "%" in cell["observed"], cell
        if cell["observedKind"] == "count":
            assert re.fullmatch(r"\d{1,3}(,\d{3})*", cell["observed"].splitlines()[0]), cell
    steps = page.eval_on_selector_all(
        "#cleansing tr[data-cleansing-step]",
        "rows => rows.map(r => [r.dataset.cleansingStep, r.querySelector('[data-field=step_type]').innerText])",
    )
    for step, type_ in steps:  # each step by its own type: 03_email is an email step
        assert type_.split()[0] == re.sub(r"^\d+_", "", step), (step, type_)
    assert width in WIDTHS
    return cells


@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_report_reads_well(run: Run, width: int, tmp_path: Path) -> None:
    with _browse(run.out / "report.html", width) as seen:
        page = seen.page
        cells = {cell["id"]: cell for cell in _assert_reads_well(page, width)}
        assert cells["segment_values"]["observed"].startswith("15.38%")
        assert cells["segment_values"]["expected"].startswith("≤ 2% unexpected")
        assert cells["volume"]["expected"] == "between 5 and 1,000,000 rows"
        first = page.locator("#cleansing tr[data-cleansing-step]").first
        assert first.get_attribute("data-cleansing-step") == "reject_formulas"
        assert first.locator("[data-field=step_type]").inner_text() == "reject_formulas"
        _screenshot(page, "demo", width, tmp_path)
        assert seen.errors == [] and seen.blocked == []


@pytest.mark.parametrize("width", WIDTHS)
def test_a_report_of_years_rivers_and_every_kind_of_observation_reads_well(
    readings: Run, width: int, tmp_path: Path
) -> None:
    with _browse(readings.out / "report.html", width) as seen:
        page = seen.page
        cells = {cell["id"]: cell for cell in _assert_reads_well(page, width)}
        assert cells["volume"]["observed"].startswith("1,200") and cells["volume"]["observedKind"] == "count"
        assert cells["fresh"]["observed"].startswith("6 h") and "newest 2026-11-24 06:00" in cells["fresh"]["observed"]
        assert cells["fresh"]["expected"].startswith("≤ 1 d 12 h")
        assert cells["present"]["observed"] == "missing: depth"
        assert cells["shape"]["observed"].startswith("none")
        assert cells["mean_flow"]["expected"] == "> 1,000 mean"
        band = re.match(r"([\d,]+) – ([\d,]+)", cells["volume_trend"]["expected"])
        assert band is not None, cells["volume_trend"]
        assert int(band[1].replace(",", "")) <= 1200 <= int(band[2].replace(",", ""))
        assert "1950 ≤ year ≤ 2020" in cells["readings.year.range"]["expected"]

        year = page.locator('article[data-column="year"]')  # years: never 2,013
        assert year.locator('[data-stat="min"]').inner_text() == "1950"
        assert year.locator('[data-stat="max"]').inner_text() == "2024"
        assert _svg_texts(year) == ["1950", "2024"]
        samples = page.locator('tr[data-rule-id="readings.year.range"] td.sample-value').all_inner_texts()
        assert samples and all(re.fullmatch(r"202[1-4]", value) for value in samples), samples

        heights = year.locator("rect.bar").evaluate_all("bars => bars.map(b => b.getAttribute('height'))")
        assert len(heights) > 10 and len(set(heights)) == 1  # 16 rows every year: flat, no zig-zag
        quarter = page.locator('article[data-column="quarter"]')
        assert quarter.locator("rect.bar").count() == 4
        assert _svg_texts(quarter) == ["1", "2", "3", "4"]
        constant = page.locator('article[data-column="version"]')
        assert constant.locator("rect.bar").count() == 1  # a constant column: one bar
        assert _svg_texts(constant) == ["3"]

        top = page.locator('article[data-column="river"] .top-values').evaluate(_TOP_VALUES)
        assert top["stored"] == len(RIVERS) == len(top["rows"]) == len(top["labels"])  # every stored value
        for label, bar, count in top["rows"]:
            assert not _intersect(label, bar) and not _intersect(bar, count), (label, bar, count)
            assert label[1] <= bar[0] and bar[1] <= count[0]
        long = next(item for item in top["labels"] if item["title"].startswith(LONG_RIVER))
        assert long["cut"] and long["text"] == LONG_RIVER  # cut by an ellipsis, whole in its tooltip
        _screenshot(page, "readings", width, tmp_path)
        assert seen.errors == [] and seen.blocked == []

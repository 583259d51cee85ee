"""Quality scores as a user meets them (docs/scores.md): ``scores`` in the result.json of ``dq validate`` and
``dq run`` on the demo tenant, exactly the definition's numbers on generated data with planted defects, and the
report's "Quality scores" section in headless Chromium (a screenshot is saved to ``out/``)."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dq_core.results.run import RunResult
from dq_core.results.scores import ScoredDimension, dimension_of, score_run
from dq_core.validation.results import RuleStatus
from tests.conftest import ROOT
from tests.e2e.test_cli import dq
from tests.e2e.test_report_browser import _browse

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"


def _result(folder: Path) -> RunResult:
    return RunResult.model_validate_json((folder / "result.json").read_text(encoding="utf-8"))


def test_dq_validate_on_the_demo_writes_the_scores_of_its_rules(tmp_path: Path) -> None:
    done = dq("validate", str(SAMPLE), "--contract", "customers", "--out", str(tmp_path), "--now", "2026-11-25")
    assert done.returncode == 1, done.stderr  # the planted defects fail error rules
    document = json.loads((tmp_path / "result.json").read_text())
    assert set(document["scores"]) == {"overall", "dimensions"}
    result = _result(tmp_path)
    assert result.validation is not None and result.scores is not None
    assert result.scores == score_run(result.validation)
    counted = Counter(dimension_of(r).value for r in result.validation.rules if r.status is not RuleStatus.SKIPPED)
    assert {name: d.rules for name, d in result.scores.dimensions.items() if d.rules} == dict(counted)
    assert result.scores.overall is not None and 50 < result.scores.overall < 100
    completeness = result.scores.dimensions["completeness"]
    assert completeness.score is not None and completeness.score < 100  # emails are missing in the sample


# --- generated data: the definition's numbers, from the planted defects --------------------------------

ROWS = 20_000
CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: orders-contract
version: 1.0.0
status: active
schema:
  - name: orders
    quality:
      - id: shipped_after_order
        type: sql
        query: "SELECT COUNT(*) FROM {object} WHERE ship_date < order_date"
        mustBe: 0
        dimension: consistency
        severity: info
    properties:
      - name: id
        logicalType: string
        required: true
        quality:
          - {id: id_unique, metric: duplicateValues, mustBe: 0}
      - name: email
        logicalType: string
        quality:
          - {id: email_present, metric: nullValues, mustBe: 0}
      - name: country
        logicalType: string
        quality:
          - {id: country_known, metric: invalidValues, arguments: {validValues: [GB, FR, DE]}, mustBe: 0,
             severity: warning}
      - {name: order_date, logicalType: date}
      - {name: ship_date, logicalType: date}
      - {name: updated_at, logicalType: timestamp}
slaProperties:
  - {property: latency, value: 1, unit: d, element: orders.updated_at}
"""


@dataclass(frozen=True)
class Planted:
    nulls: int  # emails missing
    invalid: int  # countries not in the list
    duplicated: int  # ids given to the next row too (disjoint pairs: one duplicated key each)
    shipped_early: int  # rows shipped before they were ordered


def _generate(path: Path, planted: Planted, seed: int) -> None:
    chooser = random.Random(seed)
    nulls = chooser.sample(range(ROWS), planted.nulls)
    invalid = chooser.sample(range(ROWS), planted.invalid)
    pairs = [2 * i for i in chooser.sample(range(ROWS // 2), planted.duplicated)]  # row 2i+1 takes row 2i's id
    early = chooser.sample(range(ROWS), planted.shipped_early)
    row = pl.int_range(0, ROWS, eager=False)
    frame = pl.select(row.alias("row")).select(
        pl.when(pl.col("row").is_in([p + 1 for p in pairs]))
        .then(pl.format("ID-{}", (pl.col("row") - 1).cast(pl.String).str.zfill(7)))
        .otherwise(pl.format("ID-{}", pl.col("row").cast(pl.String).str.zfill(7)))
        .alias("id"),
        pl.when(pl.col("row").is_in(nulls)).then(None).otherwise(pl.format("u{}@x.example", "row")).alias("email"),
        pl.when(pl.col("row").is_in(invalid))
        .then(pl.lit("XX"))
        .otherwise(pl.col("row").mod(3).replace_strict({0: "GB", 1: "FR", 2: "DE"}, return_dtype=pl.String))
        .alias("country"),
        pl.lit("2026-11-02").alias("order_date"),
        pl.when(pl.col("row").is_in(early))
        .then(pl.lit("2026-11-01"))
        .otherwise(pl.lit("2026-11-04"))
        .alias("ship_date"),
        pl.lit("2026-11-24T12:00:00").alias("updated_at"),
    )
    frame.write_csv(path)


def _expected(planted: Planted) -> dict[str, Any]:
    """docs/scores.md by hand: every rule judged all ROWS rows (N); weights error 3, warning 2, info 1."""
    n = ROWS
    rules = {  # (dimension, score, severity weight)
        "orders.id.required": ("completeness", 100.0, 3),
        "email_present": ("completeness", 100 * (1 - planted.nulls / n), 3),
        "country_known": ("validity", 100 * (1 - planted.invalid / n), 2),
        "id_unique": ("uniqueness", 100 * (1 - planted.duplicated / n), 3),
        "shipped_after_order": ("consistency", 0.0 if planted.shipped_early else 100.0, 1),  # a dataset rule
        "orders.updated_at.freshness": ("timeliness", 100.0, 3),
    }
    dimensions: dict[str, Any] = {}
    for dimension in ScoredDimension:
        mine = [(score, severity * n) for d, score, severity in rules.values() if d == dimension.value]
        weight = sum(w for _, w in mine)
        score = round(sum(s * w for s, w in mine) / weight, 2) if weight else None
        dimensions[dimension.value] = {"score": score, "rules": len(mine), "weight": weight}
    everything = [(score, severity * n) for _, score, severity in rules.values()]
    overall = round(sum(s * w for s, w in everything) / sum(w for _, w in everything), 2)
    return {"overall": overall, "dimensions": dimensions}


@pytest.mark.parametrize(
    ("planted", "seed"),
    [
        (Planted(nulls=400, invalid=250, duplicated=100, shipped_early=7), 7),
        (Planted(nulls=0, invalid=3_000, duplicated=0, shipped_early=0), 11),
    ],
)
def test_scores_of_generated_data_are_the_definition_s(planted: Planted, seed: int, tmp_path: Path) -> None:
    data, contract, out = tmp_path / "orders.csv", tmp_path / "orders.odcs.yaml", tmp_path / "out"
    _generate(data, planted, seed)
    contract.write_text(CONTRACT)
    done = dq("validate", str(data), "--odcs", str(contract), "--out", str(out), "--now", "2026-11-25T00:00:00Z")
    assert done.returncode in (0, 1), done.stderr
    document = json.loads((out / "result.json").read_text())
    rules = {r["rule_id"]: r for r in document["validation"]["rules"]}
    assert rules["email_present"]["unexpected_count"] == planted.nulls  # the data holds what was planted
    assert rules["id_unique"]["unexpected_count"] == planted.duplicated
    assert rules["country_known"]["unexpected_count"] == planted.invalid
    assert document["scores"] == _expected(planted)
    assert document["scores"]["dimensions"]["accuracy"] == {"score": None, "rules": 0, "weight": 0}


# --- the report ----------------------------------------------------------------------------------------


def test_dq_run_writes_scores_and_the_report_shows_them_near_the_top(tmp_path: Path) -> None:
    salt = tmp_path / "salt"
    salt.write_text("a-local-test-salt-0123456789")
    out, home = tmp_path / "out", tmp_path / "home"
    run = ("run", str(SAMPLE), "--job", "customers_daily", "--out", str(out), "--home", str(home))
    done = dq(*run, "--salt-file", str(salt))  # the demo job masks PII with the tenant's salt
    assert done.returncode == 1, done.stderr
    result = _result(out)
    assert result.validation is not None and result.scores == score_run(result.validation)
    scores = result.scores
    assert scores is not None and scores.overall is not None

    with _browse(out / "report.html") as seen:
        page = seen.page
        assert seen.errors == [] and seen.blocked == []
        sections = page.eval_on_selector_all("main > section", "all => all.map(s => s.id)")
        assert "scores" in sections and sections.index("scores") < sections.index("rules")
        overall = page.locator('#scores [data-metric="score_overall"]')
        assert float(overall.get_attribute("data-value") or "nan") == scores.overall
        assert float(overall.inner_text()) == pytest.approx(scores.overall, abs=0.005)
        shown = page.eval_on_selector_all("#scores tr[data-dimension]", "rows => rows.map(r => r.dataset.dimension)")
        assert shown == [d.value for d in ScoredDimension]
        for name, dimension in scores.dimensions.items():
            row = page.locator(f'#scores tr[data-dimension="{name}"]')
            cell = row.locator('[data-field="score"]')
            assert int(row.locator('[data-field="rules"]').inner_text()) == dimension.rules
            if dimension.score is None:
                assert cell.get_attribute("data-value") == "" and cell.inner_text() == "—"
                assert row.locator("svg").count() == 0
            else:
                assert float(cell.get_attribute("data-value") or "nan") == dimension.score
                label = row.locator("svg").get_attribute("aria-label") or ""
                assert label.startswith(f"{name} score ")
        box = page.locator("#scores").bounding_box()
        assert box is not None and box["width"] <= 1280
        shot = tmp_path / "report-scores.png"
        page.locator("#scores").screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ROOT / "out").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "out" / "report-scores.png")

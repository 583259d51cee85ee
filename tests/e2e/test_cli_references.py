"""Cross-dataset checks as a user runs them: ``dq validate`` and ``dq run`` with ``--reference``, and a contract
whose reference data is in the tenant's container; counts compared with a plain polars anti-join."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.test_cli import dq

CODES = ["JFK", "LGA", "EWR", "BOS", "ORD", "ATL", "SFO", "LAX"]
UNKNOWN = ["XXX", "QQQ", "jfk"]

CONTRACT = """\
kind: contract
tenant: acme
environment: dev
id: flights
version: 1.0.0
status: published
owner: ops@acme.example
reference_datasets:
  - {name: airports, contract: airports, columns: [faa], blob: reference/airports/*.csv}
datasets:
  - name: flights
    columns:
      - {name: flight, logical_type: integer}
      - {name: origin, logical_type: string}
      - {name: dest, logical_type: string}
    bindings:
      - id: origin_known
        check:
          type: referential
          severity: ORIGIN_SEVERITY
          params: {reference_dataset: airports, reference_column: faa}
        columns: [origin]
      - id: dest_known
        check: {type: referential, severity: warning, params: {reference_dataset: airports, reference_column: faa}}
        columns: [dest]
"""


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    """An airports table and 2,000 flights whose codes are sometimes unknown (or null)."""
    rng = random.Random(18)
    airports = pl.DataFrame({"faa": CODES[:6], "name": [f"Airport {code}" for code in CODES[:6]]})
    airports.write_csv(tmp_path / "airports.csv")

    def code() -> str | None:
        roll = rng.random()
        return None if roll < 0.05 else rng.choice(UNKNOWN) if roll < 0.2 else rng.choice(CODES)

    flights = pl.DataFrame({"flight": range(2000), "origin": [code() for _ in range(2000)]}).with_columns(
        dest=pl.Series([code() for _ in range(2000)])
    )
    flights.write_csv(tmp_path / "flights.csv")
    return tmp_path


def _libraries(folder: Path, origin_severity: str = "error") -> Path:
    contracts = folder / "libs" / "acme" / "dev" / "contracts"
    contracts.mkdir(parents=True, exist_ok=True)
    (contracts / "flights.yaml").write_text(CONTRACT.replace("ORIGIN_SEVERITY", origin_severity), encoding="utf-8")
    return folder / "libs"


def _expected(folder: Path, column: str) -> int:
    """The failures of a referential rule: non-null values with no match in the reference (an anti-join)."""
    flights = pl.read_csv(folder / "flights.csv").filter(pl.col(column).is_not_null())
    airports = pl.read_csv(folder / "airports.csv")
    return flights.join(airports, left_on=column, right_on="faa", how="anti").height


def _scope(folder: Path) -> list[str]:
    return ["--libraries", str(folder / "libs"), "--tenant", "acme", "--env", "dev", "--home", str(folder / "home")]


def _rules(document: dict[str, object]) -> dict[str, dict[str, object]]:
    validation = document["validation"]
    assert isinstance(validation, dict)
    return {rule["rule_id"]: rule for rule in validation["rules"]}


def test_dq_validate_with_a_reference_counts_what_an_anti_join_counts(pair: Path) -> None:
    _libraries(pair)
    out = pair / "out"
    reference = f"airports={pair / 'airports.csv'}"
    result = dq("validate", str(pair / "flights.csv"), "--contract", "flights", "--reference", reference,
                "--out", str(out), *_scope(pair))  # fmt: skip
    assert result.returncode == 1, result.stderr
    rules = _rules(json.loads((out / "result.json").read_text()))
    assert rules["origin_known"]["unexpected_count"] == _expected(pair, "origin") > 0
    assert rules["dest_known"]["unexpected_count"] == _expected(pair, "dest") > 0
    assert f"origin_known: {_expected(pair, 'origin')} unexpected" in result.stdout


def test_dq_validate_reads_the_contracts_blob_from_the_local_container(pair: Path) -> None:
    _libraries(pair)
    container = pair / "home" / "blobs" / "acme" / "reference" / "airports"
    container.mkdir(parents=True)
    (container / "part-1.csv").write_text("faa\nJFK\nLGA\nEWR\n")
    (container / "part-2.csv").write_text("faa\nBOS\nORD\nATL\n")
    out = pair / "out"
    result = dq("validate", str(pair / "flights.csv"), "--contract", "flights", "--out", str(out), *_scope(pair))
    assert result.returncode == 1, result.stderr
    rules = _rules(json.loads((out / "result.json").read_text()))
    assert rules["origin_known"]["unexpected_count"] == _expected(pair, "origin")


def test_a_missing_reference_is_an_error_and_only_an_error_severity_rule_fails_the_run(pair: Path) -> None:
    _libraries(pair, origin_severity="warning")
    out = pair / "out"
    result = dq("validate", str(pair / "flights.csv"), "--contract", "flights", "--out", str(out), *_scope(pair))
    assert result.returncode == 0, result.stdout + result.stderr  # warning-severity errors never fail a run
    assert result.stdout.startswith("PASSED: 0 passed, 0 failed (0 of severity error), 2 errors")
    assert "dest_known: reference dataset 'airports' cannot be read: no blob matches 'reference/airports/*.csv'" in (
        result.stdout
    )
    _libraries(pair, origin_severity="error")
    failed = dq("validate", str(pair / "flights.csv"), "--contract", "flights", *_scope(pair))
    assert failed.returncode == 1 and failed.stdout.startswith("FAILED: ")
    assert str(pair) not in failed.stdout  # the reason names no path outside the tenant's container


def test_an_undeclared_reference_name_is_refused_in_one_line(pair: Path) -> None:
    _libraries(pair)
    for command in ("validate", "run"):
        result = dq(command, str(pair / "flights.csv"), "--contract", "flights",
                    "--reference", f"airport={pair / 'airports.csv'}", *_scope(pair))  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "the contract declares no such reference dataset (declared: airports)" in result.stderr
        assert "Traceback" not in result.stderr


def test_dq_run_with_a_reference_goes_through_the_orchestrator(pair: Path) -> None:
    _libraries(pair)
    out = pair / "out"
    result = dq("run", str(pair / "flights.csv"), "--contract", "flights", "--chunk-rows", "500",
                "--reference", f"airports={pair / 'airports.csv'}", "--out", str(out), *_scope(pair))  # fmt: skip
    assert result.returncode == 1, result.stderr  # origin_known (error severity) fails
    document = json.loads((out / "result.json").read_text())
    rules = _rules(document)
    assert rules["origin_known"]["unexpected_count"] == _expected(pair, "origin") > 0  # over 4 chunks
    assert rules["dest_known"]["unexpected_count"] == _expected(pair, "dest") > 0
    assert rules["origin_known"]["status"] == "failed" and rules["dest_known"]["status"] == "failed"
    assert "failed error   origin_known" in result.stdout

"""``dq suggest`` as a user drives it: the draft passes ``dq libraries check`` in a libraries folder and
``dq validate`` on the data it came from; on the demo tenant, on generated files, on bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.conftest import LIBRARIES, ROOT

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
BAD_INPUTS = ROOT / "tests" / "data" / "bad_inputs"


def dq(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, capture_output=True, text=True, check=False
    )


def _suggest_into(libraries: Path, data: Path, name: str, *extra: str) -> tuple[dict[str, object], Path]:
    """``dq suggest`` into ``libraries/contoso/dev/contracts/{name}``; the draft as read back."""
    out = libraries / "contoso" / "dev" / "contracts" / name
    result = dq("suggest", data, "--out", out, "--tenant", "contoso", "--env", "dev", *extra)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("suggested ") and str(out) in result.stdout
    text = out.read_text(encoding="utf-8")
    document = json.loads(text) if out.suffix == ".json" else yaml.safe_load(text)
    return document, out


def _check_and_validate(libraries: Path, data: Path, contract: str, *extra: str) -> subprocess.CompletedProcess[str]:
    checked = dq("libraries", "check", libraries)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("ok: ")
    return dq("validate", data, "--contract", contract, "--libraries", libraries, *extra)


def _suggested(document: dict[str, object]) -> list[dict[str, object]]:
    datasets = document["datasets"]
    assert isinstance(datasets, list)
    bindings: list[dict[str, object]] = datasets[0]["bindings"]
    return [b for b in bindings if str(b.get("check", {}).get("description", "")).startswith("suggested: ")]


def test_a_draft_of_the_demo_extract_passes_check_and_validate(tmp_path: Path) -> None:
    libraries = tmp_path / "libraries"
    document, _ = _suggest_into(libraries, SAMPLE, "customers_draft.yaml", "--id", "customers_draft")
    assert (document["id"], document["version"], document["status"]) == ("customers_draft", "0.1.0", "draft")
    suggested = _suggested(document)
    kinds = {(b["id"], b["check"]["type"]) for b in suggested}
    assert {
        ("customer_id_pattern", "regex"),
        ("source_system_values", "in_set"),
        ("signup_date_range", "range"),
        ("lifetime_value_range", "range"),
        ("full_name_not_null", "not_null"),
        ("volume_band", "row_count"),
    } <= kinds
    assert not [k for k in kinds if k[0] == "customer_id_unique"]  # the sample repeats a customer number
    validated = _check_and_validate(libraries, SAMPLE, "customers_draft")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.startswith(f"PASSED: {len(suggested)} passed, 0 failed")


def test_with_the_demo_contract_only_missing_rules_are_suggested(tmp_path: Path) -> None:
    libraries = tmp_path / "libraries"
    shutil.copytree(LIBRARIES, libraries)
    document, _ = _suggest_into(libraries, SAMPLE, "customers-next.yaml", "--contract", "customers")
    assert (document["id"], document["version"], document["status"]) == ("customers", "1.1.0", "draft")
    base = yaml.safe_load((LIBRARIES / "contoso" / "dev" / "contracts" / "customers.yaml").read_text())
    bindings = document["datasets"][0]["bindings"]
    assert bindings[: len(base["datasets"][0]["bindings"])] == base["datasets"][0]["bindings"]  # kept, first
    refs = document["rule_libraries"]
    assert [f"{r['id']}@{r['version']}" for r in refs] == base["rule_libraries"]
    ids = {b["id"] for b in _suggested(document)}
    # required, key and constrained columns of the contract are not suggested again
    assert not ids & {"customer_id_not_null", "full_name_not_null", "country_not_null", "lifetime_value_range"}
    assert {"segment_not_null", "signup_date_range", "source_system_values"} <= ids
    note = document["extensions"]["dq_suggest"]
    assert note["skipped"] == ["birth_date: declared date, read as String: no suggestion"]
    validated = _check_and_validate(libraries, SAMPLE, "customers", "--version", "1.1.0")
    # the demo extract breaks the contract's own rules on purpose; none of the suggested ones fails
    assert validated.returncode == 1 and validated.stdout.startswith("FAILED")
    failing = [line.split()[2].rstrip(":") for line in validated.stdout.splitlines()[1:]]
    assert "customers.customer_id.required" in failing
    assert not ids & set(failing)


def _generated(rows: int) -> pl.DataFrame:
    """Orders with a quantity that turns to text after the rows types are inferred from, and a
    reference that is unique but for one repeat the profile's estimate cannot see."""
    i = pl.col("i")
    return pl.DataFrame({"i": pl.int_range(0, rows, eager=True)}).select(
        order_id=i + 1,
        qty=pl.when(i == rows - 5).then(pl.lit("n/a")).otherwise((i % 40 + 1).cast(pl.String)),
        ref=pl.format("R{}", pl.when(i == rows - 1).then(0).otherwise(i)),
        status=pl.lit(pl.Series(["open", "paid", "shipped"])).gather(i % 3),
        amount=(i % 997).cast(pl.Float64) / 8,
        email=pl.format("buyer{}@shop.example", i % 500),
    )


def test_a_generated_csv_where_the_first_rows_mislead(tmp_path: Path) -> None:
    data = tmp_path / "orders.csv"
    _generated(12_000).write_csv(data)
    libraries = tmp_path / "libraries"
    out = libraries / "contoso" / "dev" / "contracts" / "orders.yaml"
    result = dq("suggest", data, "--out", out, "--tenant", "contoso", "--env", "dev")
    assert result.returncode == 0, result.stderr
    # qty read as integers from the first 10,000 rows; "n/a" later: back to text, its range dropped;
    # ref looked unique to the estimate: the check on the file found the repeat
    assert "dropped: type of qty: 1 value(s) of qty are not integer" in result.stderr
    assert "dropped: qty_range: a range needs the type, and the column is text now" in result.stderr
    assert "dropped: ref_unique: failed on the data: 2 unexpected value(s)" in result.stderr
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    columns = {c["name"]: c.get("logical_type", "string") for c in document["datasets"][0]["columns"]}
    assert columns == {
        "order_id": "integer",
        "qty": "string",
        "ref": "string",
        "status": "string",
        "amount": "number",
        "email": "string",
    }
    ids = {b["id"] for b in _suggested(document)}
    assert {"order_id_unique", "order_id_range", "status_values", "email_pattern", "volume_band"} <= ids
    assert not ids & {"ref_unique", "qty_range", "email_unique"}
    band = next(b for b in document["datasets"][0]["bindings"] if b["id"] == "volume_band")
    assert band["check"]["params"]["threshold"]["must_be_between"] == [6000, 24000]
    validated = _check_and_validate(libraries, data, "orders")
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_missing_value_markers_are_named_with_the_step_that_empties_them(tmp_path: Path) -> None:
    """An R-style export writes NA for a missing value: the draft says so on the column, asks no
    not_null of it, and dq suggest prints the null_values step that empties them."""
    data = tmp_path / "flights.csv"
    delays = [str(n) if n % 10 else "NA" for n in range(2_000)]
    pl.DataFrame({"flight": [str(n) for n in range(2_000)], "delay": delays}).write_csv(data)
    libraries = tmp_path / "libraries"
    out = libraries / "contoso" / "dev" / "contracts" / "flights.yaml"
    result = dq("suggest", data, "--out", out, "--tenant", "contoso", "--env", "dev")
    assert result.returncode == 0, result.stderr
    step = "{type: null_values, values: ['NA']}"
    assert (
        f"note: 1 column(s) hold missing-value markers: delay (200 NA); empty them with the cleansing step {step}"
        in (result.stderr)
    )
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    columns = {c["name"]: c for c in document["datasets"][0]["columns"]}
    assert "200 NA, a missing-value marker" in columns["delay"]["description"]
    assert document["extensions"]["dq_suggest"]["source"]["markers"] == {"delay": {"NA": 200}}
    ids = {b["id"] for b in _suggested(document)}
    assert "flight_not_null" in ids and "delay_not_null" not in ids


def test_a_generated_parquet_file_drafted_as_json(tmp_path: Path) -> None:
    data = tmp_path / "Orders 2026.parquet"
    _generated(300).with_columns(pl.col("qty").str.replace("n/a", "7").cast(pl.Int16)).write_parquet(data)
    libraries = tmp_path / "libraries"
    document, _ = _suggest_into(libraries, data, "orders_2026.json")
    assert document["datasets"][0]["name"] == "orders_2026"
    columns = {c["name"]: c.get("logical_type", "string") for c in document["datasets"][0]["columns"]}
    assert columns["qty"] == "integer"  # Parquet's own Int16
    ids = {b["id"] for b in _suggested(document)}
    assert {"qty_range", "qty_not_null", "email_pattern", "status_values"} <= ids
    validated = _check_and_validate(libraries, data, "orders_2026")
    assert validated.returncode == 0, validated.stdout + validated.stderr


def _shipped(name: str) -> Path:
    """A data set a PyPI package ships: plotly's (gapminder, tips), read without importing plotly."""
    path = Path(str(distribution("plotly").locate_file(f"plotly/package_data/datasets/{name}")))
    assert path.is_file(), path
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "gapminder.csv.gz",
            {
                "continent_values": {"values": ["Africa", "Americas", "Asia", "Europe", "Oceania"]},
                "iso_alpha_pattern": {"pattern": "^[A-Z]{3}$"},
                "year_range": {"min": 1952, "max": 2007},
                "centroid_lon_range": {"min": -105.795982000001, "max": 174},  # the data's min: ...200000001
                "volume_band": {"threshold": {"must_be_between": [852, 3408]}},
            },
        ),
        (
            "tips.csv.gz",
            {
                "sex_values": {"values": ["Female", "Male"]},
                "day_values": {"values": ["Fri", "Sat", "Sun", "Thur"]},
                "size_range": {"min": 1, "max": 6},
                "total_bill_range": {"min": 3.07, "max": 50.81},
            },
        ),
    ],
)
def test_a_data_set_shipped_in_a_pypi_package(tmp_path: Path, name: str, expected: dict[str, object]) -> None:
    data = tmp_path / name
    shutil.copyfile(_shipped(name), data)
    libraries = tmp_path / "libraries"
    document, _ = _suggest_into(libraries, data, name.replace(".csv.gz", ".yaml"))
    params = {b["id"]: b["check"].get("params") for b in _suggested(document)}
    assert {k: params.get(k) for k in expected} == expected
    validated = _check_and_validate(libraries, data, name.removesuffix(".csv.gz"))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.startswith(f"PASSED: {len(params)} passed, 0 failed")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty.csv", "empty_file"),
        ("header_only.csv", "header_only"),
        ("whitespace_only.csv", "empty_file"),
        ("binary_garbage.csv", "format_mismatch"),
        ("csv_named_parquet.parquet", "format_mismatch"),
        ("ragged_rows.csv", "ragged_rows"),
    ],
)
def test_bad_input_is_one_named_line_and_exit_2(tmp_path: Path, name: str, code: str) -> None:
    out = tmp_path / "draft.yaml"
    result = dq("suggest", BAD_INPUTS / name, "--out", out, "--tenant", "contoso", "--env", "dev")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{code}: {name}: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--out", "draft.txt"), "invalid_option: draft.txt: write the draft as .yaml, .yml or .json"),
        (("--out", "d.yaml", "--dataset", "9 lives"), "invalid_option: dataset '9 lives' is not a valid id"),
        (("--out", "d.yaml", "--contract", "customers", "--id", "x"), "invalid_option: --id names a new contract"),
        (("--out", "d.yaml", "--contract", "nope"), "not_found: contract 'nope' does not exist"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], line: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "suggest", str(SAMPLE), *args, "--libraries", str(LIBRARIES)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr


def test_without_libraries_or_options_the_draft_is_local(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DQ_")}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "suggest", str(SAMPLE), "--out", "d.json"],
        cwd=tmp_path,  # no libraries folder here
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    draft = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert (draft["tenant"], draft["environment"], draft["id"]) == ("local", "local", "customers")
    assert "(local/local, draft)" in result.stdout

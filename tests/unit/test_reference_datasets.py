"""Reference datasets: declared in the contract, carried by the bundle, and how a rule that cannot be
evaluated weighs on the verdict (its severity decides)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pydantic import ValidationError

from dq_core.bundle.models import ResolvedBundle
from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract, ReferenceDatasetSpec
from dq_core.errors import ConfigError, InputError
from dq_core.ingest.guarded import read_guarded
from dq_core.libraries.infra import IngestLimits
from dq_core.runs.payloads import RunOverrides
from dq_core.runs.references import check_overrides, referenced_names
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import row_local_state, validate
from dq_core.validation.results import RuleStatus

NOW = datetime(2026, 12, 1, tzinfo=UTC)
FLIGHTS = pl.DataFrame({"origin": ["JFK", "LGA", "XXX", None], "dest": ["BOS", "YYY", "ZZZ", "JFK"]})


def _binding(rule_id: str, column: str, severity: str) -> dict[str, Any]:
    params = {"reference_dataset": "airports", "reference_column": "faa"}
    return {
        "id": rule_id,
        "check": {"type": "referential", "severity": severity, "params": params},
        "columns": [column],
    }


def _bundle(*bindings: dict[str, Any], references: list[dict[str, Any]] | None = None) -> ResolvedBundle:
    contract = DataContract.model_validate(
        {
            "tenant": "t",
            "environment": "dev",
            "id": "flights",
            "version": "1.0.0",
            "reference_datasets": references
            if references is not None
            else [{"name": "airports", "contract": "airports", "columns": ["faa"], "blob": "reference/airports.csv"}],
            "datasets": [
                {
                    "name": "flights",
                    "columns": [
                        {"name": "origin", "logical_type": "string"},
                        {"name": "dest", "logical_type": "string"},
                    ],
                    "bindings": list(bindings),
                }
            ],
        }
    )
    index = InMemoryConfigIndex()
    index.add(contract, "inline")
    return resolve_bundle(index, contract)


def test_the_bundle_carries_the_contracts_reference_datasets() -> None:
    bundle = _bundle(_binding("origin_known", "origin", "error"))
    assert [spec.name for spec in bundle.reference_datasets] == ["airports"]
    assert bundle.reference_datasets[0].blob == "reference/airports.csv"
    assert referenced_names(bundle) == {"airports"}
    assert ResolvedBundle.model_validate_json(bundle.model_dump_json()).sha256 == bundle.sha256


def test_a_bundle_without_reference_datasets_keeps_its_hash() -> None:
    bundle = _bundle(references=[])
    dumped = bundle.model_dump(mode="json")
    dumped.pop("reference_datasets")  # as a bundle written before the field existed
    assert ResolvedBundle.model_validate(dumped).sha256 == bundle.sha256


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"blob": "../other/airports.csv"}, "is not a path in the tenant's container"),
        ({"blob": "/etc/passwd"}, "is not a path in the tenant's container"),
        ({"blob": "https://example.org/airports.csv"}, "is not a path in the tenant's container"),
        ({"blob": "reference/a.csv", "latest_output_of": "airports_daily"}, "not both"),
        ({"columns": []}, "at least 1 item"),
    ],
)
def test_a_reference_dataset_says_where_its_data_is_inside_the_tenant(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        ReferenceDatasetSpec.model_validate({"name": "airports", "columns": ["faa"], **fields})


def test_run_overrides_take_container_paths_or_local_file_uris_only() -> None:
    ok = RunOverrides(references={"Airports": "reference/airports/*.parquet", "codes": "file:///tmp/codes.csv"})
    assert ok.references == {"airports": "reference/airports/*.parquet", "codes": "file:///tmp/codes.csv"}
    for bad in ("../x.csv", "/abs/x.csv", "https://example.org/x.csv", "file://server/share/x.csv"):
        with pytest.raises(ValidationError):
            RunOverrides(references={"airports": bad})
    with pytest.raises(ValidationError, match="not a reference dataset name"):
        RunOverrides(references={"air ports": "reference/x.csv"})


def test_an_override_must_name_a_declared_reference_and_stay_in_the_container_on_a_hosted_run() -> None:
    bundle = _bundle(_binding("origin_known", "origin", "error"))
    with pytest.raises(ConfigError, match=r"no such reference dataset \(declared: airports\)"):
        check_overrides(bundle, {"airport": "reference/a.csv"}, allow_local_files=True)
    with pytest.raises(InputError, match="reads references from the tenant's container only"):
        check_overrides(bundle, {"airports": "file:///tmp/a.csv"}, allow_local_files=False)
    check_overrides(bundle, {"airports": "file:///tmp/a.csv"}, allow_local_files=True)


def test_reference_values_are_looked_up_by_dataset_and_column() -> None:
    bundle = _bundle(_binding("origin_known", "origin", "error"), _binding("dest_known", "dest", "error"))
    ctx = ValidationContext(now=NOW, reference_data={"airports.faa": pl.Series(["JFK", "LGA", "BOS"])})
    result = validate(FLIGHTS, bundle, ctx).by_id()
    assert result["origin_known"].unexpected_count == 1  # XXX; the null is not evaluated
    assert result["dest_known"].unexpected_count == 2  # YYY, ZZZ
    state = row_local_state(FLIGHTS.lazy(), bundle, ctx)
    assert state.checks["origin_known"].unexpected == 1


def test_a_reference_that_cannot_be_read_makes_the_rule_an_error_with_its_reason() -> None:
    bundle = _bundle(_binding("origin_known", "origin", "error"))
    ctx = ValidationContext(now=NOW, reference_errors={"airports": "the blob 'reference/airports.csv' does not exist"})
    rule = validate(FLIGHTS, bundle, ctx).rules[0]
    assert rule.status is RuleStatus.ERROR
    assert rule.error == "reference dataset 'airports' cannot be read: the blob 'reference/airports.csv' does not exist"
    missing_column = ValidationContext(now=NOW, reference_data={"airports.iata": pl.Series(["JFK"])})
    assert validate(FLIGHTS, bundle, missing_column).rules[0].error == (
        "column 'faa' is not a key column of reference dataset 'airports'"
    )
    assert validate(FLIGHTS, bundle, ValidationContext(now=NOW)).rules[0].error == (
        "reference dataset 'airports' was not provided to the run"
    )


def test_a_warning_rule_that_cannot_be_evaluated_never_fails_the_run() -> None:
    unreadable = ValidationContext(now=NOW, reference_errors={"airports": "no blob matches 'reference/*.csv'"})
    warning_only = validate(FLIGHTS, _bundle(_binding("dest_known", "dest", "warning")), unreadable)
    assert warning_only.rules[0].status is RuleStatus.ERROR
    assert warning_only.summary.errors == 1 and warning_only.summary.errors_error_severity == 0
    assert warning_only.passed
    both = validate(
        FLIGHTS,
        _bundle(_binding("dest_known", "dest", "warning"), _binding("origin_known", "origin", "error")),
        unreadable,
    )
    assert both.summary.errors == 2 and both.summary.errors_error_severity == 1
    assert not both.passed  # an error-severity rule that cannot be evaluated still fails it


def test_a_parquet_reference_is_read_for_its_key_columns_alone(tmp_path: Path) -> None:
    path = tmp_path / "airports.parquet"
    pl.DataFrame({"faa": ["JFK", "LGA"], "name": ["Kennedy", "LaGuardia"], "alt": [13, 21]}).write_parquet(path)
    assert read_guarded(path, IngestLimits(), columns=["faa"]).frame.columns == ["faa"]
    assert read_guarded(path, IngestLimits(), columns=["nope"]).frame.columns == ["faa", "name", "alt"]
    assert read_guarded(path, IngestLimits()).frame.width == 3

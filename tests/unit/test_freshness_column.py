"""``freshness`` takes its column from the binding when ``params.column`` is not given."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dq_core.errors import ResolutionError
from dq_core.libraries.rules import FreshnessRule
from dq_core.validation.context import ValidationContext
from dq_core.validation.engine import validate
from dq_core.validation.results import RuleStatus
from tests.unit.validation_support import bundle_of, check

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DATES = pl.DataFrame({"d": [date(2026, 11, 20), date(2026, 11, 24)], "d2": [date(2026, 1, 1), None]})


def test_the_bound_column_is_the_freshness_column() -> None:
    bundle = bundle_of(check("freshness", ["d"], rule_id="f", params={"max_age": "P2D"}))
    rule = bundle.rules[0].rule
    assert isinstance(rule, FreshnessRule) and rule.params.column == "d"
    (result,) = validate(DATES, bundle, ValidationContext(now=NOW)).rules
    assert result.status is RuleStatus.PASSED and result.observed_value == {
        "latest": "2026-11-24T00:00:00",
        "age_seconds": 36 * 3600.0,
    }
    assert result.params["column"] == "d"  # the report and the GX export name it


def test_params_column_wins_over_the_binding() -> None:
    bundle = bundle_of(check("freshness", ["d"], rule_id="f", params={"column": "d2", "max_age": "P2D"}))
    (result,) = validate(DATES, bundle, ValidationContext(now=NOW)).rules
    assert result.status is RuleStatus.FAILED and result.params["column"] == "d2"


@pytest.mark.parametrize("columns", [None, ["d", "d2"]])
def test_no_column_or_several_is_a_resolution_error(columns: list[str] | None) -> None:
    with pytest.raises(ResolutionError, match=r"freshness needs params\.column or exactly one bound column"):
        bundle_of(check("freshness", columns, rule_id="f", params={"max_age": "P2D"}))

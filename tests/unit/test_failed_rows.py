"""failed_rows.parquet's merge and its per-tenant bound."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dq_core.libraries.infra import MAX_FAILED_ROWS, InfraProfile
from dq_core.validation.context import ROW
from dq_core.validation.failed_rows import RULES, merge_failures

ORDER = ["a", "b", "c"]
parts_strategy = st.lists(
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(ORDER)), max_size=15), min_size=0, max_size=6
)


@settings(max_examples=80, deadline=None)
@given(parts=parts_strategy, cap=st.integers(1, 12))
def test_the_merge_one_part_at_a_time_equals_the_merge_of_everything(
    parts: list[list[tuple[int, str]]], cap: int
) -> None:
    frames = [
        pl.DataFrame(
            {ROW: [r for r, _ in part], RULES: [[rule] for _, rule in part]},
            schema={ROW: pl.Int64, RULES: pl.List(pl.String)},
        )
        for part in parts
    ]
    merged, capped = merge_failures(frames, cap, ORDER)
    every: dict[int, set[str]] = {}
    for part in parts:
        for row, rule in part:
            every.setdefault(row, set()).add(rule)
    expected = sorted(every)[:cap]
    assert merged[ROW].to_list() == expected
    assert merged[RULES].to_list() == [[rule for rule in ORDER if rule in every[row]] for row in expected]
    assert capped == (len(every) > cap)


def test_a_tenant_may_not_ask_for_more_failed_rows_than_an_instance_holds() -> None:
    """validate_dataset holds the failed rows with their values on an instance other tenants share."""
    header = {"tenant": "t", "environment": "dev", "id": "big", "version": "1.0.0"}
    with pytest.raises(ValidationError) as refused:
        InfraProfile.model_validate({**header, "kind": "infra_profile", "max_failed_rows": MAX_FAILED_ROWS + 1})
    assert "max_failed_rows" in str(refused.value)
    assert InfraProfile.model_validate({**header, "kind": "infra_profile", "max_failed_rows": MAX_FAILED_ROWS})

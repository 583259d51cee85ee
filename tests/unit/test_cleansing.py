"""Cleansing steps: behaviour, unicode, nulls, empty input, idempotence; conservation of rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq_core.cleansing.context import REASON, STEP, CleansingContext
from dq_core.cleansing.engine import CleansingOutput, cleanse, step_names
from dq_core.cleansing.steps import STEPS
from dq_core.errors import ConfigError
from dq_core.libraries.cleansing import CleansingStepSpec
from dq_core.validation.context import ROW, touched_column
from tests.unit.cleansing_support import bundle_with

SALT = b"0123456789abcdef-test"
COUNTRIES = [
    {
        "id": "iso_country",
        "codes": [
            {"code": "GB", "label": "United Kingdom", "synonyms": ["UK", "England"]},
            {"code": "DE", "synonyms": ["Deutschland", "Allemagne"]},
            {"code": "NO", "synonyms": ["Norge", "Noreg"]},
        ],
    },
]
TEXT = ["name", "email", "phone", "country", "day", "amount", "segment", "updated"]
TYPES = {"amount": "number", "day": "date"}  # conform_types casts these at the end
COLUMNS = [{"name": n, "logical_type": TYPES.get(n, "string")} for n in TEXT]


def run(steps: list[dict[str, Any]], rows: list[dict[str, Any]], **extra: Any) -> CleansingOutput:
    bundle = bundle_with(steps, COLUMNS, code_lists=COUNTRIES, **extra)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(TEXT, pl.String))
    return cleanse(frame, CleansingContext(bundle=bundle, salt=SALT))


def col(output: CleansingOutput, name: str) -> list[Any]:
    return output.cleansed[name].to_list()


def row(**values: Any) -> dict[str, Any]:
    return {name: values.get(name) for name in TEXT}


# (steps, input rows, column, expected cleansed values, rejected source rows)
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], str, list[Any], list[int]]] = {
    "trim": (
        [{"type": "trim"}],
        [row(name="  Zoë   Ødegård "), row(name="   "), row(name=None)],
        "name",
        ["Zoë Ødegård", None, None],
        [],
    ),
    "null_values": (
        [{"type": "null_values", "values": ["NA", "n/a", "-"]}],
        [row(segment="NA"), row(segment=" n/A "), row(segment="-"), row(segment="NAN"), row(segment="Ñ/A"), row()],
        "segment",
        [None, None, None, "NAN", "Ñ/A", None],
        [],
    ),
    "case": (
        [{"type": "case", "columns": ["name"], "mode": "upper"}],
        [row(name="straße ärger"), row()],
        "name",
        ["STRASSE ÄRGER", None],
        [],
    ),
    "parse_dates": (
        [{"type": "parse_dates", "columns": ["day"], "formats": ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"]}],
        [row(day="2024-02-29"), row(day="14/07/1979"), row(day="02.05.1968"), row(day="30/02/2020"), row()],
        "day",
        [date(2024, 2, 29), date(1979, 7, 14), date(1968, 5, 2), None],
        [3],
    ),
    "phone": (
        [{"type": "phone", "columns": ["phone"], "default_region": "GB"}],
        [row(phone="020 7946 0018"), row(phone="+1 (415) 555-0134"), row(phone="not available"), row()],
        "phone",
        ["+442079460018", "+14155550134", None],
        [2],
    ),
    "email": (
        [{"type": "email", "columns": ["email"]}],
        [row(email=" Bob@EXAMPLE.com "), row(email="josé@exämple.de"), row(email="a@@b.c"), row()],
        "email",
        ["Bob@example.com", "josé@exämple.de", None],
        [2],
    ),
    "map_values": (
        [{"type": "map_values", "columns": ["country"], "code_list": "iso_country", "unmapped": "reject"}],
        [row(country="england"), row(country=" Deutschland "), row(country="NO"), row(country="Portugal"), row()],
        "country",
        ["GB", "DE", "NO", None],
        [3],
    ),
    "cast": (
        [{"type": "cast", "columns": ["amount"], "logical_type": "number"}],
        [row(amount="12.50"), row(amount=" -3 "), row(amount="twelve"), row()],
        "amount",
        [12.5, -3.0, None],
        [2],
    ),
    "impute": (
        [
            {"type": "cast", "columns": ["amount"], "logical_type": "number"},
            {"type": "impute", "columns": ["amount"], "strategy": "median"},
        ],
        [row(amount="1"), row(amount="3"), row(amount="10"), row()],
        "amount",
        [1.0, 3.0, 10.0, 3.0],
        [],
    ),
    "quarantine": (
        [{"type": "quarantine", "predicate": "segment = 'test'", "reason": "test accounts are not loaded"}],
        [row(segment="retail"), row(segment="test"), row()],
        "segment",
        ["retail", None],
        [1],
    ),
    "mask": (
        [{"type": "mask"}],
        [row(name="Zoë Ødegård", email="z@b.example", phone="+442079460018"), row()],
        "phone",
        ["*********0018", None],
        [],
    ),
}
MASKING = [
    {"attribute": "e.name", "classification": "pii", "masking": "redact"},
    {"attribute": "e.email", "classification": "pii", "masking": "hash"},
    {"attribute": "e.phone", "classification": "pii", "masking": "partial"},
]


def _run_case(name: str) -> CleansingOutput:
    steps, rows, _, _, _ = CASES[name]
    return run(steps, rows, classifications=MASKING)


def test_every_step_type_has_one_implementation() -> None:
    from typing import get_args

    union = get_args(get_args(CleansingStepSpec)[0])
    names = {model.model_fields["type"].annotation.__args__[0] for model in union}  # type: ignore[union-attr]
    assert names == set(STEPS) | {"deduplicate"}
    assert set(CASES) | {"deduplicate"} == names


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_behaviour_with_unicode_and_nulls(name: str) -> None:
    _, _rows, column, expected, rejected = CASES[name]
    output = _run_case(name)
    assert col(output, column) == expected
    assert output.rejects[ROW].to_list() == rejected
    if rejected:
        assert all(output.rejects[REASON].to_list()) and set(output.rejects[STEP].to_list()) != {None}


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_on_empty_input(name: str) -> None:
    steps, _, _column, _, _ = CASES[name]
    output = run(steps, [], classifications=MASKING)
    assert output.cleansed.height == 0 and output.rejects.height == 0 and output.report.rows_in == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_is_idempotent(name: str) -> None:
    steps, _, _, _, _ = CASES[name]
    first = _run_case(name)
    bundle = bundle_with(steps, COLUMNS, code_lists=COUNTRIES, classifications=MASKING)
    again = cleanse(first.cleansed, CleansingContext(bundle=bundle, salt=SALT))
    assert again.cleansed.equals(first.cleansed)
    assert again.rejects.height == 0


def test_hashing_is_salted_and_needs_the_salt() -> None:
    output = _run_case("mask")
    hashed = col(output, "email")[0]
    assert hashed.startswith("sha256:") and len(hashed) == 71 and col(output, "name")[0] == "[redacted]"
    bundle = bundle_with([{"type": "mask"}], COLUMNS, classifications=MASKING)
    frame = pl.DataFrame([row(email="z@b.example")], schema=dict.fromkeys(TEXT, pl.String))
    other = cleanse(frame, CleansingContext(bundle=bundle, salt=b"another-salt-0123456")).cleansed["email"][0]
    assert other != hashed
    with pytest.raises(ConfigError, match="needs the tenant salt"):
        cleanse(frame, CleansingContext(bundle=bundle))


def test_forward_fill_within_a_key_in_source_order() -> None:
    rows = [
        row(segment="a", amount="1"),
        row(segment="b", amount="5"),
        row(segment="a"),
        row(segment="b"),
        row(segment="a", amount="2"),
    ]
    steps = [{"type": "impute", "columns": ["amount"], "strategy": "forward_fill", "partition_by": ["segment"]}]
    assert col(run(steps, rows), "amount") == [1.0, 5.0, 1.0, 5.0, 2.0]


def test_constant_mean_and_mode_imputation() -> None:
    rows = [row(amount="1", segment="x"), row(amount="2", segment="x"), row(segment="y"), row()]
    cast = {"type": "cast", "columns": ["amount"], "logical_type": "number"}
    assert col(run([cast, {"type": "impute", "columns": ["amount"], "strategy": "mean"}], rows), "amount")[2] == 1.5
    assert col(run([{"type": "impute", "columns": ["segment"], "strategy": "mode"}], rows), "segment")[3] == "x"
    filled = run([{"type": "impute", "columns": ["segment"], "strategy": "constant", "value": "unknown"}], rows)
    assert col(filled, "segment") == ["x", "x", "y", "unknown"]


# --- deduplication --------------------------------------------------------------------------

DUPES = [
    row(name="Ann", email="ann@x.example", phone=None, segment="crm", updated="2026-01-01"),
    row(name="ANN ", email="ann@x.example", phone="+441", segment="erp", updated="2026-03-01"),
    row(name="Bob", email="bob@x.example", phone="+442", segment="crm", updated="2026-02-01"),
    row(name="ann", email=None, phone="+443", segment="web", updated="2025-12-01"),
    row(name=None, email="nobody@x.example", segment="crm", updated="2026-01-01"),
    row(name=None, email="nobody2@x.example", segment="crm", updated="2026-01-01"),
]


@pytest.mark.parametrize(
    ("survivorship", "extra", "survivor"),
    [
        ("most_recent", {"order_column": "updated"}, 1),
        ("most_complete", {}, 1),
        ("source_priority", {"order_column": "segment", "source_order": ["web", "crm", "erp"]}, 3),
    ],
)
def test_survivorship_strategies(survivorship: str, extra: dict[str, Any], survivor: int) -> None:
    step = {"type": "deduplicate", "key": ["name"], "survivorship": survivorship, **extra}
    output = run([step], DUPES)
    assert output.cleansed[ROW].to_list() == sorted([survivor, 2, 4, 5])  # null keys are never merged
    dedup = output.report.deduplication
    assert dedup is not None and dedup.clusters == 1 and dedup.duplicates_removed == 2 and dedup.sizes == {"3": 1}
    assert dedup.examples[0].survivor_row == survivor and sorted(dedup.examples[0].merged_rows) == sorted(
        {0, 1, 3} - {survivor}
    )


def test_field_level_survivorship_fills_gaps_from_the_next_best_record() -> None:
    step = {
        "type": "deduplicate",
        "key": ["name"],
        "survivorship": "source_priority",
        "order_column": "segment",
        "source_order": ["web", "crm", "erp"],
        "field_level": True,
    }
    survivor = run([step], DUPES).cleansed.filter(pl.col(ROW) == 3).to_dicts()[0]
    assert survivor["phone"] == "+443"  # its own value
    assert survivor["email"] == "ann@x.example"  # from the crm record, next in priority


def test_exact_duplicates() -> None:
    output = run([{"type": "deduplicate"}], [row(name="a"), row(name="a"), row(name="b"), row(name="a", email="x")])
    assert output.cleansed[ROW].to_list() == [0, 2, 3] and output.report.duplicates_removed == 1


# --- conservation of rows -------------------------------------------------------------------

POLICY = [
    {"type": "trim"},
    {"type": "null_values", "values": ["x", "-"]},
    {"type": "case", "columns": ["email"], "mode": "lower"},
    {"type": "email", "columns": ["email"], "on_error": "reject"},
    {"type": "map_values", "columns": ["country"], "code_list": "iso_country", "unmapped": "reject"},
    {"type": "parse_dates", "columns": ["day"], "formats": ["%Y-%m-%d", "%d/%m/%Y"]},
    {"type": "deduplicate", "key": ["name"], "survivorship": "most_complete", "field_level": True},
    {"type": "quarantine", "predicate": "segment = 'x'", "reason": "segment x"},
]
cells = st.one_of(st.none(), st.text(alphabet="aAé ,;=@.-\"'x0123456789/Ø", max_size=8))
records = st.lists(st.fixed_dictionaries(dict.fromkeys(TEXT, cells)), max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_every_row_is_cleansed_rejected_or_a_removed_duplicate(rows: list[dict[str, Any]]) -> None:
    output = run(POLICY, rows)
    report = output.report
    assert report.rows_in == report.rows_out + report.rows_rejected + report.duplicates_removed
    seen = output.cleansed[ROW].to_list() + output.rejects[ROW].to_list()
    assert len(seen) == len(set(seen))  # no row is both kept and rejected
    assert all(output.rejects[REASON].to_list())


def test_deduplication_with_unicode_nulls_empty_input_and_idempotence() -> None:
    step = {"type": "deduplicate", "key": ["name"], "survivorship": "most_complete", "field_level": True}
    rows = [row(name="Zoë", email="z@b.example"), row(name="ZOË ", phone="+47"), row(name=None), row(name=None)]
    first = run([step], rows)
    assert first.cleansed[ROW].to_list() == [0, 2, 3] and first.report.duplicates_removed == 1
    assert first.cleansed.filter(pl.col(ROW) == 0)["phone"].to_list() == ["+47"]
    bundle = bundle_with([step], COLUMNS, code_lists=COUNTRIES)
    again = cleanse(first.cleansed, CleansingContext(bundle=bundle, salt=SALT))
    assert again.cleansed.equals(first.cleansed) and again.report.duplicates_removed == 0
    assert run([step], []).cleansed.height == 0


def test_most_recent_ranks_in_the_contract_type_not_as_text() -> None:
    columns = [{"name": n, "logical_type": "integer" if n == "amount" else "string"} for n in TEXT]
    step = {"type": "deduplicate", "key": ["name"], "survivorship": "most_recent", "order_column": "amount"}
    bundle = bundle_with([step], columns)
    frame = pl.DataFrame([row(name="a", amount="9"), row(name="a", amount="10")], schema=dict.fromkeys(TEXT, pl.String))
    assert cleanse(frame, CleansingContext(bundle=bundle)).cleansed[ROW].to_list() == [1]  # 10 > 9


def test_exact_duplicates_are_not_case_folded() -> None:
    output = run([{"type": "deduplicate"}], [row(name="aB1"), row(name="Ab1"), row(name="aB1")])
    assert output.cleansed[ROW].to_list() == [0, 1] and output.report.duplicates_removed == 1


def test_typed_values_convert_only_exactly() -> None:
    columns = [
        {"name": "qty", "logical_type": "integer"},
        {"name": "flag", "logical_type": "boolean"},
        {"name": "day", "logical_type": "date"},
    ]
    bundle = bundle_with([], columns)
    frame = pl.DataFrame({"qty": [1.0, 1.5], "flag": [1, 5], "day": [20240131, None]})
    output = cleanse(frame, CleansingContext(bundle=bundle))
    assert output.cleansed[ROW].to_list() == []  # row 0: day 20240131 is no date; row 1: 1.5 and 5 do not convert
    reasons = " ".join(output.rejects["_dq_reject_reason"].to_list())
    assert "column qty: 1.5 is not integer" in reasons and "column flag: 5 is not boolean" in reasons
    assert "column day: 20240131 is not date" in reasons


def test_a_mean_fill_changes_only_the_empty_cells_of_an_integer_column() -> None:
    """An integer column a mean fills becomes float: 3 and 3.0 are the same value, so only the
    filled cell counts as changed, in the report and in the row's attribution mask."""
    rows = [row(amount="3"), row(amount="4"), row(), row(amount="8")]
    cast = {"id": "cast", "type": "cast", "columns": ["amount"], "logical_type": "integer"}
    fill = {"id": "fill", "type": "impute", "columns": ["amount"], "strategy": "mean"}
    output = run([cast, fill], rows)
    assert col(output, "amount") == [3.0, 4.0, 5.0, 8.0]
    step = next(m for m in output.report.steps if m.step == "fill")
    assert step.cells_changed == {"amount": 1}
    fill_bit = 1 << step_names(output_bundle([cast, fill])).index("fill")
    marks = output.cleansed[touched_column("amount")].to_list()
    assert [bool(mark & fill_bit) for mark in marks] == [False, False, True, False]


def test_null_values_refuses_a_column_that_is_not_text_in_one_line() -> None:
    bundle = bundle_with([{"type": "null_values", "values": ["NA"], "columns": ["tags"]}], [{"name": "tags"}])
    frame = pl.DataFrame({"tags": [["a"], ["NA"]]})
    with pytest.raises(ConfigError, match=r"null_values: column 'tags' is List\(String\), not text"):
        cleanse(frame, CleansingContext(bundle=bundle))


def test_a_cast_marks_only_the_cells_it_emptied() -> None:
    """A value that converts is the same value in its type; "NA" that a ``set_null`` cast empties lost
    its value: its row's mask names the cast, so a failing not_null is put down to cleansing."""
    rows = [row(amount="3"), row(amount="NA"), row(), row(amount=" 8 ")]
    cast = {"id": "cast", "type": "cast", "columns": ["amount"], "logical_type": "integer", "on_error": "set_null"}
    output = run([{"id": "tidy", "type": "trim"}, cast], rows)
    assert col(output, "amount") == [3, None, None, 8]
    cast_bit = 1 << step_names(output_bundle([{"id": "tidy", "type": "trim"}, cast])).index("cast")
    marks = output.cleansed[touched_column("amount")].to_list()
    assert [bool((mark or 0) & cast_bit) for mark in marks] == [False, True, False, False]


def output_bundle(steps: list[dict[str, Any]]) -> Any:
    return bundle_with(steps, COLUMNS, code_lists=COUNTRIES)

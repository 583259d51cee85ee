"""Rule suggestions, the pure part: a profile and shape counts of generated data -> a draft contract."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dq_core.authoring.suggest import (
    CODE_LIST_MAX,
    SHAPES,
    Draft,
    DraftTarget,
    SourceFacts,
    binding_id,
    dataset_name,
    draft_contract,
    logical_type_of,
    next_version,
    shape_counts,
)
from dq_core.bundle.resolve import resolve_bundle
from dq_core.config.index import InMemoryConfigIndex
from dq_core.contracts.models import DataContract
from dq_core.libraries.rules import LogicalType
from dq_core.profiling.finish import profile

ROWS = 1_000
TARGET = DraftTarget(tenant="contoso", environment="dev", contract_id="orders", dataset="orders")


def _orders(rows: int = ROWS) -> pl.DataFrame:
    """Generated orders: every column built to earn (or not earn) one suggestion."""
    i = pl.col("i")
    return pl.DataFrame({"i": pl.int_range(0, rows, eager=True)}).select(
        order_id=i + 1,
        order_code=pl.format("ORD-{}", (i + 1).cast(pl.String).str.zfill(6)),
        email=pl.when(i % 50 == 0).then(None).otherwise(pl.format("user{}@example.com", i)),
        country=pl.lit(pl.Series(["GB", "DE", "FR", "US"])).gather(i % 4),
        amount=(i * 7 % 1000).cast(pl.Float64) / 4 - 10,
        ordered_on=pl.lit(date(2024, 1, 1)) + pl.duration(days=i % 366),
        paid=i % 3 == 0,
        note=pl.format("free text {} with no shape", i * 31 % 997),
        phone=pl.when(i % 20 == 0).then(pl.lit("call me")).otherwise(pl.format("+4420{}", i + 7_000_000)),
    )


def _facts(frame: pl.DataFrame, name: str = "orders.parquet") -> SourceFacts:
    return SourceFacts(name=name, sha256="0" * 64, profile=profile(frame), shapes=shape_counts(frame))


def _rules(draft: Draft) -> dict[str, tuple[str, tuple[str, ...], str, dict[str, object]]]:
    """binding id -> (rule type, columns, description, params)."""
    spec = draft.contract.dataset(draft.dataset)
    found = {}
    for binding in spec.bindings:
        assert binding.check is not None and binding.id is not None
        params = binding.check.params.model_dump(exclude_defaults=True)
        found[binding.id] = (binding.check.type, binding.columns, binding.check.description, params)
    return found


@pytest.fixture(scope="module")
def draft() -> Draft:
    return draft_contract(_facts(_orders()), TARGET)


def test_column_types_come_from_the_types_the_values_were_read_as(draft: Draft) -> None:
    columns = {c.name: c for c in draft.contract.dataset("orders").columns}
    assert {n: c.logical_type.value for n, c in columns.items()} == {
        "order_id": "integer",
        "order_code": "string",
        "email": "string",
        "country": "string",
        "amount": "number",
        "ordered_on": "date",
        "paid": "boolean",
        "note": "string",
        "phone": "string",
    }
    assert columns["order_id"].description == "suggested: logical type integer (the values read as Int64)"
    assert draft.added_columns == tuple(columns)


def test_every_suggestion_says_the_statistic_it_came_from(draft: Draft) -> None:
    rules = _rules(draft)
    assert set(rules) == set(draft.suggested)
    assert all(description.startswith("suggested: ") for _, _, description, _ in rules.values())
    assert rules["order_id_not_null"][2] == "suggested: 0 nulls in 1,000 rows"
    assert rules["order_id_unique"][2] == "suggested: 1,000 distinct values in 1,000 non-null values (exact count)"
    assert rules["amount_range"][2] == "suggested: observed minimum -10.0 and maximum 239.75 in 1,000 non-null values"
    assert "4 distinct values in 1,000 non-null values (DE 250, FR 250, GB 250, US 250)" in rules["country_values"][2]
    assert rules["email_pattern"][2] == (
        "suggested: 980 of 980 non-null values (100.0%) look like an e-mail address (shape email)"
    )
    assert rules["volume_band"][2] == "suggested: 1,000 rows seen; the band is 0.5x to 2.0x of that (500 to 2,000)"


def test_what_is_suggested_for_which_column(draft: Draft) -> None:
    kinds = {(rule_type, columns) for rule_type, columns, _, _ in _rules(draft).values()}
    required = {c for t, cs in kinds for c in cs if t == "not_null"}
    assert required == {"order_id", "order_code", "country", "amount", "ordered_on", "paid", "note", "phone"}
    unique = {c for t, cs in kinds for c in cs if t == "unique"}
    assert unique == {"order_id", "order_code", "email"}  # text and integers; not the float amount
    assert {c for t, cs in kinds for c in cs if t == "range"} == {"order_id", "amount", "ordered_on"}
    assert {c for t, cs in kinds for c in cs if t == "in_set"} == {"country"}
    assert {c for t, cs in kinds for c in cs if t == "regex"} == {"order_code", "email", "phone"}  # country: in_set
    assert ("row_count", ()) in kinds


def test_ranges_patterns_code_lists_and_the_volume_band_hold_what_was_seen(draft: Draft) -> None:
    rules = _rules(draft)
    assert rules["order_id_range"][3] == {"min": 1.0, "max": 1000.0}
    assert rules["ordered_on_range"][3] == {"min": "2024-01-01", "max": "2024-12-31"}
    assert rules["country_values"][3] == {"values": ("DE", "FR", "GB", "US")}
    shapes = {s.name: s.pattern for s in SHAPES}
    assert rules["order_code_pattern"][3] == {"pattern": shapes["prefixed_code"]}
    assert rules["volume_band"][3] == {"threshold": {"must_be_between": (500.0, 2000.0)}}
    spec = draft.contract.dataset("orders")
    phone = next(b for b in spec.bindings if b.id == "phone_pattern")
    assert phone.check is not None and phone.check.mostly == 0.95  # 950 of 1,000 are E.164
    assert "950 of 1,000 non-null values (95.0%) look like an E.164 phone number" in phone.check.description
    volume = next(b for b in spec.bindings if b.id == "volume_band")
    assert volume.check is not None and volume.check.severity.value == "warning"


def test_the_draft_records_where_it_came_from(draft: Draft) -> None:
    contract = draft.contract
    assert (contract.id, contract.version, contract.status.value) == ("orders", "0.1.0", "draft")
    note = contract.extensions["dq_suggest"]
    assert isinstance(note, dict)
    assert note["source"] == {"file": "orders.parquet", "sha256": "0" * 64, "rows": 1000, "columns": 9}
    assert note["suggested"] == list(draft.suggested) and note["dropped"] == []


@pytest.mark.parametrize(("distinct", "suggested"), [(CODE_LIST_MAX, True), (CODE_LIST_MAX + 1, False)])
def test_a_code_list_needs_few_distinct_values(distinct: int, suggested: bool) -> None:
    frame = pl.DataFrame({"tier": [f"t{k % distinct:02d}" for k in range(distinct * 3)]})
    rules = _rules(draft_contract(_facts(frame), TARGET))
    assert ("tier_values" in rules) is suggested


def test_a_code_list_needs_values_that_repeat() -> None:
    frame = pl.DataFrame({"tier": ["a", "b", "c", "d", "e", "a", "b", "c"]})  # 5 distinct in 8: under 2 each
    assert "tier_values" not in _rules(draft_contract(_facts(frame), TARGET))


def test_a_pattern_needs_nine_in_ten_values_and_a_few_values() -> None:
    mostly = pl.DataFrame({"code": [*(["AB"] * 89), *(["x1"] * 11)]})
    assert "code_pattern" not in _rules(draft_contract(_facts(mostly), TARGET))  # 89 %, and a code list
    few = pl.DataFrame({"mail": ["a@b.io", "c@d.io", "e@f.io", "g@h.io"]})  # 4 values: too few to tell
    assert not {k for k in _rules(draft_contract(_facts(few), TARGET)) if k.startswith("mail_") and "null" not in k}


def test_shape_counts_merge_by_addition() -> None:
    first, second = _orders(10), _orders(30).slice(10)
    merged = shape_counts(first).merge(shape_counts(second))
    assert merged == shape_counts(_orders(30))
    assert merged.values["email"] == 29 and merged.matches["email"]["email"] == 29


def test_missing_value_markers_are_counted_trimmed_and_upper_cased_and_merge_by_addition() -> None:
    frame = pl.DataFrame(
        {"delay": ["3", " na", "NA", "n/a", "-", None, "NAN7"], "code": ["a", "b", "c", "d", "e", "f", "g"]}
    )
    counts = shape_counts(frame)
    assert counts.markers == {"delay": {"NA": 2, "N/A": 1, "-": 1}}
    assert counts.merge(shape_counts(frame.slice(0, 3))).markers == {"delay": {"NA": 4, "N/A": 1, "-": 1}}
    draft = draft_contract(_facts(frame), TARGET)
    delay = next(c for c in draft.contract.dataset("orders").columns if c.name == "delay")
    assert "2 NA and 1 - and 1 N/A, a missing-value marker" in delay.description
    assert "{type: null_values, values: ['-', 'N/A', 'NA']}" in delay.description
    assert "delay_not_null" not in _rules(draft) and "code_not_null" in _rules(draft)


def test_markers_match_as_the_null_values_step_does_and_a_column_named_n_is_counted() -> None:
    padded = "N/A" + " " * 20  # a fixed-width export pads it
    frame = pl.DataFrame({"n": ["1", padded, "nil", "2"], "count": ["NA", "x", "y", "z"]})
    assert shape_counts(frame).markers == {"n": {"N/A": 1, "NIL": 1}, "count": {"NA": 1}}
    assert shape_counts(pl.DataFrame({"a": ["nıl"]})).markers == {}  # dotless i: lower-cased, not NIL


def test_a_marker_that_is_one_of_a_few_repeated_codes_is_left_alone() -> None:
    delays = [str(i) if i % 2 else "NA" for i in range(60)]  # 30 distinct delays: no code list
    countries = pl.DataFrame({"country": ["GB", "NA", "DE", "NA", "GB", "DE"] * 10, "delay": delays})
    draft = draft_contract(_facts(countries), TARGET)
    assert draft.source["markers"] == {"delay": {"NA": 30}}  # Namibia is a code of the country list
    assert "country_not_null" in _rules(draft) and "country_values" in _rules(draft)


def _base() -> DataContract:
    return DataContract.model_validate(
        {
            "tenant": "contoso",
            "environment": "dev",
            "id": "orders",
            "version": "1.0.0",
            "status": "published",
            "datasets": [
                {
                    "name": "orders",
                    "columns": [
                        {"name": "order_id", "logical_type": "integer", "primary_key": True},
                        {"name": "amount", "logical_type": "number", "minimum": 0},
                        {"name": "ordered_on", "logical_type": "string"},
                    ],
                    "bindings": [{"id": "country_values", "check": {"type": "not_null"}, "columns": ["amount"]}],
                }
            ],
        }
    )


def test_with_a_base_contract_only_what_it_does_not_check_is_suggested() -> None:
    base = _base()
    index = InMemoryConfigIndex()
    index.add(base, "orders.yaml")
    existing = resolve_bundle(index, base)
    draft = draft_contract(_facts(_orders()), TARGET, base=base, existing=existing)
    rules = _rules(draft)
    # the key's not_null and unique, amount's range and not_null are the base's: not suggested again
    assert not {"order_id_not_null", "order_id_unique", "amount_range", "amount_not_null"} & set(rules)
    assert {"order_id_range", "country_values_2", "volume_band"} <= set(rules)  # an id the base took: _2
    assert rules["country_values"][0] == "not_null"  # the base's binding, kept as it was
    # a column the base types otherwise gets nothing, and is said to be skipped
    assert not [k for k in rules if k.startswith("ordered_on")]
    assert draft.skipped == ("ordered_on: declared string, read as Date: no suggestion",)
    spec = draft.contract.dataset("orders")
    assert [c.name for c in spec.columns][:3] == ["order_id", "amount", "ordered_on"]
    assert draft.added_columns == ("order_code", "email", "country", "paid", "note", "phone")


def test_dropping_suggestions_and_untyping_a_column(draft: Draft) -> None:
    smaller = draft.without({"email_pattern": "failed on the data: 3 unexpected value(s)"}, {"amount": "2 not number"})
    rules = _rules(smaller)
    assert "email_pattern" not in rules and "amount_range" not in rules  # a range needs the type
    assert "amount_not_null" in rules
    amount = next(c for c in smaller.contract.dataset("orders").columns if c.name == "amount")
    assert amount.logical_type is LogicalType.STRING
    assert smaller.dropped == (
        "type of amount: 2 not number",
        "email_pattern: failed on the data: 3 unexpected value(s)",
        "amount_range: a range needs the type, and the column is text now",
    )
    note = smaller.contract.extensions["dq_suggest"]
    assert isinstance(note, dict) and note["dropped"] == list(smaller.dropped)


def test_names_ids_versions_and_types() -> None:
    taken: set[str] = set()
    assert [binding_id("Order ID", "unique", taken), binding_id("order id", "unique", taken)] == [
        "order_id_unique",
        "order_id_unique_2",
    ]
    assert binding_id("2nd €", "range", set()) == "c_2nd_range"
    assert len(binding_id("x" * 200, "not_null", set())) <= 63
    assert dataset_name("Customers 2024.csv.gz") == "customers_2024"
    assert dataset_name("2024.csv") == "c_2024"
    assert next_version("1.0.0", ["1.0.0", "1.1.0"]) == "1.2.0"
    assert next_version("2.3.1", []) == "2.4.0"
    assert logical_type_of("Datetime(time_unit='us', time_zone='UTC')") is LogicalType.TIMESTAMP
    assert logical_type_of("Date") is LogicalType.DATE
    assert logical_type_of("UInt8") is LogicalType.INTEGER
    assert logical_type_of("Decimal(precision=10, scale=2)") is LogicalType.DECIMAL
    assert logical_type_of("Categorical") is LogicalType.STRING


def test_bounds_are_rounded_away_from_the_data_as_the_file_keeps_15_digits() -> None:
    frame = pl.DataFrame({"lon": [-105.79598200000001, 0.1, 174.00000000000003]})
    rules = _rules(draft_contract(_facts(frame), TARGET))
    bounds = rules["lon_range"][3]
    assert bounds == {"min": -105.795982000001, "max": 174.000000000001}
    assert bounds["min"] <= -105.79598200000001 and bounds["max"] >= 174.00000000000003

"""``dq validate`` reads and validates a clean CSV or Parquet file in one lazy polars query; whatever
the file, its result equals the chunked read's (blank rows, cells that do not convert, another
encoding: the probes send those files to the chunked read)."""

from __future__ import annotations

import gzip
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dq_core.errors import IngestError
from dq_core.ingest.stream import ChunkedRead
from dq_core.libraries.infra import IngestLimits
from dq_core.runs.check import validate_file
from dq_core.validation.engine import validate
from tests.unit.validation_support import bundle_of, check

NOW = datetime(2026, 1, 1, tzinfo=UTC)
COLUMNS = [
    {"name": "id", "logical_type": "integer", "required": True},
    {"name": "email", "logical_type": "string"},
    {"name": "age", "logical_type": "integer"},
    {"name": "joined", "logical_type": "date"},
    {"name": "score", "logical_type": "number"},
]
BUNDLE = bundle_of(
    check("unique", ["id"], "id_unique"),
    check("regex", ["email"], "email_shape", params={"pattern": r"^[^@]+@[^@]+\.[a-z]+$"}),
    check("range", ["age"], "age_range", params={"min": 0, "max": 60}),
    check("not_future", ["joined"], "joined_past"),
    check("range", ["score"], "score_range", params={"max": 5}),
    check("compound_unique", ["email", "joined"], "email_day_unique", params={}),
    check("row_count", [], "rows", params={"threshold": {"must_be_between": [1, 1000]}}),
    columns=COLUMNS,
)
HEADER = "id,email,age,joined,score\n"


def _rows(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.randint(0, count)},u{rng.randint(0, 9)}@x.example,{rng.randint(-5, 70)},"
        f"202{rng.randint(4, 7)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)},{rng.random() * 8:.2f}\n"
        for _ in range(count)
    ]


def _same(path: Path, bundle: Any = BUNDLE) -> Any:
    """validate_file's result, and the chunked read's (with_profile reads chunk by chunk), equal."""
    fused, _ = validate_file(path, bundle, now=NOW)
    chunked, _ = validate_file(path, bundle, now=NOW, with_profile=True)
    assert fused.validation is not None and chunked.validation is not None
    assert fused.validation.model_dump_json() == chunked.validation.model_dump_json()  # NaN == NaN
    assert fused.input is not None and chunked.input is not None
    assert fused.input.model_dump() == chunked.input.model_dump()
    return fused


def _lazy_settles(path: Path) -> bool:
    with ChunkedRead(path, BUNDLE.infra.limits, bundle=BUNDLE, typed=True) as reading:
        lazy = reading.lazy()
        assert lazy is not None
        probed: dict[str, Any] = {}
        try:
            validate(lazy.frame, BUNDLE, schema=lazy.schema, probes=lazy.probes, probed=probed)
        except pl.exceptions.ComputeError:  # polars' parser refused a cell: the chunked read counts it
            assert not reading.settle({})
            return False
        return reading.settle(probed)


def test_a_clean_csv_is_validated_in_one_query_with_the_chunked_reads_answer(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_text(HEADER + "".join(_rows(300)))
    assert _lazy_settles(path)
    result = _same(path)
    rules = result.validation.by_id()
    assert rules["age_range"].unexpected_count > 0 and rules["id_unique"].unexpected_count > 0
    assert result.input.rows == 300


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("blank row", lambda rows: [*rows[:5], "\n", ",,,,\n", *rows[5:]]),
        ("a number that does not convert", lambda rows: [*rows[:5], "5,a@b.example,old,2024-01-02,1\n", *rows[5:]]),
        ("a date in another format", lambda rows: [*rows[:5], "5,a@b.example,3,15/01/2024,1\n", *rows[5:]]),
        ("a date that is no date", lambda rows: [*rows[:5], "5,a@b.example,3,2024-02-30,1\n", *rows[5:]]),
    ],
)
def test_what_the_chunked_read_handles_differently_sends_the_file_to_it(tmp_path: Path, name: str, change: Any) -> None:
    path = tmp_path / "dirty.csv"
    path.write_text(HEADER + "".join(change(_rows(100))))
    assert not _lazy_settles(path), name
    _same(path)


def test_parquet_csv_gz_quotes_and_columns_the_contract_adds_or_keeps(tmp_path: Path) -> None:
    text = HEADER + "".join(_rows(200))
    (tmp_path / "data.csv").write_text(text)
    frame = pl.read_csv(tmp_path / "data.csv", schema_overrides={"joined": pl.Date})
    frame.write_parquet(tmp_path / "data.parquet")
    frame.drop("score").with_columns(extra=pl.lit("x")).write_parquet(tmp_path / "fewer.parquet")
    (tmp_path / "data.csv.gz").write_bytes(gzip.compress(text.encode()))
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(HEADER + '1,"a,b@x.example",3,2024-01-02,1\n' + "".join(_rows(50)))
    for name in ("data.parquet", "fewer.parquet", "data.csv.gz", "quoted.csv"):
        assert _lazy_settles(tmp_path / name), name
        _same(tmp_path / name)


def test_a_refused_file_is_refused_by_name_as_the_chunked_read_refuses_it(tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(HEADER + "".join(_rows(20)) + "1,a@x.example,3,2024-01-02,1,surplus\n")
    short = tmp_path / "short.csv"  # no quotes: only the probe of the last column tells the quick pass
    short.write_text(HEADER + "".join(_rows(20)) + "1,a@x.example,3\n" + "".join(_rows(20)))
    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER)
    for path, code in ((ragged, "ragged_rows"), (short, "ragged_rows"), (header_only, "header_only")):
        with pytest.raises(IngestError) as caught:
            validate_file(path, BUNDLE, now=NOW)
        assert caught.value.code == code
        with pytest.raises(IngestError) as chunked:
            validate_file(path, BUNDLE, now=NOW, with_profile=True)
        assert (caught.value.code, str(caught.value)) == (chunked.value.code, str(chunked.value))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_last_record_with_a_trailing_delimiter_and_no_line_break_is_refused_as_the_chunked_read_refuses_it(
    tmp_path: Path, newline: str
) -> None:
    """polars drops the empty field after the last delimiter of an unended last line (``...,1,`` reads as
    five fields): the quick pass counts that record's fields itself (found by review)."""
    path = tmp_path / "data.csv"
    text = HEADER + "".join(_rows(10)) + "5,a@b.example,3,2024-01-02,1,"
    path.write_bytes(text.replace("\n", newline).encode())
    with pytest.raises(IngestError) as chunked:
        validate_file(path, BUNDLE, now=NOW, with_profile=True)
    with pytest.raises(IngestError) as fused:
        validate_file(path, BUNDLE, now=NOW)
    assert chunked.value.code == "ragged_rows"
    assert (fused.value.code, str(fused.value)) == (chunked.value.code, str(chunked.value))


@pytest.mark.parametrize(
    "row",
    [
        "5,a@b.example,  ,2024-01-02,1\n",  # blanks in an integer column
        '5,a@b.example,"",2024-01-02,1\n',  # a quoted empty integer cell
        "5,a@b.example,3,2024-01-02, \n",  # a blank number, in the last column
        '5,a@b.example,3,2024-01-02,""\n',  # a quoted empty number, in the last column
    ],
)
def test_a_blank_or_quoted_empty_number_is_a_cell_that_does_not_convert(tmp_path: Path, row: str) -> None:
    """Text the chunked read sees and cannot convert (a failing conform check); polars' own number parser
    would read it as null without a word, so numbers are cast from the text in the one query too (found
    by review)."""
    path = tmp_path / "data.csv"
    path.write_text(HEADER + "".join(_rows(10)) + row)
    rules = _same(path).validation.by_id()
    assert any(rule_id.startswith("conform:") and rule.unexpected_count == 1 for rule_id, rule in rules.items())


def test_a_last_column_with_empty_cells_has_its_fields_counted_and_stays_one_query(tmp_path: Path) -> None:
    path = tmp_path / "empty_scores.csv"
    rows = [row if i % 7 else row.rsplit(",", 1)[0] + ",\n" for i, row in enumerate(_rows(90))]
    path.write_text(HEADER + "".join(rows))
    assert _lazy_settles(path)
    _same(path)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["1", "2", "3", "", "x"]),
            st.sampled_from(["a@b.example", "bad", "", "c@d.example"]),
            st.sampled_from(["5", "70", "-1", "", "7.5", "seven", "+5", " 7", "7 ", "007", "1e3"]),
            st.sampled_from(["2024-01-02", "2031-01-01", "", "02/01/2024", "2024-13-01", " 2024-01-03"]),
            st.sampled_from(["1.5", "9", "", "x", "nan", "inf", " 2.5", "+.5", "1e1", "2.5 "]),
            st.sampled_from([5, 5, 5, 5, 4, 3, 6]),  # fields kept (a sixth: one more)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_any_file_gets_the_chunked_reads_answer(tmp_path_factory: pytest.TempPathFactory, rows: list[Any]) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "data.csv"
    path.write_text(HEADER + "".join(",".join([*row[:5], "x"][: row[5]]) + "\n" for row in rows))
    try:
        _same(path)
    except IngestError as refused:  # ragged records, or blank rows only: both refuse it alike, by name
        with pytest.raises(IngestError) as again:
            validate_file(path, BUNDLE, now=NOW, with_profile=True)
        assert (again.value.code, str(again.value)) == (refused.code, str(refused))


def test_the_limits_still_hold(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(HEADER + "".join(_rows(10)))
    narrow = BUNDLE.model_copy(
        update={"infra": BUNDLE.infra.model_copy(update={"limits": IngestLimits(max_columns=3)})}
    )
    with pytest.raises(IngestError) as caught:
        validate_file(path, narrow, now=NOW)
    assert caught.value.code == "too_many_columns"


def test_a_rule_that_breaks_the_query_is_its_own_error_and_the_others_still_count(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_text(HEADER + "".join(_rows(300)))
    broken = check("row_expression", [], "compares_text_with_a_number", params={"expression": "email > 5"})
    bundle = bundle_of(broken, check("range", ["age"], "age_range", params={"min": 0, "max": 60}), columns=COLUMNS)
    rules = _same(path, bundle).validation.by_id()
    assert rules["compares_text_with_a_number"].status.value == "error"
    assert rules["age_range"].unexpected_count > 0


def test_columns_named_like_the_platforms_own_go_to_the_chunked_read(tmp_path: Path) -> None:
    """A tenant column named like a helper of the one-query read must not be overwritten by it."""
    columns = [{"name": "id", "logical_type": "integer"}, {"name": "__dq_text:id", "logical_type": "string"}]
    bundle = bundle_of(
        check("not_null", ["id"], "id_present"),
        check("regex", ["__dq_text:id"], "text_ok", params={"pattern": "^ok$"}),
        columns=columns,
    )
    path = tmp_path / "named.csv"
    path.write_text("id,__dq_text:id\n,ok\n2,ok\n")
    rules = _same(path, bundle).validation.by_id()
    assert rules["id_present"].unexpected_count == 1 and rules["text_ok"].unexpected_count == 0
    numbered = tmp_path / "numbered.csv"
    numbered.write_text("_dq_source_row,id,email,age,joined,score\n" + "".join(f"7,{r}" for r in _rows(5)))
    with pytest.raises(IngestError) as fused:
        validate_file(numbered, BUNDLE, now=NOW)
    with pytest.raises(IngestError) as chunked:
        validate_file(numbered, BUNDLE, now=NOW, with_profile=True)
    assert fused.value.code == chunked.value.code


@pytest.mark.parametrize(("cap", "rows", "capped"), [(3, 3, True), (10, 10, False), (50, 10, False)])
def test_failed_rows_say_when_the_cap_left_rows_out(tmp_path: Path, cap: int, rows: int, capped: bool) -> None:
    path = tmp_path / "ten.csv"
    path.write_text(HEADER + "".join(f"{i},u{i}@x.example,99,2024-01-01,1\n" for i in range(10)))  # age > 60
    infra = BUNDLE.infra.model_copy(update={"max_failed_rows": cap})
    result, _ = validate_file(
        path, BUNDLE.model_copy(update={"infra": infra}), now=NOW, failed_rows_to=tmp_path / "f.pq"
    )
    assert result.failed_rows is not None
    assert (result.failed_rows.rows, result.failed_rows.capped) == (rows, capped)
    assert pl.read_parquet(tmp_path / "f.pq")["_dq_source_row"].to_list() == list(range(rows))


def test_a_broken_parquet_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    pl.DataFrame({"id": [1, 2]}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-12] + b"garbage!PAR1")  # a footer that does not parse
    for profiled in (False, True):
        with pytest.raises(IngestError) as caught:
            validate_file(path, BUNDLE, now=NOW, with_profile=profiled)
        assert caught.value.code == "format_mismatch"

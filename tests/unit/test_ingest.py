"""Guarded ingest over a corpus of bad inputs: a named error or a reject reason, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import cleanse
from dq_core.errors import IngestError
from dq_core.ingest.guarded import IngestOptions, ingest, write_chunks
from tests.conftest import ROOT
from tests.unit.cleansing_support import bundle_with

CORPUS = ROOT / "tests" / "data" / "bad_inputs"
LIMITS = {"max_file_bytes": 10_000, "max_columns": 30, "max_line_bytes": 1_000, "max_decompression_ratio": 50}
BUNDLE = bundle_with([{"type": "trim"}], limits=LIMITS)

REFUSED = {
    "empty.csv": "empty_file",
    "whitespace_only.csv": "empty_file",
    "header_only.csv": "header_only",
    "binary_garbage.csv": "format_mismatch",
    "csv_named_parquet.parquet": "format_mismatch",
    "parquet_named_csv.csv": "format_mismatch",
    "zip_named_xlsx.xlsx": "format_mismatch",
    "not_gzip.csv.gz": "format_mismatch",
    "ragged_rows.csv": "ragged_rows",
    "unterminated_quote.csv": "ragged_rows",
    "too_many_columns.csv": "too_many_columns",
    "long_line.csv": "line_too_long",
    "too_large.csv": "too_large",
    "bomb.csv.gz": "decompression_ratio",
    "missing_required.csv": "missing_required_columns",
    "duplicate_columns.csv": "duplicate_columns",
    "mixed_encoding.csv": "encoding_mixed",
}


@pytest.mark.parametrize(("name", "code"), sorted(REFUSED.items()))
def test_guard_refuses_with_a_named_code_and_one_line(name: str, code: str, tmp_path: Path) -> None:
    source = CORPUS / name
    copy = tmp_path / name
    shutil.copyfile(source, copy)
    before = copy.read_bytes()
    with pytest.raises(IngestError) as caught:
        ingest(copy, BUNDLE)
    assert caught.value.code == code, caught.value.message
    assert name in caught.value.message and "\n" not in caught.value.one_line()
    assert copy.read_bytes() == before  # the raw file is never modified


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "full_name"),
    [
        ("latin1.csv", None, ",", "José Müller"),
        ("utf16.csv", "utf-16", ",", "Åsa Ødegård"),
        ("utf8_bom_semicolon.csv", "utf-8-sig", ";", "Łukasz"),
    ],
)
def test_encodings_and_delimiters_are_detected(name: str, encoding: str | None, delimiter: str, full_name: str) -> None:
    result = ingest(CORPUS / name, BUNDLE)
    assert result.report.delimiter == delimiter
    if encoding:
        assert result.report.encoding == encoding
    assert result.frame["full_name"][0] == full_name
    assert result.frame["_dq_source_row"].to_list() == list(range(result.frame.height))


def test_explicit_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes("customer_id|full_name|email\nCUS-1|Zoë|z@b.example\n".encode("cp1252"))
    result = ingest(path, BUNDLE, IngestOptions(format="csv", encoding="cp1252", delimiter="|"))
    assert result.frame["full_name"].to_list() == ["Zoë"]


def test_formula_cells_in_xlsx_become_reject_reasons() -> None:
    result = ingest(CORPUS / "formulas.xlsx", BUNDLE)
    output = cleanse(result.frame, CleansingContext(bundle=BUNDLE))
    reasons = dict(
        zip(output.rejects["_dq_source_row"].to_list(), output.rejects["_dq_reject_reason"].to_list(), strict=True)
    )
    assert set(reasons) == {0, 1}
    assert "column full_name: =HYPERLINK" in reasons[0] and "spreadsheet formula" in reasons[0]
    assert "column email: @SUM(A1:A2)" in reasons[1]
    assert output.cleansed["customer_id"].to_list() == ["CUS-3"]


def test_gzip_csv_parquet_and_jsonl_are_read(tmp_path: Path) -> None:
    frame = pl.DataFrame({"customer_id": ["CUS-1", "CUS-2"], "full_name": ["Ann", None], "email": ["a@b.example", "x"]})
    frame.write_parquet(tmp_path / "d.parquet")
    frame.write_ndjson(tmp_path / "d.jsonl")
    import gzip

    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(frame.write_csv().encode()))
    for name in ("d.parquet", "d.jsonl", "d.csv.gz"):
        result = ingest(tmp_path / name, BUNDLE)
        assert result.frame.drop("_dq_source_row").to_dicts() == frame.to_dicts(), name


def test_unexpected_columns_follow_the_contract_policy(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("customer_id,full_name,email,shoe_size\nCUS-1,Ann,a@b.example,38\n")
    assert "shoe_size" in ingest(path, BUNDLE).frame.columns
    dropped = ingest(path, bundle_with([], limits=LIMITS, unexpected_columns="drop"))
    assert dropped.report.dropped_columns == ["shoe_size"] and "shoe_size" not in dropped.frame.columns
    with pytest.raises(IngestError, match="shoe_size") as caught:
        ingest(path, bundle_with([], limits=LIMITS, unexpected_columns="reject_file"))
    assert caught.value.code == "unexpected_columns"
    partial = tmp_path / "partial.csv"
    partial.write_text("customer_id\nCUS-1\n")
    added = ingest(partial, BUNDLE)
    assert added.report.added_columns == ["full_name", "email"] and added.frame["email"].to_list() == [None]


def test_chunks_have_chunk_rows_rows(tmp_path: Path) -> None:
    frame = pl.DataFrame({"x": list(range(25))})
    paths = write_chunks(frame, tmp_path / "chunks", 10)
    assert [pl.read_parquet(p).height for p in paths] == [10, 10, 5]


def test_multi_member_and_truncated_gzip(tmp_path: Path) -> None:
    import gzip

    first = gzip.compress(b"customer_id,full_name,email\nCUS-1,Ann,a@b.example\n")
    second = gzip.compress(b"CUS-2,Bob,b@b.example\n")
    path = tmp_path / "two.csv.gz"
    path.write_bytes(first + second)
    assert ingest(path, BUNDLE).frame["customer_id"].to_list() == ["CUS-1", "CUS-2"]
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(first[: len(first) - 12])
    with pytest.raises(IngestError) as caught:
        ingest(truncated, BUNDLE)
    assert caught.value.code == "format_mismatch" and "truncated" in caught.value.message


def test_blank_lines_are_counted_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("customer_id,full_name,email\nCUS-1,Ann,a@b.example\n\n\n")
    result = ingest(path, BUNDLE)
    assert result.frame.height == 1 and result.report.blank_rows == 2
    only_blank = tmp_path / "only.csv"
    only_blank.write_text("customer_id,full_name,email\n\n\n")
    with pytest.raises(IngestError) as caught:
        ingest(only_blank, BUNDLE)
    assert caught.value.code == "header_only"


def test_excel_date_cells_are_dates() -> None:
    import datetime as dt

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["customer_id", "since"])
    sheet.append(["CUS-1", dt.datetime(2024, 1, 31)])
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dates.xlsx"
        workbook.save(path)
        bundle = bundle_with([], [{"name": "customer_id"}, {"name": "since", "logical_type": "date"}])
        output = cleanse(ingest(path, bundle).frame, CleansingContext(bundle=bundle))
    assert output.rejects.height == 0 and str(output.cleansed["since"][0]) == "2024-01-31"

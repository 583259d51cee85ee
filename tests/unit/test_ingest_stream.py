"""The one reader (dq_core/ingest/stream.py): guards on a stream, chunks, contract types, one answer for
every command."""

from __future__ import annotations

import csv
import gzip
import io
import random
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import _conform
from dq_core.errors import IngestError
from dq_core.ingest.guarded import ingest
from dq_core.ingest.quickscan import QuickScan
from dq_core.ingest.stream import WHOLE, ChunkedRead
from dq_core.ingest.textscan import TextScan
from dq_core.libraries.infra import IngestLimits
from dq_core.runs.check import profile_file, validate_file
from dq_core.validation.context import ROW
from tests.unit.cleansing_support import bundle_with

LIMITS = IngestLimits(max_columns=20, max_line_bytes=200, max_decompression_ratio=20)
COLUMNS = [
    {"name": "id", "required": True},
    {"name": "email"},
    {"name": "age", "logical_type": "integer"},
    {"name": "joined", "logical_type": "date"},
    {"name": "score", "logical_type": "number"},
]
PII = [{"attribute": "e.email", "classification": "pii", "masking": "hash"}]
BUNDLE = bundle_with([], COLUMNS, classifications=PII)
HEADER = "id,email,age,joined,score\n"


def _rows(count: int) -> str:
    return "".join(f"{i},u{i}@x.example,{20 + i % 50},2024-01-{1 + i % 28:02d},{i / 4}\n" for i in range(count))


def _refusal(path: Path, chunk_rows: int = 4, limits: IngestLimits = LIMITS) -> IngestError:
    with pytest.raises(IngestError) as caught, ChunkedRead(path, limits) as reading:
        list(reading.chunks(chunk_rows))
    return caught.value


@pytest.mark.parametrize("chunk_rows", [2, WHOLE])
@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ("a,b,c\n1,2,3\n4,5\n6,7,8\n", "ragged_rows", "line 3 has 2 fields, the header has 3"),
        ("a,b,c\n1,2,3\n4,5,6,7\n", "ragged_rows", "line 3 has 4 fields, the header has 3"),
        ('a,b,c\n1,"x,\ny",3\n4,5\n', "ragged_rows", "line 4 has 2 fields"),  # after a quoted line break
        ('a,b,c\n1,TV 55" screen,big\n2,b\n', "ragged_rows", "line 3 has 2 fields"),  # a stray quote left open
        ('a,b,c\n1,55" TV,big\n2,b\n3,x"y,z\n', "ragged_rows", "line 3 has 2 fields"),  # stray quotes that pair up
        ("a,b,c\n1,2,3\n" + "x" * 300 + "\n", "line_too_long", "a line of 300 characters"),
        ("a,b,c\n", "header_only", "a header and no data rows"),
        ("a,b,c\n\n,,\n", "header_only", "a header and no data rows"),
        (",".join(f"c{i}" for i in range(21)) + "\n" + "1," * 20 + "1\n", "too_many_columns", "21 columns"),
        ("a,b,a\n1,2,3\n", "duplicate_columns", "the header repeats a"),
        ("a,b\n1,\x002\n", "format_mismatch", "NUL bytes"),
    ],
)
def test_text_guards_refuse_on_the_stream(tmp_path: Path, body: str, code: str, fragment: str, chunk_rows: int) -> None:
    path = tmp_path / "data.csv"
    path.write_text(body, encoding="utf-8", newline="")
    error = _refusal(path, chunk_rows)
    assert (error.code, fragment in error.message) == (code, True), error.message


def test_a_character_split_across_two_blocks_is_utf8_and_mixed_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_bytes(b"name,n\n" + "Zoë,1\n".encode() * 50_000 + "Åsa,2\n".encode("latin-1"))
    assert TextScan(2).run(path, block_size=7).bad_utf8 is not None
    error = _refusal(path)
    assert error.code == "encoding_mixed" and "line 50002 is not UTF-8" in error.message
    good = tmp_path / "good.csv"
    good.write_bytes(b"name,n\n" + "Zoë,1\n".encode() * 3)
    assert TextScan(2).run(good, block_size=2).bad_utf8 is None  # every ë split between blocks


def test_utf16_and_gzip_are_transcoded_to_temporary_files_removed_at_close(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_bytes((HEADER + _rows(10)).encode("utf-16"))
    packed = tmp_path / "packed.csv.gz"
    packed.write_bytes(gzip.compress((HEADER + _rows(10)).encode()))
    for path, encoding in ((wide, "utf-16"), (packed, "utf-8")):
        with ChunkedRead(path, LIMITS, bundle=BUNDLE) as reading:
            frames = list(reading.chunks(3))
            folder = reading._folder
            assert folder is not None and any(folder.iterdir())
        assert not folder.exists()
        assert reading.report.encoding == encoding and reading.report.rows == 10
        assert pl.concat(frames)["email"].to_list() == [f"u{i}@x.example" for i in range(10)]


def test_a_gzip_bomb_is_refused_while_it_is_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 2_000_000))
    error = _refusal(path, limits=LIMITS.model_copy(update={"max_line_bytes": 10}))
    assert error.code == "decompression_ratio"


def test_chunks_are_bounded_and_numbered_across_chunks_without_blank_rows(tmp_path: Path) -> None:
    lines = (HEADER + _rows(23)).splitlines(keepends=True)
    lines[5:5] = ["\n", ",,,,\n"]  # two blank rows among the records
    path = tmp_path / "data.csv"
    path.write_text("".join(lines))
    with ChunkedRead(path, LIMITS, bundle=BUNDLE) as reading:
        frames = list(reading.chunks(5))
        report = reading.report
    assert [frame.height for frame in frames] == [5, 5, 5, 5, 3]
    whole = pl.concat(frames)
    assert whole[ROW].to_list() == list(range(23)) and whole.schema[ROW] == pl.Int64
    assert whole["id"].to_list() == [str(i) for i in range(23)]
    assert (report.rows, report.blank_rows, report.columns) == (23, 2, [c["name"] for c in COLUMNS])


def test_the_report_is_complete_only_after_the_last_chunk(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(HEADER + _rows(4))
    with ChunkedRead(path, LIMITS) as reading:
        chunks = reading.chunks(2)
        next(chunks)
        with pytest.raises(RuntimeError):
            _ = reading.report
        list(chunks)
        assert reading.report.rows == 4


def test_parquet_is_read_in_slices_with_its_own_types(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pl.DataFrame({"id": ["a", "b", "c"], "age": [1, 2, 3], "extra": [1.5, None, 2.5]}).write_parquet(path)
    bundle = bundle_with([], [{"name": "id"}, {"name": "age", "logical_type": "integer"}])
    with ChunkedRead(path, LIMITS, bundle=bundle, typed=True) as reading:
        frames = list(reading.chunks(2))
    assert [frame.height for frame in frames] == [2, 1]
    assert frames[0].schema == pl.Schema({ROW: pl.Int64, "id": pl.String, "age": pl.Int64, "extra": pl.Float64})


def test_typed_reads_cast_declared_columns_and_count_what_does_not_convert(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    rows = ["1,a@x.example,41,2024-03-01,1.5", "2,b@x.example,old,2024-02-30,x", "3,,7,1/2/2024,", "4,,8, 2024-03-02 ,"]
    path.write_text(HEADER + "\n".join(rows) + "\n5,,9,2024-03-03T00:00:00,\n")
    with ChunkedRead(path, LIMITS, bundle=BUNDLE, typed=True) as reading:
        (frame,) = reading.chunks(WHOLE)
    assert frame.schema["age"] == pl.Int64 and frame.schema["joined"] == pl.Date and frame.schema["email"] == pl.String
    assert frame["age"].to_list() == [41, None, 7, 8, 9]
    # cleansing's cast_expr: a timestamp at midnight is a date, 2024-02-30 is not; 1/2/2024 is day/month/year
    # (the named formats of DATE_FORMATS, whatever the column's first value)
    assert frame["joined"].to_list() == [date(2024, 3, 1), None, date(2024, 2, 1), date(2024, 3, 2), date(2024, 3, 3)]
    assert {name: (c.count, c.samples) for name, c in reading.conversions.items() if c.count} == {
        "age": (1, [(1, "old")]),
        "joined": (1, [(1, "2024-02-30")]),
        "score": (1, [(1, "x")]),
    }


def test_validate_reports_each_column_that_does_not_convert_as_a_failing_type_check(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(HEADER + "1,a@x.example,41,2024-01-01,1\n2,b@x.example,old,2024-01-02,2\n")
    email_bundle = bundle_with(
        [],
        [{**c, "logical_type": "integer"} if c["name"] == "email" else c for c in COLUMNS],
        classifications=PII,
    )
    result, _ = validate_file(path, email_bundle, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert result.validation is not None and result.status.value == "failed"
    rules = result.validation.by_id()
    age, email = rules["conform:age"], rules["conform:email"]
    assert (age.type, age.status.value, age.unexpected_count, age.element_count) == ("type", "failed", 1, 2)
    assert [(s.row, s.values) for s in age.unexpected_samples] == [(1, {"age": "old"})]
    assert email.unexpected_count == 2 and all(s.values == {"email": "***"} for s in email.unexpected_samples)
    assert result.input is not None and result.input.rows == 2 and len(result.input.sha256) == 64


def test_a_file_gives_the_same_rows_columns_and_types_to_validate_and_to_dq_run(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    body = _rows(30).splitlines(keepends=True)
    body[7:7] = ["\n"]
    body[12] = "12,u12@x.example,twelve,2024-13-01,\n"
    body[15] = "15,u15@x.example,15,15/01/2024,1e3\n"
    body[16] = "16,u16@x.example, 16 ,2024-01-16T00:00:00Z,-\n"
    path.write_text(HEADER + "".join(body))
    result, _ = validate_file(path, BUNDLE, now=datetime(2026, 1, 1, tzinfo=UTC))
    ingested = ingest(path, BUNDLE)  # dq run's ingest: text
    conformed = _conform(ingested.frame, CleansingContext(bundle=BUNDLE), set()).frame  # its cleansing's types
    with ChunkedRead(path, LIMITS, bundle=BUNDLE, typed=True) as reading:
        (typed,) = reading.chunks(WHOLE)  # what dq validate reads
    assert result.input is not None and result.input.rows == ingested.report.rows == typed.height == 30
    assert typed.schema == conformed.schema
    assert typed.equals(conformed)


def test_profile_reads_through_the_same_reader_with_types_from_the_first_rows(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(HEADER + _rows(40) + "\n")
    profile = profile_file(path, chunk_rows=7)
    columns = {column.name: column for column in profile.columns}
    assert profile.row_count == 40 and "_dq_source_row" not in columns
    assert columns["age"].dtype.startswith("Int") and columns["joined"].dtype == "Date"
    assert columns["email"].dtype == "String"


def _first_ragged(text: str, width: int) -> tuple[int, int] | None:
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    for record in reader:
        if record and len(record) != width:
            return reader.line_num, len(record)
    return None


CELL = st.sampled_from(["", "a", "bb", "x y", '"q,1"', '"multi\nline"', '"say ""hi"""', "é"])


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(1, 4),
    records=st.lists(st.lists(CELL, min_size=0, max_size=5), min_size=1, max_size=12),
    crlf=st.booleans(),
    block=st.integers(1, 9),
    final_newline=st.booleans(),
)
def test_the_vectorised_field_count_agrees_with_csv(
    width: int, records: list[list[str]], crlf: bool, block: int, final_newline: bool
) -> None:
    end = "\r\n" if crlf else "\n"
    text = ",".join(f"h{i}" for i in range(width)) + end + end.join(",".join(r) for r in records)
    text += end if final_newline else ""
    path = Path(f"/tmp/dq-scan-{random.getrandbits(64):x}.csv")  # noqa: S108 - hypothesis forbids tmp_path
    try:
        path.write_bytes(text.encode())
        scan = TextScan(width).run(path, block_size=block)
    finally:
        path.unlink()
    truth = _first_ragged(text, width)
    if not scan.quoted:
        assert scan.ragged == truth
    else:
        assert (scan.ragged is None) <= (truth is None)  # with quotes, a verdict is confirmed by csv


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.sampled_from(["", "a,b", "a" * 30, "é,ü", "x\r", '"q"', "\xff"]), min_size=0, max_size=15),
    block=st.integers(1, 9),
)
def test_the_quick_pass_agrees_with_the_full_one_on_utf8_and_quotes_and_bounds_the_longest_line(
    lines: list[str], block: int
) -> None:
    raw = b"\n".join(line.encode("latin-1") if line == "\xff" else line.encode() for line in lines)
    path = Path(f"/tmp/dq-quick-{random.getrandbits(64):x}.csv")  # noqa: S108 - hypothesis forbids tmp_path
    try:
        path.write_bytes(raw)
        quick, full = QuickScan(2).run(path, block_size=block), TextScan(2).run(path, block_size=block)
    finally:
        path.unlink()
    assert quick.bad_utf8 == full.bad_utf8  # the same byte, on the same line
    assert quick.quoted == (b'"' in raw)
    assert quick.longest >= full.longest == max((len(line) for line in raw.split(b"\n")), default=0)
    assert (quick.fields_counted, quick.stray) == (False, False)
    # only an unended last record is counted (polars hides its extra empty field); the full pass finds it too
    unended = not quick.quoted and raw and not raw.endswith(b"\n") and b"\n" in raw
    last = raw.rsplit(b"\n", 1)[-1].removesuffix(b"\r")
    if unended and last and last.count(b",") + 1 != 2:
        assert quick.ragged == (raw.count(b"\n") + 1, last.count(b",") + 1)
        assert full.ragged is not None and full.ragged[0] <= quick.ragged[0]
    else:
        assert quick.ragged is None


def test_the_quick_pass_counts_an_unended_last_record_in_blocks_whatever_its_length(tmp_path: Path) -> None:
    """The attack: a file whose last record never ends (40 MB here) would be read whole into the memory
    of an instance other tenants share, beside polars' own read. It is counted block by block."""
    path = tmp_path / "long_tail.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"x" * 40_000_000 + b",1,2\r")
    tracemalloc.start()
    try:
        scan = QuickScan(2).run(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scan.ragged == (3, 3)  # the last line has three fields, counted as the full pass counts them
    assert scan.ragged == TextScan(2).run(path).ragged
    assert peak < 8 * (1 << 20)  # a few blocks of 1 MB, not the 40 MB record

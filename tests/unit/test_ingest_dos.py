"""Cheap denial of service against ingest (issue 14, item 4): each test performs the attack.

A small file must not cost minutes of CPU or gigabytes of memory before it is refused:
a CSV of 100,000 columns (a quadratic duplicate check and a quadratic delimiter sniffer
ran before the column limit), XLSX zip bombs (millions of tiny rows, a shared string
repeated into gigabytes, a forged sheet dimension, a row numbered two billion), and the
same bombs as authoring workbooks. Wall-clock ceilings are generous (a loaded CI
machine); the old code took 15 s to minutes on each, or grew past gigabytes.
The XLSX cases run in a child process, which reports its time and peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from dq_core.errors import IngestError, LoadError
from dq_core.ingest.guarded import ingest
from dq_core.loading.xlsx import read_xlsx
from tests.conftest import ROOT
from tests.unit.cleansing_support import bundle_with

DEFAULTS = bundle_with([])  # the infra profile's default limits: 2,000 columns, ratio 100, 1,048,576 sheet rows
SECONDS = 5.0  # each attack is refused in well under a second here
GREW_MIB = 150  # peak memory a refused XLSX bomb may add to the process

# --- CSV ----------------------------------------------------------------------------------


def _timed_refusal(path: Path, **limits: int) -> tuple[IngestError, float]:
    bundle = bundle_with([], limits=limits) if limits else DEFAULTS
    start = time.perf_counter()
    with pytest.raises(IngestError) as caught:
        ingest(path, bundle)
    return caught.value, time.perf_counter() - start


def test_a_1mb_csv_of_100k_columns_is_refused_before_any_per_column_work(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"col{i:05d}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n")
    assert 1_000_000 < path.stat().st_size < 1_200_000
    error, seconds = _timed_refusal(path)
    assert error.code == "too_many_columns" and "100000 columns, over the limit of 2000" in error.message
    assert seconds < SECONDS, seconds


def test_duplicate_columns_are_found_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "repeats.csv"
    header = [f"c{i}" for i in range(100_000)] + ["c7"]  # under a raised column limit, one name twice
    path.write_text(",".join(header) + "\n" + ",".join("1" for _ in header) + "\n")
    error, seconds = _timed_refusal(path, max_columns=200_000, max_line_bytes=2_000_000)
    assert error.code == "duplicate_columns" and error.message.endswith("the header repeats c7")
    assert seconds < SECONDS, seconds


@pytest.mark.parametrize("pattern", [',"a', "a,'"])
def test_the_delimiter_sniffer_sees_a_bounded_sample(tmp_path: Path, pattern: str) -> None:
    """csv.Sniffer is quadratic in its sample: 64 KiB of unbalanced quotes took 13 s to sniff."""
    path = tmp_path / "quotes.csv"
    path.write_text(pattern * 21_000 + "\nx\n")
    error, seconds = _timed_refusal(path)
    assert seconds < SECONDS, seconds
    assert error.code == "too_many_columns"  # the width, before the (repeated) names


# --- XLSX ---------------------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "{sheets}</Types>"
)
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _text(value: str) -> str:
    return f'<c t="inlineStr"><is><t>{value}</t></is></c>'


def write_workbook(
    path: Path,
    sheets: dict[str, Iterable[str]],
    *,
    shared: tuple[str, ...] = (),
    dimension: str | None = None,
) -> Path:
    """An XLSX package written part by part, each sheet's rows streamed into the zip: the
    bombs never exist uncompressed, in the test or on disk."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
        for i in range(1, len(names) + 1)
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(sheets=overrides))
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets>'
            + "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1))
            + "</sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{RELS}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{DOC}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(names) + 1)
            )
            + f'<Relationship Id="rId99" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/sharedStrings.xml",
            f'<sst xmlns="{MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'
            + "".join(f"<si><t>{s}</t></si>" for s in shared)
            + "</sst>",
        )
        for index, rows in enumerate(sheets.values(), start=1):
            with archive.open(f"xl/worksheets/sheet{index}.xml", "w") as part:
                head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
                head += f'<dimension ref="{dimension}"/>' if dimension else ""
                part.write((head + "<sheetData>").encode())
                batch: list[str] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == 50_000:
                        part.write("".join(batch).encode())
                        batch = []
                part.write(("".join(batch) + "</sheetData></worksheet>").encode())
    return path


def _header() -> str:
    return '<row r="1">' + _text("customer_id") + _text("full_name") + "</row>"


def numbered_rows(count: int) -> Iterable[str]:
    """The bomb of the attack: a header, then ``count`` numbered rows of one tiny inline string."""
    yield _header()
    for number in range(2, count + 2):
        yield f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>x</t></is></c></row>'


PROBE = """
import json, resource, sys, time
from pathlib import Path
from dq_core.errors import IngestError
from dq_core.ingest.guarded import ingest
from tests.unit.cleansing_support import bundle_with
bundle = bundle_with([])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    result = {"rows": ingest(Path(sys.argv[1]), bundle).frame.height}
except IngestError as exc:
    result = {"code": exc.code, "line": exc.one_line()}
result["seconds"] = time.perf_counter() - start
result["grew_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(result))
"""


def probe(path: Path) -> dict[str, object]:
    """Ingest ``path`` in a child process with the default limits: the outcome, seconds, peak MiB added."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, object] = json.loads(done.stdout)
    return outcome


def _assert_cheap(outcome: dict[str, object]) -> None:
    assert float(str(outcome["seconds"])) < SECONDS, outcome
    assert float(str(outcome["grew_mib"])) < GREW_MIB, outcome


def test_a_compressible_xlsx_bomb_is_refused_by_its_declared_sizes(tmp_path: Path) -> None:
    """Six million identical rows: 300 MB of XML in under a megabyte, refused before any XML is parsed."""
    rows = (_header(), *(["<row>" + _text("x") + "</row>"] * 6_000_000))
    path = write_workbook(tmp_path / "bomb.xlsx", {"data": rows})
    assert path.stat().st_size < 2_000_000
    outcome = probe(path)
    assert outcome["code"] == "decompression_ratio", outcome
    assert "bomb.xlsx: a workbook part expands" in str(outcome["line"]) and "over the limit of 100x" in str(
        outcome["line"]
    )
    _assert_cheap(outcome)


def test_an_xlsx_of_more_rows_than_excel_holds_is_refused_while_streaming(tmp_path: Path) -> None:
    """Numbered rows compress less (about 14x: under the ratio), so the rows are counted."""
    path = write_workbook(tmp_path / "rows.xlsx", {"data": numbered_rows(1_100_000)})
    outcome = probe(path)
    assert outcome["code"] == "too_many_rows", outcome
    assert "more than 1048576 rows" in str(outcome["line"])
    _assert_cheap(outcome)


def test_a_shared_string_repeated_into_gigabytes_is_refused(tmp_path: Path) -> None:
    """100,000 cells that each name one 32,767-character shared string: 3.2 GB of text from 300 kB."""
    rows = (
        _header(),
        *(f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(2, 100_002)),
    )
    path = write_workbook(tmp_path / "strings.xlsx", {"data": rows}, shared=("x" * 32_767,))
    outcome = probe(path)
    assert outcome["code"] == "decompression_ratio" and "the cells expand beyond" in str(outcome["line"]), outcome
    _assert_cheap(outcome)


def test_a_forged_sheet_dimension_does_not_pad_the_rows(tmp_path: Path) -> None:
    """openpyxl pads every row to the declared dimension and fills rows up to its last one:
    a forged A1:XFD1048576 made a three-row sheet 16,384 columns wide (refused as too wide;
    with the column limit raised, 17 billion empty cells). The dimension is not trusted."""
    rows = [_header(), f'<row r="2">{_text("CUS-1")}{_text("Ann")}</row>', f'<row r="3">{_text("CUS-2")}</row>']
    path = write_workbook(tmp_path / "dimension.xlsx", {"data": rows}, dimension="A1:XFD1048576")
    outcome = probe(path)
    assert outcome.get("rows") == 2, outcome
    _assert_cheap(outcome)


def test_a_row_numbered_two_billion_is_refused(tmp_path: Path) -> None:
    """openpyxl yields an empty row for every skipped row number: two billion iterations."""
    rows = [_header(), f'<row r="2000000000">{_text("CUS-1")}</row>']
    path = write_workbook(tmp_path / "far.xlsx", {"data": rows})
    outcome = probe(path)
    assert outcome["code"] == "too_many_rows" and "row number 2000000000 is outside" in str(outcome["line"])
    _assert_cheap(outcome)


def test_values_beyond_the_column_limit_are_refused_as_they_stream(tmp_path: Path) -> None:
    rows = [_header(), '<row r="2"><c r="ZZ2" t="inlineStr"><is><t>x</t></is></c></row>']
    path = write_workbook(tmp_path / "wide.xlsx", {"data": rows})
    error, _ = _timed_refusal(path, max_columns=30)
    assert error.code == "too_many_columns" and "row 2 has a value in column 702" in error.message


def test_a_bounded_sheet_still_reads_like_excel(tmp_path: Path) -> None:
    """Shared and inline strings, numbers, gaps in the header, blank rows: as before the bounds."""
    rows = [
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>email</t></is></c></row>',
        '<row r="2"><c r="A2" t="inlineStr"><is><t>CUS-1</t></is></c><c r="B2"><v>42</v></c></row>',
        '<row r="3"/>',
        '<row r="5"><c r="C5" t="s"><v>1</v></c></row>',
    ]
    path = write_workbook(tmp_path / "ok.xlsx", {"data": rows}, shared=("customer_id", "a@b.example"))
    frame = ingest(path, bundle_with([], unexpected_columns="keep")).frame
    assert frame.columns == ["_dq_source_row", "customer_id", "column_2", "email", "full_name"]
    assert frame.select("customer_id", "column_2", "email").rows() == [
        ("CUS-1", "42", None),
        (None, None, "a@b.example"),
    ]


# --- authoring workbooks --------------------------------------------------------------------


def test_an_authoring_workbook_bomb_is_a_load_error_at_once(tmp_path: Path) -> None:
    """The same bombs as a rules file (``dq libraries check`` reads every .xlsx of a folder)."""
    compressible = write_workbook(
        tmp_path / "c.xlsx", {"meta": (_header(), *(["<row>" + _text("x") + "</row>"] * 3_000_000))}
    )
    many = write_workbook(tmp_path / "m.xlsx", {"meta": numbered_rows(250_000)})
    for path, fragment in ((compressible, "over the limit of 100x"), (many, "more than 200000 rows")):
        start = time.perf_counter()
        with pytest.raises(LoadError) as caught:
            read_xlsx(path.read_bytes(), "rules.xlsx")
        assert fragment in caught.value.message and caught.value.message.startswith("rules.xlsx: ")
        assert time.perf_counter() - start < SECONDS

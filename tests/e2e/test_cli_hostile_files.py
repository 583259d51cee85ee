"""``dq validate``, ``dq profile`` and ``dq run`` refuse the same hostile files (issue 14, items 4 and 6).

``validate`` and ``profile`` read through a second reader that had none of the guards of
``dq run``: a header-only file validated as passed, NUL bytes and UTF-16 without a byte
order mark were read as data, 5,000 columns were profiled, and an XLSX zip bomb went
straight into openpyxl. Each command now refuses each file with exit 2 and one line on
stderr that names the guard, no traceback. Also: out-of-range or malformed run options
are one line and exit 2, before anything runs.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.test_cli import dq
from tests.unit.test_ingest_dos import _header, _text, write_workbook


def _header_only(path: Path) -> None:
    path.write_text("customer_id,full_name,email\n", encoding="utf-8")


def _nul_bytes(path: Path) -> None:
    path.write_bytes(b"customer_id,full_name,email\nCUS-000001,Ann\x00Lee,ann@example.com\n")


def _five_thousand_columns(path: Path) -> None:
    names = ["customer_id", "full_name", "email", *(f"extra_{i}" for i in range(4_997))]
    path.write_text(",".join(names) + "\n" + ",".join("x" for _ in names) + "\n", encoding="utf-8")


def _utf16_without_bom(path: Path) -> None:
    path.write_bytes("customer_id,full_name,email\nCUS-000001,Åsa Ødegård,asa@example.no\n".encode("utf-16-le"))


def _xlsx_bomb(path: Path) -> None:
    write_workbook(path, {"data": (_header(), *(["<row>" + _text("x") + "</row>"] * 3_000_000))})
    assert zipfile.is_zipfile(path)


HOSTILE: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "header_only.csv": (_header_only, "header_only", "a header and no data rows"),
    "nul_bytes.csv": (_nul_bytes, "format_mismatch", "binary content (NUL bytes)"),
    "wide.csv": (_five_thousand_columns, "too_many_columns", "5000 columns, over the limit of"),  # the contract's
    "utf16_no_bom.csv": (_utf16_without_bom, "format_mismatch", "binary content (NUL bytes)"),
    "bomb.xlsx": (_xlsx_bomb, "decompression_ratio", "a workbook part expands"),
}


def _command(name: str, path: Path, tmp_path: Path) -> list[str]:
    if name == "validate":
        return ["validate", str(path), "--contract", "customers"]
    if name == "profile":
        return ["profile", str(path)]
    return ["run", str(path), "--contract", "customers", "--home", str(tmp_path / "home"), "--out", str(tmp_path / "o")]


def _assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr, result.stdout[-500:])
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["validate", "profile", "run"])
@pytest.mark.parametrize("file_name", sorted(HOSTILE))
def test_every_command_refuses_every_hostile_file_with_one_line(tmp_path: Path, file_name: str, command: str) -> None:
    write, code, fragment = HOSTILE[file_name]
    path = tmp_path / file_name
    write(path)
    before = path.read_bytes()
    line = _assert_one_line(dq(*_command(command, path, tmp_path)), f"{code}: {file_name}: ", fragment)
    assert "Ann" not in line and "Åsa" not in line  # no file content in the error
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--chunk-rows", "1"], "invalid_option: --chunk-rows: input should be greater than or equal to 100"),
        (["--chunk-rows", "5000001"], "invalid_option: --chunk-rows: input should be less than or equal to 5000000"),
        (["--delimiter", "ab"], "invalid_option: --delimiter: the delimiter must be one ASCII character"),
        (["--delimiter", '"'], "invalid_option: --delimiter: the delimiter and the quote character must differ"),
        (["--encoding", "rot13"], "invalid_option: --encoding: 'rot13' is not a known text encoding"),
    ],
)
def test_run_options_out_of_range_are_one_line_and_exit_2(tmp_path: Path, options: list[str], line: str) -> None:
    sample = Path("libraries/contoso/samples/customers.csv")
    result = dq(*_command("run", sample, tmp_path), *options)
    assert _assert_one_line(result).startswith(line)
    assert not (tmp_path / "home").exists()  # refused before any store was opened or run started


def test_cleanse_checks_its_ingest_options_the_same_way(tmp_path: Path) -> None:
    result = dq(
        "cleanse",
        "libraries/contoso/samples/customers.csv",
        "--contract",
        "customers",
        "--out",
        str(tmp_path / "out"),
        "--delimiter",
        "ab",
    )
    assert _assert_one_line(result).startswith("invalid_option: --delimiter: the delimiter must be one ASCII")

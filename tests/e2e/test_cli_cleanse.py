"""``dq cleanse`` as a user runs it: outputs on disk, named errors, the raw file untouched."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from tests.conftest import ROOT
from tests.e2e.test_cli import dq

SAMPLE = ROOT / "libraries" / "contoso" / "samples" / "customers.csv"


def _salt(tmp_path: Path) -> Path:
    path = tmp_path / "salt"
    path.write_text("a-local-test-salt-0123456789")
    return path


def test_cleanse_writes_chunks_cleansed_rejects_and_report(tmp_path: Path) -> None:
    before = SAMPLE.read_bytes()
    out = tmp_path / "out"
    result = dq(
        "cleanse", str(SAMPLE), "--contract", "customers", "--out", str(out), "--salt-file", str(_salt(tmp_path))
    )
    assert result.returncode == 0, result.stderr
    assert SAMPLE.read_bytes() == before
    report = json.loads((out / "cleansing.json").read_text())
    cleansing = report["cleansing"]
    assert cleansing["rows_in"] == 20
    assert cleansing["rows_in"] == cleansing["rows_out"] + cleansing["rows_rejected"] + cleansing["duplicates_removed"]
    assert cleansing["duplicates_removed"] == 2 and report["ingest"]["encoding"] == "utf-8"
    rejects = pl.read_parquet(out / "rejects.parquet")
    assert {"_dq_reject_reason", "_dq_reject_step", "_dq_source_row"} <= set(rejects.columns)
    assert "Portugal is not in code list iso_country" in " ".join(rejects["_dq_reject_reason"].to_list())
    cleansed = pl.read_parquet(out / "cleansed" / "part-00000.parquet")
    assert cleansed.height == cleansing["rows_out"]
    assert all(email is None or email.startswith("sha256:") for email in cleansed["email"].to_list())
    assert cleansed.schema["signup_date"] == pl.Date
    assert pl.read_parquet(out / "chunks" / "part-00000.parquet").height == 20


def test_cleanse_refuses_bad_input_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = dq("cleanse", str(empty), "--contract", "customers", "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and result.stderr.strip() == "empty_file: empty.csv: the file is empty"


def test_cleanse_without_a_salt_names_the_secret(tmp_path: Path) -> None:
    result = dq("cleanse", str(SAMPLE), "--contract", "customers", "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "secret://dq-mask-salt" in result.stderr and "Traceback" not in result.stderr


def test_cleanse_takes_the_tenant_salt_from_the_secret_store(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DQ_SECRET_CONTOSO__DQ_MASK_SALT": "a-salt-from-the-environment-0123"}
    for variable in ("DQ_KEY_VAULT_URL", "DQ_STORAGE_ACCOUNT", "DQ_STORAGE_CONNECTION", "DQ_PG_DSN"):
        env.pop(variable, None)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "cli",
        "cleanse",
        str(SAMPLE),
        "--contract",
        "customers",
        "--out",
        str(out),
        "--home",
        str(tmp_path / "home"),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    with_file = dq(
        "cleanse",
        str(SAMPLE),
        "--contract",
        "customers",
        "--out",
        str(tmp_path / "other"),
        "--salt-file",
        str(_salt(tmp_path)),
    )
    assert with_file.returncode == 0
    first = pl.read_parquet(out / "cleansed" / "part-00000.parquet")["email"].drop_nulls().to_list()
    second = pl.read_parquet(tmp_path / "other" / "cleansed" / "part-00000.parquet")["email"].drop_nulls().to_list()
    assert first and first != second  # a different tenant salt, a different hash

"""Bounds of a run's chunking and parallelism, and well-formed ingest options (issue 14, item 4).

The models are the check: an API body, a queue message, ``dq run`` options and an authored
infra profile are all validated through them, so a bad value is refused where it enters,
never halfway through a run (``delimiter: "ab"`` was a ``TypeError`` inside the ingest
activity, retried as if it were transient).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dq_core.errors import LoadError
from dq_core.ingest.guarded import IngestOptions, ingest
from dq_core.libraries.infra import MAX_CHUNK_ROWS, MAX_PARALLELISM, MIN_CHUNK_ROWS, InfraProfile
from dq_core.loading.loader import parse_object
from dq_core.runs.payloads import RunOverrides
from tests.unit.cleansing_support import bundle_with


@pytest.mark.parametrize(
    "fields",
    [
        {"chunk_rows": 1},
        {"chunk_rows": MIN_CHUNK_ROWS - 1},
        {"chunk_rows": MAX_CHUNK_ROWS + 1},
        {"max_parallelism": 0},
        {"max_parallelism": MAX_PARALLELISM + 1},
        {"max_parallelism": 256},
    ],
)
def test_chunking_and_parallelism_outside_their_bounds_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=next(iter(fields))):
        RunOverrides.model_validate(fields)
    with pytest.raises(ValidationError, match=next(iter(fields))):
        InfraProfile.model_validate({"tenant": "t", "environment": "dev", "id": "i", "version": "1.0.0", **fields})


def test_the_bounds_themselves_are_accepted() -> None:
    for chunk_rows, parallelism in ((MIN_CHUNK_ROWS, 1), (MAX_CHUNK_ROWS, MAX_PARALLELISM)):
        assert RunOverrides(chunk_rows=chunk_rows, max_parallelism=parallelism).chunk_rows == chunk_rows
    assert (MIN_CHUNK_ROWS, MAX_CHUNK_ROWS, MAX_PARALLELISM) == (100, 5_000_000, 64)


def test_an_authored_infra_profile_with_one_row_chunks_is_a_load_error() -> None:
    document = {"kind": "infra_profile", "tenant": "t", "environment": "dev", "id": "i", "version": "1.0.0"}
    with pytest.raises(LoadError, match=r"chunk_rows: Input should be greater than or equal to 100"):
        parse_object({**document, "chunk_rows": 1}, "infra/i.yaml")
    with pytest.raises(LoadError, match=r"max_parallelism: Input should be less than or equal to 64"):
        parse_object({**document, "max_parallelism": 1000}, "infra/i.yaml")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"delimiter": "ab"}, "the delimiter must be one ASCII character"),
        ({"delimiter": ""}, "the delimiter must be one ASCII character"),
        ({"delimiter": "\r"}, "the delimiter must be one ASCII character"),
        ({"delimiter": "\x00"}, "the delimiter must be one ASCII character"),
        ({"delimiter": "§"}, "the delimiter must be one ASCII character"),
        ({"quote": "ab"}, "the quote character must be one ASCII character"),
        ({"quote": ""}, "the quote character must be one ASCII character"),
        ({"delimiter": '"'}, "the delimiter and the quote character must differ"),
        ({"encoding": "klingon"}, "'klingon' is not a known text encoding"),
        ({"encoding": "base64"}, "'base64' is not a known text encoding"),
        ({"encoding": ""}, "at least 1 character"),
        ({"format": "xls"}, "Input should be 'csv', 'csv.gz', 'parquet', 'jsonl' or 'xlsx'"),
        ({"separator": ";"}, "Extra inputs are not permitted"),
    ],
)
def test_malformed_ingest_options_are_refused_by_the_model(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        IngestOptions.model_validate(fields)
    with pytest.raises(ValidationError, match=message):
        RunOverrides.model_validate({"ingest": fields})


@pytest.mark.parametrize(
    "fields",
    [{"delimiter": "\t"}, {"delimiter": "|", "quote": "'"}, {"encoding": "UTF-16"}, {"encoding": "latin-1"}, {}],
)
def test_well_formed_ingest_options_still_read_a_file(tmp_path: Path, fields: dict[str, Any]) -> None:
    options = IngestOptions.model_validate(fields)
    delimiter = options.delimiter or ","
    path = tmp_path / "data.csv"
    path.write_bytes(f"customer_id{delimiter}full_name\nCUS-1{delimiter}Zoë\n".encode(options.encoding or "utf-8"))
    frame = ingest(path, bundle_with([]), options).frame
    assert frame["full_name"].to_list() == ["Zoë"]

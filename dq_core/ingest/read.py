"""The files ``dq validate`` and ``dq profile`` accept, checked before they are read.

There is no second reader here any more: these commands read through the one guarded,
streaming, contract-typed reader (:class:`dq_core.ingest.stream.ChunkedRead`) that ``dq run``
ingests with, so a file gives the same rows, columns and types whichever command reads it.
"""

from __future__ import annotations

from pathlib import Path

from dq_core.errors import InputError

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv.gz",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
}


def input_format(path: Path) -> str:
    """The file's format by its name; InputError when it is missing or of a type not read."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    name = path.name.lower()
    suffix = next((suffix for suffix in FORMATS if name.endswith(suffix)), None)
    if suffix is None:
        raise InputError(f"{path}: unsupported file type {path.suffix!r} (use {', '.join(FORMATS)})")
    return FORMATS[suffix]

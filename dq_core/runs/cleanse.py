"""``dq cleanse``: guarded ingest, then the contract's cleansing policy, written to a folder.

Outputs: ``chunks/`` (the ingested rows as Parquet chunks of ``infra.chunk_rows``),
``cleansed/`` (cleansed Parquet chunks), ``rejects.parquet`` (every refused row with
``_dq_reject_reason``, ``_dq_reject_step``, ``_dq_source_row``) and ``cleansing.json``
(the ingest report and the cleansing report). The raw file is only read.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.engine import CleansingOutput, cleanse
from dq_core.ingest.guarded import IngestOptions, IngestReport, ingest, write_chunks
from dq_core.validation.context import touched_columns


@dataclass(frozen=True)
class CleanseRun:
    ingest: IngestReport
    output: CleansingOutput


def cleanse_file(
    path: Path, bundle: ResolvedBundle, out: Path, *, options: IngestOptions | None = None, salt: bytes | None = None
) -> CleanseRun:
    ingested = ingest(path, bundle, options)
    chunk_rows = bundle.infra.chunk_rows
    for folder in ("chunks", "cleansed"):  # a run's outputs never mix with an earlier run's
        shutil.rmtree(out / folder, ignore_errors=True)
    write_chunks(ingested.frame, out / "chunks", chunk_rows)
    output = cleanse(ingested.frame, CleansingContext(bundle=bundle, salt=salt))
    write_chunks(output.cleansed.drop(touched_columns(output.cleansed.columns)), out / "cleansed", chunk_rows)
    output.rejects.write_parquet(out / "rejects.parquet")
    document = {
        "ingest": ingested.report.model_dump(mode="json"),
        "cleansing": output.report.model_dump(mode="json"),
        "bundle_sha256": bundle.sha256,
    }
    (out / "cleansing.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return CleanseRun(ingest=ingested.report, output=output)

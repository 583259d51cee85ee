"""The files a run leaves next to ``result.json`` for people and other tools:
``report.html``, ``validation.gx.json`` (Great Expectations shape) and ``result.csv``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from dq_core.lineage.models import StepRecord
from dq_core.profiling.models import ProfileResult
from dq_core.reporting.render import ReportGovernance, render_report
from dq_core.results.csv_export import to_csv
from dq_core.results.gx import to_gx
from dq_core.results.run import RunResult

REPORT: Final = "report.html"
GX: Final = "validation.gx.json"
CSV: Final = "result.csv"
OUTPUT_KEYS: Final = {REPORT: "report", GX: "gx", CSV: "csv"}  # file -> name in the lineage step's outputs


def gx_json(result: RunResult) -> str | None:
    return json.dumps(to_gx(result.validation), indent=2) + "\n" if result.validation is not None else None


def run_exports(
    result: RunResult,
    *,
    profile: ProfileResult | None = None,
    steps: Sequence[StepRecord] = (),
    governance: ReportGovernance | None = None,
) -> dict[str, bytes]:
    """File name -> content: the report and the CSV always, the GX document when rules ran."""
    files = {
        REPORT: render_report(result, profile=profile, steps=steps, governance=governance).encode("utf-8"),
        CSV: to_csv(result.validation).encode("utf-8"),
    }
    gx = gx_json(result)
    if gx is not None:
        files[GX] = gx.encode("utf-8")
    return files

"""Storage export: a run's results (and rejects, cleansed rows, profile) to a blob prefix of the
tenant's container, or to a table of the tenant's export database (the RowExporter port).

Blob: ``{prefix}/{run_id}/result.json``, ``rejects.parquet``, ``cleansed/part-*.parquet``,
``profile.json``, ``failed_rows.parquet``, copied from the run's folder (overwritten: a retry
writes the same). Table: one row per item, ``(tenant, run_id, kind, seq, payload)``; kinds ``run``
(the verdict and counts), ``rule`` (one per rule result), ``reject``, ``cleansed`` and ``failed_row``
(one per data row) and ``profile`` (one per column). The run's earlier rows are replaced.
"""

from __future__ import annotations

import time

from pydantic import JsonValue

from dq_core.actions.context import ActionContext, need_port
from dq_core.actions.transport import Sleep, call_with_retries
from dq_core.errors import ConfigError
from dq_core.libraries.actions import ExportTarget, StorageExportAction
from dq_core.ports import ExportRow
from dq_core.results.run import FAILED_ROWS_FILE, ActionOutcome, RunResult
from dq_core.runs.files import RunFiles
from dq_core.validation.results import jsonable


def _blob_names(ctx: ActionContext, include: tuple[str, ...]) -> list[tuple[str, str]]:
    """(source in the run folder, name under the export folder)."""
    names: list[tuple[str, str]] = []
    for item in include:
        if item == "result":
            if ctx.result_path is None:
                raise ConfigError("the run has no result.json to export")
            names.append((ctx.result_path, "result.json"))
        elif item == "rejects":
            names.append((ctx.rejects_path, "rejects.parquet"))
        elif item == "profile":
            names.append((ctx.profile_path, "profile.json"))
        elif item == "failed_rows":  # a run without failing rows (or with the cap 0) wrote none
            names.extend((path, FAILED_ROWS_FILE) for path in ctx.blobs.list(ctx.tenant, ctx.failed_rows_path))
        else:
            for path in ctx.blobs.list(ctx.tenant, ctx.cleansed_prefix):
                names.append((path, "cleansed/" + path[len(ctx.cleansed_prefix) :]))
    return names


def export_to_blobs(action: StorageExportAction, ctx: ActionContext, sleep: Sleep) -> ActionOutcome:
    prefix = (action.prefix or "").strip("/")
    if not prefix:
        raise ConfigError(f"action {action.id}: a blob export needs a prefix")
    folder = f"{prefix}/{ctx.run_id}/"

    def copy() -> int:
        names = _blob_names(ctx, action.include)
        for source, name in names:
            data, _ = ctx.blobs.get(ctx.tenant, source)
            ctx.blobs.put(ctx.tenant, folder + name, data, overwrite=True)
        return len(names)

    tried = call_with_retries(action, copy, sleep=sleep)
    if tried.error is not None:
        return ctx.outcome(action.id, action.type, "failed", tried.attempts, tried.error)
    return ctx.outcome(action.id, action.type, "delivered", tried.attempts, f"{tried.value} files to {folder}")


def _run_row(result: RunResult) -> JsonValue:
    document = result.model_dump(mode="json", exclude={"validation", "profile", "actions", "cleansing"})
    document["summary"] = result.validation.summary.model_dump(mode="json") if result.validation else None
    document["cleansing"] = (
        {key: getattr(result.cleansing, key) for key in ("rows_in", "rows_out", "rows_rejected", "duplicates_removed")}
        if result.cleansing
        else None
    )
    return document


def _data_files(ctx: ActionContext, item: str) -> tuple[list[str], str]:
    """The Parquet files of a data item, and the kind of their rows in the export table."""
    if item == "rejects":
        return [ctx.rejects_path], "reject"
    if item == "failed_rows":
        return list(ctx.blobs.list(ctx.tenant, ctx.failed_rows_path)), "failed_row"
    return list(ctx.blobs.list(ctx.tenant, ctx.cleansed_prefix)), "cleansed"


def export_rows(ctx: ActionContext, include: tuple[str, ...]) -> list[ExportRow]:
    files = RunFiles(ctx.blobs, ctx.tenant)
    rows: list[ExportRow] = []
    for item in include:
        if item == "result":
            if ctx.result is None:
                raise ConfigError("the run has no result.json to export")
            rows.append(ExportRow("run", 0, _run_row(ctx.result)))
            rules = ctx.result.validation.rules if ctx.result.validation else ()
            rows.extend(ExportRow("rule", i, rule.model_dump(mode="json")) for i, rule in enumerate(rules))
        elif item == "profile":
            columns = ctx.result.profile.columns if ctx.result and ctx.result.profile else {}
            rows.extend(
                ExportRow("profile", i, {"column": name, **stats}) for i, (name, stats) in enumerate(columns.items())
            )
        else:
            paths, kind = _data_files(ctx, item)
            seq = 0
            for path in paths:
                for record in files.read_frame(path).iter_rows(named=True):
                    rows.append(ExportRow(kind, seq, {str(k): jsonable(v) for k, v in record.items()}))
                    seq += 1
    return rows


def export_to_table(action: StorageExportAction, ctx: ActionContext, sleep: Sleep) -> ActionOutcome:
    exporter = need_port(ctx.rows, "a database for table exports (the PostgreSQL RowExporter)")
    table = action.table or ""
    rows = export_rows(ctx, action.include)
    tried = call_with_retries(action, lambda: exporter.export(ctx.tenant, table, ctx.run_id, rows), sleep=sleep)
    if tried.error is not None:
        return ctx.outcome(action.id, action.type, "failed", tried.attempts, tried.error)
    return ctx.outcome(action.id, action.type, "delivered", tried.attempts, f"{tried.value} rows to table {table}")


def run_export(action: StorageExportAction, ctx: ActionContext, *, sleep: Sleep = time.sleep) -> ActionOutcome:
    """Retried like every action: a TransientError of the store or database (see RetryPolicy)."""
    if action.target is ExportTarget.BLOB:
        return export_to_blobs(action, ctx, sleep)
    return export_to_table(action, ctx, sleep)

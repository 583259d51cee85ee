"""The cleansing stages of an orchestrated run: one unit of one round (``cleanse_chunk``), the
filling values between aggregate rounds (``merge_fills``) and the merged report and rejects
(``merge_cleansing``). The rounds themselves are :mod:`dq_core.cleansing.rounds`; the other
stages are in :mod:`dq_core.runs.stages`.
"""

from __future__ import annotations

import polars as pl

from dq_core.bundle.models import ResolvedBundle
from dq_core.cleansing.context import CleansingContext
from dq_core.cleansing.dedup import no_folds
from dq_core.cleansing.engine import empty_rejects
from dq_core.cleansing.imputing import finish_fill, merge_counts, value_counts
from dq_core.cleansing.rounds import (
    Barrier,
    Round,
    UnitReport,
    mask_rejects,
    mask_unit,
    merge_reports,
    plan_rounds,
    run_unit,
    shuffle,
)
from dq_core.errors import ConfigError
from dq_core.libraries.cleansing import ImputeStep
from dq_core.runs import payloads as p
from dq_core.runs.files import RunFiles
from dq_core.runs.stages import RunPorts, load_bundle, record_step, tenant_salt
from dq_core.validation.context import ROW


def _cleansing(ports: RunPorts, bundle: ResolvedBundle) -> CleansingContext:
    return CleansingContext(bundle=bundle, salt=tenant_salt(ports.secrets, bundle), defer_masking=True)


def unit_folder(run: p.RunRef, round_: int, unit: int) -> str:
    """Where one unit of one cleansing round leaves its files (working files: deleted at the end)."""
    return f"{run.folder}cleanse/r{round_:02d}/u{unit:05d}/"


def _partition_folder(run: p.RunRef, round_: int, kind: str, index: int) -> str:
    """Partition ``index`` of the shuffle after round ``round_``: its rows (``p``) from every unit,
    and the rows the units folded into them before a deduplicate step (``f``)."""
    return f"{run.folder}cleanse/r{round_:02d}/{kind}{index:05d}/"


def _unit_rows(
    files: RunFiles, inp: p.CleanseChunkInput, rounds: list[Round]
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The rows one unit cleanses: its ingested chunk, its partition from every unit of the
    round before (a shuffle, with the rows folded into them), or its own rows from the round
    before (an aggregate)."""
    opening = rounds[inp.round].opens_with
    if opening is Barrier.SHUFFLE:
        rows = files.read_parts(_partition_folder(inp.run, inp.round - 1, "p", inp.unit))
        folded = files.read_parts(_partition_folder(inp.run, inp.round - 1, "f", inp.unit), no_folds())
        return rows, folded
    if opening is Barrier.AGGREGATE:
        return files.read_frame(unit_folder(inp.run, inp.round - 1, inp.unit) + "rows.parquet"), None
    if inp.chunk is None:
        raise ConfigError("cleanse_chunk: the first round reads an ingested chunk")
    return files.read_frame(inp.chunk), None


def cleanse_chunk(ports: RunPorts, inp: p.CleanseChunkInput) -> p.CleanseChunkOutput:
    """One unit of one cleansing round (dq_core.cleansing.rounds): its steps, then what the
    next round needs (its rows split by key hash, or value counts), or, in the last round, the
    unit's cleansed chunk (``work/``, and masked in ``cleansed/``)."""
    run = inp.run
    bundle = load_bundle(ports, run, inp.bundle_path)
    files = ports.files(run, bundle.infra.storage)
    ctx = _cleansing(ports, bundle)
    rounds = plan_rounds(ctx)
    if not 0 <= inp.round < len(rounds):
        raise ConfigError(f"cleanse_chunk: the policy has {len(rounds)} rounds, not round {inp.round}")
    fills = files.read_frame(inp.fills_path).row(0, named=True) if inp.fills_path else None
    rows, folded = _unit_rows(files, inp, rounds)
    output = run_unit(rows, rounds, inp.round, inp.unit, ctx, fills, folded)
    folder = unit_folder(run, inp.round, inp.unit)
    last = inp.round == len(rounds) - 1
    work = cleansed = None
    if last:
        masked, output = mask_unit(output, ctx)
        work = files.write_frame(f"{run.folder}work/part-{inp.unit:05d}.parquet", output.frame)
        cleansed = files.write_frame(f"{run.folder}cleansed/part-{inp.unit:05d}.parquet", masked)
    elif (following := rounds[inp.round + 1]).opens_with is Barrier.SHUFFLE:
        shuffled = shuffle(output.frame, following.barrier_step, inp.partitions, ctx)
        for index, part in enumerate(shuffled.rows):
            if part.height or inp.unit == 0:
                files.write_frame(_partition_folder(run, inp.round, "p", index) + f"u{inp.unit:05d}.parquet", part)
        for index, part in enumerate(shuffled.folded):
            if part.height:
                files.write_frame(_partition_folder(run, inp.round, "f", index) + f"u{inp.unit:05d}.parquet", part)
    else:
        step = following.barrier_step
        assert isinstance(step, ImputeStep)  # noqa: S101 - an aggregate barrier is an impute step
        files.write_frame(folder + "rows.parquet", output.frame)
        for column, table in value_counts(output.frame, step).items():
            files.write_frame(f"{folder}counts-{step.columns.index(column):03d}.parquet", table)
    if output.rejects is not None:
        files.write_frame(folder + "rejects.parquet", output.rejects if last else mask_rejects(output.rejects, ctx))
    report = files.write_model(folder + "report.json", output.report)
    return p.CleanseChunkOutput(
        unit=inp.unit, report_path=report, rows_out=output.frame.height, work=work, cleansed=cleansed
    )


def merge_fills(ports: RunPorts, inp: p.MergeFillsInput) -> p.MergeFillsOutput:
    """The filling values of an impute step that opens round ``inp.round``, from every unit's
    value counts: one small row (``cleanse/rNN/fills.parquet``)."""
    run = inp.run
    bundle = load_bundle(ports, run, inp.bundle_path)
    files = ports.files(run, bundle.infra.storage)
    step = plan_rounds(_cleansing(ports, bundle))[inp.round].barrier_step
    if not isinstance(step, ImputeStep):
        raise ConfigError(f"merge_fills: round {inp.round} does not start with an impute step")
    fills = {}
    for index, column in enumerate(step.columns):
        tables = [
            files.read_frame(f"{unit_folder(run, inp.round - 1, unit)}counts-{index:03d}.parquet")
            for unit in range(inp.sources)
        ]
        fills[column] = finish_fill(column, merge_counts(column, tables), step.strategy)
    path = files.write_frame(f"{run.folder}cleanse/r{inp.round:02d}/fills.parquet", pl.DataFrame([fills]))
    return p.MergeFillsOutput(fills_path=path)


def merge_cleansing(ports: RunPorts, inp: p.MergeCleansingInput) -> p.CleanseOutput:
    """The run's cleansing report and rejects from every unit of every round."""
    run = inp.run
    bundle = load_bundle(ports, run, inp.bundle_path)
    files = ports.files(run, bundle.infra.storage)
    ctx = _cleansing(ports, bundle)
    rounds = len(inp.units)
    units = [
        UnitReport.model_validate_json(files.read_bytes(unit_folder(run, round_, unit) + "report.json"))
        for round_, count in enumerate(inp.units)
        for unit in range(count)
    ]
    report = merge_reports(units, ctx)
    refused = [
        files.read_frame(unit_folder(run, unit.round, unit.unit) + "rejects.parquet") for unit in units if unit.rejects
    ]
    rejects = pl.concat(refused, how="diagonal_relaxed").sort(ROW) if refused else empty_rejects(bundle)
    rejects_path = files.write_frame(run.folder + "rejects.parquet", rejects)
    report_path = files.write_model(run.folder + "cleansing.json", report)
    last = [unit for unit in units if unit.round == rounds - 1]
    kept = [unit.unit for unit in last if unit.rows_out] or [0]  # an empty run keeps one chunk: its schema
    record_step(
        ports,
        run,
        p.Stage.CLEANSE,
        inp.started_at,
        metrics={
            "rows_in": report.rows_in,
            "rows_out": report.rows_out,
            "rows_rejected": report.rows_rejected,
            "duplicates_removed": report.duplicates_removed,
            "rounds": rounds,
            "activities": sum(inp.units),
        },
        outputs={"cleansed": run.folder + "cleansed/", "rejects": rejects_path, "report": report_path},
    )
    return p.CleanseOutput(
        work_chunks=[f"{run.folder}work/part-{unit:05d}.parquet" for unit in kept],
        cleansed_chunks=[f"{run.folder}cleansed/part-{unit:05d}.parquet" for unit in kept],
        rejects=rejects_path,
        report_path=report_path,
        rows_in=report.rows_in,
        rows_out=report.rows_out,
        rows_rejected=report.rows_rejected,
        duplicates_removed=report.duplicates_removed,
    )

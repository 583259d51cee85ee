"""``dq run``: one file through the same ``run_job`` orchestrator the Functions app runs.

The bundle is resolved from the libraries (or an ODCS file) and stored in the tenant's
local container; the local host (``local_host.runs``) replays the orchestrator in this
process and runs its activities in ``--workers`` worker processes (``local_host.workers``),
each composing its own ports from a recipe (``local_host.composition.WorkerPorts``): the
embedded stores under ``--home`` unless settings name Azure services, the ``--salt-file``.
``--workers 0`` runs them on threads of this process instead. Outputs are copied from the
run's folder to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cli.inputs import add_reference_option, odcs_bundle, read_salt, reference_locations, workspace_of
from cli.output import DEFAULT_HOME, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, _err, _out, failing_rules
from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.errors import DQError, ObjectNotFound, OptionError
from dq_core.ingest.guarded import IngestOptions
from dq_core.libraries.infra import MAX_CHUNK_ROWS, MIN_CHUNK_ROWS
from services import workspace as service

if TYPE_CHECKING:
    from dq_core.ports import BlobStore, LineageStore
    from dq_core.runs.payloads import RunOverrides

IN_PROCESS_THREADS = 4  # --workers 0: the activities on this many threads of the dq process

OUTPUTS = (
    "result.json",
    "profile.json",
    "cleansing.json",
    "validation.json",
    "rejects.parquet",
    "failed_rows.parquet",
    "bundle.json",  # which columns are classified: dq report reads it
    "report.html",
    "validation.gx.json",
    "result.csv",
)
EXIT_BY_STATUS = {"passed": EXIT_OK, "failed": EXIT_FAILED}


def cpus() -> int:
    """The CPUs this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def worker_count(requested: int | None, bundle: ResolvedBundle) -> int:
    """``--workers``, or by default one per CPU, at most the infra profile's ``max_parallelism``."""
    if requested is not None:
        return requested
    return max(1, min(cpus(), bundle.infra.max_parallelism))


def share_cores(workers: int) -> None:
    """The CPUs shared out among the worker processes: each one's polars thread pool gets
    ``CPUs // workers`` threads (``POLARS_MAX_THREADS``, inherited when a worker starts), unless
    the environment sets it. Every worker sizing its pool to every CPU oversubscribed them:
    2 workers on 2 cores ran a 2M-row run in 73 s, 60 s with a thread each."""
    # the one setting written, not read: the workers inherit it when they start
    os.environ.setdefault("POLARS_MAX_THREADS", str(max(1, cpus() // workers)))  # noqa: TID251


def _bundle(args: argparse.Namespace) -> ResolvedBundle:
    if args.odcs:
        return odcs_bundle(args.odcs, args.dataset, args.tenant or "local", args.env or "local")
    workspace, scope = workspace_of(args)
    if args.job:
        return service.job_bundle(workspace, scope, args.job, version=args.version)
    return service.contract_bundle(workspace, scope, args.contract, version=args.version, dataset=args.dataset)


class _Progress:
    """Stage and chunk progress on a terminal (stderr); silent when stderr is not one."""

    def __init__(self) -> None:
        self.last: tuple[Any, ...] = ()
        self.tty = sys.stderr.isatty()

    def __call__(self, instance_id: str, status: Any) -> None:
        if not self.tty or not isinstance(status, dict):
            return
        key = (status.get("stage"), status.get("chunks_done"))
        if key == self.last:
            return
        self.last = key
        total = status.get("chunks_total") or 0
        chunks = f" {status.get('chunks_done')}/{total} chunks" if total else ""
        failing = status.get("rules_failed") or 0
        sys.stderr.write(f"\r\x1b[K{status.get('stage')}{chunks}" + (f", {failing} rules failing" if failing else ""))
        sys.stderr.flush()
        if status.get("stage") == "finalise":
            sys.stderr.write("\n")


def _copy_outputs(blobs: BlobStore, tenant: str, run_id: str, out: Path) -> list[str]:
    prefix = f"runs/{run_id}/"
    names = list(blobs.list(tenant, prefix))
    shutil.rmtree(out / "cleansed", ignore_errors=True)
    written = []
    for name in names:
        relative = name[len(prefix) :]
        if relative in OUTPUTS or relative.startswith("cleansed/"):
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs.get(tenant, name)[0])
            written.append(relative)
    return written


_OPTION_OF = {
    "references": "--reference",
    "chunk_rows": "--chunk-rows",
    "format": "--format",
    "encoding": "--encoding",
    "delimiter": "--delimiter",
}


def _option_error(exc: ValidationError) -> OptionError:
    """The first problem of an override model, as one line that names the option."""
    error = exc.errors()[0]
    field = str(error["loc"][-1]) if error["loc"] else ""
    option = _OPTION_OF.get(field, "--delimiter" if field in ("", "ingest") else field)  # the model's own check
    message = str(error["msg"]).removeprefix("Value error, ")
    return OptionError(f"{option}: {message[:1].lower()}{message[1:]}")


def ingest_options(args: argparse.Namespace) -> IngestOptions:
    """``--format``, ``--encoding`` and ``--delimiter``, checked as a run request checks them."""
    try:
        return IngestOptions(format=args.format, encoding=args.encoding, delimiter=args.delimiter)
    except ValidationError as exc:
        raise _option_error(exc) from None


def _overrides(args: argparse.Namespace) -> RunOverrides:
    from dq_core.runs.payloads import RunOverrides  # noqa: PLC0415 - the run's payloads: this command only

    try:
        return RunOverrides(
            chunk_rows=args.chunk_rows,
            now=args.now,
            ingest=ingest_options(args),
            references=reference_locations(args.reference),
        )
    except ValidationError as exc:
        raise _option_error(exc) from None


def cmd_run(args: argparse.Namespace) -> int:
    logging.getLogger("dq").addHandler(logging.NullHandler())  # the run's result says what went wrong
    from monitoring.logging_context import configure_cli_logging  # noqa: PLC0415 - loaded by this command only

    configure_cli_logging(debug=args.debug)  # JSON or --debug
    overrides = _overrides(args)  # a bad option is refused before anything is resolved or stored
    bundle = _bundle(args)
    from dq_core.runs.references import check_overrides  # noqa: PLC0415 - polars: this command only

    check_overrides(bundle, overrides.references, allow_local_files=True)  # a misspelt name, before the run
    from app import bootstrap  # noqa: PLC0415 - the composition root and the local host: this command only
    from dq_core.lineage.models import IngestionMode  # noqa: PLC0415
    from dq_core.runs.payloads import InputRef, RunRequest  # noqa: PLC0415
    from local_host import runs as local_run  # noqa: PLC0415
    from local_host.composition import WorkerPorts  # noqa: PLC0415

    wired = bootstrap.stores(args.home)
    recipe = WorkerPorts(args.home, args.salt_file, bundle.tenant, bundle.governance.salt_secret, args.debug)
    read_salt(args.salt_file)  # a bad salt file is refused here, before any worker starts
    if not args.input.is_file():
        raise DQError(f"{args.input}: no such file")
    bundle_path = f"bundles/{bundle.sha256}.json"
    wired.blobs.put(bundle.tenant, bundle_path, canonical_json(bundle), overwrite=True)
    request = RunRequest(
        tenant=bundle.tenant,
        environment=bundle.environment.value,
        job_id=bundle.job.id if bundle.job else None,
        job_version=bundle.job.version if bundle.job else None,
        bundle_path=bundle_path,
        inputs=(InputRef(uri=args.input.resolve().as_uri()),),
        ingestion_mode=IngestionMode.LOCAL,
        overrides=overrides,
    )
    workers = worker_count(args.workers, bundle)
    if workers == 0:
        ports = recipe.ports(wired)
        summary, outcome = local_run.run_locally(request, ports, workers=IN_PROCESS_THREADS, on_status=_Progress())
    else:
        from local_host.workers import WorkerPool  # noqa: PLC0415

        share_cores(workers)
        with WorkerPool(workers, recipe) as pool:
            summary, outcome = local_run.run_locally(request, None, on_status=_Progress(), pool=pool)
    if summary is None:
        _err(f"run_failed: the orchestration stopped: {' '.join((outcome.error or '').split())[:300]}")
        return EXIT_BAD_INPUT
    run = summary.runs[0]
    args.out.mkdir(parents=True, exist_ok=True)
    written = _copy_outputs(wired.blobs, bundle.tenant, run.run_id, args.out)
    _print_steps(wired.lineage, bundle.tenant, run.run_id)
    if run.error is not None:
        _err(f"{run.error.code}: {run.error.message}")
    _out(f"{run.status.upper()}: run {run.run_id} → {args.out} ({', '.join(sorted(written)) or 'no outputs'})")
    _print_failing_rules(wired.blobs, bundle.tenant, run.run_id)
    for action in run.actions:
        _out(f"  action {action.action_id} ({action.type}, {action.trigger}): {action.status} {action.detail}".rstrip())
    return EXIT_BY_STATUS.get(run.status, EXIT_BAD_INPUT)


def _print_failing_rules(blobs: BlobStore, tenant: str, run_id: str) -> None:
    """The failed and erroring rules of the run's result, as ``dq validate`` prints them."""
    from dq_core.results.run import RunResult  # noqa: PLC0415

    try:
        result = RunResult.model_validate_json(blobs.get(tenant, f"runs/{run_id}/result.json")[0])
    except ObjectNotFound:
        return
    if result.validation is not None:
        for line in failing_rules(result.validation):
            _out(line)


def _print_steps(lineage: LineageStore, tenant: str, run_id: str) -> None:
    try:
        steps = lineage.steps(tenant, run_id)
    except ObjectNotFound:
        return
    order = ["resolve", "ingest", "cleanse", "profile", "validate", "anomaly_check", "act", "finalise"]
    for step in sorted(steps, key=lambda s: order.index(s.step) if s.step in order else len(order)):
        seconds = (step.finished_at - step.started_at).total_seconds() if step.finished_at else 0.0
        metrics = ", ".join(f"{k}={v}" for k, v in list(step.metrics.items())[:4])
        _out(f"  {step.step:<14} {step.status:<9} {seconds:7.2f}s  {metrics}")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def add_run_parser(commands: Any, scoped: Any, moment: Any) -> None:
    run = commands.add_parser(
        "run", help="run a file through the orchestrator: ingest, cleanse, profile, validate, act"
    )
    run.add_argument("input", type=Path, help="CSV (also .csv.gz), Parquet, JSON lines or XLSX file")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--contract", help="contract id in the libraries")
    source.add_argument("--job", help="job definition id in the libraries (its contract, infra and actions)")
    source.add_argument("--odcs", type=Path, help="an ODCS v3 contract file")
    run.add_argument("--version", help="contract or job version (default: newest published)")
    run.add_argument("--dataset", help="dataset of the contract (default: the first)")
    run.add_argument("--out", type=Path, default=Path("out/run"), help="output folder (default: out/run)")
    run.add_argument(
        "--chunk-rows",
        type=_positive,
        help=f"rows per chunk, {MIN_CHUNK_ROWS}..{MAX_CHUNK_ROWS} (default: the infra profile's)",
    )
    run.add_argument(
        "--workers",
        type=_count,
        help="worker processes that run the activities, each loading the bundle once "
        "(default: one per CPU, at most the infra profile's max_parallelism; 0: threads of this process)",
    )
    run.add_argument("--format", choices=("csv", "csv.gz", "parquet", "jsonl", "xlsx"), help="override detection")
    run.add_argument("--encoding", help="text encoding (default: detected)")
    run.add_argument("--delimiter", help="CSV delimiter (default: detected)")
    run.add_argument("--salt-file", type=Path, help="the tenant salt for hashed columns (default: the secret store)")
    run.add_argument("--now", type=moment, help="the run's clock, ISO 8601 (default: now)")
    run.add_argument("--home", type=Path, default=DEFAULT_HOME, help="embedded stores folder (default: .dq)")
    add_reference_option(run)
    scoped(run)
    run.set_defaults(handler=cmd_run)

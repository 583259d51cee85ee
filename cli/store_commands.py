"""Commands over the stores: recorded runs, evidence packs, registry sync and lifecycle.

The composition root (``app.bootstrap``) picks the adapters, imported only when one of these
commands runs; the CLI never imports an adapter itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cli.output import EXIT_FAILED, EXIT_OK, _err, _out
from dq_core.bundle.models import ResolvedBundle
from dq_core.config.base import Kind
from dq_core.errors import DQError
from dq_core.profiling.models import ProfileResult
from dq_core.results.run import RunResult
from services import workspace as service


def _embedded(home: Path) -> tuple[Any, Any]:
    """Lineage and blob stores: Azure when the settings name it, else the embedded ones under ``home``."""
    from app.bootstrap import stores  # noqa: PLC0415 - the composition root picks the adapters

    wired = stores(home)
    return wired.lineage, wired.blobs


def _record(home: Path, bundle: ResolvedBundle, result: RunResult, profile: ProfileResult | None, source: Path) -> None:
    from dq_core.lineage.evidence import record_run  # noqa: PLC0415
    from dq_core.lineage.models import IngestionMode, RunRecord  # noqa: PLC0415

    lineage, blobs = _embedded(home)
    run = RunRecord(
        tenant=bundle.tenant,
        run_id=result.run_id,
        environment=bundle.environment.value,
        status=result.status.value,
        started_at=result.started_at,
        finished_at=result.finished_at,
        ingestion_mode=IngestionMode.LOCAL,
        input_uri=source.resolve().as_uri(),
        input_sha256=result.input.sha256 if result.input else None,
        contract_id=bundle.contract.id,
        contract_version=bundle.contract.version,
        contract_sha256=bundle.contract.sha256,
        bundle_sha256=bundle.sha256,
    )
    record_run(lineage, blobs, run, bundle, result, profile)


def cmd_contracts_lifecycle(args: argparse.Namespace) -> int:
    from app import bootstrap  # noqa: PLC0415 - the composition root picks the adapters
    from dq_core.config.base import ObjectKey  # noqa: PLC0415
    from services.registry import Action, RegistryService  # noqa: PLC0415

    registry = RegistryService(
        bootstrap.contract_store(args.store, args.home), bootstrap.stores(args.home).lineage, args.env
    )
    key = ObjectKey(kind=Kind(args.kind), id=args.id, version=args.version)
    after = registry.act(args.tenant, key, Action(args.action), actor=args.actor)
    where = f"{after.tenant}/{after.environment}"
    _out(f"{args.action}: {after.key} is {after.status.value} in {where} (sha256 {after.sha256[:12]})")
    return EXIT_OK


def cmd_lineage_export(args: argparse.Namespace) -> int:
    from dq_core.lineage.evidence import export_evidence  # noqa: PLC0415

    lineage, blobs = _embedded(args.home)
    data = export_evidence(lineage, blobs, args.tenant, args.run_id)
    out = args.out or Path(f"evidence-{args.run_id}.zip")
    out.write_bytes(data)
    _out(f"wrote {out} ({len(data)} bytes)")
    return EXIT_OK


def _recorded_run(data: bytes, home: Path) -> Any:
    """The run as the lineage store holds it, when this machine's store has it."""
    import io  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    from dq_core.errors import ObjectNotFound  # noqa: PLC0415

    try:
        manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
        tenant, run_id = str(manifest["tenant"]), str(manifest["run_id"])
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError):
        return None
    lineage, _ = _embedded(home)
    try:
        return lineage.get_run(tenant, run_id)
    except ObjectNotFound:
        return None


def cmd_lineage_verify(args: argparse.Namespace) -> int:
    from dq_core.lineage.evidence import verify_evidence  # noqa: PLC0415

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise DQError(f"{args.file}: cannot read: {exc.strerror}") from None
    recorded = _recorded_run(data, args.home)
    problems = verify_evidence(data, recorded)
    if recorded is None:
        _err("note: the run is not in the lineage store here: checked the pack against itself only")
    for problem in problems:
        _err(f"evidence_invalid: {problem}")
    if problems:
        return EXIT_FAILED
    _out(f"ok: every sha256 in {args.file} checks out")
    return EXIT_OK


def cmd_contracts_sync(args: argparse.Namespace) -> int:
    from app import bootstrap  # noqa: PLC0415 - the composition root picks the adapter

    target = args.to or args.from_
    store = bootstrap.contract_store(target, args.home)
    if args.to:
        workspace = service.workspace_from_directory(args.directory)
        if workspace.problems:
            raise workspace.problems[0]
        lineage = bootstrap.stores(args.home).lineage  # the audit log, as the lifecycle commands write it
        report = service.sync_to_store(workspace, store, actor=args.actor, lineage=lineage)
        for line in report.conflicting:
            _err(f"conflict: {line}")
        _out(f"sync {args.directory} -> {target}: {report.summary()}")
        return EXIT_FAILED if report.conflicting else EXIT_OK
    if not (args.tenant and args.env):
        raise DQError("--from needs --tenant and --env")
    written = service.sync_from_store(store, args.tenant, args.env, args.directory)
    _out(f"sync {target} -> {args.directory}: {len(written)} files written")
    return EXIT_OK

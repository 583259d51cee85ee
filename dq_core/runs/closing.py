"""The stages after the verdict: each fired action (``run_action``), and the run's close
(``finalise_run``: the actions' outcomes into result.json, the report and exports beside
it, the unmasked working files deleted, the lineage closed). Neither ever changes the
verdict that ``build_result`` recorded."""

from __future__ import annotations

import hashlib

from pydantic import JsonValue

from dq_core.bundle.models import ResolvedBundle
from dq_core.errors import ObjectNotFound
from dq_core.results.run import ActionOutcome, RunResult
from dq_core.runs import payloads as p
from dq_core.runs.files import WORKING_FOLDERS, RunFiles
from dq_core.runs.stages import RunPorts, load_bundle, profile_at, record_step


def finalise_run(ports: RunPorts, inp: p.FinaliseInput) -> p.FinaliseOutput:
    """Add the actions' outcomes to result.json, stamp its sha256 on the run, close the lineage."""
    run = inp.run
    bundle, unreadable = _stored_bundle(ports, run)
    files = ports.files(run, bundle.infra.storage if bundle is not None else None)
    result = RunResult.model_validate_json(files.read_bytes(inp.result_path))
    result = result.model_copy(update={"actions": list(inp.actions)})
    data = result.to_json().encode("utf-8")
    files.write_bytes(inp.result_path, data)
    sha256 = hashlib.sha256(data).hexdigest()
    record = ports.lineage.get_run(run.tenant, run.run_id)
    ports.lineage.put_run(record.model_copy(update={"result_sha256": sha256}))
    failed = [a.action_id for a in inp.actions if a.status == "failed"]
    if inp.actions:
        record_step(
            ports,
            run,
            p.Stage.ACT,
            inp.started_at,
            status="failed" if failed else "succeeded",
            metrics={"actions": len(inp.actions), "failed": len(failed)},
        )
    exported, problem = _write_exports(files, ports, run, result, bundle, unreadable)
    metrics: dict[str, JsonValue] = {"status": result.status.value}
    if problem:
        metrics["exports_error"] = problem
    metrics |= _delete_working_files(ports, run)
    record_step(
        ports,
        run,
        p.Stage.FINALISE,
        inp.finished_at,
        status=result.status.value,
        metrics=metrics,
        outputs={"result": inp.result_path} | exported,
    )
    return p.FinaliseOutput(status=result.status.value, result_path=inp.result_path, result_sha256=sha256)


def _delete_working_files(ports: RunPorts, run: p.RunRef) -> dict[str, JsonValue]:
    """Delete the run's unmasked working files; a failure is recorded, never the run's verdict."""
    try:
        deleted = sum(ports.blobs.delete_prefix(run.tenant, run.folder + folder) for folder in WORKING_FOLDERS)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        return {"working_files_error": f"{type(exc).__name__}: {exc}"}
    return {"working_files_deleted": deleted}


def _stored_bundle(ports: RunPorts, run: p.RunRef) -> tuple[ResolvedBundle | None, str | None]:
    """The run's bundle; None when the run stopped before storing it, or (None, why) when it
    cannot be read (the exports then fail with that reason, the verdict stands)."""
    try:
        return load_bundle(ports, run, run.folder + "bundle.json"), None
    except ObjectNotFound:
        return None, None
    except Exception as exc:  # noqa: BLE001 - recorded on the finalise step by _write_exports
        return None, f"{type(exc).__name__}: {exc}"


def _write_exports(
    files: RunFiles,
    ports: RunPorts,
    run: p.RunRef,
    result: RunResult,
    bundle: ResolvedBundle | None,
    unreadable: str | None,
) -> tuple[dict[str, str], str | None]:
    """report.html, validation.gx.json and result.csv next to result.json (after the actions, so
    the report lists them). They are views of result.json: a failure to write them is recorded
    on the finalise step and never costs the run its verdict."""
    from dq_core.reporting import exports, governance_of  # noqa: PLC0415

    if unreadable is not None:
        return {}, unreadable
    try:
        governance = governance_of(bundle) if bundle is not None else None  # None: the run stopped before it
        try:
            steps = ports.lineage.steps(run.tenant, run.run_id)
        except ObjectNotFound:
            steps = []
        made = exports.run_exports(
            result, profile=profile_at(files, run.folder + "profile.json"), steps=steps, governance=governance
        )
        written = {exports.OUTPUT_KEYS[name]: files.write_bytes(run.folder + name, data) for name, data in made.items()}
    except Exception as exc:  # noqa: BLE001 - see the docstring
        return {}, f"{type(exc).__name__}: {exc}"
    return written, None


def run_action(ports: RunPorts, inp: p.ActionInput) -> ActionOutcome:
    from dq_core.actions import dispatch  # noqa: PLC0415
    from dq_core.actions.destinations import Destinations  # noqa: PLC0415

    bundle = load_bundle(ports, inp.run, inp.bundle_path)
    result = None
    if inp.result_path is not None:
        try:
            result = RunResult.model_validate_json(ports.files(inp.run).read_bytes(inp.result_path))
        except ObjectNotFound:
            result = None  # the actions still fire, with what the bundle and the verdict say
    ctx = dispatch.ActionContext(
        bundle=bundle,
        run_id=inp.run.run_id,
        trigger=inp.trigger,
        status=inp.status,
        result_path=inp.result_path,
        blobs=ports.blobs,
        secrets=ports.secrets,
        result=result,
        run_folder=inp.run.folder,
        report_path=inp.run.folder + "report.html",  # written when the run finalises, after the actions
        queues=ports.queues,
        rows=ports.rows,
        http=ports.http,
        mail=ports.mail,
        openlineage=ports.openlineage,
        destinations=Destinations(allow_private_networks=ports.allow_private_networks),
    )
    return dispatch.run_action(dispatch.find_action(bundle, inp.action_id), ctx)

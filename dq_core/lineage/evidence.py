"""Evidence packs: everything an auditor needs to re-check a run's verdict, in one zip.

``export_evidence`` collects the run's lineage entities (run and steps), the exact
canonical bundle, result.json, the profile and any other output stored under
``runs/{run_id}/``, and a manifest with the sha256 of every file. ``verify_evidence``
recomputes every hash, checks the bundle's own sha256 against its content, and that the
run, the result and the bundle name the same bundle.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

from pydantic import ValidationError

from dq_core.bundle.models import ResolvedBundle
from dq_core.config.canonical import canonical_json
from dq_core.errors import InputError
from dq_core.lineage.models import MetricPoint, RunRecord, StepRecord
from dq_core.ports import BlobStore, LineageStore
from dq_core.profiling.models import ProfileResult
from dq_core.results.run import RunResult
from dq_core.runs.files import WORKING_FOLDERS as RUN_WORKING_FOLDERS
from dq_core.validation.anomaly import outside_their_bands

MANIFEST = "manifest.json"
# A run's working files stay out of the pack: the raw rows as ingested and the cleansed
# rows before masking hold unmasked values; the masked outputs and the hashes are enough.
WORKING_FOLDERS = (*RUN_WORKING_FOLDERS, "profile/")
EVIDENCE_SCHEMA = "dq.evidence/v1"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same run gives the same bytes


def run_prefix(run_id: str) -> str:
    return f"runs/{run_id}/"


def record_run(
    lineage: LineageStore,
    blobs: BlobStore,
    run: RunRecord,
    bundle: ResolvedBundle,
    result: RunResult,
    profile: ProfileResult | None = None,
) -> None:
    """Store a finished run: outputs under runs/{run_id}/, the run and its step, metric points."""
    prefix = run_prefix(run.run_id)
    result_bytes = result.to_json().encode("utf-8")
    run = run.model_copy(update={"result_sha256": hashlib.sha256(result_bytes).hexdigest()})
    blobs.put(run.tenant, prefix + "bundle.json", canonical_json(bundle))
    blobs.put(run.tenant, prefix + "result.json", result_bytes)
    if profile is not None:
        blobs.put(run.tenant, prefix + "profile.json", profile.model_dump_json(indent=2).encode("utf-8"))
    lineage.put_run(run)
    if result.validation is not None:
        summary = result.validation.summary.model_dump(mode="json")
        lineage.put_step(
            StepRecord(
                tenant=run.tenant,
                run_id=run.run_id,
                step="validate",
                status=result.status.value,
                started_at=result.started_at,
                finished_at=result.finished_at,
                metrics=summary,
                outputs={"result": prefix + "result.json"},
            )
        )
    rows = result.input.rows if result.input else None
    if rows is not None:
        key = f"{bundle.contract.id}/{bundle.dataset.name}/row_count"
        outside = result.validation is not None and "row_count" in outside_their_bands(result.validation)
        lineage.append_metric(
            MetricPoint(
                tenant=run.tenant,
                key=key,
                at=result.started_at,
                value=float(rows),
                run_id=run.run_id,
                anomalous=outside,
            )
        )


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def export_evidence(lineage: LineageStore, blobs: BlobStore, tenant: str, run_id: str) -> bytes:
    run = lineage.get_run(tenant, run_id)
    steps = lineage.steps(tenant, run_id)
    files: dict[str, bytes] = {
        "lineage/run.json": run.model_dump_json(indent=2).encode("utf-8"),
        "lineage/steps.json": json.dumps([s.model_dump(mode="json") for s in steps], indent=2).encode("utf-8"),
    }
    prefix = run_prefix(run_id)
    for name in blobs.list(tenant, prefix):
        relative = name.removeprefix(prefix)
        if relative.startswith(WORKING_FOLDERS):
            continue
        files["outputs/" + relative] = blobs.get(tenant, name)[0]
    manifest = {
        "schema_id": EVIDENCE_SCHEMA,
        "tenant": tenant,
        "run_id": run_id,
        "bundle_sha256": run.bundle_sha256,
        "exported_at": datetime.now(UTC).isoformat(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
    return _zip(files)


REQUIRED = ("lineage/run.json", "lineage/steps.json", "outputs/bundle.json", "outputs/result.json")


def verify_evidence(data: bytes, recorded: RunRecord | None = None) -> list[str]:
    """Problems found (an empty list means every hash and cross-reference checks out).

    ``recorded`` is the run as the lineage store holds it; when given, the pack's run and
    result must be the ones the store recorded (a pack rebuilt with new hashes fails here).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        files = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not an evidence pack: {exc}") from None
    if MANIFEST not in files:
        raise InputError("not an evidence pack: no manifest.json")
    try:
        manifest = json.loads(files.pop(MANIFEST))
        listed = dict(manifest["files"])
        expected = str(manifest["bundle_sha256"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return ["manifest.json: not a dq.evidence/v1 manifest"]
    problems = [f"{name}: missing from the pack" for name in REQUIRED if name not in files]
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            problems.append(f"{name}: listed in the manifest but missing")
        elif name not in listed:
            problems.append(f"{name}: not listed in the manifest")
        elif hashlib.sha256(files[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: sha256 does not match the manifest")
    try:
        run = RunRecord.model_validate_json(files["lineage/run.json"]) if "lineage/run.json" in files else None
        result = RunResult.model_validate_json(files["outputs/result.json"]) if "outputs/result.json" in files else None
    except ValidationError as exc:
        return [*problems, f"a lineage or result document is malformed ({exc.error_count()} errors)"]
    if "outputs/bundle.json" in files:
        try:
            bundle = ResolvedBundle.model_validate_json(files["outputs/bundle.json"])  # verifies its own sha256
            if bundle.sha256 != expected:
                problems.append("outputs/bundle.json: is not the bundle the run used")
        except ValidationError:
            problems.append("outputs/bundle.json: content does not match its sha256")
    if result is not None and (result.contract is None or result.contract.bundle_sha256 != expected):
        problems.append("outputs/result.json: names another bundle than the run")
    if run is not None:
        if run.bundle_sha256 != expected:
            problems.append("lineage/run.json: names another bundle than the manifest")
        if result is not None and result.status.value != run.status:
            problems.append(f"outputs/result.json: status {result.status.value}, the run recorded {run.status}")
        stored = files.get("outputs/result.json")
        if run.result_sha256 and stored is not None and hashlib.sha256(stored).hexdigest() != run.result_sha256:
            problems.append("outputs/result.json: is not the result the run recorded")
    if recorded is not None and run is not None and run != recorded:
        problems.append("lineage/run.json: differs from the run the lineage store holds")
    return problems

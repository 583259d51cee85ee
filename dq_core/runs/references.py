"""Reference datasets: the distinct keys that cross-dataset rules (``referential``) look values up in.

A contract declares each reference dataset (``reference_datasets``: its key columns and where its data is); a
run may override where (``--reference NAME=PATH``, :class:`~dq_core.runs.payloads.RunOverrides`). Loading reads
the files through the same guarded reader as ingest (a blob is fetched into a temporary file first, as the
input is), keeps only the key columns and their distinct non-null values, and never raises for a reference it
cannot read: the reason becomes the error of the rules that need it (a one-line reason, with no data and no
path outside the tenant's container).
"""

from __future__ import annotations

import fnmatch
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import polars as pl
from pydantic import Field

from dq_core.bundle.models import ResolvedBundle
from dq_core.contracts.models import LOCAL_SCHEME, ReferenceDatasetSpec, check_reference_location
from dq_core.errors import ConfigError, DQError, InputError, ObjectNotFound
from dq_core.ingest.guarded import read_guarded
from dq_core.libraries.infra import IngestLimits
from dq_core.libraries.rules import ReferentialRule
from dq_core.payloads import Payload
from dq_core.ports import BlobStore, LineageStore
from dq_core.runs import RUNS_PREFIX
from dq_core.runs.files import RunFiles
from dq_core.validation.env import reference_key

_WILDCARDS = ("*", "?", "[")
_PAGE = 500  # runs read from the lineage store at a time while looking for a job's latest passed run
_PAGES = 20


class ReferenceUnavailable(Exception):
    """Why a reference dataset cannot be read, in one line."""


@dataclass(frozen=True)
class LoadedReferences:
    """The key values of every reference dataset that could be read, and why the others could not."""

    values: dict[str, pl.Series] = field(default_factory=dict)  # reference_key(name, column) -> distinct keys
    errors: dict[str, str] = field(default_factory=dict)  # name -> reason


def referenced_names(bundle: ResolvedBundle) -> set[str]:
    """The reference datasets the bundle's rules look values up in."""
    return {
        resolved.rule.params.reference_dataset
        for resolved in bundle.rules
        if isinstance(resolved.rule, ReferentialRule)
    }


def check_overrides(bundle: ResolvedBundle, overrides: Mapping[str, str], *, allow_local_files: bool) -> None:
    """Every override names a reference dataset the contract declares (ConfigError), and is a local file only
    where local files may be read (InputError): a run started through the API reads the tenant's container only."""
    declared = sorted(spec.name for spec in bundle.reference_datasets)
    for name, location in overrides.items():
        if name not in declared:
            listed = ", ".join(declared) or "none"
            msg = f"reference {name!r}: the contract declares no such reference dataset (declared: {listed})"
            raise ConfigError(msg)
        try:
            check_reference_location(location)
        except ValueError as exc:
            raise InputError(f"reference {name!r}: {exc}") from None
        if location.startswith(LOCAL_SCHEME) and not allow_local_files:
            raise InputError(f"reference {name!r}: this host reads references from the tenant's container only")


# --- where the files are ----------------------------------------------------------------------


def _local_file(location: str, allow_local_files: bool) -> Path:
    if not allow_local_files:
        raise ReferenceUnavailable("local files are not read by this host: give a path in the tenant's container")
    path = Path(unquote(urlparse(location).path))
    if not path.is_file():
        raise ReferenceUnavailable(f"the local file {path.name!r} does not exist")
    return path


def _blob_names(blobs: BlobStore, tenant: str, pattern: str) -> list[str]:
    if not any(mark in pattern for mark in _WILDCARDS):
        return [pattern]
    cut = min(pattern.index(mark) for mark in _WILDCARDS if mark in pattern)
    prefix = pattern[:cut]
    names = sorted(name for name in blobs.list(tenant, prefix) if fnmatch.fnmatchcase(name, pattern))
    if not names:
        raise ReferenceUnavailable(f"no blob matches {pattern!r}")
    return names


def latest_passed_run(lineage: LineageStore, tenant: str, job_id: str, now: datetime) -> str:
    """The id of the job's newest passed run (ReferenceUnavailable when it has none)."""
    since, until = datetime(2000, 1, 1, tzinfo=UTC), now + timedelta(days=1)
    for _ in range(_PAGES):
        runs = lineage.list_runs(tenant, since, until, limit=_PAGE)
        for record in runs:
            if record.job_id == job_id and record.status == "passed":
                return record.run_id
        if len(runs) < _PAGE:
            break
        until = runs[-1].started_at
    raise ReferenceUnavailable(f"job {job_id!r} has no passed run")


def _job_output(blobs: BlobStore, lineage: LineageStore | None, tenant: str, job_id: str, now: datetime) -> list[str]:
    if lineage is None:
        raise ReferenceUnavailable("this host keeps no run history to find a job's latest output in")
    run_id = latest_passed_run(lineage, tenant, job_id, now)
    folder = f"{RUNS_PREFIX}{run_id}/cleansed/"
    names = sorted(name for name in blobs.list(tenant, folder) if name.endswith(".parquet"))
    if not names:
        raise ReferenceUnavailable(f"the latest passed run of job {job_id!r} ({run_id}) left no cleansed output")
    return names


# --- reading ----------------------------------------------------------------------------------


@contextmanager
def _blob_file(blobs: BlobStore, tenant: str, name: str) -> Iterator[Path]:
    """The blob as a temporary local file of the same name, read as an input is read."""
    try:
        data, _ = blobs.get(tenant, name)
    except ObjectNotFound:
        raise ReferenceUnavailable(f"the blob {name!r} does not exist") from None
    with tempfile.TemporaryDirectory(prefix="dq-reference-") as folder:
        local = Path(folder) / PurePosixPath(name).name
        local.write_bytes(data)
        yield local


def _keys(path: Path, columns: Sequence[str], limits: IngestLimits) -> pl.DataFrame:
    try:
        frame = read_guarded(path, limits, columns=columns).frame
    except DQError as exc:
        raise ReferenceUnavailable(str(exc)) from None
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ReferenceUnavailable(f"{path.name} has no column {missing[0]!r}")
    return frame.select(columns).unique()


def _frames(
    spec: ReferenceDatasetSpec,
    location: str | None,
    tenant: str,
    blobs: BlobStore | None,
    lineage: LineageStore | None,
    *,
    limits: IngestLimits,
    allow_local_files: bool,
    now: datetime,
) -> Iterable[pl.DataFrame]:
    if location is not None and location.startswith(LOCAL_SCHEME):
        yield _keys(_local_file(location, allow_local_files), spec.columns, limits)
        return
    if blobs is None:
        raise ReferenceUnavailable("this host has no blob store to read it from: give it with --reference NAME=PATH")
    if location is not None or spec.blob is not None:
        names = _blob_names(blobs, tenant, location or spec.blob or "")
    elif spec.latest_output_of is not None:
        names = _job_output(blobs, lineage, tenant, spec.latest_output_of, now)
    else:
        raise ReferenceUnavailable("the contract gives no location (blob or latest_output_of) and the run none")
    for name in names:
        with _blob_file(blobs, tenant, name) as path:
            yield _keys(path, spec.columns, limits)


def _distinct(frames: Iterable[pl.DataFrame], spec: ReferenceDatasetSpec) -> dict[str, pl.Series]:
    parts = list(frames)
    # text (CSV) and typed (Parquet) parts together: compare as text
    if len({tuple(part.schema.dtypes()) for part in parts}) > 1:
        parts = [part.cast(dict.fromkeys(part.columns, pl.String)) for part in parts]
    frame = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
    return {
        reference_key(spec.name, column): frame.get_column(column).drop_nulls().unique(maintain_order=True)
        for column in spec.columns
    }


def load_references(
    specs: Sequence[ReferenceDatasetSpec],
    tenant: str,
    blobs: BlobStore | None,
    lineage: LineageStore | None = None,
    *,
    overrides: Mapping[str, str] | None = None,
    limits: IngestLimits | None = None,
    allow_local_files: bool = False,
    only: set[str] | None = None,
    now: datetime | None = None,
) -> LoadedReferences:
    """The distinct key values of each reference dataset (those in ``only``, when given).

    ``overrides`` maps a name to a ``file:`` URI (read only with ``allow_local_files``) or a path or glob in the
    tenant's container; without one the contract's ``blob`` or ``latest_output_of`` says where the data is."""
    overrides = overrides or {}
    limits = limits or IngestLimits()
    loaded = LoadedReferences()
    for spec in specs:
        if only is not None and spec.name not in only:
            continue
        try:
            frames = _frames(
                spec,
                overrides.get(spec.name),
                tenant,
                blobs,
                lineage,
                limits=limits,
                allow_local_files=allow_local_files,
                now=now or datetime.now(UTC),
            )
            loaded.values.update(_distinct(frames, spec))
        except ReferenceUnavailable as exc:
            loaded.errors[spec.name] = str(exc)
    return loaded


# --- in a run's folder: loaded once (resolve stage), read by each validate_chunk ------------------


class ReferenceManifest(Payload):
    """What the resolve stage loaded: each key column's distinct values, and why a dataset is missing."""

    files: dict[str, str] = Field(default_factory=dict)  # reference_key -> parquet file in the run's folder
    errors: dict[str, str] = Field(default_factory=dict)  # reference dataset -> reason


def manifest_path(run_folder: str) -> str:
    return run_folder + "references.json"


def write_references(files: RunFiles, run_folder: str, loaded: LoadedReferences) -> str:
    """Each key column's distinct values as a Parquet file under ``references/``, and the manifest."""
    written = {
        key: files.write_frame(f"{run_folder}references/{number:04d}.parquet", values.to_frame("value"))
        for number, (key, values) in enumerate(sorted(loaded.values.items()))
    }
    return files.write_model(manifest_path(run_folder), ReferenceManifest(files=written, errors=dict(loaded.errors)))


def read_references(files: RunFiles, run_folder: str) -> LoadedReferences:
    """The references the resolve stage loaded; none when it loaded none (a run without cross-dataset rules)."""
    try:
        manifest = ReferenceManifest.model_validate_json(files.read_bytes(manifest_path(run_folder)))
    except ObjectNotFound:
        return LoadedReferences()
    values = {key: files.read_frame(path).get_column("value") for key, path in manifest.files.items()}
    return LoadedReferences(values=values, errors=dict(manifest.errors))

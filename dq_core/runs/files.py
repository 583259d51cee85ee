"""A run's files in the tenant's container: Parquet chunks and JSON documents under ``runs/{id}/``.

Activities exchange blob paths, never frames: whatever one activity writes here, the
next one reads. Writes overwrite, so a retried activity replaces its own outputs.

Access tiers (the infra profile's ``storage``, when the stage has the bundle at hand): the
data a run publishes (``cleansed/``, ``rejects.parquet``) goes to the ``outputs`` tier, its
documents (the bundle, result.json, the reports, profile.json, ...) to the ``reports`` tier;
the unmasked working files (``ingested/``, ``work/``, deleted when the run ends) and files
outside the run folder keep the store's default, as cool and cold tiers charge for early
deletion. ``archive`` is written as ``cold``: the platform reads back every file
it writes (the next stage, the report, the evidence pack), and an archived blob cannot be
read before it is rehydrated. A file uploaded through the API is stored in the ``raw`` tier
of the profile its job will run with (:func:`upload_tier`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl
from pydantic import BaseModel

from dq_core.config.base import Kind, ObjectKey
from dq_core.contracts.models import DataContract
from dq_core.errors import ConfigError
from dq_core.jobs.models import JobDefinition
from dq_core.libraries.infra import InfraProfile, StorageTier, StorageTiers
from dq_core.ports import BlobStore, ConfigReader
from dq_core.runs import RUNS_PREFIX

WORKING_FOLDERS: Final = ("ingested/", "work/", "cleanse/", "validate/")
"""A run's folders of unmasked rows (the rows as ingested, the cleansed rows before masking,
the cleansing rounds' partitions, the uniqueness rules' key partitions): needed only while
the run validates, deleted when it ends (``finalise_run``), so written in the store's
default tier. The raw file stays where it landed."""
OUTPUT_DATA: Final = ("cleansed/", "rejects.parquet", "failed_rows.parquet")
"""What a run publishes as data: the ``outputs`` tier; every other file of the run folder: ``reports``."""


def readable(tier: StorageTier) -> StorageTier:
    """A tier a file the platform reads back can be written in (archive: cold)."""
    return StorageTier.COLD if tier is StorageTier.ARCHIVE else tier


def tier_of(path: str, storage: StorageTiers | None) -> StorageTier | None:
    """The access tier a run's file is written in (see module doc); None: the store's default."""
    if storage is None or not path.startswith(RUNS_PREFIX):
        return None
    relative = path.removeprefix(RUNS_PREFIX).partition("/")[2]
    if not relative or relative.startswith(WORKING_FOLDERS):
        return None
    return readable(storage.outputs if relative.startswith(OUTPUT_DATA) else storage.reports)


def upload_tier(reader: ConfigReader, tenant: str, environment: str, job: JobDefinition) -> StorageTier | None:
    """The tier an uploaded file that ``job`` will run on is stored in: ``storage.raw`` of the
    job's infra profile, else of its contract's; None (the store's default) when neither names
    one, or a reference does not resolve (the run then reports it)."""
    try:
        ref = job.infra_profile
        if ref is None:
            key = ObjectKey(kind=Kind.CONTRACT, id=job.contract.id, version=job.contract.version)
            contract = reader.get(tenant, environment, key)
            ref = contract.infra_profile if isinstance(contract, DataContract) else None
        if ref is None:
            return None
        infra = reader.get(tenant, environment, ObjectKey(kind=Kind.INFRA_PROFILE, id=ref.id, version=ref.version))
    except ConfigError:
        return None
    return readable(infra.storage.raw) if isinstance(infra, InfraProfile) else None


@dataclass(frozen=True)
class RunFiles:
    blobs: BlobStore
    tenant: str
    storage: StorageTiers | None = None  # the bundle's infra.storage: the tiers to write in

    def _put(self, path: str, data: bytes) -> None:
        self.blobs.put(self.tenant, path, data, overwrite=True, tier=tier_of(path, self.storage))

    def write_frame(self, path: str, frame: pl.DataFrame) -> str:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, statistics=False)
        self._put(path, buffer.getvalue())
        return path

    def write_chunks(self, folder: str, frame: pl.DataFrame, chunk_rows: int) -> list[str]:
        """``folder/part-00000.parquet``, ...: at least one chunk, so an empty frame keeps its schema."""
        return [
            self.write_frame(f"{folder}part-{index:05d}.parquet", frame.slice(offset, chunk_rows))
            for index, offset in enumerate(range(0, max(frame.height, 1), chunk_rows))
        ]

    def read_frame(self, path: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        data, _ = self.blobs.get(self.tenant, path)
        return pl.read_parquet(io.BytesIO(data), columns=list(columns) if columns is not None else None)

    def read_frames(self, paths: Sequence[str], columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Parquet chunks as one frame; with ``columns``, only those (each blob is read, then projected)."""
        frames = [self.read_frame(path, columns) for path in paths]
        return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]

    def part_paths(self, folder: str) -> list[str]:
        """The Parquet parts under ``folder``, in name order (to read one at a time)."""
        return sorted(self.blobs.list(self.tenant, folder))

    def read_parts(self, folder: str, empty: pl.DataFrame | None = None) -> pl.DataFrame:
        """Every Parquet part under ``folder`` (a key partition from every unit or chunk: empty parts
        are not written, except the first writer's, which keeps the schema), columns matched by name.
        ``empty``: what a folder without parts holds (else it must have one)."""
        parts = [self.read_frame(path) for path in self.part_paths(folder)]
        if not parts and empty is not None:
            return empty
        return pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]

    def read_schema(self, path: str) -> pl.Schema:
        data, _ = self.blobs.get(self.tenant, path)
        return pl.Schema(pl.read_parquet_schema(io.BytesIO(data)))

    def write_model(self, path: str, model: BaseModel) -> str:
        self._put(path, model.model_dump_json(indent=2).encode("utf-8") + b"\n")
        return path

    def write_bytes(self, path: str, data: bytes) -> str:
        self._put(path, data)
        return path

    def read_bytes(self, path: str) -> bytes:
        return self.blobs.get(self.tenant, path)[0]

    def read_json(self, path: str) -> object:
        return json.loads(self.read_bytes(path))

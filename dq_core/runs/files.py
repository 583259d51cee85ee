"""A run's files in the tenant's container: Parquet chunks and JSON documents under ``runs/{id}/``.

Activities exchange blob paths, never frames: whatever one activity writes here, the
next one reads. Writes overwrite, so a retried activity replaces its own outputs.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from pydantic import BaseModel

from dq_core.ports import BlobStore


@dataclass(frozen=True)
class RunFiles:
    blobs: BlobStore
    tenant: str

    def write_frame(self, path: str, frame: pl.DataFrame) -> str:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, statistics=False)
        self.blobs.put(self.tenant, path, buffer.getvalue(), overwrite=True)
        return path

    def write_chunks(self, folder: str, frame: pl.DataFrame, chunk_rows: int) -> list[str]:
        """``folder/part-00000.parquet``, ...: at least one chunk, so an empty frame keeps its schema."""
        return [
            self.write_frame(f"{folder}part-{index:05d}.parquet", frame.slice(offset, chunk_rows))
            for index, offset in enumerate(range(0, max(frame.height, 1), chunk_rows))
        ]

    def read_frame(self, path: str) -> pl.DataFrame:
        data, _ = self.blobs.get(self.tenant, path)
        return pl.read_parquet(io.BytesIO(data))

    def read_frames(self, paths: Sequence[str]) -> pl.DataFrame:
        frames = [self.read_frame(path) for path in paths]
        return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]

    def write_model(self, path: str, model: BaseModel) -> str:
        self.blobs.put(self.tenant, path, model.model_dump_json(indent=2).encode("utf-8") + b"\n", overwrite=True)
        return path

    def write_bytes(self, path: str, data: bytes) -> str:
        self.blobs.put(self.tenant, path, data, overwrite=True)
        return path

    def read_bytes(self, path: str) -> bytes:
        return self.blobs.get(self.tenant, path)[0]

    def read_json(self, path: str) -> object:
        return json.loads(self.read_bytes(path))

"""A local folder as BlobStore: one sub-folder per tenant, ETags from content hashes, no access tiers.

Several processes may write one folder at once (the worker processes of ``dq run``): a blob
is written to a temporary file under ``{root}/.staging`` and moved into place with an atomic
rename, so a reader sees the old content or the new one, never half a file; the checks of a
conditional write (create-only, ``if_match``), the rename and the pruning of emptied folders
happen under an exclusive lock on ``{root}/.lock`` (``flock``; threads of one process also
share a lock), so two writers never both create a blob or both replace the same version.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from dq_core.errors import ConfigError, ObjectNotFound
from dq_core.libraries.infra import StorageTier
from dq_core.registry.models import ConflictError

_LOCK = threading.Lock()
_STAGING = ".staging"


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, tenant: str, path: str) -> Path:
        if not tenant or "/" in tenant or tenant.startswith("."):
            msg = f"invalid tenant {tenant!r}"
            raise ConfigError(msg)
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            msg = f"invalid blob path {path!r}: it must stay inside the tenant's container"
            raise ConfigError(msg)
        return self._root / tenant / Path(*relative.parts)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """This store's folder for this thread alone, across processes (no ``flock`` on Windows:
        there, across threads only)."""
        with _LOCK:
            if sys.platform == "win32":
                yield
                return
            import fcntl  # noqa: PLC0415 - POSIX only

            self._root.mkdir(parents=True, exist_ok=True)
            with (self._root / ".lock").open("ab") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _stage(self, data: bytes) -> Path:
        """``data`` in a new temporary file on the folder's file system (written outside the lock)."""
        staging = self._root / _STAGING
        staging.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=staging, prefix=f"{os.getpid()}-", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return Path(name)

    def put(
        self,
        tenant: str,
        path: str,
        data: bytes,
        *,
        overwrite: bool = False,
        if_match: str | None = None,
        tier: StorageTier | None = None,
    ) -> str:
        target = self._path(tenant, path)
        temporary = self._stage(data)
        try:
            with self._exclusive():
                if target.exists():
                    current = _etag(target.read_bytes())
                    if if_match is not None and if_match != current:
                        msg = f"{path}: changed since it was read (ETag {current}, expected {if_match})"
                        raise ConflictError(msg)
                    if if_match is None and not overwrite:
                        msg = f"{path} already exists"
                        raise ConflictError(msg)
                elif if_match is not None:
                    msg = f"{path} does not exist (expected ETag {if_match})"
                    raise ConflictError(msg)
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary.replace(target)  # atomic: readers never see half a file
        finally:
            temporary.unlink(missing_ok=True)  # still there when the write was refused
        return _etag(data)

    def get(self, tenant: str, path: str) -> tuple[bytes, str]:
        target = self._path(tenant, path)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            msg = f"{path} does not exist for tenant {tenant}"
            raise ObjectNotFound(msg) from None
        return data, _etag(data)

    def download_to(self, tenant: str, path: str, target: Path) -> str:
        """Copy the blob into ``target`` block by block; the ETag of the copied content (a writer
        replaces a blob by renaming, so the open file is one version)."""
        source = self._path(tenant, path)
        try:
            handle = source.open("rb")
        except FileNotFoundError:
            msg = f"{path} does not exist for tenant {tenant}"
            raise ObjectNotFound(msg) from None
        digest = hashlib.sha256()
        with handle, target.open("wb") as out:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        return '"' + digest.hexdigest()[:32] + '"'

    def list(self, tenant: str, prefix: str = "") -> list[str]:
        base = self._path(tenant, "probe").parent  # the same tenant check as every other call
        if not base.exists():
            return []
        names = [p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")]
        return sorted(n for n in names if n.startswith(prefix))

    def delete_prefix(self, tenant: str, prefix: str) -> int:
        check_folder(prefix)
        deleted = 0
        with self._exclusive():
            for name in self.list(tenant, prefix):
                with contextlib.suppress(FileNotFoundError):
                    self._path(tenant, name).unlink()
                    deleted += 1
            self._prune(self._path(tenant, prefix))
        return deleted

    def _prune(self, folder: Path) -> None:
        """Remove the folders left empty under ``folder`` (and it), as a container has none."""
        if not folder.is_dir():
            return
        for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty: a blob outside the prefix, or a temporary file
                sub.rmdir()
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_folder(prefix: str) -> str:
    """A folder prefix to delete under: relative, ending with '/', never the whole container."""
    if not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix.split("/") or prefix == "/":
        msg = f"invalid folder {prefix!r}: a relative path ending with '/'"
        raise ConfigError(msg)
    return prefix

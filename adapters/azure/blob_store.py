"""BlobStore over Azure Blob Storage: one container per tenant.

The container of a tenant is ``container_prefix + tenant``. Container names allow only
lower-case letters, digits and single hyphens (3-63 characters, starting with a letter or
digit, not ending with a hyphen), so a tenant is used as it is when the result obeys
those rules and refused with a ConfigError otherwise: any rewriting (lower-casing,
``_`` to ``-``) could send two tenants to one container. Containers are created lazily,
on the first write that finds none.

Writes: ``overwrite=False`` is an upload that fails on an existing blob (ConflictError);
``if_match=etag`` is an upload conditional on that ETag (``If-Match``), and a stale ETag
or a missing blob is a ConflictError; ``overwrite=True`` alone replaces unconditionally.
A ``tier`` is set with the upload itself (``x-ms-access-tier`` of Put Blob): one request, and
the blob never sits in the account's default tier first. Azurite honours it too.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Final

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient, StandardBlobTier

from adapters.azure._errors import azure_errors
from dq_core.errors import ConfigError
from dq_core.identifiers import CONTAINER_PREFIX
from dq_core.libraries.infra import StorageTier
from dq_core.registry.models import ConflictError

_CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_PREFIX_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9]|-(?!-))*)?$")
_CONTAINER_MIN: Final = 3
_CONTAINER_MAX: Final = 63
_BLOB_NAME_MAX: Final = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PRECONDITION_FAILED: Final = 412
_TIERS: Final = {
    StorageTier.HOT: StandardBlobTier.HOT,
    StorageTier.COOL: StandardBlobTier.COOL,
    StorageTier.COLD: StandardBlobTier.COLD,
    StorageTier.ARCHIVE: StandardBlobTier.ARCHIVE,
}


class AzureBlobStore:
    """Files in the tenant's own container (see module doc)."""

    def __init__(self, service: BlobServiceClient, *, container_prefix: str = CONTAINER_PREFIX) -> None:
        if not _PREFIX_RE.match(container_prefix):
            msg = f"container prefix {container_prefix!r} must be lower-case letters, digits and single hyphens"
            raise ConfigError(msg)
        self._service = service
        self._prefix = container_prefix

    @classmethod
    def from_connection_string(cls, conn: str, *, container_prefix: str = CONTAINER_PREFIX) -> AzureBlobStore:
        """A store on the account of ``conn``; nothing is contacted until the first call."""
        return cls(BlobServiceClient.from_connection_string(conn), container_prefix=container_prefix)

    def container_name(self, tenant: str) -> str:
        """The tenant's container; ConfigError when the tenant cannot be mapped one-to-one."""
        if not isinstance(tenant, str) or not tenant:
            msg = f"tenant must be a non-empty string, not {tenant!r}"
            raise ConfigError(msg)
        name = self._prefix + tenant
        if not _CONTAINER_RE.match(name) or not _CONTAINER_MIN <= len(name) <= _CONTAINER_MAX:
            msg = (
                f"tenant {tenant!r} cannot name an Azure Blob container: {name!r} must be "
                f"{_CONTAINER_MIN}-{_CONTAINER_MAX} lower-case letters, digits or single hyphens, "
                "starting and ending with a letter or digit"
            )
            raise ConfigError(msg)
        return name

    def _container(self, tenant: str) -> ContainerClient:
        return self._service.get_container_client(self.container_name(tenant))

    @staticmethod
    def _check_path(path: str) -> str:
        if not isinstance(path, str) or not path:
            msg = f"blob path must be a non-empty string, not {path!r}"
            raise ConfigError(msg)
        segments = path.split("/")
        if (
            len(path) > _BLOB_NAME_MAX
            or "\\" in path
            or _CONTROL.search(path)
            or any(segment in ("", ".", "..") for segment in segments)
        ):
            msg = f"blob path {path!r} must be relative, '/'-separated, without empty, '.' or '..' segments"
            raise ConfigError(msg)
        return path

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
        """Write and return the new ETag (see module doc for the conditions), in ``tier`` when given."""
        container = self._container(tenant)
        blob = container.get_blob_client(self._check_path(path))
        what = f"blob {path} of tenant {tenant}"
        access = _TIERS[tier] if tier is not None else None
        with azure_errors(f"writing {what}"):
            try:
                return self._upload(blob, data, overwrite=overwrite, if_match=if_match, tier=access, what=what)
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) != "ContainerNotFound":
                    raise
            self._create_container(container)
            return self._upload(blob, data, overwrite=overwrite, if_match=if_match, tier=access, what=what)

    @staticmethod
    def _upload(
        blob: BlobClient,
        data: bytes,
        *,
        overwrite: bool,
        if_match: str | None,
        tier: StandardBlobTier | None,
        what: str,
    ) -> str:
        try:
            if if_match is not None:
                result = blob.upload_blob(
                    data,
                    overwrite=True,
                    etag=if_match,
                    match_condition=MatchConditions.IfNotModified,
                    standard_blob_tier=tier,
                )
            else:
                result = blob.upload_blob(data, overwrite=overwrite, standard_blob_tier=tier)
        except ResourceExistsError as exc:
            msg = f"{what} already exists (write with overwrite or if_match to replace it)"
            raise ConflictError(msg) from exc
        except ResourceNotFoundError as exc:
            if if_match is None:
                raise
            msg = f"{what} does not exist (or its container does not), so ETag {if_match} cannot match"
            raise ConflictError(msg) from exc
        except HttpResponseError as exc:  # ResourceModifiedError and any other 412
            if exc.status_code != _PRECONDITION_FAILED:
                raise
            msg = f"{what} no longer has ETag {if_match} (changed or deleted since it was read)"
            raise ConflictError(msg) from exc
        return str(result["etag"])

    @staticmethod
    def _create_container(container: ContainerClient) -> None:
        # ResourceExistsError: a concurrent writer created it meanwhile
        with azure_errors(f"creating container {container.container_name}"), contextlib.suppress(ResourceExistsError):
            container.create_container()

    def get(self, tenant: str, path: str) -> tuple[bytes, str]:
        """Content and ETag (of the same version); ObjectNotFound when absent."""
        blob = self._container(tenant).get_blob_client(self._check_path(path))
        with azure_errors(f"reading blob {path} of tenant {tenant}"):
            downloader = blob.download_blob()
            data = downloader.readall()
            etag = downloader.properties.etag
        return bytes(data), str(etag)

    def download_to(self, tenant: str, path: str, target: Path) -> str:
        """Stream the blob into ``target`` (``readinto``: chunk by chunk, never whole in memory); the
        ETag of the version downloaded (the download is pinned to it); ObjectNotFound when absent."""
        blob = self._container(tenant).get_blob_client(self._check_path(path))
        with azure_errors(f"reading blob {path} of tenant {tenant}"), target.open("wb") as handle:
            downloader = blob.download_blob()
            downloader.readinto(handle)
            return str(downloader.properties.etag)

    def list(self, tenant: str, prefix: str = "") -> list[str]:
        """Blob names under ``prefix``, sorted; empty when the tenant has no container yet."""
        container = self._container(tenant)
        with azure_errors(f"listing blobs of tenant {tenant}"):
            try:
                names = list(container.list_blob_names(name_starts_with=prefix or None))
            except ResourceNotFoundError:
                return []
        return sorted(names)

    def delete_prefix(self, tenant: str, prefix: str) -> int:
        """Delete the blobs under a folder prefix; how many. A blob gone meanwhile is not an error."""
        container = self._container(tenant)
        deleted = 0
        if not prefix.endswith("/"):
            msg = f"invalid folder {prefix!r}: a relative path ending with '/'"
            raise ConfigError(msg)
        self._check_path(prefix + "_")  # the same rules as a blob name
        with azure_errors(f"deleting blobs under {prefix} of tenant {tenant}"):
            try:
                names = list(container.list_blob_names(name_starts_with=prefix))
            except ResourceNotFoundError:
                return 0
            for name in names:
                with contextlib.suppress(ResourceNotFoundError):
                    container.delete_blob(name)
                    deleted += 1
        return deleted

"""BlobStore.download_to against the local folder and Azurite: the blob streamed into a local file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dq_core.errors import ObjectNotFound

TENANT = "contoso"


def test_download_to_writes_the_blob_and_returns_its_etag(blob_store: Any, tmp_path: Path) -> None:
    data = os.urandom(5 * 1024 * 1024 + 17)  # several download chunks, not a multiple of any
    etag = blob_store.put(TENANT, "landing/big.csv", data)
    target = tmp_path / "copy.csv"
    assert blob_store.download_to(TENANT, "landing/big.csv", target) == etag
    assert target.read_bytes() == data
    assert blob_store.get(TENANT, "landing/big.csv")[1] == etag


def test_download_to_follows_a_replaced_blob(blob_store: Any, tmp_path: Path) -> None:
    first = blob_store.put(TENANT, "landing/a.csv", b"a,b\n1,2\n")
    second = blob_store.put(TENANT, "landing/a.csv", b"a,b\n3,4\n", overwrite=True)
    assert first != second
    target = tmp_path / "a.csv"
    target.write_bytes(b"stale content that is longer than the blob")
    assert blob_store.download_to(TENANT, "landing/a.csv", target) == second
    assert target.read_bytes() == b"a,b\n3,4\n"  # replaced, not appended to


def test_download_to_a_missing_blob_is_object_not_found(blob_store: Any, tmp_path: Path) -> None:
    blob_store.put(TENANT, "landing/present.csv", b"x\n1\n")  # the tenant's container exists
    with pytest.raises(ObjectNotFound):
        blob_store.download_to(TENANT, "landing/absent.csv", tmp_path / "absent.csv")

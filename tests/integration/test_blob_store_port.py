"""The BlobStore port: a local folder (embedded) and Azure Blob Storage behave alike."""

from __future__ import annotations

from typing import Any

import pytest

from dq_core.errors import ObjectNotFound
from dq_core.registry.models import ConflictError

pytestmark = pytest.mark.integration


def test_write_read_list(blob_store: Any) -> None:
    etag = blob_store.put("contoso", "runs/r1/result.json", b"{}")
    assert blob_store.get("contoso", "runs/r1/result.json") == (b"{}", etag)
    blob_store.put("contoso", "raw/a.csv", b"a")
    assert blob_store.list("contoso", "runs/") == ["runs/r1/result.json"]
    with pytest.raises(ObjectNotFound):
        blob_store.get("contoso", "runs/r2/result.json")


def test_a_retry_never_overwrites_another_runs_output(blob_store: Any) -> None:
    first = blob_store.put("contoso", "runs/r1/result.json", b"first")
    with pytest.raises(ConflictError):
        blob_store.put("contoso", "runs/r1/result.json", b"second")
    second = blob_store.put("contoso", "runs/r1/result.json", b"second", if_match=first)
    with pytest.raises(ConflictError):
        blob_store.put("contoso", "runs/r1/result.json", b"third", if_match=first)  # stale ETag
    assert blob_store.get("contoso", "runs/r1/result.json") == (b"second", second)


def test_tenants_have_separate_containers(blob_store: Any) -> None:
    blob_store.put("contoso", "raw/a.csv", b"contoso")
    blob_store.put("fabrikam", "raw/a.csv", b"fabrikam")
    assert blob_store.get("fabrikam", "raw/a.csv")[0] == b"fabrikam"
    assert blob_store.list("fabrikam") == ["raw/a.csv"]


def test_paths_and_tenants_cannot_escape_the_container(blob_store: Any) -> None:
    from dq_core.errors import DQError

    for tenant in (".", "..", "a/b"):
        with pytest.raises(DQError):
            blob_store.list(tenant)
    with pytest.raises(DQError):
        blob_store.put("contoso", "../fabrikam/x", b"x")


def test_a_folder_is_deleted_with_everything_under_it_and_nothing_else(blob_store: Any) -> None:
    from dq_core.errors import DQError

    for name in ("runs/r1/work/chunk-0.parquet", "runs/r1/work/chunk-1.parquet", "runs/r1/result.json"):
        blob_store.put("contoso", name, b"x")
    blob_store.put("contoso", "runs/r10/work/chunk-0.parquet", b"x")  # a sibling whose name shares the prefix text
    blob_store.put("fabrikam", "runs/r1/work/chunk-0.parquet", b"x")
    assert blob_store.delete_prefix("contoso", "runs/r1/work/") == 2
    assert blob_store.list("contoso", "runs/") == ["runs/r1/result.json", "runs/r10/work/chunk-0.parquet"]
    assert blob_store.list("fabrikam") == ["runs/r1/work/chunk-0.parquet"]  # another tenant's: untouched
    assert blob_store.delete_prefix("contoso", "runs/r1/work/") == 0  # gone already: not an error
    assert blob_store.delete_prefix("nobody", "runs/") == 0  # no container yet
    for folder in ("runs/r1", "", "/runs/", "../fabrikam/"):
        with pytest.raises(DQError):
            blob_store.delete_prefix("contoso", folder)

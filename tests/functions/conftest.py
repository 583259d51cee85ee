"""Real Durable clients on the local extension, and the ports the registered functions use.

The registered functions themselves come from the session fixture ``functions``
(tests/conftest.py): ``FunctionApp.get_functions()`` may be called once per process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.utils import http_utils

from adapters.local.folder_blobs import LocalBlobStore
from adapters.local.sqlite_contracts import SqliteContractStore
from adapters.local.sqlite_lineage import SqliteLineageStore
from app.runtime import use_ports
from app.settings import get_settings
from dq_core.runs.payloads import OrchestratorName
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from tests.registry_support import demo_registry

T = TypeVar("T")
SALT = "a-test-salt-for-hashing-0123456789"


def call(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine as the worker would, then close the Durable SDK's shared HTTP session
    (it belongs to this event loop, and the next call runs in another)."""

    async def run() -> T:
        try:
            return await coroutine
        finally:
            await http_utils._close_session()

    return asyncio.run(run())


def accept_run(context: df.DurableOrchestrationContext) -> Any:
    """A stand-in ``run_job``: completes at once with the request it was started with."""
    yield from ()
    return context.get_input()


class Salted:
    """The tenant's secrets: the masking salt, whatever the name."""

    def get(self, tenant: str, reference: str) -> str:
        return SALT


@pytest.fixture
def dev(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The deployment's environment is dev (the demo libraries' environment)."""
    monkeypatch.setenv("DQ_ENVIRONMENT", "dev")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def registry(tmp_path: Path) -> SqliteContractStore:
    return demo_registry(tmp_path / "registry.db")


@pytest.fixture
def ports(tmp_path: Path, registry: SqliteContractStore, dev: None) -> Iterator[RunPorts]:
    wired = RunPorts(
        contracts=registry,
        lineage=SqliteLineageStore(str(tmp_path / "lineage.db")),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        secrets=Salted(),
    )
    use_ports(wired)
    yield wired
    use_ports(None)


@pytest.fixture
def extension(ports: RunPorts) -> Iterator[LocalDurableExtension]:
    """The local extension with the stand-in ``run_job``: what was started, with which input."""
    with LocalDurableExtension({OrchestratorName.RUN_JOB.value: accept_run}, lambda name, payload: None) as running:
        yield running


@pytest.fixture
def client(extension: LocalDurableExtension) -> Any:
    return df.DurableOrchestrationClient(extension.client_binding())


def started(extension: LocalDurableExtension, instance_id: str) -> dict[str, Any]:
    """The RunRequest (as JSON) an instance was started with, once it completed."""
    record = extension.wait(instance_id, timeout=30)
    assert record.runtime_status == "Completed", record.output
    request: dict[str, Any] = record.input
    return request

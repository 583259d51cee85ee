"""The blob and timer triggers never block the worker's event loop with the registry's I/O.

The Python worker runs ``async def`` functions on its one event loop, which every concurrent
invocation and every Durable client call share: a blocking registry query inside one (a
PostgreSQL round trip, a pool waiting for a connection) stalls them all. The registered
functions are called as the worker calls them (a coroutine on an event loop, a real Durable
client on the local extension), over the demo registry wrapped in a store that notes, for each
call, whether it came from a thread running an event loop. Before the fix every read did.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from adapters.local.sqlite_contracts import SqliteContractStore
from app.runtime import use_ports
from dq_core.runs.stages import RunPorts
from local_host.extension import LocalDurableExtension
from tests.functions.conftest import call
from tests.functions.test_blob_events import blob_created
from triggers import schedules


class LoopWatchingRegistry:
    """The real registry; each read records whether its thread was running an event loop."""

    def __init__(self, inner: SqliteContractStore) -> None:
        self.inner = inner
        self.reads: list[tuple[str, bool, str]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop = True
            except RuntimeError:
                on_loop = False
            self.reads.append((name, on_loop, threading.current_thread().name))
            return attribute(*args, **kwargs)

        return watched


@pytest.fixture
def watching(ports: RunPorts, registry: SqliteContractStore) -> Iterator[LoopWatchingRegistry]:
    wrapped = LoopWatchingRegistry(registry)
    use_ports(dataclasses.replace(ports, contracts=wrapped))
    schedules.CACHE.clear()
    yield wrapped
    schedules.CACHE.clear()


def test_the_timer_reads_the_registry_in_a_worker_thread(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    watching: LoopWatchingRegistry,
) -> None:
    monkeypatch.setattr(schedules, "now", lambda: datetime(2026, 11, 25, 6, tzinfo=UTC))
    call(functions["start_scheduled_runs"].get_user_function().client_function(TimerRequest(), client))
    assert extension.instance_ids() == ["contoso:customers_daily:20261125T0600"]  # it did its work
    assert {name for name, _, _ in watching.reads} >= {"tenants", "list"}
    assert [read for read in watching.reads if read[1]] == []  # none on the event loop's thread


def test_the_blob_trigger_reads_the_registry_in_a_worker_thread(
    functions: dict[str, Any], client: Any, extension: LocalDurableExtension, watching: LoopWatchingRegistry
) -> None:
    event = blob_created("landing/crm/customers_2026.csv")
    call(functions["on_blob_created"].get_user_function().client_function(event, client))
    assert extension.instance_ids() == ["contoso:customers_daily:0x8DE2C3F4A5B6C7D"]
    assert "list" in {name for name, _, _ in watching.reads}
    assert [read for read in watching.reads if read[1]] == []


def test_a_slow_registry_does_not_stall_the_event_loop(
    functions: dict[str, Any],
    client: Any,
    extension: LocalDurableExtension,
    monkeypatch: pytest.MonkeyPatch,
    registry: SqliteContractStore,
    ports: RunPorts,
) -> None:
    """Another coroutine on the same loop keeps running while a trigger waits for a slow registry."""

    class Slow(LoopWatchingRegistry):
        def __getattr__(self, name: str) -> Any:
            attribute = super().__getattr__(name)
            if name != "list":
                return attribute

            def slow(*args: Any, **kwargs: Any) -> Any:
                threading.Event().wait(0.5)  # a slow database round trip
                return attribute(*args, **kwargs)

            return slow

    use_ports(dataclasses.replace(ports, contracts=Slow(registry)))
    event = blob_created("landing/crm/customers_2026.csv")
    beats: list[float] = []

    async def heartbeat(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            beats.append(loop.time())
            await asyncio.sleep(0.05)

    async def both() -> None:
        stop = asyncio.Event()
        beating = asyncio.create_task(heartbeat(stop))
        await asyncio.sleep(0)
        await functions["on_blob_created"].get_user_function().client_function(event, client)
        stop.set()
        await beating

    call(both())
    assert extension.instance_ids() == ["contoso:customers_daily:0x8DE2C3F4A5B6C7D"]
    gaps = [later - earlier for earlier, later in pairwise(beats)]
    # it kept beating through the 0.5 s read: a blocked loop would show one gap of 0.5 s or more
    # (the bound leaves room for a loaded CI machine; a read on the loop itself gives >= 0.5 s)
    assert len(beats) >= 6 and max(gaps) < 0.45, gaps

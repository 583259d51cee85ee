"""The local Durable extension answers the real ``DurableOrchestrationClient`` as the Functions host would."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationBindings import DurableOrchestrationBindings
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from local_host.extension import LocalDurableExtension
from tests.functions.conftest import call

RELEASE = threading.Event()


def waits(context: df.DurableOrchestrationContext) -> Any:
    context.set_custom_status({"stage": "waiting"})
    doubled = yield context.call_activity("double", context.get_input())
    context.set_custom_status({"stage": "done"})
    return {"doubled": doubled}


def fails(context: df.DurableOrchestrationContext) -> Any:
    yield context.call_activity("explode", None)
    return "never"


def activity(name: str, payload: str) -> Any:
    if name == "explode":
        raise RuntimeError("the activity exploded")
    assert RELEASE.wait(30)
    return json.loads(payload) * 2


@pytest.fixture
def extension() -> Iterator[LocalDurableExtension]:
    RELEASE.clear()
    with LocalDurableExtension({"waits": waits, "fails": fails}, activity) as running:
        yield running
        RELEASE.set()


@pytest.fixture
def client(extension: LocalDurableExtension) -> Any:
    return df.DurableOrchestrationClient(extension.client_binding())


def fetch(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - our own server on 127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_binding_is_what_the_client_parses(extension: LocalDurableExtension) -> None:
    binding = DurableOrchestrationBindings.from_json(extension.client_binding())
    assert binding.task_hub_name == "dqlocal"
    assert binding.rpc_base_url == f"{extension.base_url}/durabletask/"
    assert binding.rpc_base_url.startswith("http://127.0.0.1:")
    assert binding.management_urls["id"] == "INSTANCEID"
    assert "/instances/INSTANCEID?" in binding.management_urls["statusQueryGetUri"]


def test_an_unknown_instance_has_no_status(extension: LocalDurableExtension, client: Any) -> None:
    status = call(client.get_status("nobody"))
    assert not status and status.runtime_status is None
    assert fetch(f"{extension.base_url}/durabletask/instances/nobody") == (404, b"")


def test_an_instance_runs_through_pending_running_and_completed(extension: LocalDurableExtension, client: Any) -> None:
    assert call(client.start_new("waits", "t:job:1", 21)) == "t:job:1"
    running = call(client.get_status("t:job:1"))
    assert running.runtime_status in (OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Running)
    assert fetch(f"{extension.base_url}/durabletask/instances/t:job:1")[0] == 202
    with pytest.raises(Exception, match="already exists"):  # the SDK raises bare Exception
        call(client.start_new("waits", "t:job:1", 1))
    RELEASE.set()
    extension.wait("t:job:1", timeout=30)
    done = call(client.get_status("t:job:1", show_input=True))
    assert done.runtime_status is OrchestrationRuntimeStatus.Completed
    assert (done.output, done.custom_status, done.input_) == ({"doubled": 42}, {"stage": "done"}, 21)
    assert done.name == "waits" and done.instance_id == "t:job:1"
    assert done.last_updated_time >= done.created_time
    assert call(client.get_status("t:job:1")).input_ is None  # only with showInput


def test_the_check_status_response_points_at_this_server(extension: LocalDurableExtension, client: Any) -> None:
    RELEASE.set()
    call(client.start_new("waits", "t:job:2", 1))
    extension.wait("t:job:2", timeout=30)
    request = func.HttpRequest("POST", f"{extension.base_url}/api/start", body=b"")
    response = client.create_check_status_response(request, "t:job:2")
    assert response.status_code == 202
    links = json.loads(response.get_body())
    status, body = fetch(links["statusQueryGetUri"])
    assert status == 200
    assert json.loads(body)["runtimeStatus"] == "Completed"
    assert fetch(links["terminatePostUri"].replace("{text}", "stop"), "POST")[0] == 501


def test_a_failed_instance_reports_its_error_and_may_be_started_again(
    extension: LocalDurableExtension, client: Any
) -> None:
    call(client.start_new("fails", "t:job:3", None))
    failed = extension.wait("t:job:3", timeout=30)
    assert failed.runtime_status == "Failed"
    assert "the activity exploded" in failed.output
    status, body = fetch(f"{extension.base_url}/durabletask/instances/t:job:3")
    assert status == 400 and json.loads(body)["runtimeStatus"] == "Failed"
    RELEASE.set()
    call(client.start_new("waits", "t:job:3", 2))  # a failed instance is replaced
    assert extension.wait("t:job:3", timeout=30).output == {"doubled": 4}


def test_unknown_orchestrators_and_generated_ids(extension: LocalDurableExtension, client: Any) -> None:
    with pytest.raises(Exception, match="The function 'nope' doesn't exist"):
        call(client.start_new("nope", "t:job:4", None))
    RELEASE.set()
    generated = call(client.start_new("waits", None, 5))
    assert len(generated) == 32 and extension.wait(generated, timeout=30).output == {"doubled": 10}
    assert extension.instance_ids() == [generated]

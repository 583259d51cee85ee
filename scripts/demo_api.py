"""The HTTP steps of the demo and of the deployment smoke test: one module, two callers.

``scripts/demo.sh`` starts ``dq serve`` with a local test token and runs ``demo``;
``scripts/azure_smoke.sh`` gets an Entra ID token with ``az account get-access-token`` and runs
``smoke`` against the deployed Function App. Both go through :class:`DqApi`, whose base URL and
token are parameters: liveness and readiness, an upload of an extract, its run's Durable
instance followed to the end, the run's record and its report.

Usage (the bearer token comes from the environment variable ``DQ_API_TOKEN``, never from the
command line, where ``ps`` would show it)::

    demo_api.py demo  BASE_URL SAMPLE OUT_DIR
    demo_api.py smoke BASE_URL SAMPLE OUT_DIR [--tenant contoso] [--dataset customers] [--timeout 900]

Exit status: 0 when the run ended and its report was fetched (a *failed* verdict is a data
outcome, not a broken deployment); 1 when a step failed (one line on stderr saying which); 2
for bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

TOKEN_VARIABLE: Final = "DQ_API_TOKEN"  # noqa: S105 - the name of the variable that holds it
ENDED: Final = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
Say = Callable[[str], None]


class StepFailed(Exception):
    """A step of the walk did not give what it should (the message says which and why, one line)."""


@dataclass(frozen=True)
class RunOutcome:
    instance_id: str
    runtime_status: str
    run_id: str | None = None
    verdict: str | None = None  # passed | failed | error: the run's status
    report: Path | None = None
    report_url: str | None = None


def _problem(response: httpx.Response) -> str:
    """A refused answer in one line: its status and the problem's title/detail (never a token)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = (body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""
    return f"HTTP {response.status_code}" + (f": {' '.join(str(detail).split())[:300]}" if detail else "")


class DqApi:
    """The DQ HTTP API at ``base_url`` (``https://<app>.azurewebsites.net`` or ``http://127.0.0.1:PORT``),
    called with ``token`` as the bearer token of every request but the probes'."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def __enter__(self) -> DqApi:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def _json(self, method: str, path: str, what: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StepFailed(f"{what}: {type(exc).__name__}: {exc}") from None
        if response.status_code not in expect:
            raise StepFailed(f"{what}: {_problem(response)}")
        return response.json()

    # --- probes (no token needed) ---------------------------------------------------------------

    def wait_until_live(self, seconds: float) -> None:
        """Poll ``/api/health`` until it answers 200 (a server starting, a cold Function App)."""
        deadline = time.monotonic() + seconds
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                response = self._client.get("/api/health")
                if response.status_code == 200:
                    return
                last = _problem(response)
            except httpx.TransportError as exc:
                last = type(exc).__name__
            time.sleep(0.5)
        raise StepFailed(f"GET /api/health did not answer 200 within {seconds:.0f} s ({last})")

    def health(self) -> dict[str, Any]:
        """Liveness: the app answers (never depends on the registry)."""
        body: dict[str, Any] = self._json("GET", "/api/health", "GET /api/health")
        return body

    def readiness(self) -> dict[str, Any]:
        """Readiness: the app reaches its stores (a 503 says which is down)."""
        body: dict[str, Any] = self._json("GET", "/api/health/ready", "GET /api/health/ready")
        return body

    def status_without_token(self, path: str) -> int:
        """The status code of ``path`` asked without the bearer token (the API must refuse it)."""
        return httpx.get(self.base_url + path, timeout=30).status_code

    # --- the API --------------------------------------------------------------------------------

    def contracts(self, tenant: str) -> list[dict[str, Any]]:
        body = self._json("GET", f"/api/tenants/{tenant}/config/contracts", f"GET contracts of {tenant}")
        items: list[dict[str, Any]] = body["items"]
        return items

    def upload(self, tenant: str, dataset: str, sample: Path) -> dict[str, Any]:
        """PUT the file to ``/uploads/{dataset}``: the run it started (``instance_id``, ``status_url``).
        The same bytes uploaded before (409) are followed where they ran."""
        path = f"/api/tenants/{tenant}/uploads/{dataset}"
        try:
            response = self._client.put(
                path,
                params={"filename": sample.name},
                content=sample.read_bytes(),
                headers={"Content-Type": "text/csv"},
            )
        except httpx.HTTPError as exc:
            raise StepFailed(f"PUT {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 409 and response.headers.get("Location"):
            location = response.headers["Location"]
            return {"instance_id": location.rstrip("/").rsplit("/", 1)[-1], "status_url": location, "repeated": True}
        if response.status_code not in (200, 201, 202):
            raise StepFailed(f"PUT {path}: {_problem(response)}")
        started: dict[str, Any] = response.json()
        return started

    def follow(self, status_url: str, *, timeout: float, poll: float = 1.0, say: Say | None = None) -> dict[str, Any]:
        """The instance's status until its runtime status is final (``timeout`` seconds at most);
        each new stage is told to ``say``."""
        deadline = time.monotonic() + timeout
        seen: tuple[object, ...] = ()
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self._json("GET", status_url, "GET the run's status")
            raw = status.get("custom_status")
            custom: dict[str, Any] = raw if isinstance(raw, dict) else {}
            now = (status.get("runtime_status"), custom.get("stage"), custom.get("chunks_done"))
            if say is not None and now != seen:
                say(f"  {now[0]}: stage {now[1] or '-'}, chunks {now[2] or 0}/{custom.get('chunks_total') or 0}")
                seen = now
            if status.get("runtime_status") in ENDED:
                return status
            time.sleep(poll)
        last = status.get("runtime_status") or "unknown"
        raise StepFailed(f"the run did not end within {timeout:.0f} s (last runtime status {last})")

    def run(self, tenant: str, run_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._json("GET", f"/api/tenants/{tenant}/runs/{run_id}", f"GET run {run_id}")
        return body

    def report_url(self, tenant: str, run_id: str) -> str:
        return f"{self.base_url}/api/tenants/{tenant}/runs/{run_id}/report"

    def report(self, tenant: str, run_id: str) -> bytes:
        path = f"/api/tenants/{tenant}/runs/{run_id}/report"
        try:
            response = self._client.get(path)
        except httpx.HTTPError as exc:
            raise StepFailed(f"GET {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise StepFailed(f"GET {path}: {_problem(response)}")
        return response.content


# --- the walks ---------------------------------------------------------------------------------


def upload_and_follow(
    api: DqApi, tenant: str, dataset: str, sample: Path, out: Path, *, timeout: float, say: Say
) -> RunOutcome:
    """Upload ``sample``, follow its run to the end, read its record and save its report in ``out``."""
    started = api.upload(tenant, dataset, sample)
    instance = str(started["instance_id"])
    again = " (these bytes were uploaded before: following that run)" if started.get("repeated") else ""
    say(f"PUT /api/tenants/{tenant}/uploads/{dataset} -> {instance}{again}")
    status = api.follow(str(started["status_url"]), timeout=timeout, say=say)
    runtime = str(status.get("runtime_status"))
    run_ids = status.get("run_ids") or []
    if runtime != "Completed" or not run_ids:
        return RunOutcome(instance_id=instance, runtime_status=runtime)
    run_id = str(run_ids[0])
    record = api.run(tenant, run_id)
    verdict = str(record["run"]["status"])
    say(f"GET /api/tenants/{tenant}/runs/{run_id} -> status {verdict}")
    report = api.report(tenant, run_id)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "report.html"
    saved.write_bytes(report)
    say(f"GET /api/tenants/{tenant}/runs/{run_id}/report -> {saved} ({len(report)} bytes)")
    return RunOutcome(instance, runtime, run_id, verdict, saved, api.report_url(tenant, run_id))


def demo(api: DqApi, sample: Path, out: Path, *, say: Say = print) -> int:
    """The demo's API part (scripts/demo.sh): a local ``dq serve`` with the demo libraries."""
    api.wait_until_live(30)
    say(f"GET /api/health -> {api.health()}")
    contracts = api.contracts("contoso")
    say(f"GET /api/tenants/contoso/config/contracts -> {[(c['id'], c['version'], c['status']) for c in contracts]}")
    outcome = upload_and_follow(api, "contoso", "customers", sample, out, timeout=60, say=say)
    say(f"without a token: {api.status_without_token('/api/tenants/contoso/runs')}")
    return 0 if outcome.report is not None else 1


def smoke(api: DqApi, sample: Path, out: Path, *, tenant: str, dataset: str, timeout: float, say: Say = print) -> int:
    """After a deployment (scripts/azure_smoke.sh): alive, ready, and an upload runs to its verdict."""
    api.wait_until_live(120)  # a Flex Consumption app may start cold
    say(f"GET /api/health -> {api.health()}")
    say(f"GET /api/health/ready -> {api.readiness()}")
    outcome = upload_and_follow(api, tenant, dataset, sample, out, timeout=timeout, say=say)
    if outcome.report_url is None:
        say(f"the run's instance {outcome.instance_id} ended {outcome.runtime_status} without a run")
        return 1
    refused = api.status_without_token(f"/api/tenants/{tenant}/runs")
    if refused != 401:
        say(f"GET /api/tenants/{tenant}/runs without a token answered {refused}, not 401")
        return 1
    say(f"verdict: {outcome.verdict} (run {outcome.run_id})")
    say(f"report: {outcome.report_url} (with a DQ.Reader bearer token; a copy in {outcome.report})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo_api.py", description=__doc__.split("\n\n")[0])
    walks = parser.add_subparsers(dest="walk", required=True)
    for name in ("demo", "smoke"):
        walk = walks.add_parser(name)
        walk.add_argument("base_url")
        walk.add_argument("sample", type=Path)
        walk.add_argument("out", type=Path)
        if name == "smoke":
            walk.add_argument("--tenant", default="contoso")
            walk.add_argument("--dataset", default="customers")
            walk.add_argument("--timeout", type=float, default=900.0, help="seconds the run may take")
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE, "").strip()  # noqa: TID251 - a script's own input, not dq_core
    if not token:
        parser.error(f"set {TOKEN_VARIABLE} to the bearer token")
    try:
        with DqApi(args.base_url, token) as api:
            if args.walk == "demo":
                return demo(api, args.sample, args.out)
            return smoke(api, args.sample, args.out, tenant=args.tenant, dataset=args.dataset, timeout=args.timeout)
    except StepFailed as exc:
        print(f"{args.walk}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

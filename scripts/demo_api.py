"""The demo's API part: upload the sample extract to a running ``dq serve`` with a bearer token,
follow the run's Durable instance to its end, and save its report. Usage:
demo_api.py BASE_URL TOKEN SAMPLE OUT_DIR (the demo script starts the server and mints the token)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx


def main(base: str, token: str, sample: Path, out: Path) -> int:
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    for _ in range(150):  # the server needs a moment to listen
        try:
            if api.get("/api/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    print("GET /api/health ->", api.get("/api/health").json())
    contracts = api.get("/api/tenants/contoso/config/contracts").json()["items"]
    print("GET /api/tenants/contoso/config/contracts ->", [(c["id"], c["version"], c["status"]) for c in contracts])
    started = api.put(
        "/api/tenants/contoso/uploads/customers",
        params={"filename": sample.name},
        content=sample.read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    print("PUT /api/tenants/contoso/uploads/customers ->", started.status_code, started.json()["instance_id"])
    status: dict[str, object] = {}
    for _ in range(300):
        status = api.get(started.json()["status_url"]).json()
        if status.get("runtime_status") in ("Completed", "Failed", "Terminated"):
            break
        time.sleep(0.2)
    run_id = str((status.get("run_ids") or ["?"])[0])  # type: ignore[index]
    run = api.get(f"/api/tenants/contoso/runs/{run_id}").json()
    print(f"GET /api/tenants/contoso/runs/{run_id} -> status {run['run']['status']}")
    report = api.get(f"/api/tenants/contoso/runs/{run_id}/report")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.html").write_bytes(report.content)
    print(f"GET /api/tenants/contoso/runs/{run_id}/report -> {out / 'report.html'} ({len(report.content)} bytes)")
    print("without a token:", httpx.get(base + "/api/tenants/contoso/runs").status_code)
    return 0 if report.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])))

"""``dq serve`` as a developer runs it: a real server on a free port, called with curl-like requests
and real tokens (a JWKS issuer on 127.0.0.1, or the local key of ``dq token``), stopped with Ctrl-C."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.auth_support import TokenFactory
from tests.conftest import LIBRARIES, ROOT
from tests.e2e.test_cli import dq
from tests.registry_support import demo_registry
from tests.serve_support import free_port, serve_env, served

CONTRACTS = "/api/tenants/{tenant}/config/contracts"
SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
SECRETS = {"DQ_SECRET_CONTOSO__DQ_MASK_SALT": "a-test-salt-for-hashing-0123456789"}  # the demo's masking salt


def test_serve_hosts_the_api_with_entra_tokens(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    demo_registry(home / "registry.db")  # the demo tenant contoso/dev, published
    factory = TokenFactory()
    with factory.serve() as jwks, served(home, {**factory.settings_env(jwks.url), **SECRETS}) as api:
        health = httpx.get(f"{api.url}/api/health").json()
        assert health == {"status": "ok", "environment": "dev", "auth": "on"}
        document = httpx.get(f"{api.url}/api/openapi.json").json()
        assert document["openapi"].startswith("3.1")
        assert "/api/tenants/{tenant}/config/{kind}" in document["paths"]

        token = factory.bearer(tenants=["contoso"], roles=["DQ.Reader"])
        listed = httpx.get(api.url + CONTRACTS.format(tenant="contoso"), headers={"Authorization": token})
        assert listed.status_code == 200, listed.text
        assert "customers" in {item["id"] for item in listed.json()["items"]}

        anonymous = httpx.get(api.url + CONTRACTS.format(tenant="contoso"))
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")

        elsewhere = httpx.get(api.url + CONTRACTS.format(tenant="fabrikam"), headers={"Authorization": token})
        assert elsewhere.status_code == 403
        assert elsewhere.json()["code"] == "forbidden"
        assert jwks.requests >= 1  # the server fetched the issuer's keys over HTTP

        # an upload runs the demo job through the real orchestrator on the local Durable extension
        operator = {"Authorization": factory.bearer(tenants=["contoso"], roles=["DQ.Operator"])}
        uploaded = httpx.put(
            api.url + "/api/tenants/contoso/uploads/customers",
            params={"filename": "customers.csv"},
            content=SAMPLE.read_bytes(),
            headers={**operator, "Content-Type": "text/csv"},
        )
        assert uploaded.status_code == 202, uploaded.text
        status_url = uploaded.json()["status_url"]
        assert status_url.startswith(f"{api.url}/api/tenants/contoso/instances/contoso:customers_daily:")
        status = _follow(status_url, operator)
        assert status["runtime_status"] == "Completed", status
        (run_id,) = status["run_ids"]
        result = httpx.get(f"{api.url}/api/tenants/contoso/runs/{run_id}/result", headers={"Authorization": token})
        assert result.status_code == 200, result.text
        assert result.json()["run_id"] == run_id
        assert result.json()["status"] in ("passed", "failed")
    assert f"{api.url}/api" in api.stdout
    assert "Ctrl-C" in api.stdout


def test_serve_with_the_local_key_of_dq_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert dq("token", "keygen", "--home", str(home)).returncode == 0
    minted = dq("token", "mint", "--tenant", "contoso", "--role", "DQ.Reader", "--home", str(home))
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    settings = {"DQ_ENVIRONMENT": "local", "DQ_AUTH_MODE": "local-key"}
    with served(home, settings, "--libraries", str(LIBRARIES)) as api:
        assert httpx.get(f"{api.url}/api/health").json()["auth"] == "on"
        url = api.url + CONTRACTS.format(tenant="contoso")
        listed = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert httpx.get(url, headers={"Authorization": f"Bearer {token[:-4]}AAAA"}).status_code == 401
        assert httpx.get(url).status_code == 401
        audit = httpx.get(api.url + "/api/tenants/contoso/audit", headers={"Authorization": f"Bearer {token}"})
    # --libraries served the demo tenant's files in environment local: stored, approved by the
    # local reviewer (not the author) and published, so its jobs can run at once
    assert "registry (environment local): 10 published" in api.stdout
    assert listed.status_code == 200
    assert [(c["id"], c["environment"], c["status"]) for c in listed.json()["items"]] == [
        ("customers", "local", "published")
    ]
    assert audit.status_code == 403  # a Reader may not read the audit log


def test_auth_is_off_only_in_local_and_health_says_so(tmp_path: Path) -> None:
    with served(tmp_path / "home", {"DQ_ENVIRONMENT": "local"}) as api:
        assert httpx.get(f"{api.url}/api/health").json() == {"status": "ok", "environment": "local", "auth": "off"}
        assert httpx.get(api.url + CONTRACTS.format(tenant="contoso")).status_code == 200
    assert "auth off" in api.stdout

    open_to_all = ("serve", "--home", str(tmp_path / "home"), "--host", "0.0.0.0", "--port", str(free_port()))  # noqa: S104
    exposed = _dq(*open_to_all, env=_env("local", "off"))
    assert exposed.returncode == 2
    assert exposed.stderr.strip() == (
        "config_invalid: auth is off: dq serve then listens on 127.0.0.1 only, not 0.0.0.0 (set DQ_AUTH_MODE)"
    )

    refused = _dq("serve", "--home", str(tmp_path / "home"), "--port", str(free_port()), env=_env("dev", "off"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "config_invalid: DQ_AUTH_MODE=off is allowed only in environment local (DQ_ENVIRONMENT is dev)"
    ]


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with served(tmp_path / "home", {"DQ_ENVIRONMENT": "local"}) as api:
        port = api.url.rsplit(":", 1)[1]
        taken = _dq("serve", "--home", str(tmp_path / "other"), "--port", port, env=_env("local", "off"))
        assert taken.returncode == 2
        assert taken.stderr.strip() == f"config_invalid: cannot listen on 127.0.0.1:{port}: Address already in use"


def _follow(url: str, headers: dict[str, str], timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["runtime_status"] not in ("Pending", "Running"):
            return body
        time.sleep(0.5)
    msg = f"{url} still running after {timeout} s"
    raise AssertionError(msg)


def _dq(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def _env(environment: str, mode: str) -> dict[str, str]:
    return serve_env({"DQ_ENVIRONMENT": environment, "DQ_AUTH_MODE": mode})

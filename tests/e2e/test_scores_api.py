"""The run API's quality scores over real HTTP (``dq serve`` on a free port, Entra-shaped tokens from a JWKS issuer
on 127.0.0.1): two uploads of the demo dataset run through the real orchestrator, then the run detail's
``scores`` and ``GET /api/tenants/{tenant}/datasets/{dataset}/scores`` (newest first, paged), and what
another tenant's callers get: 403 on this tenant's path, nothing of it on their own."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import polars as pl

from tests.auth_support import TokenFactory
from tests.conftest import LIBRARIES
from tests.e2e.test_serve import _follow
from tests.registry_support import demo_registry
from tests.serve_support import served

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
SECRETS = {"DQ_SECRET_CONTOSO__DQ_MASK_SALT": "a-test-salt-for-hashing-0123456789"}
SCORES = "/api/tenants/{tenant}/datasets/{dataset}/scores"


def _upload(url: str, headers: dict[str, str], name: str, data: bytes) -> str:
    uploaded = httpx.put(
        url + "/api/tenants/contoso/uploads/customers",
        params={"filename": name},
        content=data,
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert uploaded.status_code == 202, uploaded.text
    status = _follow(uploaded.json()["status_url"], headers)
    assert status["runtime_status"] == "Completed", status
    (run_id,) = status["run_ids"]
    return str(run_id)


def _larger_extract() -> bytes:
    """The sample's rows (and defects) 120 times over, with ids of their own: another file of the dataset."""
    header, *lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    rows = (f"CUS-{i:06d},{lines[i % len(lines)].split(',', 1)[1]}" for i in range(120))
    return "\n".join([header, *rows, ""]).encode("utf-8")


def test_scores_of_runs_over_http_and_only_for_their_tenant(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    demo_registry(home / "registry.db")
    factory = TokenFactory()
    with factory.serve() as jwks, served(home, {**factory.settings_env(jwks.url), **SECRETS}) as api:
        operator = {"Authorization": factory.bearer(tenants=["contoso"], roles=["DQ.Operator"])}
        reader = {"Authorization": factory.bearer(tenants=["contoso"], roles=["DQ.Reader"])}
        first = _upload(api.url, operator, "customers.csv", SAMPLE.read_bytes())
        second = _upload(api.url, operator, "customers-larger.csv", _larger_extract())

        results = {}
        for run_id in (first, second):
            detail = httpx.get(f"{api.url}/api/tenants/contoso/runs/{run_id}", headers=reader)
            assert detail.status_code == 200, detail.text
            body = detail.json()
            assert body["scores"] == body["result"]["scores"]
            assert body["scores"]["overall"] is not None
            results[run_id] = body["result"]
        assert results[first]["scores"] != results[second]["scores"]  # two extracts, two sets of scores

        url = api.url + SCORES.format(tenant="contoso", dataset="customers")
        history = httpx.get(url, headers=reader)
        assert history.status_code == 200, history.text
        listed = history.json()
        assert listed["dataset"] == "customers" and listed["next"] is None
        assert [p["run_id"] for p in listed["points"]] == [second, first]  # newest first
        for point in listed["points"]:
            result = results[point["run_id"]]
            assert point["overall"] == result["scores"]["overall"]
            assert point["dimensions"] == {k: v["score"] for k, v in result["scores"]["dimensions"].items()}
            assert point["status"] == result["status"] == "failed"
            assert point["rows"] == result["cleansing"]["rows_out"]
            assert point["finished_at"].replace("Z", "+00:00") == result["finished_at"].replace("Z", "+00:00")
            assert point["job_id"] == "customers_daily" and point["contract_id"] == "customers"

        page = httpx.get(url, params={"limit": 1}, headers=reader).json()
        assert [p["run_id"] for p in page["points"]] == [second] and page["next"] is not None
        rest = httpx.get(page["next_url"], headers=reader).json()
        assert [p["run_id"] for p in rest["points"]] == [first] and rest["next"] is None

        other_dataset = httpx.get(api.url + SCORES.format(tenant="contoso", dataset="orders"), headers=reader)
        assert other_dataset.status_code == 200 and other_dataset.json()["points"] == []

        # another tenant's caller: refused on this tenant's path, and sees none of its runs on its own
        fabrikam = {"Authorization": factory.bearer(tenants=["fabrikam"], roles=["DQ.Reader", "DQ.Admin"])}
        refused = httpx.get(url, headers=fabrikam)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert refused.headers["content-type"] == "application/problem+json"
        own = httpx.get(api.url + SCORES.format(tenant="fabrikam", dataset="customers"), headers=fabrikam)
        assert own.status_code == 200 and own.json()["points"] == []
        stolen = httpx.get(
            api.url + SCORES.format(tenant="fabrikam", dataset="customers"),
            params={"limit": 1, "cursor": page["next"]},
            headers=fabrikam,
        )
        assert stolen.status_code == 400 and stolen.json()["code"] == "invalid_query"  # the cursor is contoso's
        elsewhere = httpx.get(f"{api.url}/api/tenants/fabrikam/runs/{first}", headers=fabrikam)
        assert elsewhere.status_code == 404

        # the run's failing rows, as the run wrote them (masked), for its own tenant only
        failed = httpx.get(f"{api.url}/api/tenants/contoso/runs/{first}/failed-rows", headers=reader)
        assert failed.status_code == 200 and failed.headers["content-type"] == "application/vnd.apache.parquet"
        rows = pl.read_parquet(io.BytesIO(failed.content))
        assert rows.height == results[first]["failed_rows"]["rows"] > 0
        assert set(rows["full_name"].drop_nulls().to_list()) == {"***"}  # pii: a Reader sees no raw value
        theirs = httpx.get(f"{api.url}/api/tenants/fabrikam/runs/{first}/failed-rows", headers=fabrikam)
        assert theirs.status_code == 404

        assert httpx.get(url).status_code == 401
        no_role = {"Authorization": factory.bearer(tenants=["contoso"], roles=[])}
        assert httpx.get(url, headers=no_role).status_code == 403

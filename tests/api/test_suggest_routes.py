"""``POST /api/tenants/{tenant}/suggestions``: an uploaded file in, a draft contract (authoring JSON) out.

Through TestClient on the SQLite registry with the demo libraries published (environment dev), and
over real HTTP on a running ``dq serve`` with a ``dq token`` Author token. The draft answered must
pass ``dq libraries check`` in a libraries folder and validate the file it came from.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.context import ApiContext
from api.main import create_app
from dq_core.runs.check import validate_file
from services import workspace
from tests.api.conftest import assert_problem, bearer, make_context
from tests.conftest import LIBRARIES, ROOT
from tests.registry_support import demo_registry
from tests.serve_support import served

SAMPLE = LIBRARIES / "contoso" / "samples" / "customers.csv"
URL = "/api/tenants/contoso/suggestions"
CSV = {"content-type": "text/csv"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    context: ApiContext = make_context(tmp_path, contracts=demo_registry(tmp_path / "registry.db"))
    with TestClient(create_app(context), raise_server_exceptions=False) as client:
        yield client


def _passes(draft: dict[str, Any], libraries: Path, data: Path) -> str:
    """Write the draft into ``libraries``; it loads, resolves and validates ``data``: the verdict."""
    path = libraries / draft["tenant"] / draft["environment"] / "contracts" / f"{draft['id']}-draft.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(draft), encoding="utf-8")
    space = workspace.workspace_from_directory(libraries)
    assert workspace.check_workspace(space) == []
    scope = workspace.Scope(draft["tenant"], draft["environment"])
    bundle = workspace.contract_bundle(space, scope, draft["id"], version=draft["version"])
    result, _ = validate_file(data, bundle)
    assert result.validation is not None
    suggested = set(draft["extensions"]["dq_suggest"]["suggested"])
    failing = {r.rule_id for r in result.validation.rules if r.status.value in ("failed", "error")}
    assert not suggested & failing, suggested & failing
    return result.status.value


def test_an_author_gets_a_draft_that_checks_and_passes(client: TestClient, tmp_path: Path) -> None:
    answer = client.post(
        f"{URL}?dataset=crm_customers&filename=customers.csv", content=SAMPLE.read_bytes(), headers=bearer("ann", **CSV)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    draft = answer.json()
    assert list(draft)[:6] == ["kind", "tenant", "environment", "id", "version", "status"]
    assert (draft["tenant"], draft["environment"], draft["id"], draft["version"], draft["status"]) == (
        "contoso",
        "dev",
        "crm_customers",
        "0.1.0",
        "draft",
    )
    bindings = draft["datasets"][0]["bindings"]
    assert {b["id"] for b in bindings} == set(draft["extensions"]["dq_suggest"]["suggested"])
    assert all(b["check"]["description"].startswith("suggested: ") for b in bindings)
    assert _passes(draft, tmp_path / "libraries", SAMPLE) == "passed"


def test_with_a_contract_of_the_registry_only_missing_rules_are_suggested(client: TestClient, tmp_path: Path) -> None:
    answer = client.post(
        f"{URL}?contract=customers",
        content=SAMPLE.read_bytes(),
        headers=bearer("ann", **CSV, **{"x-file-name": "c.csv"}),
    )
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    assert (draft["id"], draft["version"], draft["status"]) == ("customers", "1.1.0", "draft")
    ids = [b["id"] for b in draft["datasets"][0]["bindings"]]
    assert ids[:4] == ["volume", "segment_values", "adult_customers", "email_completeness"]  # the contract's own
    suggested = draft["extensions"]["dq_suggest"]["suggested"]
    assert ids[4:] == suggested and "segment_not_null" in suggested
    assert "full_name_not_null" not in suggested  # the contract requires it already
    libraries = tmp_path / "libraries"
    shutil.copytree(LIBRARIES, libraries)
    assert _passes(draft, libraries, SAMPLE) == "failed"  # the demo extract breaks the contract's own rules


def test_a_generated_parquet_upload(client: TestClient, tmp_path: Path) -> None:
    frame = pl.DataFrame({"i": pl.int_range(0, 500, eager=True)}).select(
        sku=pl.format("SKU-{}", pl.col("i") + 1000),
        price=pl.col("i").cast(pl.Float64) * 1.5,
        size=pl.lit(pl.Series(["S", "M", "L"])).gather(pl.col("i") % 3),
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    answer = client.post(
        f"{URL}?filename=stock.parquet",
        content=buffer.getvalue(),
        headers=bearer("ada", **{"content-type": "application/vnd.apache.parquet"}),
    )
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    assert (draft["id"], draft["datasets"][0]["name"]) == ("stock", "stock")
    suggested = set(draft["extensions"]["dq_suggest"]["suggested"])
    assert {"sku_pattern", "sku_unique", "price_range", "size_values", "volume_band"} <= suggested
    data = tmp_path / "stock.parquet"
    data.write_bytes(buffer.getvalue())
    assert _passes(draft, tmp_path / "libraries", data) == "passed"


@pytest.mark.parametrize(("caller", "status", "code"), [("rita", 403, "forbidden"), ("otto", 403, "forbidden")])
def test_readers_and_operators_may_not(client: TestClient, caller: str, status: int, code: str) -> None:
    answer = client.post(f"{URL}?filename=c.csv", content=SAMPLE.read_bytes(), headers=bearer(caller, **CSV))
    assert_problem(answer, status, code)


def test_another_tenant_or_no_token_may_not(client: TestClient) -> None:
    assert_problem(
        client.post(f"{URL}?filename=c.csv", content=b"a\n1\n", headers=bearer("eve", **CSV)), 403, "forbidden"
    )
    assert_problem(client.post(f"{URL}?filename=c.csv", content=b"a\n1\n", headers=CSV), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("query", "body", "headers", "status", "code"),
    [
        ("?filename=c.csv", b"customer_id,email\n", CSV, 422, "header_only"),
        ("?filename=c.csv", b"", CSV, 422, "empty_file"),
        ("?filename=c.parquet", b"a,b\n1,2\n", CSV, 422, "format_mismatch"),
        ("?filename=c.txt", b"a,b\n1,2\n", CSV, 422, "input_invalid"),
        ("", b"a,b\n1,2\n", CSV, 400, "invalid_request"),
        ("?filename=c.png", b"\x89PNG", {"content-type": "image/png"}, 415, "unsupported_media_type"),
        ("?filename=c.csv&dataset=9lives", b"a\n1\n", CSV, 400, "invalid_request"),
        ("?filename=c.csv&contract=nope", b"a\n1\n", CSV, 404, "not_found"),
    ],
)
def test_bad_uploads_are_named_problems(
    client: TestClient, query: str, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    assert_problem(client.post(URL + query, content=body, headers=bearer("ann", **headers)), status, code)


def _dq(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_over_real_http_on_dq_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _dq("token", "keygen", "--home", str(home))
    author = _dq("token", "mint", "--tenant", "contoso", "--role", "DQ.Author", "--home", str(home))
    reader = _dq("token", "mint", "--tenant", "contoso", "--role", "DQ.Reader", "--home", str(home))
    settings = {"DQ_ENVIRONMENT": "local", "DQ_AUTH_MODE": "local-key"}
    with served(home, settings, "--libraries", str(LIBRARIES)) as api:
        url = f"{api.url}{URL}?contract=customers&filename=customers.csv"
        answer = httpx.post(
            url, content=SAMPLE.read_bytes(), headers={"Authorization": f"Bearer {author}", **CSV}, timeout=60
        )
        refused = httpx.post(
            url, content=SAMPLE.read_bytes(), headers={"Authorization": f"Bearer {reader}", **CSV}, timeout=60
        )
        fresh = httpx.post(
            f"{api.url}{URL}?filename=customers.csv",
            content=SAMPLE.read_bytes(),
            headers={"Authorization": f"Bearer {author}", **CSV},
            timeout=60,
        )
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    assert (draft["environment"], draft["id"], draft["version"]) == ("local", "customers", "1.1.0")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert fresh.status_code == 200, fresh.text
    assert (fresh.json()["id"], fresh.json()["environment"]) == ("customers", "local")

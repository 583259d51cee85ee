"""services.history over the real stores (SQLite and Table Storage lineage, folder and Blob
Storage containers on Azurite): which runs make a dataset's history, newest first, one
tenant's only, by environment, and the named errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dq_core.errors import OptionError
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.reporting.history import collect_history
from services.history import EnvironmentAmbiguous, HistoryQuery, NoHistory, dataset_results, history_html
from tests.history_support import T0, plan, results, store


class CountingBlobs:
    """The real store, counting the files read."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads: list[str] = []

    def get(self, tenant: str, path: str) -> tuple[bytes, str]:
        self.reads.append(path)
        data: tuple[bytes, str] = self.inner.get(tenant, path)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_datasets_history_is_its_own_runs_newest_first(lineage_store: Any, blob_store: Any) -> None:
    orders, customers = results(plan(6)), results(plan(5, seed=2), dataset="customers")
    theirs = [  # the same dataset in another tenant
        r.model_copy(update={"run_id": "fabrikam-" + r.run_id}) for r in results(plan(4), tenant="fabrikam")
    ]
    store(lineage_store, blob_store, orders + customers + theirs)
    running = RunRecord(
        tenant="contoso",
        run_id="orders-running",
        environment="dev",
        status="running",
        started_at=T0 + timedelta(days=30),
        ingestion_mode=IngestionMode.LOCAL,
        input_uri="file:///in.csv",
        contract_id="orders",
        contract_version="1.0.0",
        contract_sha256="a" * 64,
        bundle_sha256=orders[0].contract.bundle_sha256,  # type: ignore[union-attr]
    )
    lineage_store.put_run(running)  # still running: no result yet, not in the history
    counting = CountingBlobs(blob_store)

    found = dataset_results(lineage_store, counting, "contoso", HistoryQuery("orders"))
    assert [r.run_id for r in found] == [r.run_id for r in reversed(orders)]
    assert {r.tenant for r in found} == {"contoso"}
    # the customers runs share one bundle: one of their results was read to learn that, no more
    assert len(counting.reads) == len(orders) + 1

    newest = dataset_results(lineage_store, blob_store, "contoso", HistoryQuery("orders", limit=2))
    assert [r.run_id for r in newest] == [orders[-1].run_id, orders[-2].run_id]
    customers_query = HistoryQuery("customers")
    history = collect_history(dataset_results(lineage_store, blob_store, "contoso", customers_query), "customers")
    assert [run.run_id for run in history.runs] == [r.run_id for r in customers]  # oldest first on the page
    assert [r.tenant for r in dataset_results(lineage_store, blob_store, "fabrikam", HistoryQuery("orders"))] == [
        "fabrikam"
    ] * 4

    page = history_html(lineage_store, blob_store, "contoso", HistoryQuery("orders"), run_link=lambda r: f"runs/{r}")
    assert page.count("<tr data-run-id=") == len(orders)
    assert all(f'href="runs/{r.run_id}"' in page for r in orders)
    assert not any(r.run_id in page for r in theirs + customers)


def test_environments_are_not_mixed(lineage_store: Any, blob_store: Any) -> None:
    dev = results(plan(3))
    prod = [r.model_copy(update={"run_id": r.run_id + "-prod", "environment": "prod"}) for r in results(plan(2))]
    store(lineage_store, blob_store, dev + prod)
    with pytest.raises(EnvironmentAmbiguous) as raised:
        dataset_results(lineage_store, blob_store, "contoso", HistoryQuery("orders"))
    assert raised.value.one_line() == (
        "environment_ambiguous: dataset 'orders' has runs in environments dev, prod: name one (--env, ?env=)"
    )
    only = dataset_results(lineage_store, blob_store, "contoso", HistoryQuery("orders", environment="prod"))
    assert [r.run_id for r in only] == [r.run_id for r in reversed(prod)]


def test_bad_questions_are_named_errors(lineage_store: Any, blob_store: Any) -> None:
    store(lineage_store, blob_store, results(plan(2)))
    with pytest.raises(NoHistory) as none:
        dataset_results(lineage_store, blob_store, "contoso", HistoryQuery("invoices"))
    assert none.value.one_line() == (
        "no_history: no recorded run of dataset 'invoices' for tenant contoso (looked at 2 runs)"
    )
    with pytest.raises(NoHistory):
        dataset_results(lineage_store, blob_store, "contoso", HistoryQuery("orders", environment="prod"))
    with pytest.raises(NoHistory):
        dataset_results(lineage_store, blob_store, "nobody", HistoryQuery("orders"))
    with pytest.raises(OptionError, match="not a dataset name"):
        HistoryQuery("../orders")
    with pytest.raises(OptionError, match="between 1 and 500"):
        HistoryQuery("orders", limit=0)

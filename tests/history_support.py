"""Generated run histories for the history page's tests: results of one dataset over days,
with varying verdicts, row counts and anomaly bands, and a way to store them as a recorded
run is stored (the run in the lineage store, ``runs/{id}/result.json`` in the tenant's container)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dq_core.cleansing.engine import CleansingReport
from dq_core.config.base import Severity
from dq_core.lineage.evidence import run_prefix
from dq_core.lineage.models import IngestionMode, RunRecord
from dq_core.ports import BlobStore, LineageStore
from dq_core.results.run import ContractStamp, InputStamp, RunError, RunResult, RunStatus, anomalies_of
from dq_core.validation.results import Band, RuleResult, RuleStatus, ValidationResult

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Planned:
    """What one generated run is: its verdict, rows and the anomaly rule's observation and band."""

    status: str
    rows_in: int
    rejected: int
    observed: float | None  # null_percent:email of the anomaly rule (None: the rule was skipped)
    band: tuple[float, float] | None
    drift: float


def plan(runs: int, seed: int = 7) -> list[Planned]:
    """``runs`` runs: mostly passing, a failing run every third, an error run (no validation) as
    the fifth, the anomaly band from the second run on and an observation outside it now and then."""
    rng = random.Random(seed)
    planned = []
    for i in range(runs):
        status = "error" if i == 4 else ("failed" if i % 3 == 2 else "passed")
        rows_in = rng.randrange(900, 1100)
        observed = None if i == 0 else round(rng.uniform(2.0, 4.0) + (6.0 if i % 4 == 3 else 0.0), 3)
        band = None if i == 0 else (round(1.5 + i * 0.05, 3), round(4.5 + i * 0.05, 3))
        planned.append(Planned(status, rows_in, rng.randrange(0, 40), observed, band, round(rng.uniform(0, 0.3), 4)))
    return planned


def _rules(p: Planned) -> tuple[RuleResult, ...]:
    inside = p.band is None or p.observed is None or p.band[0] <= p.observed <= p.band[1]
    anomaly = RuleResult(
        rule_id="email_nulls_trend",
        type="anomaly",
        columns=("email",),
        severity=Severity.WARNING,
        status=RuleStatus.SKIPPED if p.band is None else (RuleStatus.PASSED if inside else RuleStatus.FAILED),
        observed_value=p.observed,
        band=None if p.band is None else Band(lower=p.band[0], upper=p.band[1], method="median ± 3 × 1.4826·MAD"),
        metric="null_percent:email",
        params={"metric": "null_percent"},
    )
    drift = RuleResult(
        rule_id="amount_drift",
        type="distribution_drift",
        columns=("amount",),
        severity=Severity.WARNING,
        status=RuleStatus.PASSED if p.drift <= 0.2 else RuleStatus.FAILED,
        observed_value=p.drift,
        params={"method": "psi", "max_drift": 0.2},
    )
    key = RuleResult(
        rule_id="id_not_null",
        type="not_null",
        columns=("id",),
        severity=Severity.ERROR,
        status=RuleStatus.FAILED if p.status == "failed" else RuleStatus.PASSED,
        element_count=p.rows_in - p.rejected,
        unexpected_count=3 if p.status == "failed" else 0,
    )
    return (anomaly, drift, key)


def results(
    planned: list[Planned], *, dataset: str = "orders", tenant: str = "contoso", environment: str = "dev"
) -> list[RunResult]:
    """One result per planned run, a day apart, oldest first."""
    made = []
    for i, p in enumerate(planned):
        started = T0 + timedelta(days=i, minutes=i)
        validation = None if p.status == "error" else ValidationResult.of(list(_rules(p)))
        cleansing = CleansingReport(
            rows_in=p.rows_in,
            rows_out=p.rows_in - p.rejected,
            rows_rejected=p.rejected,
            duplicates_removed=0,
            steps=[],
            reject_reasons={"types": p.rejected} if p.rejected else {},
        )
        made.append(
            RunResult(
                run_id=f"{dataset}-run-{i:02d}",
                tenant=tenant,
                environment=environment,
                contract=ContractStamp(
                    id=dataset, version="1.0.0", sha256="a" * 64, dataset=dataset, bundle_sha256=_bundle(dataset)
                ),
                input=InputStamp(uri=f"file:///in/{i}.csv", sha256="0" * 64, format="csv", bytes=1000, rows=p.rows_in),
                status=RunStatus(p.status),
                started_at=started,
                finished_at=started + timedelta(seconds=20),
                cleansing=None if p.status == "error" else cleansing,
                validation=validation,
                anomalies=anomalies_of(validation) if validation else [],
                error=RunError(code="input_invalid", message="not a CSV file") if p.status == "error" else None,
            )
        )
    return made


def _bundle(dataset: str) -> str:
    return hashlib.sha256(dataset.encode()).hexdigest()


def store(lineage: LineageStore, blobs: BlobStore, made: list[RunResult]) -> None:
    """Each result stored as a recorded run is: the run record, then result.json."""
    for result in made:
        data = result.to_json().encode("utf-8")
        blobs.put(result.tenant, run_prefix(result.run_id) + "result.json", data)
        assert result.contract is not None
        lineage.put_run(
            RunRecord(
                tenant=result.tenant,
                run_id=result.run_id,
                environment=result.environment,
                status=result.status.value,
                started_at=result.started_at,
                finished_at=result.finished_at,
                ingestion_mode=IngestionMode.LOCAL,
                input_uri="file:///in.csv",
                contract_id=result.contract.id,
                contract_version=result.contract.version,
                contract_sha256=result.contract.sha256,
                bundle_sha256=result.contract.bundle_sha256,
                result_sha256=hashlib.sha256(data).hexdigest(),
            )
        )

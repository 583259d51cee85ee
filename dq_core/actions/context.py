"""What an executor may use: the run, its verdict and result, its files, the tenant's secrets,
the optional ports of this host (queues, row export, the HTTP and mail transports, the
OpenLineage client), and where its network actions may connect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from dq_core.actions.destinations import Destinations
from dq_core.bundle.models import ResolvedBundle
from dq_core.errors import ConfigError
from dq_core.ports import BlobStore, HttpSender, MailSender, OpenLineageEmitter, QueueSender, RowExporter, SecretStore
from dq_core.results.run import FAILED_ROWS_FILE, ActionOutcome, RunResult

T = TypeVar("T")


@dataclass(frozen=True)
class ActionContext:
    bundle: ResolvedBundle
    run_id: str
    trigger: str
    status: str  # the run's verdict: passed, failed or error; no action changes it
    result_path: str | None
    blobs: BlobStore
    secrets: SecretStore
    result: RunResult | None = None  # result.json as it was when the actions started
    run_folder: str = ""  # runs/{run_id}/
    report_path: str | None = None  # runs/{run_id}/report.html (written when the run finalises)
    queues: QueueSender | None = None
    rows: RowExporter | None = None
    http: HttpSender | None = None  # webhook, Teams, Slack, tickets, OpenLineage
    mail: MailSender | None = None  # email
    openlineage: OpenLineageEmitter | None = None  # the OpenLineage client (its events go over ``http``)
    # public addresses only, unless the deployment allows private networks (DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS)
    destinations: Destinations = field(default_factory=Destinations)

    @property
    def tenant(self) -> str:
        return self.bundle.tenant

    @property
    def cleansed_prefix(self) -> str:
        return self.run_folder + "cleansed/"

    @property
    def rejects_path(self) -> str:
        return self.run_folder + "rejects.parquet"

    @property
    def failed_rows_path(self) -> str:
        return self.run_folder + FAILED_ROWS_FILE

    @property
    def profile_path(self) -> str:
        return self.run_folder + "profile.json"

    def idempotency_key(self, action_id: str) -> str:
        """The same for every attempt and every retry of an activity: ``{run_id}:{action_id}``."""
        return f"{self.run_id}:{action_id}"

    def secret(self, reference: str) -> str:
        """The tenant's value behind ``secret://name`` (ObjectNotFound names it when missing)."""
        return self.secrets.get(self.tenant, reference)

    def outcome(self, action_id: str, action_type: str, status: str, attempts: int, detail: str) -> ActionOutcome:
        return ActionOutcome.model_validate(
            {
                "action_id": action_id,
                "type": action_type,
                "trigger": self.trigger,
                "status": status,
                "attempts": attempts,
                "detail": " ".join(detail.split())[:500],
            }
        )


def need_port(port: T | None, what: str) -> T:
    """The optional port an action needs, or a ConfigError saying this host has none."""
    if port is None:
        raise ConfigError(f"{what} is not configured on this host")
    return port

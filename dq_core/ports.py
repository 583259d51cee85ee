"""Ports: what the domain needs from the outside world, as Protocols.

Adapters implement these: PostgreSQL, Azure Table Storage, Azure Blob Storage and Key
Vault in Azure; SQLite, a local folder and the environment for the embedded defaults
(``dq`` with no services). dq_core never imports an adapter. Every method is scoped by
tenant: no call can reach another tenant's objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from pydantic import JsonValue

from dq_core.config.base import Kind, ObjectKey, Status, Versioned
from dq_core.libraries.infra import StorageTier
from dq_core.lineage.models import AuditEvent, MetricPoint, RunRecord, StepRecord
from dq_core.registry.models import PutOutcome, StoredObject

if TYPE_CHECKING:
    from email.message import EmailMessage
    from pathlib import Path

    from dq_core.actions.destinations import Destinations
    from dq_core.actions.outbound import HttpAnswer, HttpCall, SmtpEndpoint


class ConfigReader(Protocol):
    """Read access to configuration objects of tenants and environments."""

    def get(self, tenant: str, environment: str, key: ObjectKey) -> Versioned:
        """The object with this key; raises ObjectNotFound when there is none."""
        ...

    def versions(self, tenant: str, environment: str, kind: Kind, object_id: str) -> list[str]:
        """Every stored version of one object, oldest first."""
        ...


@runtime_checkable
class ContractStore(ConfigReader, Protocol):
    """The registry of configuration objects with lifecycle and promotion. Runtime-checkable: the
    entry points ask whether a run's reader (``RunPorts.contracts``) is a whole registry."""

    def put(self, obj: Versioned, *, actor: str, expected_sha256: str | None = None) -> PutOutcome:
        """Store an object's content as a draft (its authored status is not taken: every
        version goes through approval). Same content again: UNCHANGED. Other content under
        a draft's version: UPDATED, unless ``expected_sha256`` says the writer started from
        other content (then ConflictError). Other content under a non-draft: ConflictError.
        """
        ...

    def record(self, tenant: str, environment: str, key: ObjectKey) -> StoredObject:
        """The stored object with its lifecycle columns; ObjectNotFound when absent."""
        ...

    def tenants(self, environment: str) -> list[str]:
        """Every tenant holding at least one object (any kind, any status) in ``environment``,
        sorted. What the timer walks to find the schedules of a deployment's environment."""
        ...

    def list(self, tenant: str, environment: str, kind: Kind | None = None) -> list[StoredObject]: ...

    def transition(self, tenant: str, environment: str, key: ObjectKey, target: Status, *, actor: str) -> StoredObject:
        """draft -> approved (not by its author) -> published -> deprecated; LifecycleError otherwise."""
        ...

    def promote(self, tenant: str, environment: str, key: ObjectKey, *, actor: str) -> StoredObject:
        """Copy a published version to the next environment (dev -> test -> prod), as
        published, when everything it references is already published there."""
        ...


class LineageStore(Protocol):
    """Runs, their steps, audit events and metric history; every query is one tenant's."""

    def put_run(self, run: RunRecord) -> None:
        """Insert or replace (a retry overwrites the same run)."""
        ...

    def get_run(self, tenant: str, run_id: str) -> RunRecord:
        """ObjectNotFound when the tenant has no such run."""
        ...

    def list_runs(self, tenant: str, since: datetime, until: datetime, limit: int = 100) -> list[RunRecord]:
        """Runs started in [since, until), newest first."""
        ...

    def put_step(self, step: StepRecord) -> None: ...

    def steps(self, tenant: str, run_id: str) -> list[StepRecord]: ...

    def put_audit(self, event: AuditEvent) -> None: ...

    def audit(self, tenant: str, since: datetime, until: datetime) -> list[AuditEvent]:
        """Audit events in [since, until), oldest first."""
        ...

    def append_metric(self, point: MetricPoint) -> None: ...

    def metric_history(self, tenant: str, key: str, limit: int = 50) -> list[MetricPoint]:
        """The last ``limit`` points of one metric, oldest first."""
        ...


class BlobStore(Protocol):
    """Files in the tenant's own container (paths are relative to it)."""

    def put(
        self,
        tenant: str,
        path: str,
        data: bytes,
        *,
        overwrite: bool = False,
        if_match: str | None = None,
        tier: StorageTier | None = None,
    ) -> str:
        """Write and return the new ETag. Without ``overwrite`` an existing blob is a
        ConflictError; with ``if_match`` only that ETag may be replaced. ``tier``: the access
        tier to store the blob in, where the store has tiers (Azure Blob Storage); a store
        without tiers ignores it, and None leaves the store's default."""
        ...

    def get(self, tenant: str, path: str) -> tuple[bytes, str]:
        """Content and ETag; ObjectNotFound when absent."""
        ...

    def download_to(self, tenant: str, path: str, target: Path) -> str:
        """Stream the blob into the local file ``target`` (created or replaced) without holding it
        in memory; its ETag (of the version written). ObjectNotFound when absent."""
        ...

    def list(self, tenant: str, prefix: str = "") -> Sequence[str]: ...

    def delete_prefix(self, tenant: str, prefix: str) -> int:
        """Delete every blob whose name starts with ``prefix`` (a folder: it must end with '/');
        how many were deleted. Deleting what is already gone is not an error."""
        ...


class SecretStore(Protocol):
    def get(self, tenant: str, reference: str) -> str:
        """The tenant's value behind ``secret://name``; ObjectNotFound when there is none.
        Secrets are per tenant: the same reference names a different secret for each."""
        ...


class QueueSender(Protocol):
    """Messages to a tenant's own queues (the queue action). Tenants never share a queue."""

    def send(self, tenant: str, queue: str, message: str) -> str:
        """Enqueue one text message on the tenant's ``queue``; the message id. ConfigError when
        the tenant and queue cannot name a queue one-to-one."""
        ...


class ExportRow(NamedTuple):
    """One exported row: what it is (``run``, ``rule``, ``reject``, ...), its order, its content."""

    kind: str
    seq: int
    payload: JsonValue


class RowExporter(Protocol):
    """Rows of a run into a table of the tenant's export database (the storage_export action)."""

    def export(self, tenant: str, table: str, run_id: str, rows: Sequence[ExportRow]) -> int:
        """Replace the rows of (tenant, run_id) in ``table`` by ``rows`` in one transaction (a
        retried export leaves one copy), creating the table when it is missing; the row count.
        ConfigError for a table name outside the strict pattern."""
        ...


# --- the network actions' transports (adapters/notify) and the issuer's keys (adapters/entra) ---
# What they reach is authored by a tenant, so every connection goes only to an address that
# ``destinations`` (the deployment's rule, dq_core.actions.destinations) allowed for this attempt.


class HttpSender(Protocol):
    """One HTTP request per call (webhook, Teams, Slack, tickets, OpenLineage)."""

    def send(self, call: HttpCall, destinations: Destinations) -> HttpAnswer:
        """Resolve the URL's host, check every address with ``destinations``, send ``call`` to a
        checked address (the name as ``Host`` and TLS server name), never following a redirect;
        the answer (a 2xx one's body capped at ``call.max_body``). Raises DestinationRefused or
        DestinationUnresolved before connecting, ConfigError for a URL that is not http(s), and
        NotSent, MaybeSent or SendRefused (dq_core.actions.outbound) when the attempt fails."""
        ...


class MailSender(Protocol):
    """One mail submission per call (the email action)."""

    def send(self, message: EmailMessage, endpoint: SmtpEndpoint, destinations: Destinations) -> None:
        """Connect to a checked address of ``endpoint.host`` (TLS verified against the name), log in
        when ``endpoint.login``, submit ``message``. Raises DestinationRefused or
        DestinationUnresolved before connecting, and NotSent, MaybeSent or SendRefused with the
        failure's type and SMTP reply code, never the server's reply text."""
        ...


class OpenLineageEmitter(Protocol):
    """The OpenLineage client, which may drop an event (``OPENLINEAGE_DISABLED``, its filters)."""

    def emit(self, event: Any, deliver: Callable[[str], None]) -> None:
        """Pass one event (an ``openlineage.client`` RunEvent) through the client; unless the client
        drops it, ``deliver`` receives its JSON text (and sends it over the HttpSender)."""
        ...


class JwksFetcher(Protocol):
    """An issuer's published signing keys: the JWKS document at its URL."""

    @property
    def url(self) -> str: ...

    def fetch(self) -> dict[str, Any]:
        """The JWKS document (a JSON object), fetched now; TransientError naming the URL when it
        cannot be fetched or is not a JSON object."""
        ...

"""The ports of ``dq run``'s activities, composed where the activities run.

:class:`WorkerPorts` is a recipe (paths and names only: no live store, no secret) that ``dq
run`` builds once and every worker process receives and calls at its start
(:mod:`local_host.workers`): the stores of the settings (the embedded ones under ``home``
unless settings name Azure services) and the tenant salt of ``--salt-file``. It lives
here, not in ``cli``, so that a worker imports no more than it needs (not the CLI's parser).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dq_core.errors import DQError

if TYPE_CHECKING:
    from app.bootstrap import Stores
    from dq_core.ports import SecretStore
    from dq_core.runs.stages import RunPorts


class SaltOverride:
    """A SecretStore that answers one reference of one tenant from a file, the rest from ``fallback``."""

    def __init__(self, tenant: str, reference: str, value: str, fallback: SecretStore) -> None:
        self._key, self._value, self._fallback = (tenant, reference), value, fallback

    def get(self, tenant: str, reference: str) -> str:
        if (tenant, reference) == self._key:
            return self._value
        return self._fallback.get(tenant, reference)


def salt_of(path: Path) -> str:
    """The salt in ``path`` (surrounding white space left out); DQError when it cannot be read."""
    try:
        return path.read_bytes().strip().decode("utf-8")
    except OSError as exc:
        raise DQError(f"{path}: cannot read the salt file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DQError(f"{path}: the salt file is not UTF-8 text") from None


@dataclass(frozen=True)
class WorkerPorts:
    """How ``dq run`` composes the ports of its activities (see the module doc)."""

    home: Path
    salt_file: Path | None = None  # read by whoever composes the ports: the salt itself is never sent
    tenant: str = ""
    salt_reference: str = ""
    debug: bool = False

    def __call__(self) -> RunPorts:
        """A worker's set-up: the CLI's logging (JSON lines with DQ_LOG_FORMAT=json, or --debug),
        then the ports."""
        import logging  # noqa: PLC0415

        from app import bootstrap  # noqa: PLC0415 - the adapters: in the worker, once
        from monitoring.logging_context import configure_cli_logging  # noqa: PLC0415

        logging.getLogger("dq").addHandler(logging.NullHandler())  # as the parent: no stray line on stderr
        configure_cli_logging(debug=self.debug)
        return self.ports(bootstrap.stores(self.home))

    def ports(self, wired: Stores) -> RunPorts:
        """The run ports of ``wired``, the salt of ``salt_file`` answering the tenant's salt reference."""
        secrets: SecretStore = wired.secrets
        if self.salt_file is not None:
            secrets = SaltOverride(self.tenant, self.salt_reference, salt_of(self.salt_file), secrets)
        return wired.run_ports(secrets=secrets, allow_local_files=True)

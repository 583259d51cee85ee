"""QueueSender over Azure Storage queues: one queue per tenant and queue id.

The queue of a tenant's ``queue`` is ``{prefix}{tenant}-{queue}``. Queue names allow
only lower-case letters, digits and single hyphens (3-63 characters, starting and ending
with a letter or digit), so the name is used as it is when it obeys those rules and
refused with a ConfigError otherwise: rewriting (``_`` to ``-``) could send two tenants
or two queues to one queue. For the same reason a tenant id with a hyphen is refused:
queue ids may hold hyphens, so tenant ``acme-eu`` with queue ``orders`` and tenant
``acme`` with queue ``eu-orders`` would both name ``dq-acme-eu-orders``; with hyphen-free
tenants the first hyphen after the prefix ends the tenant, and every name has one owner.
Queues are created on the first send that finds none.
Messages are base64-encoded text (what an Azure Functions queue trigger reads).
"""

from __future__ import annotations

import contextlib
import re
from typing import Final

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from adapters.azure._errors import azure_errors
from dq_core.errors import ConfigError

_QUEUE_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_PREFIX_RE: Final = re.compile(r"^(?:[a-z0-9](?:[a-z0-9]|-(?!-))*)?$")
_MIN: Final = 3
_MAX: Final = 63


class AzureQueueSender:
    def __init__(self, service: QueueServiceClient, *, prefix: str = "dq-") -> None:
        if not _PREFIX_RE.match(prefix):
            raise ConfigError(f"queue prefix {prefix!r} must be lower-case letters, digits and single hyphens")
        self._service, self._prefix = service, prefix

    @classmethod
    def from_connection_string(cls, conn: str, *, prefix: str = "dq-") -> AzureQueueSender:
        """A sender on the account of ``conn``; nothing is contacted until the first send."""
        return cls(QueueServiceClient.from_connection_string(conn), prefix=prefix)

    def queue_name(self, tenant: str, queue: str) -> str:
        """The tenant's queue; ConfigError when tenant and queue cannot name one one-to-one."""
        if "-" in tenant:  # see the module doc: the name would not say which tenant owns it
            raise ConfigError(
                f"tenant {tenant!r} cannot name an Azure queue: a tenant id with '-' could share a queue "
                "name with another tenant's queue"
            )
        name = f"{self._prefix}{tenant}-{queue}"
        if not tenant or not queue or not _QUEUE_RE.match(name) or not _MIN <= len(name) <= _MAX:
            raise ConfigError(
                f"tenant {tenant!r} and queue {queue!r} cannot name an Azure queue: {name!r} must be "
                f"{_MIN}-{_MAX} lower-case letters, digits or single hyphens, "
                "starting and ending with a letter or digit"
            )
        return name

    def client(self, tenant: str, queue: str) -> QueueClient:
        return self._service.get_queue_client(
            self.queue_name(tenant, queue),
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def send(self, tenant: str, queue: str, message: str) -> str:
        client = self.client(tenant, queue)
        what = f"queue {client.queue_name} of tenant {tenant}"
        with azure_errors(f"sending to {what}"):
            try:
                return str(client.send_message(message).id)
            except ResourceNotFoundError:
                pass
            with contextlib.suppress(ResourceExistsError):  # a concurrent sender created it meanwhile
                client.create_queue()
            return str(client.send_message(message).id)

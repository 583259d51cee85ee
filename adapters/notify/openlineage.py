"""OpenLineageEmitter over ``openlineage-python``'s own client, with a transport of ours.

The client applies its switches and additions (``OPENLINEAGE_DISABLED``, its filters, environment
and tag facets) and hands each event it keeps to the transport, which serialises it with the
client's ``Serde`` and gives the JSON text to the caller's ``deliver``: the action sends it over
the actions' one HTTP delivery (the HttpSender port: the destination check against the
connected address, no redirects, the action's retry policy, no answer body in the outcome).
The client's own ``HttpTransport`` is not used: it sends with ``requests`` to whatever the name
resolves to when it connects, and follows redirects. ``openlineage-python`` is imported on the
first event (it takes a fifth of a second, and most runs send none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client.transport.transport import Transport


def forwarding_transport(deliver: Callable[[str], None]) -> Transport:
    """An OpenLineage ``Transport`` that gives each event's JSON text to ``deliver``."""
    from openlineage.client.serde import Serde  # noqa: PLC0415 - heavy; only when an event is sent
    from openlineage.client.transport.transport import Transport  # noqa: PLC0415

    class ForwardingTransport(Transport):
        kind = "dq-http"

        def emit(self, event: Any) -> None:
            deliver(Serde.to_json(event))

    return ForwardingTransport()


class OpenLineageClientEmitter:
    """One client per event: it reads its configuration (environment, ``openlineage.yml``) when built."""

    def emit(self, event: Any, deliver: Callable[[str], None]) -> None:
        from openlineage.client import OpenLineageClient  # noqa: PLC0415 - heavy; only when an event is sent

        client = OpenLineageClient(transport=forwarding_transport(deliver))
        try:
            client.emit(event)
        finally:
            client.close()

"""The host's addresses, resolved before every attempt and judged by the destination rule.

The transports connect only to what :func:`checked_addresses` returns: the addresses of this
lookup, each allowed by :class:`~dq_core.actions.destinations.Destinations`. The name is never
resolved again between the check and the connection, so a DNS answer that changes in between
(rebinding) cannot redirect it. ``resolve`` is ``getaddrinfo`` (tests give their own).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

from dq_core.actions.destinations import Destinations, DestinationUnresolved

Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` gives for a TCP connection to ``host:port``, in its order."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else type(exc).__name__
        raise DestinationUnresolved(f"{host} could not be resolved ({reason})") from None
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


def checked_addresses(host: str, port: int, destinations: Destinations, resolve: Resolver) -> tuple[str, ...]:
    """The addresses of ``host`` to connect to, each one allowed: DestinationRefused naming the first
    that is not (one refused address refuses the host), DestinationUnresolved when there is none."""
    name = host.strip("[]")
    return destinations.allowed(name, resolve(name, port))

"""Where an action may connect: public addresses only, unless the deployment allows private networks.

An action's URL or SMTP host is authored by a tenant, so without a check a tenant could make the
service call its own neighbours: the cloud's metadata endpoint (169.254.169.254), a database on
the private network, the service itself on 127.0.0.1. Before each attempt the transport (the
adapters in ``adapters/notify``) resolves the host and **every** address it resolves to is checked
here, with the standard library's :mod:`ipaddress` properties: loopback, link-local, private
(RFC 1918, ULA), shared, reserved and every other special-purpose block are refused unless
``allow_private_networks`` (the deployment's ``DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS``, off by
default and in Azure); unspecified and multicast addresses are refused always. An IPv6 address
that carries an IPv4 address (``::ffff:a.b.c.d``, 6to4, NAT64) is judged by the address it
carries.

The transport connects to the addresses this check returned, never to the name again, so a DNS
answer that changes between the check and the connection (rebinding) cannot move it. The rule
is pure: it judges addresses; resolving names and connecting are the transport's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from dq_core.errors import TerminalError, TransientError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_PRIVATE: Final = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv6Network("fc00::/7"),
)


class DestinationRefused(TerminalError):
    """An action's host is (or resolves to) an address this deployment does not let actions reach."""

    code = "destination_refused"


class DestinationUnresolved(TransientError):
    """An action's host has no address (DNS may answer later: retried like a refused connection)."""

    code = "destination_unresolved"


def _carried(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def never_allowed(address: IPAddress) -> str | None:
    """Why no action may connect here, whatever the deployment allows (None: not this kind)."""
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    return None


def non_public(address: IPAddress) -> str | None:
    """What kind of non-public address this is (None: a public, globally routed address)."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if any(address in network for network in _PRIVATE):
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private or not address.is_global:
        return "a special-purpose (non-public) address"
    return None


def refusal(text: str, *, allow_private_networks: bool) -> str | None:
    """Why an action may not connect to the address ``text`` (None: it may)."""
    try:
        address: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 scope is not an address
    except ValueError:
        return "not an IP address"
    carried = _carried(address)
    reason = never_allowed(address) or never_allowed(carried)
    if reason is None and not allow_private_networks:
        reason = non_public(carried)
    return reason


@dataclass(frozen=True)
class Destinations:
    """The destination rule of one deployment (``DQ_ACTIONS_ALLOW_PRIVATE_NETWORKS``)."""

    allow_private_networks: bool = False

    def allowed(self, host: str, found: Sequence[str]) -> tuple[str, ...]:
        """The addresses ``host`` resolved to (``found``, in the resolver's order), each one allowed;
        raises DestinationRefused naming the first that is not (one refused address refuses the
        host), or DestinationUnresolved when there is none."""
        name = host.strip("[]")
        addresses = tuple(found)
        if not addresses:
            raise DestinationUnresolved(f"{name} could not be resolved (no address)")
        for address in addresses:
            reason = refusal(address, allow_private_networks=self.allow_private_networks)
            if reason is not None:
                if _same(name, address):
                    raise DestinationRefused(f"{address} is {reason}")
                raise DestinationRefused(f"{name} resolves to {address}, {reason}")
        return addresses


def _same(name: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(name) == ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False

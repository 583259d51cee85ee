"""HttpSender over httpx: one request per call, to an address the destination rule allowed.

Before the attempt the URL's host is resolved and every address checked
(:func:`adapters.notify.dns.checked_addresses`); the request goes to a checked address, the
authored name sent as ``Host`` and as the TLS server name, so the certificate is verified against
it. A connection refused by one address tries the next. A redirect is never followed: a 3xx is
returned as it is. A 2xx answer's body is read up to the call's ``max_body`` bytes within its
timeout (for a ticket's id), any other answer's not at all.

Failures are the port's (:mod:`dq_core.actions.outbound`): nothing connected, ``NotSent``; a
time-out or a dropped connection after connecting, ``MaybeSent``; a request httpx cannot send,
``SendRefused``. A protocol error is named by its type alone: its text can quote the receiver's
bytes (h11: ``illegal status line: b'...'``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from adapters.notify.dns import Resolver, checked_addresses, system_resolver
from dq_core.actions.destinations import Destinations
from dq_core.actions.outbound import HttpAnswer, HttpCall, MaybeSent, NotSent, SendRefused
from dq_core.errors import ConfigError

_OK = range(200, 300)


def _target(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConfigError("the action's URL is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise ConfigError("the action's URL is not an http(s) URL with a host")
    return parsed


def _describe(exc: Exception) -> str:
    """A transport failure in one line (a protocol error by its type alone, see the module doc)."""
    if isinstance(exc, (httpx.ProtocolError, httpx.DecodingError)):
        return type(exc).__name__
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not used by webhooks)."""
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def _read_capped(response: httpx.Response, limit: int, seconds: float) -> bytes:
    """At most ``limit`` bytes within ``seconds``, else nothing (a larger or slower answer is not
    read on; the delivery stands)."""
    chunks: list[bytes] = []
    size, start = 0, time.monotonic()
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit or time.monotonic() - start > seconds:
                return b""
            chunks.append(chunk)
    except httpx.HTTPError:
        return b""
    return b"".join(chunks)


class HttpxSender:
    """The actions' HTTP transport (see the module doc); ``resolve`` is ``getaddrinfo`` unless a test
    gives its own."""

    def __init__(self, resolve: Resolver = system_resolver) -> None:
        self.resolve = resolve

    def send(self, call: HttpCall, destinations: Destinations) -> HttpAnswer:
        url = _target(call.url)
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = checked_addresses(host, port, destinations, self.resolve)
        headers = {name: value for name, value in call.headers.items() if name.lower() != "host"}
        headers["Host"] = url.netloc.decode("ascii")  # the authored name; the connection goes to the checked address
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        with httpx.Client(timeout=call.timeout, follow_redirects=False) as client:
            for index, address in enumerate(addresses):
                try:
                    return _exchange(client, call, url.copy_with(host=address), headers, extensions)
                except httpx.ConnectError as exc:  # nothing reached the receiver: its next address
                    if index == len(addresses) - 1:
                        raise NotSent(_describe(exc)) from exc
                except httpx.ConnectTimeout as exc:
                    raise NotSent(_describe(exc)) from exc
                except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    raise MaybeSent(_describe(exc)) from exc
                except httpx.HTTPError as exc:  # an unsupported request: no attempt can send it
                    raise SendRefused(_describe(exc)) from exc
        raise NotSent("no address to connect to")  # unreachable: checked_addresses() is never empty


def _exchange(
    client: httpx.Client, call: HttpCall, url: httpx.URL, headers: Mapping[str, str], extensions: dict[str, str]
) -> HttpAnswer:
    with client.stream(call.method, url, content=call.body, headers=headers, extensions=extensions) as response:
        code = response.status_code
        body = _read_capped(response, call.max_body, call.timeout) if code in _OK else b""
        return HttpAnswer(code, _retry_after(response), body)

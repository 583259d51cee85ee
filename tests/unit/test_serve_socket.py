"""dq serve listens on a socket asyncio will set TCP_NODELAY on: without the explicit protocol,
every answer on a kept-alive connection waited for the client's delayed ACK (~40 ms; bench/api.py)."""

from __future__ import annotations

import socket

from local_host.serve import listen


def test_the_listening_socket_names_tcp_so_accepted_connections_get_nodelay() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        try:
            # what asyncio's transport does for TCP sockets (base_events._set_nodelay) needs proto == IPPROTO_TCP
            assert accepted.proto == socket.IPPROTO_TCP
        finally:
            accepted.close()
            client.close()
    finally:
        sock.close()

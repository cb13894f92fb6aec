"""How uvicorn's workers take connections.

With `--workers N` each worker gets the listening socket from the parent, re-made from
its file descriptor with protocol number 0, and asyncio then skips TCP_NODELAY on the
connections it accepts (it sets it only for sockets whose protocol says TCP). Nagle's
algorithm then holds a response's body until the client's delayed ACK of its headers:
40 ms on every request (measured: `{ __typename }` 49 ms with two workers, 8 ms with one).
These protocols set TCP_NODELAY on every connection themselves.

`zhengjiao serve` uses httptools' parser (C) and uvloop's event loop (uvicorn picks it
when installed): the pure-Python h11 parser and asyncio's loop cost every request more
than its GraphQL work does for a small query (bench/README.md "The online path").
"""
from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "api.serving:NoDelayHttpToolsProtocol"


def no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket after all


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]


class NoDelayH11Protocol(H11Protocol):
    """The same for uvicorn's pure-Python parser (`--http h11` setups, tests)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]

"""`zhengjiao serve --workers N` connections get TCP_NODELAY (api/serving.py): on a
listening socket bound the way uvicorn's workers bind it (protocol number 0), asyncio
leaves Nagle on, and every response waited 40 ms for the client's delayed ACK."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from api.serving import HTTP_PROTOCOL, NoDelayH11Protocol, NoDelayHttpToolsProtocol


async def _nodelay_of_accepted(protocol_class: type[H11Protocol] | type[HttpToolsProtocol]) -> int:
    async def app(scope, receive, send):  # noqa: ANN001
        pass

    config = uvicorn.Config(app, log_config=None)
    config.load()
    state = ServerState()
    seen: list[int] = []

    class Probe(protocol_class):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            try:
                super().connection_made(transport)
            finally:
                sock = transport.get_extra_info("socket")
                seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # as uvicorn's Config.bind_socket: proto 0
    listener.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Probe(config=config, server_state=state, app_state={}), sock=listener)
    try:
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    return seen[0]


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [(H11Protocol, 0), (NoDelayH11Protocol, 1), (HttpToolsProtocol, 0), (NoDelayHttpToolsProtocol, 1)],
)
def test_worker_connections_send_without_delay(protocol: type[H11Protocol] | type[HttpToolsProtocol], expected: int) -> None:
    """uvicorn's own protocol leaves Nagle on there; ours turns it off."""
    assert asyncio.run(_nodelay_of_accepted(protocol)) == expected


def test_serve_names_the_protocol() -> None:
    source = (Path(__file__).resolve().parent.parent / "api" / "cli.py").read_text(encoding="utf-8")
    assert '"http": HTTP_PROTOCOL' in source and HTTP_PROTOCOL == "api.serving:NoDelayHttpToolsProtocol"

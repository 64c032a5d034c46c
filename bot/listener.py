"""uvicorn serving the webhook's ASGI application inside the bot's own event loop.

The socket is bound before anything else starts, so a port in use is one line at once
rather than uvicorn's `sys.exit` from inside a task. Signals stay with `bot.main`:
uvicorn would otherwise take SIGTERM for itself and raise it again once it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

# How long open connections may take to finish once the listener stops; an accepted
# update is answered as soon as it is queued, so this is only for a slow client.
CLOSE_CONNECTIONS_SECONDS = 1


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port. Raises OSError (in use, no such address)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        # A restarted worker may take the port while the old connections wind down.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # bot.main has its own SIGTERM/SIGINT handlers and asks the listener to stop.
        yield


class Listener:
    """Serves `asgi` on `sock` from `start()` until `stop()`."""

    def __init__(self, asgi: ASGIApp, sock: socket.socket) -> None:
        config = uvicorn.Config(
            asgi,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=CLOSE_CONNECTIONS_SECONDS,
        )
        self._server = _Server(config)
        self._sock = sock
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    async def start(self) -> None:
        """Return once connections are accepted."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # its failure, if any
                raise RuntimeError("the webhook listener stopped as it started")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop taking connections; those open finish (at most CLOSE_CONNECTIONS_SECONDS)."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()

"""A TCP relay in front of a server, which a test can cut, as a database going away.

While cut, every open connection is closed and new ones are closed as soon as they
arrive; `restore` lets connections through again.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpRelay:
    """Listens on 127.0.0.1 and relays each connection to `target` (host, port)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closing = False
        threading.Thread(target=self._accept, name="tcp-relay", daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            for conn in self._open:
                _close(conn)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closing = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._cut:
                    _close(client)
                    continue
                try:
                    server = socket.create_connection(self._target, timeout=5)
                except OSError:
                    _close(client)
                    continue
                server.settimeout(None)
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _close(source)
            _close(sink)


def _close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()

"""The waitress server the browser tests and embedded uses run in a thread: stopping it while clients hold
kept-alive connections and new requests keep arriving ends its thread cleanly, with no exception in any
thread, and nothing listens on its port afterwards. (Closing its sockets from the stopping thread once
killed the loop with EBADF about once in five stops under this load.)"""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest
from flask import Flask

from webui.server import start_in_background

CYCLES = 15
KEPT_ALIVE = 40


def _app() -> Flask:
    app = Flask(__name__)

    @app.route("/")
    def index() -> str:
        return "ok"

    return app


def _request(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def _keep_asking(port: int, until: threading.Event) -> None:
    while not until.is_set():
        try:
            _request(port)
        except OSError:
            pass  # refused or dropped once the server stops: what a client then sees


def test_stopping_under_load_ends_the_thread_without_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    thread_errors: list[str] = []
    monkeypatch.setattr(threading, "excepthook",
                        lambda args: thread_errors.append(f"{args.thread.name}: {args.exc_value!r}"))
    app = _app()
    for cycle in range(CYCLES):
        server = start_in_background(app)
        port = int(server.url.rstrip("/").rsplit(":", 1)[1])
        kept: list[http.client.HTTPConnection] = []
        for _ in range(KEPT_ALIVE):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"ok"
            kept.append(connection)

        stop_clients = threading.Event()
        clients = [threading.Thread(target=_keep_asking, args=(port, stop_clients)) for _ in range(2)]
        for client in clients:
            client.start()
        time.sleep(0.02)
        server.stop()
        stop_clients.set()
        for client in clients:
            client.join()
        for connection in kept:
            connection.close()

        assert not server.thread.is_alive(), f"cycle {cycle}: the server's thread is still running"
        assert thread_errors == [], f"cycle {cycle}: {thread_errors}"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


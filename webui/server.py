"""Serving the app with waitress, a production WSGI server (never Flask's development server)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask
from waitress import create_server, wasyncore
from waitress import serve as waitress_serve

LOGGER = logging.getLogger(__name__)

# Bounds that keep slow or huge requests from tying up the threads (uploads are OPML files).
MAX_REQUEST_BODY = 10_000_000
CHANNEL_TIMEOUT = 60


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8) -> None:
    """Serve until interrupted."""
    LOGGER.info("serving on http://%s:%s/ with %d threads", host, port, threads)
    waitress_serve(app, host=host, port=port, threads=threads, ident="kb",
                   max_request_body_size=MAX_REQUEST_BODY, channel_timeout=CHANNEL_TIMEOUT)


@dataclass
class BackgroundServer:
    """A waitress server running in a thread (tests, the demo); `stop()` shuts it down."""

    server: object
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Stop listening, drop open connections and end the worker threads."""
        server: Any = self.server
        server.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(server._map)  # the listener, its trigger and any kept-alive connection
        self.thread.join(timeout=10)


def start_in_background(app: Flask, host: str = "127.0.0.1", port: int = 0,
                        threads: int = 4) -> BackgroundServer:
    """Start serving in a daemon thread on `port` (0: a free one); returns the server and its URL."""
    server = create_server(app, host=host, port=port, threads=threads, ident="kb",
                           max_request_body_size=MAX_REQUEST_BODY, channel_timeout=CHANNEL_TIMEOUT)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    return BackgroundServer(server, thread, f"http://{host}:{server.effective_port}/")  # type: ignore[union-attr]

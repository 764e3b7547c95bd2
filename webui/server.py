"""Serving the app with production WSGI servers (never Flask's development server).

- `serve_workers`: gunicorn's pre-fork workers, several processes behind one port, each building its own
  app (and so its own database connections and searchers) after the fork. What `kb serve` runs on Unix.
- `serve` and `start_in_background`: waitress, threads in this one process. For platforms without fork
  (Windows), and for servers embedded in a process that does other work (the tests, the browser tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from waitress import create_server, wasyncore
from waitress import serve as waitress_serve

LOGGER = logging.getLogger(__name__)

# Bounds that keep slow or huge requests from tying up the threads (uploads are OPML files).
MAX_REQUEST_BODY = 10_000_000
CHANNEL_TIMEOUT = 60
# Seconds a stopping worker process has to finish the requests in hand before it is killed.
GRACEFUL_SECONDS = 10


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8) -> None:
    """Serve until interrupted."""
    LOGGER.info("serving on http://%s:%s/ with %d threads", host, port, threads)
    waitress_serve(app, host=host, port=port, threads=threads, ident="kb",
                   max_request_body_size=MAX_REQUEST_BODY, channel_timeout=CHANNEL_TIMEOUT)


# How often a background server's loop checks whether it should stop.
STOP_POLL_SECONDS = 0.1


@dataclass
class BackgroundServer:
    """A waitress server running in a thread (tests, the demo); `stop()` shuts it down."""

    server: object
    thread: threading.Thread
    url: str
    stopping: threading.Event

    def stop(self) -> None:
        """Stop listening, drop open connections and end the worker threads."""
        server: Any = self.server
        server.task_dispatcher.shutdown(timeout=5)
        self.stopping.set()
        self.thread.join(timeout=10)


def _serve_until(server: Any, stopping: threading.Event) -> None:
    """waitress's loop, one poll at a time until `stopping` is set; then its sockets (the listener, its
    trigger, kept-alive connections) are closed in this thread. Closed from the stopping thread, a socket
    closed between the loop listing its sockets and its select() kills the loop with EBADF, and waking
    the loop through waitress's trigger races with the loop closing that trigger."""
    try:
        while server._map and not stopping.is_set():
            wasyncore.loop(timeout=STOP_POLL_SECONDS, map=server._map, count=1,
                           use_poll=server.adj.asyncore_use_poll)
    finally:
        wasyncore.close_all(server._map)


def start_in_background(app: Flask, host: str = "127.0.0.1", port: int = 0,
                        threads: int = 4) -> BackgroundServer:
    """Start serving in a daemon thread on `port` (0: a free one); returns the server and its URL."""
    server: Any = create_server(app, host=host, port=port, threads=threads, ident="kb",
                                max_request_body_size=MAX_REQUEST_BODY, channel_timeout=CHANNEL_TIMEOUT)
    stopping = threading.Event()
    thread = threading.Thread(target=_serve_until, args=(server, stopping), name="waitress", daemon=True)
    thread.start()
    return BackgroundServer(server, thread, f"http://{host}:{server.effective_port}/", stopping)


def worker_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """gunicorn's settings for `serve_workers`."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # A worker takes a connection only while one of its threads is free, and a connection carries one
        # request: waiting requests stay in the kernel's queue on the shared port, where whichever process
        # frees a thread first takes the next. With keep-alive (or more connections than threads) a process
        # keeps the clients it happened to accept and queues them behind its own busy threads while another
        # process idles. A reverse proxy in front keeps browsers' connections alive anyway.
        "worker_connections": threads,
        "keepalive": 0,
        # A worker whose main loop stops reporting for this long is killed and replaced.
        "timeout": CHANNEL_TIMEOUT,
        "graceful_timeout": GRACEFUL_SECONDS,
        "proc_name": "kb-web",
        "loglevel": "info",
        "accesslog": None,
        "preload_app": False,  # the app is built in each worker, after the fork (no shared connections)
    }


def serve_workers(load: Callable[[], Flask], *, host: str, port: int, workers: int, threads: int,
                  ready: Callable[[str, int], None] | None = None) -> None:
    """Serve with `workers` gunicorn processes of `threads` threads until SIGTERM (or SIGINT), in this
    process's main thread, which becomes the workers' master. Each worker calls `load()` once to build its
    app. `ready(host, port)` is called once the port is bound (port 0: a free one was chosen)."""
    from gunicorn.app.base import BaseApplication  # Unix only: imported when serving with it

    options = worker_options(host, port, workers, threads)

    def when_ready(arbiter: Any) -> None:
        if ready is not None:
            address = arbiter.LISTENERS[0].sock.getsockname()
            ready(address[0], int(address[1]))

    class _Application(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
        def load_config(self) -> None:
            for name, value in options.items():
                self.cfg.set(name, value)
            self.cfg.set("when_ready", when_ready)
            # gunicorn 25.1+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl), which
            # two servers on one machine would share; nothing here uses it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            return load()

    _Application().run()

"""A small real HTTP server for tests: routes to functions or files, a request log, clean shutdown.

    with LocalHTTPServer() as server:
        server.add("/feed", lambda request: (200, {"Content-Type": "application/rss+xml"}, RSS))
        server.add("/gone", (404, {}, b""))                  # a static answer needs no function
        server.add("/hang", lambda request: NO_ANSWER)       # accept, read the request, never answer
        server.add("/slow", lambda request: Drip(b"x" * 100, interval=0.2))
        server.add_file("/page.html", FIXTURES / "page.html")
        server.serve_dir("/static/", FIXTURES)
        urlopen(server.url("/feed"))
        assert server.requests[0].headers["user-agent"]

A handler gets a `Request` and returns `(status, headers, body)`; `body` is bytes (Content-Length is
added unless given) or an iterable of bytes (sent chunked). It may also return `NO_ANSWER` or a `Drip`.
Everything listens on 127.0.0.1 (or another loopback address given as `host`) on a random port.
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

STOP_TIMEOUT = 5.0
IDLE_TIMEOUT = 30.0


class _NoAnswer:
    """Marker: accept the request and never answer (until the server stops)."""

    def __repr__(self) -> str:
        return "NO_ANSWER"


NO_ANSWER = _NoAnswer()


@dataclass(frozen=True)
class Drip:
    """Send status and headers exactly as given (no Content-Length added), then `chunk` bytes of `body`
    every `interval` seconds, then close the connection (so the body is delimited by the close)."""

    body: bytes
    interval: float = 0.1
    chunk: int = 1
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; unpacks as `(method, path, headers)`. Header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""
    at: float = 0.0  # time.monotonic() when the request line and headers had arrived

    def __iter__(self) -> Any:
        return iter((self.method, self.path, self.headers))


Response = tuple[int, Mapping[str, str], bytes | Iterable[bytes]]
Handler = Callable[[Request], Any]


def _has(headers: Mapping[str, str], name: str) -> bool:
    """Whether a header is present, ignoring case."""
    return any(key.lower() == name.lower() for key in headers)


def _file_handler(file_path: Path, content_type: str | None) -> Handler:
    """A handler serving one file with ETag and Last-Modified, answering 304 to matching conditionals."""

    def handle(request: Request) -> Response:
        try:
            data = file_path.read_bytes()
            mtime = int(file_path.stat().st_mtime)
        except (FileNotFoundError, IsADirectoryError):
            return 404, {"Content-Type": "text/plain"}, b"not found"
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'  # noqa: S324 - a cache key, not security
        guessed = mimetypes.guess_type(file_path.name)[0]
        headers = {
            "Content-Type": content_type or guessed or "application/octet-stream",
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(mtime, usegmt=True),
        }
        if_none_match = request.headers.get("if-none-match")
        if_modified_since = request.headers.get("if-modified-since")
        if if_none_match is not None:
            if etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*":
                return 304, headers, b""
        elif if_modified_since:
            try:
                since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                since = None
            if since is not None and mtime <= since:
                return 304, headers, b""
        return 200, headers, data

    return handle


class _Server(ThreadingHTTPServer):
    """The socketserver part: tracks live connections so stopping can cut them."""

    daemon_threads = True
    block_on_close = False  # stop() waits for handlers itself, with a time limit
    owner: LocalHTTPServer

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup HTTPServer does (slow without a network)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep broken connections out of the test output; record anything else."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            self.owner.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    """Dispatches every method to the owner's routes and logs each request."""

    protocol_version = "HTTP/1.1"
    server_version = "kb-test-server/1"
    timeout = IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: tests read `server.requests` instead."""

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        """Record the request, ask its handler, send the answer."""
        owner = self.server.owner
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            at=time.monotonic(),
        )
        owner.requests.append(request)
        route = owner._route(parts.path)
        try:
            answer = route(request) if callable(route) else route
        except Exception as exc:  # a broken test handler: answer 500 and keep the error for the test
            owner.errors.append(exc)
            answer = (500, {"Content-Type": "text/plain"}, f"handler failed: {exc!r}".encode())
        try:
            self._answer(answer)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    def _answer(self, answer: Any) -> None:
        """Send one answer: a (status, headers, body) tuple, NO_ANSWER or a Drip."""
        stopping = self.server.owner._stopping
        if answer is NO_ANSWER:
            stopping.wait()
            self.close_connection = True
            return
        if isinstance(answer, Drip):
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            for start in range(0, len(answer.body), max(1, answer.chunk)):
                self.wfile.write(answer.body[start : start + max(1, answer.chunk)])
                if stopping.wait(answer.interval):
                    break
            self.close_connection = True
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        no_body = self.command == "HEAD" or status in (204, 304) or status < 200
        if isinstance(body, (bytes, bytearray)):
            if not _has(headers, "Content-Length") and not (status in (204, 304) or status < 200):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not no_body:
                self.wfile.write(body)
            return
        if not _has(headers, "Transfer-Encoding"):
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            return
        for piece in body:
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")


class LocalHTTPServer:
    """A real HTTP(S) server on a loopback address and a random port, running in a background thread."""

    def __init__(self, host: str = "127.0.0.1", *, tls: tuple[str | Path, str | Path] | None = None) -> None:
        self.host = host
        self.tls = tls
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self._routes: dict[str, Any] = {}
        self._prefixes: dict[str, Any] = {}
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> LocalHTTPServer:
        """Bind a random port and serve in a daemon thread."""
        server = _Server((self.host, 0), _Handler)
        server.owner = self
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"test-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, wait briefly for handlers, close the listening socket."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            live = list(self._connections)
        for conn in live:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            with self._lock:
                if not self._connections:
                    break
            time.sleep(0.01)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self._server = None

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Addresses

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "start() the server first"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """scheme://host:port"""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` on this server."""
        return self.origin + (path if path.startswith("/") else "/" + path)

    # Routes

    def add(self, path: str, handler: Handler | Response, *, prefix: bool = False) -> None:
        """Answer `path` (or, with prefix=True, every path under it) with a handler or a fixed answer."""
        with self._lock:
            (self._prefixes if prefix else self._routes)[path] = handler

    def add_redirect(self, path: str, target: str, status: int = 302) -> None:
        """Answer `path` with a redirect to `target` (relative or absolute)."""
        self.add(path, (status, {"Location": target}, b""))

    def add_file(self, path: str, file_path: str | Path, content_type: str | None = None) -> None:
        """Serve one file at `path`, with ETag/Last-Modified and 304 answers to conditional requests."""
        self.add(path, _file_handler(Path(file_path), content_type))

    def serve_dir(self, prefix: str, folder: str | Path) -> None:
        """Serve the files of `folder` under the URL prefix (e.g. "/static/"); nothing outside it."""
        root = Path(folder).resolve()
        prefix = prefix if prefix.endswith("/") else prefix + "/"

        def handle(request: Request) -> Response:
            relative = unquote(request.path[len(prefix) :]) or "index.html"
            target = (root / relative).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(root) or not target.is_file():
                return 404, {"Content-Type": "text/plain"}, b"not found"
            return _file_handler(target, None)(request)

        self.add(prefix, handle, prefix=True)

    def requests_for(self, path: str) -> list[Request]:
        """The logged requests for one path."""
        return [r for r in list(self.requests) if r.path == path]

    def _route(self, path: str) -> Any:
        """The handler for a path: exact routes first, then the longest matching prefix, else 404."""
        with self._lock:
            if path in self._routes:
                return self._routes[path]
            matches = [p for p in self._prefixes if path.startswith(p)]
            if matches:
                return self._prefixes[max(matches, key=len)]
        return (404, {"Content-Type": "text/plain"}, b"not found")

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        """Remember or forget a live client connection."""
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

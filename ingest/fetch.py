"""The one safe HTTP fetcher: every feed, page and robots.txt goes through `Fetcher.fetch`.

Built on `http.client` with the connections of `ingest.guard`, which connect only to addresses the
configuration allows. Bodies are capped before and after decompression (`ingest.responses`), redirects are
re-checked hop by hop, servers get one request at a time per host with a pause in between, and transient
failures are retried with backoff (honouring Retry-After); `ingest.failures` says why a fetch failed.

Decoding text is not the fetcher's job: it returns bytes and lower-cased headers.

`Fetcher.fetch` raises nothing but `kb.errors.FetchError` (`ingest.failures.FetchFailed` and its kinds),
whatever string it is given: callers run many fetches in one pass, and one odd URL or one bug met by one
request must cost that request only. An unexpected exception is logged with its traceback and becomes a
FetchFailed that says so.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import logging
import math
import random
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin

from ingest.failures import (
    BadResponse,
    BadURL,
    ConnectionFailed,
    FetchFailed,
    FetchTimeout,
    HTTPStatusError,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
    shown_url,
)
from ingest.guard import (
    DeadlineSSLSocket,
    GuardedHTTPConnection,
    GuardedHTTPSConnection,
    Limits,
    Network,
    request_target,
)
from ingest.responses import BodyReader, lower_headers
from ingest.robots import UNREACHABLE_TTL, RobotsCache, RobotsUnreachable, Verdict
from kb.errors import FetchError
from kb.text.urls import is_http_url

LOGGER = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "kb-monitor/0.1 (+https://github.com/; media monitoring for human-rights research)"
ACCEPT_FEED = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/feed+json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.5, */*;q=0.3"
)
ACCEPT_PAGE = "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8"
ACCEPT_ROBOTS = "text/plain, */*;q=0.5"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
CHUNK_SIZE = 64 * 1024
# RFC 9309 (2.5) asks crawlers to read at least 500 KiB of a robots.txt; a longer one is cut there (at a
# line end) and read, not refused, so a huge file neither opens nor closes the whole site.
ROBOTS_MAX_BYTES = 512 * 1024
MAX_HOSTS = 4096
TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


# --- Configuration and result -----------------------------------------------------------------------


@dataclass(frozen=True)
class FetchConfig:
    """Limits and manners of the fetcher; `from_settings` builds it from the product settings."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    retries: int = 2
    host_delay: float = 1.0
    concurrency: int = 8
    allow_private: tuple[Network, ...] = ()
    respect_robots: bool = True
    user_agent: str = DEFAULT_USER_AGENT
    backoff_base: float = 1.0
    max_retry_after: float = 120.0
    total_timeout: float | None = None  # per request; None: connect_timeout + 2 * read_timeout

    def __post_init__(self) -> None:
        networks = tuple(ipaddress.ip_network(str(n), strict=False) for n in self.allow_private)
        object.__setattr__(self, "allow_private", networks)
        if self.concurrency < 1 or self.max_bytes < 1 or self.retries < 0 or self.max_redirects < 0:
            raise ValueError("concurrency and max_bytes must be >= 1; retries and max_redirects >= 0")

    @classmethod
    def from_settings(cls, settings: Any) -> FetchConfig:
        """The fetch configuration described by a `kb.settings.Settings`."""
        return cls(
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            retries=settings.fetch_retries,
            host_delay=settings.fetch_host_delay,
            concurrency=settings.fetch_concurrency,
            allow_private=tuple(settings.fetch_allow_private),
            respect_robots=settings.fetch_respect_robots,
        )

    @property
    def request_deadline(self) -> float:
        """Seconds one request (connect, headers and body) may take in all."""
        if self.total_timeout is not None:
            return self.total_timeout
        return self.connect_timeout + 2 * self.read_timeout


@dataclass(frozen=True)
class FetchResult:
    """A successful fetch: final URL, status, lower-cased headers and the decompressed body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    elapsed: float = 0.0  # seconds for the whole call: robots.txt, politeness waits, retries, redirects
    redirects: tuple[str, ...] = ()  # the URLs that answered with a redirect, in order
    truncated: bool = False  # the body was cut at the cap (only asked for when reading robots.txt)

    @property
    def content_type(self) -> str:
        """The Content-Type header ("" when absent)."""
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class _Answer:
    """One HTTP exchange (one hop, one attempt) as seen by the retry and redirect loops."""

    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""
    truncated: bool = False


# --- Small helpers ----------------------------------------------------------------------------------


def _times(count: int) -> str:
    """'once', 'twice', 'three times', ... for messages."""
    return TIMES.get(count, f"{count} times")


def _reason(status: int, fallback: str = "") -> str:
    """The standard reason phrase of a status code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return fallback or "Unknown Status"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class _HostState:
    """Politeness bookkeeping of one host: one request at a time, and when the last one ended."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    last_end: float = float("-inf")
    users: int = 0


# --- The fetcher ------------------------------------------------------------------------------------


class Fetcher:
    """Fetches URLs safely and politely; one instance is shared by all worker threads."""

    def __init__(
        self, config: FetchConfig | None = None, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.config = config or FetchConfig()
        context = ssl_context or ssl.create_default_context()
        if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
            raise ValueError("the fetcher only uses TLS contexts that verify certificates and host names")
        context.sslsocket_class = DeadlineSSLSocket
        self._ssl_context = context
        self._slots = threading.BoundedSemaphore(self.config.concurrency)
        self._hosts_lock = threading.Lock()
        self._hosts: dict[str, _HostState] = {}
        self._closed = threading.Event()
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self._robots = RobotsCache(self._load_robots, self.config.user_agent)

    # Public API

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, is_page: bool = False
    ) -> FetchResult:
        """GET `url` following checked redirects; conditional when `etag`/`last_modified` are given.

        Raises only FetchError (FetchFailed and its kinds), for any `url` whatsoever.
        """
        try:
            if not isinstance(url, str):
                raise BadURL(f"Only http and https addresses can be fetched, not {type(url).__name__}.")
            headers = {"Accept": ACCEPT_PAGE if is_page else ACCEPT_FEED}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            return self._fetch(
                url,
                headers,
                self.config.max_bytes,
                check_robots=is_page and self.config.respect_robots,
                etag=etag,
                last_modified=last_modified,
            )
        except FetchError:
            raise
        except Exception as exc:  # a bug or a library's surprise: this fetch fails, the caller goes on
            shown = shown_url(url) if isinstance(url, str) else repr(url)[:200]
            LOGGER.exception("unexpected error while fetching %s", shown)
            raise FetchFailed(
                f"Fetching {shown} failed because of an unexpected error in the fetcher "
                f"({type(exc).__name__}); the details are in the log.",
                url=url if isinstance(url, str) else None,
            ) from exc

    def close(self) -> None:
        """Stop: waiting fetches give up and new ones are refused."""
        self._closed.set()
        self._robots.clear()
        with self._hosts_lock:
            self._hosts.clear()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Redirects and retries

    def _fetch(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        *,
        check_robots: bool,
        etag: str | None = None,
        last_modified: str | None = None,
        retries: int | None = None,
        truncate: bool = False,
    ) -> FetchResult:
        """Follow redirects, each hop checked (scheme, robots, address on connect) and retried on its own.

        With `truncate`, a body over `max_bytes` is cut there (FetchResult.truncated) instead of refused.
        """
        started = time.monotonic()
        current = url
        hops: list[str] = []
        while True:
            self._check_open()
            request_target(current)  # BadURL before anything else
            if check_robots:
                verdict = self._robots.check(current)
                if not verdict.allowed:
                    raise _robots_refusal(current, verdict)
            answer = self._with_retries(current, headers, max_bytes, retries, truncate)
            if answer.status in REDIRECT_STATUSES:
                location = answer.headers.get("location", "").strip()
                if not location:
                    raise BadResponse(f"{shown_url(current)} redirects without saying where to.", url=current)
                try:
                    target = urljoin(current, location).split("#", 1)[0]
                except ValueError as exc:  # e.g. "http://[::1" : urljoin checks brackets
                    raise BadResponse(
                        f"{shown_url(current)} redirects to {shown_url(location)!r}, which is not a valid "
                        "address.", url=current) from exc
                if not is_http_url(target):
                    raise BadURL(
                        f"{shown_url(current)} redirects to {shown_url(target)!r}, "
                        "not to an http(s) address.",
                        url=current,
                    )
                hops.append(current)
                if len(hops) > self.config.max_redirects:
                    raise TooManyRedirects(
                        f"{shown_url(url)} redirected more than {self.config.max_redirects} times.", url=url
                    )
                LOGGER.debug("redirect %d from %s to %s", answer.status, current, target)
                current = target
                continue
            not_modified = answer.status == 304
            headers_etag, headers_modified = answer.headers.get("etag"), answer.headers.get("last-modified")
            return FetchResult(
                url=current,
                status=answer.status,
                headers=answer.headers,
                body=answer.body,
                etag=headers_etag or (etag if not_modified else None),
                last_modified=headers_modified or (last_modified if not_modified else None),
                not_modified=not_modified,
                elapsed=time.monotonic() - started,
                redirects=tuple(hops),
                truncated=answer.truncated,
            )

    def _with_retries(
        self, url: str, headers: dict[str, str], max_bytes: int, retries: int | None, truncate: bool = False
    ) -> _Answer:
        """One hop: retry timeouts, broken connections, 5xx and 429 with backoff or Retry-After."""
        allowed = self.config.retries if retries is None else retries
        attempt = 0
        while True:
            attempt += 1
            last = attempt > allowed
            try:
                answer = self._request(url, headers, max_bytes, truncate)
            except FetchFailed as exc:
                retryable = exc.transient and not (isinstance(exc, FetchTimeout) and exc.phase == "total")
                if last or not retryable:
                    raise
                self._pause(self._backoff(attempt), url, str(exc))
                continue
            status = answer.status
            if 200 <= status < 300 or status == 304 or status in REDIRECT_STATUSES:
                return answer
            retry_after = None
            if status in RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(answer.headers.get("retry-after"))
                if retry_after is not None and retry_after > self.config.max_retry_after:
                    raise self._status_error(url, answer, 1, retry_after)
            if status < 500 and status != 429:
                raise self._status_error(url, answer, 1, None)
            if last:
                raise self._status_error(url, answer, attempt, retry_after)
            self._pause(self._backoff(attempt) if retry_after is None else retry_after, url,
                        f"{status} {answer.reason}")

    def _status_error(
        self, url: str, answer: _Answer, attempts: int, retry_after: float | None
    ) -> HTTPStatusError:
        """The error for a final error status, worded for a coordinator."""
        message = f"The server answered {answer.status} {answer.reason}"
        if attempts > 1:
            message += f" {_times(attempts)}"
        if retry_after is not None:
            message += f" and asked us to come back in {retry_after:g} seconds"
        return HTTPStatusError(
            f"{message} ({shown_url(url)}).",
            url=url,
            status=answer.status,
            reason=answer.reason,
            retry_after=retry_after,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter before retry number `attempt`."""
        return self.config.backoff_base * 2 ** (attempt - 1) * self._random.uniform(0.5, 1.5)

    def _pause(self, seconds: float, url: str, why: str) -> None:
        """Sleep before a retry (without holding any slot), or give up if the fetcher is closed."""
        LOGGER.info("retrying %s in %.2f s: %s", url, seconds, why)
        self._sleep(seconds)

    def _sleep(self, seconds: float) -> None:
        """Wait, waking early (with an error) when the fetcher is closed."""
        if seconds > 0 and self._closed.wait(seconds):
            self._check_open()

    def _check_open(self) -> None:
        """Refuse to work once closed."""
        if self._closed.is_set():
            raise FetchFailed("The fetcher was closed before the request could be made.", transient=True)

    # One request

    def _request(self, url: str, headers: dict[str, str], max_bytes: int, truncate: bool = False) -> _Answer:
        """One GET, in turn for its host and within the global concurrency limit."""
        scheme, host, port, target = request_target(url)
        with self._host_turn(host), self._slots:
            self._check_open()
            limits = Limits(
                allow=self.config.allow_private,
                connect_timeout=self.config.connect_timeout,
                read_timeout=self.config.read_timeout,
                deadline=time.monotonic() + self.config.request_deadline,
            )
            conn: GuardedHTTPConnection | None = None
            response: http.client.HTTPResponse | None = None
            try:
                # Made inside the try: http.client checks the host and port here and raises its own errors.
                if scheme == "https":
                    conn = GuardedHTTPSConnection(host, port, limits, self._ssl_context)
                else:
                    conn = GuardedHTTPConnection(host, port, limits)
                request_headers = {
                    "User-Agent": self.config.user_agent,
                    "Accept-Encoding": "gzip, deflate",
                    "Connection": "close",
                    **headers,
                }
                LOGGER.debug("GET %s", url)
                conn.request("GET", target, headers=request_headers)
                response = conn.getresponse()
                return self._read_answer(response, url, max_bytes, truncate)
            except FetchFailed as exc:
                exc.url = exc.url or url
                raise
            except Exception as exc:
                raise self._translate(exc, url, host, limits) from exc
            finally:
                if response is not None:
                    response.close()
                if conn is not None:
                    conn.close()

    def _read_answer(
        self, response: http.client.HTTPResponse, url: str, max_bytes: int, truncate: bool = False
    ) -> _Answer:
        """Status and headers, plus the capped (or, with `truncate`, cut) body for a 2xx answer."""
        headers = lower_headers(response.msg)
        answer = _Answer(response.status, _reason(response.status, response.reason), headers)
        if not 200 <= response.status < 300 or response.status in (204, 205):
            return answer
        if not truncate and response.length is not None and response.length > max_bytes:
            raise TooLarge(
                f"{shown_url(url)} announces {response.length:,} bytes, "
                f"more than the limit of {max_bytes:,}.",
                url=url,
            )
        reader = BodyReader(headers.get("content-encoding", ""), max_bytes, url, truncate=truncate)
        while not reader.full and (chunk := response.read(CHUNK_SIZE)):
            reader.feed(chunk)
        if response.length and not reader.full:  # read(amt) does not complain when a connection closes early
            raise http.client.IncompleteRead(b"", response.length)
        return _Answer(answer.status, answer.reason, headers, reader.finish(), truncated=reader.full)

    def _translate(self, exc: Exception, url: str, host: str, limits: Limits) -> FetchFailed:
        """Our error for a low-level failure during one request."""
        if isinstance(exc, TimeoutError):
            if time.monotonic() >= limits.deadline - 0.01:
                return FetchTimeout(
                    f"{shown_url(url)} took longer than the limit of {self.config.request_deadline:g} "
                    "seconds for one request.", url=url, phase="total")
            return FetchTimeout(
                f"{host} sent nothing for {limits.read_timeout:g} seconds ({shown_url(url)}).",
                url=url, phase="read")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ConnectionFailed(
                f"The TLS certificate of {host} could not be verified: {exc.verify_message or exc.reason}.",
                url=url,
            )
        if isinstance(exc, ssl.SSLError):
            return ConnectionFailed(f"The TLS connection to {host} failed: {exc.reason or exc}.", url=url)
        if isinstance(exc, http.client.IncompleteRead):
            return ConnectionFailed(f"The connection to {host} closed before the whole body arrived.",
                                    url=url, transient=True)
        if isinstance(exc, ConnectionError):  # reset, aborted, refused, broken pipe, RemoteDisconnected
            return ConnectionFailed(f"The connection to {host} broke ({exc}).", url=url, transient=True)
        if isinstance(exc, http.client.InvalidURL):  # http.client refusing a host, port or path we built
            return BadURL(f"The address {shown_url(url)!r} cannot be sent: {exc}.", url=url)
        if isinstance(exc, http.client.HTTPException):
            return BadResponse(
                f"{host} did not answer with valid HTTP ({type(exc).__name__}: {exc}).", url=url
            )
        if isinstance(exc, OSError):
            return ConnectionFailed(f"The connection to {host} failed ({exc.strerror or exc}).", url=url,
                                    transient=True)
        LOGGER.error("unexpected error during one request to %s", shown_url(url), exc_info=exc)
        return BadResponse(
            f"Fetching {shown_url(url)} failed unexpectedly ({type(exc).__name__}: {exc}).", url=url
        )

    # Politeness

    @contextmanager
    def _host_turn(self, host: str) -> Iterator[None]:
        """Wait for our turn at `host` (one at a time, host_delay apart) without holding a global slot."""
        state = self._host_state(host)
        try:
            with state.lock:
                self._sleep(state.last_end + self.config.host_delay - time.monotonic())
                try:
                    yield
                finally:
                    state.last_end = time.monotonic()
        finally:
            with self._hosts_lock:
                state.users -= 1

    def _host_state(self, host: str) -> _HostState:
        """The politeness state of `host`, registered as in use; idle old states are pruned."""
        with self._hosts_lock:
            state = self._hosts.get(host)
            if state is None:
                if len(self._hosts) >= MAX_HOSTS:
                    cutoff = time.monotonic() - self.config.host_delay
                    for key in [k for k, s in self._hosts.items() if s.users == 0 and s.last_end < cutoff]:
                        del self._hosts[key]
                state = self._hosts[host] = _HostState()
            state.users += 1
            return state

    # robots.txt

    def _load_robots(self, location: str) -> str | None:
        """The text of a robots.txt fetched through the guarded path; None when the site has none.

        As RFC 9309 (2.3.1) sorts answers: a 4xx, or more redirects than allowed, means there is no
        robots.txt (None: everything allowed); a 5xx, a 429 or a network failure means it could not be
        read (RobotsUnreachable: everything refused for a while). A 429 is read as the server asking us to
        slow down, not as a missing file.
        """
        try:
            result = self._fetch(
                location,
                {"Accept": ACCEPT_ROBOTS},
                min(ROBOTS_MAX_BYTES, self.config.max_bytes),
                check_robots=False,
                retries=0,
                truncate=True,
            )
        except HTTPStatusError as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                LOGGER.debug("no robots.txt at %s (%s); allowing all paths", location, exc.status)
                return None
            LOGGER.warning("robots.txt at %s answered %s; refusing the site's pages for now", location,
                           exc.status)
            raise RobotsUnreachable(str(exc)) from exc
        except TooManyRedirects:
            LOGGER.info("robots.txt at %s redirects too often; allowing all paths", location)
            return None
        except FetchFailed as exc:
            if self._closed.is_set():
                raise  # closing, not a verdict on the site
            LOGGER.warning("robots.txt at %s unavailable (%s); refusing the site's pages for now",
                           location, exc)
            raise RobotsUnreachable(str(exc)) from exc
        if result.not_modified:
            return None
        text = result.body.decode("utf-8-sig", errors="replace")
        if result.truncated:  # the last line may be cut in the middle of a path: drop it
            text = text[: text.rfind("\n") + 1]
            LOGGER.info("robots.txt at %s is longer than %d bytes; read up to there", location,
                        ROBOTS_MAX_BYTES)
        return text


def _robots_refusal(url: str, verdict: Verdict) -> RobotsDisallowed:
    """The error for a page robots.txt keeps us from, worded for a coordinator."""
    if verdict.unreachable is None:
        return RobotsDisallowed(f"The site's robots.txt does not allow fetching {shown_url(url)}.", url=url)
    return RobotsDisallowed(
        f"{shown_url(url)} was not fetched because the site's robots.txt could not be read: "
        f"{verdict.unreachable.rstrip('.')}. Until it can be read, no page of the site is fetched; it is "
        f"asked for again after {UNREACHABLE_TTL / 60:g} minutes.",
        url=url,
        transient=True,  # the site's trouble may pass: a later try may succeed
    )

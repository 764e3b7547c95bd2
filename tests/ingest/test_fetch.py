"""The safe fetcher against a real local HTTP server: limits, redirects, retries, robots, politeness."""

from __future__ import annotations

import dataclasses
import gzip
import ipaddress
import pickle
import shutil
import socket
import subprocess
import threading
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from ingest.failures import (
    BadURL,
    BlockedAddress,
    ConnectionFailed,
    FetchFailed,
    FetchTimeout,
    HTTPStatusError,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from ingest.fetch import ROBOTS_MAX_BYTES, FetchConfig, Fetcher, FetchResult, parse_retry_after
from ingest.guard import address_problem, blocked_reason, request_target
from ingest.robots import ROBOTS_TTL, UNREACHABLE_TTL, RobotsCache, RobotsUnreachable, Verdict
from kb.errors import FetchError
from kb.settings import load_settings
from tests import httpserver
from tests.httpserver import NO_ANSWER, Drip, LocalHTTPServer, Request

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
TEXT = {"Content-Type": "text/plain"}


def make_fetcher(config: FetchConfig, **changes: object) -> Fetcher:
    """A fetcher with some settings changed from the test configuration."""
    return Fetcher(dataclasses.replace(config, **changes))


def sequence(*answers: tuple[int, dict[str, str], bytes]):
    """A handler giving the answers in order, then repeating the last one."""
    remaining = list(answers)

    def handle(request: Request):
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return handle


# --- Plain fetches ----------------------------------------------------------------------------------


def test_plain_200(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, b"<rss/>"))
    with Fetcher(fetch_config) as fetcher:
        result = fetcher.fetch(http_server.url("/feed.xml"))
    assert isinstance(result, FetchResult)
    assert (result.status, result.body, result.url) == (200, b"<rss/>", http_server.url("/feed.xml"))
    assert result.headers["content-type"] == "application/rss+xml" == result.content_type
    assert result.etag == '"v1"' and result.last_modified is None
    assert not result.not_modified and result.redirects == () and result.elapsed > 0
    (request,) = http_server.requests
    method, path, headers = request
    assert (method, path) == ("GET", "/feed.xml")
    assert headers["user-agent"].startswith("kb-monitor/")
    assert "application/rss+xml" in headers["accept"]
    assert headers["accept-encoding"] == "gzip, deflate"


def test_page_asks_for_html(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/a", (200, {"Content-Type": "text/html"}, b"<p>hi</p>"))
    with make_fetcher(fetch_config, respect_robots=False) as fetcher:
        assert fetcher.fetch(http_server.url("/a?x=1&y=%C3%A9"), is_page=True).body == b"<p>hi</p>"
    assert http_server.requests[0].headers["accept"].startswith("text/html")
    assert http_server.requests[0].query == "x=1&y=%C3%A9"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_body_is_decompressed(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, encoding: str
) -> None:
    payload = b"<rss>" + b"algorithm " * 5000 + b"</rss>"
    if encoding == "gzip":
        body = gzip.compress(payload)
    elif encoding == "deflate":
        body = zlib.compress(payload)
    else:
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = packer.compress(payload) + packer.flush()
    header = "gzip" if encoding == "gzip" else "deflate"
    http_server.add("/z", (200, {"Content-Encoding": header}, body))
    with Fetcher(fetch_config) as fetcher:
        result = fetcher.fetch(http_server.url("/z"))
    assert result.body == payload
    assert len(body) < len(payload) / 10


def test_chunked_body(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/c", lambda request: (200, TEXT, (b"part%d " % i for i in range(100))))
    with Fetcher(fetch_config) as fetcher:
        assert fetcher.fetch(http_server.url("/c")).body == b"".join(b"part%d " % i for i in range(100))


def test_conditional_get_answers_304(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b"<rss>one</rss>")
    http_server.add_file("/feed.xml", feed, "application/rss+xml")
    with Fetcher(fetch_config) as fetcher:
        first = fetcher.fetch(http_server.url("/feed.xml"))
        assert first.etag and first.last_modified and first.body == b"<rss>one</rss>"
        second = fetcher.fetch(
            http_server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified
        )
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.etag == first.etag and second.last_modified == first.last_modified
    conditional = http_server.requests[1].headers
    assert conditional["if-none-match"] == first.etag
    assert conditional["if-modified-since"] == first.last_modified
    assert "if-none-match" not in http_server.requests[0].headers


# --- Errors and retries -----------------------------------------------------------------------------


def test_server_error_then_success_is_retried(
    http_server: LocalHTTPServer, fetch_config: FetchConfig
) -> None:
    http_server.add("/flaky", sequence((500, TEXT, b"oops"), (502, TEXT, b"oops"), (200, TEXT, b"fine")))
    with Fetcher(fetch_config) as fetcher:
        assert fetcher.fetch(http_server.url("/flaky")).body == b"fine"
    assert len(http_server.requests) == 3


def test_server_error_every_time_gives_up(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/down", (500, TEXT, b"oops"))
    with Fetcher(fetch_config) as fetcher, pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(http_server.url("/down"))
    error = caught.value
    assert error.status == 500 and error.transient and error.retry_after is None
    assert "The server answered 500 Internal Server Error three times" in str(error)
    assert error.url == http_server.url("/down")
    assert len(http_server.requests) == 1 + fetch_config.retries


def test_client_error_is_not_retried(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    with Fetcher(fetch_config) as fetcher, pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(http_server.url("/missing"))
    assert caught.value.status == 404 and not caught.value.transient
    assert "404 Not Found" in str(caught.value)
    assert len(http_server.requests) == 1


def test_429_with_short_retry_after_waits_then_succeeds(
    http_server: LocalHTTPServer, fetch_config: FetchConfig
) -> None:
    http_server.add("/busy", sequence((429, {"Retry-After": "1"}, b""), (200, TEXT, b"ok")))
    with Fetcher(fetch_config) as fetcher:
        assert fetcher.fetch(http_server.url("/busy")).body == b"ok"
    first, second = http_server.requests
    assert 0.95 <= second.at - first.at < 2.0


def test_429_with_long_retry_after_fails_at_once(
    http_server: LocalHTTPServer, fetch_config: FetchConfig
) -> None:
    http_server.add("/busy", (429, {"Retry-After": "3600"}, b""))
    started = time.monotonic()
    with Fetcher(fetch_config) as fetcher, pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(http_server.url("/busy"))
    assert time.monotonic() - started < 0.5
    assert caught.value.status == 429 and caught.value.retry_after == 3600
    assert "3600 seconds" in str(caught.value)
    assert len(http_server.requests) == 1


def test_503_retry_after_as_http_date(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    http_server.add("/maint", (503, {"Retry-After": later}, b""))
    with Fetcher(fetch_config) as fetcher, pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(http_server.url("/maint"))
    assert caught.value.retry_after is not None and 7000 < caught.value.retry_after <= 7200
    assert len(http_server.requests) == 1


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 01 May 2024 12:01:00 GMT", now) == 60
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_connection_refused(fetch_config: FetchConfig) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with make_fetcher(fetch_config, retries=0) as fetcher, pytest.raises(ConnectionFailed) as caught:
        fetcher.fetch(f"http://127.0.0.1:{port}/")
    assert "Could not connect to 127.0.0.1" in str(caught.value)


def test_broken_connection_is_retried(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    # An announced body that never fully arrives: the connection closes early.
    http_server.add("/cut", sequence((200, {"Content-Length": "100"}, b"short"), (200, TEXT, b"whole")))
    with Fetcher(fetch_config) as fetcher:
        assert fetcher.fetch(http_server.url("/cut")).body == b"whole"
    assert len(http_server.requests) == 2


# --- Redirects --------------------------------------------------------------------------------------


def test_redirect_chain_is_followed(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add_redirect("/r1", "/r2", 301)
    http_server.add_redirect("/r2", http_server.url("/r3"), 307)
    http_server.add_redirect("/r3", "final", 308)  # relative to /r3
    http_server.add("/final", (200, TEXT, b"arrived"))
    with Fetcher(fetch_config) as fetcher:
        result = fetcher.fetch(http_server.url("/r1"))
    assert result.body == b"arrived" and result.url == http_server.url("/final")
    assert result.redirects == tuple(http_server.url(p) for p in ("/r1", "/r2", "/r3"))
    assert [r.path for r in http_server.requests] == ["/r1", "/r2", "/r3", "/final"]


def test_too_many_redirects(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    for hop in range(6):
        http_server.add_redirect(f"/hop{hop}", f"/hop{hop + 1}")
    http_server.add("/hop6", (200, TEXT, b"never"))
    with Fetcher(fetch_config) as fetcher, pytest.raises(TooManyRedirects):
        fetcher.fetch(http_server.url("/hop0"))
    assert len(http_server.requests) == 6


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/"])
def test_redirect_to_private_network_is_blocked(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, target: str
) -> None:
    http_server.add_redirect("/jump", target)
    with Fetcher(fetch_config) as fetcher, pytest.raises(BlockedAddress) as caught:
        fetcher.fetch(http_server.url("/jump"))
    assert "fetch_allow_private" in str(caught.value)


def test_redirect_to_loopback_not_allowed(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    only_this = (ipaddress.ip_network("127.0.0.1/32"),)
    http_server.add_redirect("/jump", f"http://127.0.0.2:{http_server.port}/")
    with make_fetcher(fetch_config, allow_private=only_this) as fetcher:
        with pytest.raises(BlockedAddress) as caught:
            fetcher.fetch(http_server.url("/jump"))
    assert "127.0.0.2 is a loopback address" in str(caught.value)


def test_redirect_to_other_scheme_is_refused(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add_redirect("/jump", "file:///etc/passwd")
    with Fetcher(fetch_config) as fetcher, pytest.raises(BadURL):
        fetcher.fetch(http_server.url("/jump"))


# --- Address guard ----------------------------------------------------------------------------------


def test_loopback_refused_by_default(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/", (200, TEXT, b"secret"))
    with make_fetcher(fetch_config, allow_private=()) as fetcher, pytest.raises(BlockedAddress) as caught:
        fetcher.fetch(http_server.url("/"))
    assert not caught.value.transient
    assert http_server.requests == []


def test_localhost_name_refused_without_allow_list(
    http_server: LocalHTTPServer, fetch_config: FetchConfig
) -> None:
    http_server.add("/", (200, TEXT, b"hello"))
    url = f"http://localhost:{http_server.port}/"
    with make_fetcher(fetch_config, allow_private=()) as fetcher, pytest.raises(BlockedAddress):
        fetcher.fetch(url)
    assert http_server.requests == []
    with Fetcher(fetch_config) as fetcher:  # 127.0.0.0/8 allowed: connects to the allowed address
        assert fetcher.fetch(url).body == b"hello"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "0.0.0.0", "0.1.2.3",
        "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
        "ff02::1", "fec0::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:a00:1::1", "64:ff9b::a00:1",
    ],
)
def test_special_addresses_are_blocked(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert blocked_reason(ip, ()) is not None


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_problem(ip) is None and blocked_reason(ip, ()) is None


def test_allow_list_opens_only_its_networks() -> None:
    assert blocked_reason(ipaddress.ip_address("127.0.0.1"), LOOPBACK) is None
    assert blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1"), LOOPBACK) is None
    assert blocked_reason(ipaddress.ip_address("::1"), LOOPBACK) is not None
    assert blocked_reason(ipaddress.ip_address("10.0.0.1"), LOOPBACK) is not None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)", "file:///etc/passwd", "ftp://example.org/x", "mailto:a@b.org", "", "/relative",
        "http://exa mple.org/", "http:///nohost",
    ],
)
def test_non_http_urls_are_bad(fetch_config: FetchConfig, url: str) -> None:
    with Fetcher(fetch_config) as fetcher, pytest.raises(BadURL):
        fetcher.fetch(url)


# --- IPv6 literals and odd URLs -----------------------------------------------------------------------

IPV6_LOOPBACK = (ipaddress.ip_network("::1/128"),)


@pytest.fixture
def ipv6_server(monkeypatch: pytest.MonkeyPatch):
    """The test HTTP server listening on [::1] (skipped when this machine has no IPv6 loopback)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"this machine has no IPv6 loopback (::1): {exc}")

    class IPv6Server(httpserver._Server):
        address_family = socket.AF_INET6

    with monkeypatch.context() as patch:  # tests/httpserver.py binds IPv4 sockets; only the family changes
        patch.setattr(httpserver, "_Server", IPv6Server)
        server = LocalHTTPServer("::1").start()
    try:
        yield server
    finally:
        server.stop()


def test_ipv6_literal_with_a_port_is_fetched(ipv6_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    ipv6_server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml"}, b"<rss/>"))
    url = f"http://[::1]:{ipv6_server.port}/feed.xml?x=1"
    with make_fetcher(fetch_config, allow_private=IPV6_LOOPBACK) as fetcher:
        result = fetcher.fetch(url)
    assert (result.status, result.body, result.url) == (200, b"<rss/>", url)
    (request,) = ipv6_server.requests
    assert request.headers["host"] == f"[::1]:{ipv6_server.port}"
    assert (request.path, request.query) == ("/feed.xml", "x=1")


def test_ipv6_loopback_refused_without_the_allowance(
    ipv6_server: LocalHTTPServer, fetch_config: FetchConfig
) -> None:
    ipv6_server.add("/", (200, TEXT, b"secret"))
    for allow in ((), LOOPBACK):  # nothing allowed; IPv4 loopback allowed, which says nothing of ::1
        with make_fetcher(fetch_config, allow_private=allow) as fetcher:
            with pytest.raises(BlockedAddress) as caught:
                fetcher.fetch(f"http://[::1]:{ipv6_server.port}/")
        assert "::1 is a loopback address" in str(caught.value)
    assert ipv6_server.requests == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://[::1]/", ("http", "::1", 80, "/")),
        ("https://[::1]/a?b=1", ("https", "::1", 443, "/a?b=1")),
        ("http://[::1]:8080/feed.xml", ("http", "::1", 8080, "/feed.xml")),
        ("http://[::ffff:a9fe:a9fe]/feed.xml", ("http", "::ffff:a9fe:a9fe", 80, "/feed.xml")),
        ("http://[fe80::1%25lo]/", ("http", "fe80::1%lo", 80, "/")),
        ("http://user@[2001:db8::1]:81/", ("http", "2001:db8::1", 81, "/")),
        ("http://Example.ORG./x", ("http", "example.org", 80, "/x")),
    ],
)
def test_request_target_takes_ipv6_literals_apart(url: str, expected: tuple[str, str, int, str]) -> None:
    """The host without brackets (zone decoded) and always an explicit port: http.client would read the
    last group of "::1" as a port."""
    assert request_target(url) == expected


def test_ipv6_literal_without_a_port_uses_port_80(fetch_config: FetchConfig) -> None:
    """http://[::1]/ goes to [::1] port 80 (nothing listens there in the tests): a connection error, where
    it used to be host ":" port 1, or http.client.InvalidURL escaping the fetcher."""
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 80))
        except OSError:
            pytest.skip("cannot check port 80 on ::1 here (no IPv6, or something listens there)")
    with make_fetcher(fetch_config, allow_private=IPV6_LOOPBACK, retries=0) as fetcher:
        with pytest.raises(ConnectionFailed, match="Could not connect to ::1 port 80"):
            fetcher.fetch("http://[::1]/feed.xml")


@pytest.mark.parametrize(
    ("url", "error", "words"),
    [
        ("http://[::ffff:a9fe:a9fe]/feed.xml", BlockedAddress, "169.254.169.254 is a link-local address"),
        ("http://[fe80::1%25lo]/", BlockedAddress, "fe80::1 is a link-local address"),
        ("http://[fe80::1%25no-such-interface]/", BlockedAddress, "link-local"),
        ("http://[::1]/", BlockedAddress, "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:8080/", BlockedAddress, "127.0.0.1 is a loopback address"),
        ("http://[v1.fe]/", BadURL, "not a valid IPv6 address"),
        ("http://::1/", BadURL, "Only absolute http and https addresses"),
        ("http://[::1]:0/", BadURL, "port 0"),
    ],
)
def test_ipv6_spellings_give_clean_errors(
    fetch_config: FetchConfig, url: str, error: type[FetchFailed], words: str
) -> None:
    with make_fetcher(fetch_config, allow_private=(), retries=0) as fetcher, pytest.raises(error) as caught:
        fetcher.fetch(url)
    assert words in str(caught.value)


class _TreacherousURL(str):
    """A str whose lstrip fails, as urlsplit calls it: a URL string no code of ours expects."""

    def lstrip(self, chars: str | None = None) -> str:
        raise RuntimeError("a bug somewhere below the fetcher")


NASTY_URLS = [
    "", " ", "http://", "http:///", "http://[", "http://[]/", "http://[::1", "http://[::1]]/", "http://]::1[/",
    "http://[::1]:/", "http://[::1]:99999/", "http://[::1]:-1/", "http://[::1]:port/", "http://[::1]:80:80/",
    "http://[127.0.0.1]/", "http://[v1.x]/", "http://[fe80::1%25]/", "http://[fe80::1%lo]/", "http://[::1%00]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/", "http://[::1]@example.invalid/", "http://user:pa:ss@[::1]/",
    "http://:80/", "http://@/", "http://a..b.invalid/", "http://" + "a" * 64 + ".invalid/",
    "http://" + "a." * 130 + "invalid/", "http://\u2488.invalid/", "http://exa\u00admple.invalid/",
    "http://\ud800.invalid/", "http://a.invalid/\ud800", "http://a.invalid/?q=\udcff", "http://a%00b.invalid/",
    "http://*.invalid/", "http://a,b.invalid/", "http://0x7f.1/", "http://2130706433/", "http://127.1/",
    "http://localhost./", "HTTP://LOCALHOST:1/", "http://a.invalid:65536/", "http://a.invalid:0/",
    "http://xn--.invalid/", "http://xn--a.invalid/", "http://a.invalid/" + "x" * 5000,
    "http://a.invalid/\x00", "http://a.invalid/\r\nHost: evil", "http://\\\\evil.invalid/", "//[::1]/",
    "http:[::1]/", "ftp://[::1]/", "javascript:alert(1)", "http://[::1]#frag", "http://a.invalid?x=%ff%fe",
    "https://[::ffff:10.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/",
    _TreacherousURL("http://example.invalid/"),
]


@pytest.mark.parametrize("url", NASTY_URLS, ids=repr)
def test_only_fetch_errors_escape(fetch_config: FetchConfig, url: str) -> None:
    """Whatever the string, fetch raises a FetchError with a message for a person, and nothing else.
    (Nothing is reachable: private ranges are closed, and names are under .invalid, which never resolves.)"""
    config = dataclasses.replace(fetch_config, allow_private=(), retries=0, connect_timeout=0.5)
    with Fetcher(config) as fetcher:
        try:
            fetcher.fetch(url, is_page=True)
        except FetchError as exc:
            assert str(exc).strip() and len(str(exc)) < 1000
        else:
            pytest.fail(f"{url!r} was fetched")


def test_an_unexpected_error_becomes_a_logged_fetch_error(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure nobody foresaw, inside one request (here a TLS library that breaks), fails that fetch
    with a FetchError that says so, and the traceback goes to the log; the fetcher keeps working."""
    import ssl

    class BrokenContext(ssl.SSLContext):
        def wrap_socket(self, *args: object, **kwargs: object) -> ssl.SSLSocket:
            raise RuntimeError("the TLS library broke")

    context = BrokenContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_default_certs()
    http_server.add("/", (200, TEXT, b"fine"))
    with Fetcher(fetch_config, ssl_context=context) as fetcher:
        with caplog.at_level("ERROR", logger="ingest.fetch"), pytest.raises(FetchFailed) as caught:
            fetcher.fetch(f"https://127.0.0.1:{http_server.port}/")
        assert fetcher.fetch(http_server.url("/")).body == b"fine"
    assert "failed unexpectedly (RuntimeError: the TLS library broke)" in str(caught.value)
    assert any(r.exc_info and "unexpected" in r.getMessage() for r in caplog.records)


def test_an_unexpected_error_outside_a_request_is_contained(
    fetch_config: FetchConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with Fetcher(fetch_config) as fetcher:
        with caplog.at_level("ERROR", logger="ingest.fetch"), pytest.raises(FetchFailed) as caught:
            fetcher.fetch(_TreacherousURL("http://example.invalid/"))
    assert "unexpected error in the fetcher (RuntimeError)" in str(caught.value)
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "example.invalid" in record.getMessage()


# --- Timeouts and size limits -----------------------------------------------------------------------


def test_server_that_never_answers_times_out(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/hang", lambda request: NO_ANSWER)
    started = time.monotonic()
    with make_fetcher(fetch_config, retries=0) as fetcher, pytest.raises(FetchTimeout) as caught:
        fetcher.fetch(http_server.url("/hang"))
    assert 0.9 <= time.monotonic() - started < 1.8
    assert caught.value.phase == "read" and caught.value.transient


def test_slow_drip_hits_the_request_deadline(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/drip", lambda request: Drip(b"x" * 1000, interval=0.1, headers=TEXT))
    started = time.monotonic()
    with make_fetcher(fetch_config, total_timeout=0.8) as fetcher, pytest.raises(FetchTimeout) as caught:
        fetcher.fetch(http_server.url("/drip"))
    assert time.monotonic() - started < 1.5
    assert caught.value.phase == "total"
    assert len(http_server.requests) == 1  # a drip is not retried


def test_announced_body_over_cap(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/big", (200, TEXT, b"x" * 5000))
    with make_fetcher(fetch_config, max_bytes=1000) as fetcher, pytest.raises(TooLarge) as caught:
        fetcher.fetch(http_server.url("/big"))
    assert "announces 5,000 bytes" in str(caught.value)


@pytest.mark.parametrize("style", ["chunked", "close-delimited"])
def test_unannounced_body_over_cap(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, style: str
) -> None:
    if style == "chunked":
        http_server.add("/big", lambda request: (200, TEXT, (b"y" * 1000 for _ in range(5000))))
    else:
        http_server.add("/big", lambda request: Drip(b"y" * 5_000_000, interval=0, chunk=65536, headers=TEXT))
    with make_fetcher(fetch_config, max_bytes=10_000) as fetcher, pytest.raises(TooLarge):
        fetcher.fetch(http_server.url("/big"))


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed without ever holding them all."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


def test_gzip_bomb_stops_at_the_cap(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    bomb = gzip_bomb(50 << 20)
    assert len(bomb) < 100_000
    http_server.add("/bomb", (200, {"Content-Encoding": "gzip", **TEXT}, bomb))
    with make_fetcher(fetch_config, max_bytes=1 << 20) as fetcher:
        tracemalloc.start()
        started = time.monotonic()
        try:
            with pytest.raises(TooLarge) as caught:
                fetcher.fetch(http_server.url("/bomb"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert time.monotonic() - started < 2
    assert peak < 8 << 20
    assert "decompressed body" in str(caught.value)


# --- robots.txt -------------------------------------------------------------------------------------


ROBOTS = b"User-agent: *\nDisallow: /private/\n\nUser-agent: kb-monitor\nDisallow: /nokb/\n"


def test_robots_disallow_pages_but_not_feeds(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/robots.txt", (200, TEXT, ROBOTS))
    http_server.add("/nokb/page", (200, TEXT, b"page"))
    http_server.add("/public", (200, TEXT, b"public"))
    with Fetcher(fetch_config) as fetcher:
        with pytest.raises(RobotsDisallowed):
            fetcher.fetch(http_server.url("/nokb/page"), is_page=True)
        assert fetcher.fetch(http_server.url("/public"), is_page=True).body == b"public"
        assert fetcher.fetch(http_server.url("/nokb/page")).body == b"page"  # a feed: no robots check
    paths = [r.path for r in http_server.requests]
    assert paths.count("/robots.txt") == 1  # cached per host
    assert "/nokb/page" in paths and paths.index("/robots.txt") == 0


def test_missing_robots_allows(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    """A 4xx robots.txt means the site has none (RFC 9309 "unavailable"): every path may be fetched."""
    http_server.add("/robots.txt", (404, TEXT, b"no"))
    http_server.add("/page", (200, TEXT, b"page"))
    with Fetcher(fetch_config) as fetcher:
        assert fetcher.fetch(http_server.url("/page"), is_page=True).body == b"page"
        assert fetcher.fetch(http_server.url("/page"), is_page=True).body == b"page"
    assert [r.path for r in http_server.requests] == ["/robots.txt", "/page", "/page"]


@pytest.mark.parametrize("answer", [(503, TEXT, b"down"), (500, TEXT, b"oops"), (429, TEXT, b"slow down")])
def test_unreadable_robots_refuses_for_a_while(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, answer: tuple[int, dict[str, str], bytes]
) -> None:
    """A 5xx (or 429) robots.txt is "unreachable": no page is fetched, and robots.txt is not asked for
    again at once (the next try comes after UNREACHABLE_TTL, see test_unreachable_robots_is_asked_again)."""
    http_server.add("/robots.txt", answer)
    http_server.add("/page", (200, TEXT, b"page"))
    with Fetcher(fetch_config) as fetcher:
        with pytest.raises(RobotsDisallowed) as caught:
            fetcher.fetch(http_server.url("/page"), is_page=True)
        with pytest.raises(RobotsDisallowed):
            fetcher.fetch(http_server.url("/other"), is_page=True)
        assert fetcher.fetch(http_server.url("/page")).body == b"page"  # a feed: no robots check
    message = str(caught.value)
    assert "robots.txt could not be read" in message and str(answer[0]) in message
    assert caught.value.transient and caught.value.url == http_server.url("/page")
    assert [r.path for r in http_server.requests] == ["/robots.txt", "/page"]


def test_robots_that_never_answers_refuses(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    """A network failure on robots.txt (here a timeout) is "unreachable" too."""
    http_server.add("/robots.txt", lambda request: NO_ANSWER)
    http_server.add("/page", (200, TEXT, b"page"))
    with Fetcher(fetch_config) as fetcher, pytest.raises(RobotsDisallowed) as caught:
        fetcher.fetch(http_server.url("/page"), is_page=True)
    assert "robots.txt could not be read" in str(caught.value)
    assert http_server.requests_for("/page") == []


@pytest.mark.parametrize(
    ("robots", "allowed", "refused"),
    [
        (b"User-agent: *\nDisallow: /*.pdf$\n",
         ["/a.pdf.html", "/a.pdfx", "/pdf/"], ["/a.pdf", "/docs/b.pdf"]),
        (b"User-agent: *\nDisallow: /private\nAllow: /private/public\n",
         ["/private/public/x", "/private/public", "/open"], ["/private/x", "/private"]),
        (b"User-agent: *\nAllow: /private/public\nDisallow: /private\n",  # order does not matter
         ["/private/public/x"], ["/private/x"]),
        (b"User-agent: *\nDisallow: /search*q=\n", ["/search", "/searching"], ["/search?q=welfare"]),
        (b"User-agent: other-bot\nDisallow: /\n\nUser-agent: kb-monitor\nDisallow: /nokb\n",
         ["/", "/page"], ["/nokb/page"]),
    ],
    ids=["dollar-anchor", "longest-match-allow", "allow-first", "star", "own-group"],
)
def test_robots_rules_as_rfc_9309_reads_them(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, robots: bytes, allowed: list[str],
    refused: list[str],
) -> None:
    """"*" and "$" patterns; the longest match wins whatever the order (urllib.robotparser fails these)."""
    http_server.add("/robots.txt", (200, TEXT, robots))
    http_server.add("/", prefix=True, handler=lambda request: (200, TEXT, b"page"))
    with Fetcher(fetch_config) as fetcher:
        for path in allowed:
            assert fetcher.fetch(http_server.url(path), is_page=True).body == b"page", path
        for path in refused:
            with pytest.raises(RobotsDisallowed, match="does not allow"):
                fetcher.fetch(http_server.url(path), is_page=True)
    assert {r.path for r in http_server.requests} == {"/robots.txt", *(p.split("?")[0] for p in allowed)}


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_long_robots_is_read_up_to_the_limit(
    http_server: LocalHTTPServer, fetch_config: FetchConfig, encoding: str
) -> None:
    """A robots.txt past ROBOTS_MAX_BYTES is read up to there (RFC 9309: at least 500 KiB), not refused;
    the line cut in the middle is dropped: "Disallow: /", cut from "Disallow: /late", must not close the
    site."""
    filler = b"# " + b"x" * 97 + b"\n"
    robots = b"User-agent: *\nDisallow: /early\n" + filler * (ROBOTS_MAX_BYTES // len(filler) - 1)
    late = b"Disallow: /late\n"
    padding = ROBOTS_MAX_BYTES - len(robots) - len(b"Disallow: /") - 1  # a comment line up to the cut
    robots += b"#" * padding + b"\n" + late + filler * 100
    assert robots[:ROBOTS_MAX_BYTES].endswith(b"\nDisallow: /")  # the cut falls right there
    headers = dict(TEXT)
    if encoding == "gzip":
        robots, headers = gzip.compress(robots), {**TEXT, "Content-Encoding": "gzip"}
    http_server.add("/robots.txt", (200, headers, robots))
    http_server.add("/", prefix=True, handler=lambda request: (200, TEXT, b"page"))
    with Fetcher(fetch_config) as fetcher:
        with pytest.raises(RobotsDisallowed):
            fetcher.fetch(http_server.url("/early"), is_page=True)
        assert fetcher.fetch(http_server.url("/page"), is_page=True).body == b"page"


def test_unreachable_robots_is_asked_again() -> None:
    """RobotsCache on its own: "unreachable" lasts UNREACHABLE_TTL, then the loader is asked again;
    rules last ROBOTS_TTL. The loader is a plain function, the interface the fetcher fills in."""
    now = [1000.0]
    answers: list[str | None | Exception] = [RobotsUnreachable("The server answered 503."), "User-agent: *\n"
                                             "Disallow: /x\n", None]
    asked: list[str] = []

    def loader(location: str) -> str | None:
        asked.append(location)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cache = RobotsCache(loader, "kb-monitor/0.1", clock=lambda: now[0])
    verdict = cache.check("https://a.example/page")
    assert verdict == Verdict(False, "The server answered 503.")
    now[0] += UNREACHABLE_TTL - 1
    assert not cache.allowed("https://a.example/other") and len(asked) == 1
    now[0] += 2
    assert cache.allowed("https://a.example/page") and not cache.allowed("https://a.example/x/1")
    assert asked == ["https://a.example/robots.txt"] * 2
    now[0] += ROBOTS_TTL + 1
    assert cache.allowed("https://a.example/x/1") and len(asked) == 3


def test_robots_can_be_ignored_by_config(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/robots.txt", (200, TEXT, b"User-agent: *\nDisallow: /\n"))
    http_server.add("/page", (200, TEXT, b"page"))
    with make_fetcher(fetch_config, respect_robots=False) as fetcher:
        assert fetcher.fetch(http_server.url("/page"), is_page=True).body == b"page"
    assert [r.path for r in http_server.requests] == ["/page"]


# --- Politeness and concurrency ---------------------------------------------------------------------


def test_host_delay_spaces_requests(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/a", (200, TEXT, b"a"))
    with make_fetcher(fetch_config, host_delay=0.3) as fetcher:
        fetcher.fetch(http_server.url("/a"))
        fetcher.fetch(http_server.url("/a"))
        threads = [threading.Thread(target=fetcher.fetch, args=(http_server.url("/a"),)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    times = [r.at for r in http_server.requests]
    assert len(times) == 4
    assert all(later - earlier >= 0.3 for earlier, later in zip(times, times[1:], strict=False))


def test_concurrent_fetches_all_succeed(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    http_server.add("/item", prefix=True, handler=lambda request: (200, TEXT, request.path.encode()))
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            results[number] = fetcher.fetch(http_server.url(f"/item/{number}")).body
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with Fetcher(fetch_config) as fetcher:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert results == {n: f"/item/{n}".encode() for n in range(8)}


@pytest.fixture
def three_hosts():
    """Servers on 127.0.0.1, .2 and .3 (distinct hosts for politeness)."""
    servers: list[LocalHTTPServer] = []
    try:
        try:
            for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
                servers.append(LocalHTTPServer(host).start())
        except OSError as exc:
            pytest.skip(f"cannot bind extra loopback addresses: {exc}")
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_global_limit_over_hosts(three_hosts: list[LocalHTTPServer], fetch_config: FetchConfig) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(request: Request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        return 200, TEXT, b"ok"

    for server in three_hosts:
        server.add("/slow", slow)
    with make_fetcher(fetch_config, concurrency=2) as fetcher:
        threads = [threading.Thread(target=fetcher.fetch, args=(s.url("/slow"),)) for s in three_hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert state["max"] == 2
    assert all(len(s.requests) == 1 for s in three_hosts)


def test_waiting_for_a_host_does_not_hold_a_slot(
    three_hosts: list[LocalHTTPServer], fetch_config: FetchConfig
) -> None:
    first, second, _ = three_hosts
    for server in (first, second):
        server.add("/", (200, TEXT, b"ok"))
    with make_fetcher(fetch_config, concurrency=1, host_delay=0.6) as fetcher:
        fetcher.fetch(first.url("/"))
        waiting = threading.Thread(target=fetcher.fetch, args=(first.url("/"),))
        waiting.start()  # must wait ~0.6 s for its host
        time.sleep(0.05)
        started = time.monotonic()
        fetcher.fetch(second.url("/"))
        assert time.monotonic() - started < 0.4
        waiting.join()
    assert len(first.requests) == 2


# --- TLS --------------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path):
    """An HTTPS server on 127.0.0.1 with a fresh self-signed certificate (skipped without openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    server = LocalHTTPServer(tls=(cert, key)).start()
    server.add("/", (200, TEXT, b"secure"))
    yield server, cert
    server.stop()


def test_tls_certificate_is_verified(tls_server, fetch_config: FetchConfig) -> None:
    server, _cert = tls_server
    with make_fetcher(fetch_config, retries=0) as fetcher, pytest.raises(ConnectionFailed) as caught:
        fetcher.fetch(server.url("/"))
    assert "certificate" in str(caught.value) and not caught.value.transient


def test_tls_with_trusted_certificate(tls_server, fetch_config: FetchConfig) -> None:
    import ssl

    server, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    with Fetcher(fetch_config, ssl_context=context) as fetcher:
        assert fetcher.fetch(server.url("/")).body == b"secure"
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    with pytest.raises(ValueError):
        Fetcher(fetch_config, ssl_context=unverified)


# --- Configuration, errors, lifecycle ---------------------------------------------------------------


def test_config_from_settings(tmp_path: Path) -> None:
    environ = {"KB_FETCH_ALLOW_PRIVATE": "127.0.0.0/8", "KB_FETCH_RETRIES": "4"}
    settings = load_settings(tmp_path, environ=environ)
    config = FetchConfig.from_settings(settings)
    assert config.allow_private == LOOPBACK and config.retries == 4
    assert config.read_timeout == settings.fetch_read_timeout
    assert config.host_delay == settings.fetch_host_delay
    assert config.user_agent.startswith("kb-monitor/0.1") and config.backoff_base == 1.0
    assert config.request_deadline == config.connect_timeout + 2 * config.read_timeout
    assert FetchConfig(allow_private=("10.0.0.0/8",)).allow_private == (ipaddress.ip_network("10.0.0.0/8"),)


def test_errors_pickle_with_their_details() -> None:
    error = HTTPStatusError("The server answered 429.", url="http://x/", status=429, retry_after=30.0)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, FetchError) and isinstance(copy, FetchFailed)
    assert (copy.status, copy.retry_after, copy.url, str(copy)) == (429, 30.0, "http://x/", str(error))
    timeout = pickle.loads(pickle.dumps(FetchTimeout("slow", phase="total")))
    assert timeout.phase == "total" and timeout.transient


def test_closed_fetcher_refuses(http_server: LocalHTTPServer, fetch_config: FetchConfig) -> None:
    fetcher = Fetcher(fetch_config)
    fetcher.close()
    with pytest.raises(FetchFailed):
        fetcher.fetch(http_server.url("/"))
    assert http_server.requests == []

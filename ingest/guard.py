"""The address guard: which URLs and addresses the fetcher may reach, and connections that reach no other.

A URL must be absolute http(s) with a valid host name or IPv6 literal ("[::1]", with or without a port,
with or without a zone). Connections resolve the host themselves, refuse
private and other special-purpose addresses (unless the configuration allows their network) and connect
to the very address they checked, so DNS rebinding between check and connect is impossible. Their sockets
wait for data at most the read timeout, and never past the deadline of the whole request.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

from ingest.failures import BadURL, BlockedAddress, ConnectionFailed, FetchTimeout, shown_url
from kb.text.urls import is_http_url

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges the ipaddress properties miss (on some Python versions) or that embed an IPv4 address.
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
SHARED_NAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

DEFAULT_PORTS = {"http": 80, "https": 443}
# What an IDNA-encoded host name (or a dotted IPv4 address) consists of; underscores occur in real names.
HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")


# --- URLs -------------------------------------------------------------------------------------------


def request_target(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and request target of an http(s) URL; raises BadURL when it has none.

    The host is an ASCII host name or an IP address without brackets (an IPv6 zone as "%zone"); the port
    is always given, the scheme's default when the URL has none, because http.client reads a host without
    a port as "host:port" and would take the last group of "::1" for a port.
    """
    if not is_http_url(url):
        raise BadURL(
            f"Only absolute http and https addresses can be fetched, not {shown_url(url)!r}.", url=url
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = _ip_literal(parts.hostname or "", url) if _is_bracketed(parts.netloc) else _host_name(parts, url)
    port = parts.port
    if port == 0:
        raise BadURL(f"The address {shown_url(url)!r} names port 0, which cannot be connected to.", url=url)
    try:
        target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
        if parts.query:
            target += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    except UnicodeError as exc:  # a lone surrogate has no UTF-8 form to percent-encode
        raise BadURL(f"The path of {shown_url(url)!r} contains characters that cannot be sent.",
                     url=url) from exc
    return scheme, host, port or DEFAULT_PORTS[scheme], target


def _is_bracketed(netloc: str) -> bool:
    """True when the host part of a netloc is an IP literal in brackets ("[::1]", "user@[::1]:8080")."""
    return netloc.rpartition("@")[2].startswith("[")


def _ip_literal(hostname: str, url: str) -> str:
    """The IPv6 address of a bracketed host, its zone percent-decoded ("fe80::1%25eth0" -> "fe80::1%eth0")."""
    literal = unquote(hostname)
    try:
        ipaddress.IPv6Address(literal)
    except ValueError as exc:  # IPvFuture ("[v1.x]") and anything else urlsplit let through
        raise BadURL(f"The address {shown_url(url)!r} has an IP address in brackets that is not a valid "
                     "IPv6 address.", url=url) from exc
    return literal


def _host_name(parts: SplitResult, url: str) -> str:
    """The ASCII (IDNA) form of a URL's host name, without a trailing dot; BadURL when it is not one."""
    try:
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise BadURL(f"The host name of {shown_url(url)!r} is not valid.", url=url) from exc
    if not host:
        raise BadURL(f"The address {shown_url(url)!r} has no host name.", url=url)
    if not HOST_NAME.fullmatch(host):  # ":" from "http://::1/", "%" or "*": no name the resolver should see
        raise BadURL(f"The host name of {shown_url(url)!r} is not valid.", url=url)
    return host


# --- Address checks ---------------------------------------------------------------------------------


def _unwrap(ip: Address) -> Address:
    """The IPv4 address an IPv4-mapped or NAT64 (64:ff9b::/96) IPv6 address stands for, else `ip`."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_problem(ip: Address) -> str | None:
    """The kind of special-purpose address `ip` is ("loopback", "private", ...), or None if public."""
    ip = _unwrap(ip)
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("this-network", ip.version == 4 and ip in THIS_NETWORK),
        ("shared (carrier-grade NAT)", ip.version == 4 and ip in SHARED_NAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("local NAT64", ip.version == 6 and ip in NAT64_LOCAL),
    )
    return next((name for name, hit in checks if hit), None)


def blocked_reason(ip: Address, allow: tuple[Network, ...] = ()) -> str | None:
    """Why the fetcher must not connect to `ip` under the allow list, or None when it may.

    IPv4-mapped and NAT64 addresses are judged by the IPv4 address they stand for; the IPv4 address
    inside a 6to4 or Teredo address must pass the check too.
    """
    ip = _unwrap(ip)
    candidates: list[Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip.teredo is not None:
            candidates.extend(ip.teredo)
    for candidate in candidates:
        problem = address_problem(candidate)
        if problem and not any(candidate.version == n.version and candidate in n for n in allow):
            return f"{candidate} is a {problem} address"
    return None


# --- Sockets and connections ------------------------------------------------------------------------


class _DeadlineMixin:
    """Socket behaviour: each receive waits at most the read timeout and never past the request deadline."""

    _deadline: float | None = None
    _read_timeout: float | None = None

    def _arm(self) -> None:
        """Set the timeout for the next receive, or fail when the deadline has passed."""
        if self._deadline is None:
            return
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request deadline has passed")
        limit = remaining if self._read_timeout is None else min(self._read_timeout, remaining)
        self.settimeout(limit)  # type: ignore[attr-defined]

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        self._arm()
        return super().recv(*args, **kwargs)  # type: ignore[misc]

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        self._arm()
        return super().recv_into(*args, **kwargs)  # type: ignore[misc]


class _DeadlineSocket(_DeadlineMixin, socket.socket):
    """A plain TCP socket with the request deadline."""


class DeadlineSSLSocket(_DeadlineMixin, ssl.SSLSocket):
    """A TLS socket with the request deadline."""


@dataclass(frozen=True)
class Limits:
    """What a connection needs to open its socket safely."""

    allow: tuple[Network, ...]
    connect_timeout: float
    read_timeout: float
    deadline: float  # time.monotonic() value


def _refuse_blocked_literal(host: str, limits: Limits) -> None:
    """Refuse an IP-literal host before resolving it: a zone that does not exist must not turn a refusal
    ("link-local") into a resolver error."""
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a host name: judged on the addresses it resolves to
    reason = blocked_reason(literal, limits.allow)
    if reason:
        raise BlockedAddress(
            f"The fetcher may not connect to {host}: {reason}. "
            "Add its network to fetch_allow_private if this is intended."
        )


def open_socket(host: str, port: int, limits: Limits) -> _DeadlineSocket:
    """Resolve `host`, keep only allowed addresses, and connect to one of those very addresses."""
    _refuse_blocked_literal(host, limits)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        transient = exc.errno == socket.EAI_AGAIN
        raise ConnectionFailed(f"The host name {host} could not be resolved ({exc.strerror}).",
                               transient=transient) from exc
    refused: list[str] = []
    last_error: OSError | None = None
    for family, socktype, proto, _name, sockaddr in infos:
        try:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        except ValueError:
            refused.append(f"{sockaddr[0]} is not an address the fetcher understands")
            continue
        reason = blocked_reason(ip, limits.allow)
        if reason:
            refused.append(reason)
            continue
        sock = _DeadlineSocket(family, socktype, proto)
        try:
            sock.settimeout(max(0.001, min(limits.connect_timeout, limits.deadline - time.monotonic())))
            sock.connect(sockaddr)  # the checked address itself, never the name again
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        sock._read_timeout = limits.read_timeout
        sock._deadline = limits.deadline
        sock.settimeout(limits.read_timeout)
        return sock
    if last_error is None:
        detail = "; ".join(dict.fromkeys(refused)) or "it has no address"
        raise BlockedAddress(
            f"The fetcher may not connect to {host}: {detail}. "
            "Add its network to fetch_allow_private if this is intended."
        )
    if isinstance(last_error, TimeoutError):
        raise FetchTimeout(
            f"Could not connect to {host} within {limits.connect_timeout:g} seconds.", phase="connect"
        ) from last_error
    reason = last_error.strerror or str(last_error)
    raise ConnectionFailed(
        f"Could not connect to {host} port {port}: {reason}.", transient=True
    ) from last_error


class GuardedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection that opens its socket through the address guard."""

    def __init__(self, host: str, port: int, limits: Limits) -> None:
        super().__init__(host, port, timeout=limits.connect_timeout)
        self._limits = limits

    def connect(self) -> None:
        """Open the guarded socket (no proxies, no tunnels)."""
        self.sock = open_socket(self.host, self.port, self._limits)


class GuardedHTTPSConnection(GuardedHTTPConnection):
    """An HTTPS connection: guarded socket, then TLS with certificate and host name verification."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, limits: Limits, context: ssl.SSLContext) -> None:
        super().__init__(host, port, limits)
        self._context = context

    def connect(self) -> None:
        """Open the guarded socket and wrap it in verified TLS for the URL's host name."""
        raw = open_socket(self.host, self.port, self._limits)
        try:
            tls = self._context.wrap_socket(raw, server_hostname=self.host, do_handshake_on_connect=False)
        except BaseException:
            raw.close()
            raise
        try:
            assert isinstance(tls, DeadlineSSLSocket)
            tls._read_timeout = self._limits.read_timeout
            tls._deadline = self._limits.deadline
            tls._arm()
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        self.sock = tls

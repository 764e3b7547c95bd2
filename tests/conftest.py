"""Shared fixtures: a local HTTP server and a fetch configuration that may reach it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from ingest.fetch import FetchConfig
from tests.httpserver import LocalHTTPServer


@pytest.fixture
def http_server() -> Iterator[LocalHTTPServer]:
    """A running LocalHTTPServer on 127.0.0.1, stopped after the test."""
    server = LocalHTTPServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fetch_config() -> FetchConfig:
    """Fast, loopback-friendly fetch settings: 127.0.0.0/8 allowed, no host delay, short timeouts."""
    return FetchConfig(
        connect_timeout=2.0,
        read_timeout=1.0,
        host_delay=0.0,
        backoff_base=0.01,
        allow_private=(ipaddress.ip_network("127.0.0.0/8"),),
    )

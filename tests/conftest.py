"""Fixtures shared by every test folder: cheap password hashing, an empty knowledge base, a local HTTP
server with a fetch configuration that may reach it, and a guard that refuses any network access."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from ingest.fetch import FetchConfig
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from tests.factories import make_kb
from tests.httpserver import LocalHTTPServer


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its smallest cost: production cost takes most of a second per user on a busy machine,
    and hashing is not what the tests test (the subprocess tests of the `kb` command keep the real cost)."""
    monkeypatch.setattr(users_store, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    """An opened, empty knowledge base in a temporary data folder."""
    base = make_kb(tmp_path / "data")
    try:
        yield base
    finally:
        base.close()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: parsers get bytes, never URLs."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


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

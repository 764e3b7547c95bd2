"""robots.txt rules per origin, loaded through the caller's fetcher and kept for a while.

The cache knows nothing about HTTP: a loader turns a robots.txt URL into its text, or None when every
path is allowed (missing file, server error, unreachable host). The fetcher supplies that loader, so
robots.txt travels the same guarded path as every other request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

LOGGER = logging.getLogger(__name__)

ROBOTS_TTL = 3600.0
MAX_ORIGINS = 4096

Loader = Callable[[str], str | None]


def robots_url(url: str) -> str:
    """The robots.txt URL governing `url` (same scheme, host and port; no user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return f"{parts.scheme.lower()}://{netloc}/robots.txt"


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against ("kb-monitor" for "kb-monitor/0.1 (...)")."""
    words = user_agent.split()
    return (words[0] if words else user_agent).split("/")[0] or "*"


def parse_robots(text: str) -> RobotFileParser:
    """A parser loaded with the rules of one robots.txt text."""
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return parser


@dataclass
class _Entry:
    """The rules of one origin (None: everything allowed) and when they go stale."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: RobotFileParser | None = None
    expires: float = 0.0


class RobotsCache:
    """Answers "may this URL be fetched?", loading each origin's robots.txt at most once per `ttl`."""

    def __init__(
        self,
        loader: Loader,
        user_agent: str,
        *,
        ttl: float = ROBOTS_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._agent = agent_token(user_agent)
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def allowed(self, url: str) -> bool:
        """True when the origin's robots.txt lets our user agent fetch `url`."""
        location = robots_url(url)
        entry = self._entry(location)
        with entry.lock:  # one load per origin, however many threads ask at once
            if entry.expires <= self._clock():
                text = self._loader(location)
                entry.rules = None if text is None else parse_robots(text)
                entry.expires = self._clock() + self._ttl
            rules = entry.rules
        if rules is None:
            return True
        return rules.can_fetch(self._agent, url)

    def clear(self) -> None:
        """Forget every cached robots.txt."""
        with self._lock:
            self._entries.clear()

    def _entry(self, location: str) -> _Entry:
        """The cache entry of one robots.txt URL, created on first use; stale idle entries are pruned."""
        with self._lock:
            entry = self._entries.get(location)
            if entry is None:
                if len(self._entries) >= MAX_ORIGINS:
                    self._prune()
                entry = self._entries[location] = _Entry()
            return entry

    def _prune(self) -> None:
        """Drop entries that are stale and not being loaded (caller holds the cache lock)."""
        now = self._clock()
        for key in [k for k, e in self._entries.items() if e.expires <= now and not e.lock.locked()]:
            del self._entries[key]
        LOGGER.debug("robots cache pruned to %d origins", len(self._entries))

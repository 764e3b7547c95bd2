"""robots.txt rules per origin, read as RFC 9309 says, loaded through the caller's fetcher and kept a while.

Rules are read by protego (Scrapy's parser): "*" and "$" patterns, and the longest matching rule wins, so
an Allow of a longer path opens it under a shorter Disallow, in whatever order they are written
(urllib.robotparser takes the first match and gets both wrong).

The cache knows nothing about HTTP. A loader turns a robots.txt URL into one of three answers, as RFC 9309
(section 2.3.1) sorts them:
- its text: the rules for our product token decide;
- None: the site has no robots.txt ("unavailable", a 4xx answer): every path is allowed;
- it raises RobotsUnreachable ("unreachable", a 5xx answer or a network error): every path is refused,
  but only for UNREACHABLE_TTL, after which the robots.txt is asked for again.
The fetcher supplies that loader, so robots.txt travels the same guarded path as every other request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

LOGGER = logging.getLogger(__name__)

ROBOTS_TTL = 3600.0
# A robots.txt that could not be read refuses every path of its site until it is asked for again. Short
# enough that a server's bad minute costs a pass at most, long enough that the articles of one feed do
# not each send a request to a server that is failing.
UNREACHABLE_TTL = 300.0
MAX_ORIGINS = 4096


class RobotsUnreachable(Exception):
    """A loader could not read a robots.txt (server error, network failure); the message says why."""


Loader = Callable[[str], str | None]


@dataclass(frozen=True)
class Verdict:
    """Whether a URL may be fetched; when the robots.txt could not be read, `unreachable` says why."""

    allowed: bool
    unreachable: str | None = None


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


def parse_robots(text: str) -> Protego:
    """The rules of one robots.txt text; lines protego cannot read are ignored, as RFC 9309 asks."""
    return Protego.parse(text)


@dataclass
class _Entry:
    """What is known of one origin's robots.txt, and when it goes stale.

    rules None and unreachable None: everything allowed; unreachable set: everything refused, for that reason.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: Protego | None = None
    unreachable: str | None = None
    expires: float = 0.0


class RobotsCache:
    """Answers "may this URL be fetched?", loading each origin's robots.txt at most once per `ttl`."""

    def __init__(
        self,
        loader: Loader,
        user_agent: str,
        *,
        ttl: float = ROBOTS_TTL,
        unreachable_ttl: float = UNREACHABLE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._agent = agent_token(user_agent)
        self._ttl = ttl
        self._unreachable_ttl = unreachable_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def check(self, url: str) -> Verdict:
        """Whether the origin's robots.txt lets our user agent fetch `url`, and why not when unreadable."""
        location = robots_url(url)
        entry = self._entry(location)
        with entry.lock:  # one load per origin, however many threads ask at once
            if entry.expires <= self._clock():
                self._load(entry, location)
            rules, unreachable = entry.rules, entry.unreachable
        if unreachable is not None:
            return Verdict(False, unreachable)
        if rules is None:
            return Verdict(True)
        return Verdict(rules.can_fetch(url, self._agent))

    def allowed(self, url: str) -> bool:
        """True when the origin's robots.txt lets our user agent fetch `url`."""
        return self.check(url).allowed

    def clear(self) -> None:
        """Forget every cached robots.txt."""
        with self._lock:
            self._entries.clear()

    def _load(self, entry: _Entry, location: str) -> None:
        """Ask the loader for one robots.txt and keep the answer for as long as it is good for."""
        try:
            text = self._loader(location)
        except RobotsUnreachable as exc:
            entry.rules, entry.unreachable = None, str(exc) or "it could not be read"
            entry.expires = self._clock() + self._unreachable_ttl
            return
        rules = None
        if text is not None:
            try:
                rules = parse_robots(text)
            except Exception:  # noqa: BLE001 - a parser bug on one site's file must not stop fetching
                LOGGER.exception("robots.txt at %s could not be parsed; allowing all paths", location)
        entry.rules, entry.unreachable = rules, None
        entry.expires = self._clock() + self._ttl

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

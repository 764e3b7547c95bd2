"""Sign-in throttling: failed attempts counted per key (an account, an address) in a sliding window.

Kept in memory, so it is per process and forgotten on restart; `kb serve` runs one process with threads,
which is what this is for. Behind several processes, put the limit in the reverse proxy as well.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# Keys held at most: an attacker cycling addresses cannot grow memory without bound.
MAX_KEYS = 100_000


class FailureLimiter:
    """At most `limit` failures per key within `window` seconds; then refused until the oldest ages out."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def retry_after(self, key: str) -> float:
        """Seconds until the key may try again (0 when it may now)."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(key, now)
            if len(stamps) < self.limit:
                return 0.0
            return max(0.0, stamps[0] + self.window - now)

    def fail(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            stamps = self._recent(key, now)
            if key not in self._failures:
                if len(self._failures) >= MAX_KEYS:
                    self._prune(now)
                self._failures[key] = stamps
            stamps.append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= MAX_KEYS:  # still full of live keys: forget the oldest half
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in oldest[: len(oldest) // 2]:
                del self._failures[key]

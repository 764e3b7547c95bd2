"""Sign-in throttling: failed attempts counted per key (an account, an address) in a sliding window.

Counted in the database (kb.storage.throttle), not in memory: `kb serve` answers from several worker
processes, and every one of them must see the failures the others counted, or a guesser would get as many
tries as there are processes. The count also outlives a restart. What was typed is not stored: keys are
HMACs under the app's session key. Calls need the app context (the request's knowledge base).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from flask import current_app

from kb.storage import throttle
from webui.access import current_kb


class FailureLimiter:
    """At most `limit` failures per key within `window` seconds; then refused until enough age out.
    Limiters with the same `scope` share their counts, across processes."""

    def __init__(self, limit: int, window: float, scope: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self.scope = scope
        self._clock = clock  # wall-clock seconds: compared across processes

    def _key(self, key: str) -> str:
        secret = current_app.secret_key
        secret_bytes = secret.encode() if isinstance(secret, str) else bytes(secret or b"")
        return hmac.new(secret_bytes, key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def retry_after(self, key: str) -> float:
        """Seconds until the key may try again (0 when it may now)."""
        now = self._clock()
        stamps = throttle.recent_failures(current_kb().db, self.scope, self._key(key), now - self.window)
        if len(stamps) < self.limit:
            return 0.0
        # Free again once all but limit - 1 of the failures have aged out.
        return max(0.0, stamps[len(stamps) - self.limit] + self.window - now)

    def fail(self, key: str) -> None:
        now = self._clock()
        throttle.record_failure(current_kb().db, self.scope, self._key(key), now, now - self.window)

    def reset(self, key: str) -> None:
        throttle.clear_failures(current_kb().db, self.scope, self._key(key))

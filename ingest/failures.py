"""Why a fetch failed: `FetchFailed` and its kinds, each with what a scheduler needs to plan the next try.

Every failure carries the URL it concerns, whether trying again later may help (`transient`), and how long
the server asked us to wait (`retry_after`); the message says what happened, in words for a coordinator.
"""

from __future__ import annotations

from typing import Any

from kb.errors import FetchError

MAX_SHOWN_URL = 200


class FetchFailed(FetchError):
    """A fetch that did not succeed; `url`, `retry_after` (seconds) and `transient` guide the scheduler."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        retry_after: float | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.retry_after = retry_after
        self.transient = transient


class BadURL(FetchFailed):
    """The address is not an absolute http(s) URL the fetcher can send."""


class BlockedAddress(FetchFailed):
    """The host resolves only to addresses the configuration does not allow (private, loopback, ...)."""


class RobotsDisallowed(FetchFailed):
    """The site's robots.txt asks our user agent not to fetch this page."""


class TooManyRedirects(FetchFailed):
    """More redirects than the configuration allows."""


class TooLarge(FetchFailed):
    """The body, compressed or decompressed, is bigger than the configured cap."""


class FetchTimeout(FetchFailed):
    """Connecting, waiting for data, or the whole request took too long; `phase` says which."""

    def __init__(self, message: str, *, phase: str = "read", **kwargs: Any) -> None:
        kwargs.setdefault("transient", True)
        super().__init__(message, **kwargs)
        self.phase = phase


class ConnectionFailed(FetchFailed):
    """The host could not be resolved or reached, the connection broke, or TLS verification failed."""


class BadResponse(FetchFailed):
    """The server's answer is not valid HTTP or its body cannot be decompressed."""


class HTTPStatusError(FetchFailed):
    """The server answered with an error status; `status`, `reason` and maybe `retry_after` tell more."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("transient", status >= 500 or status in (408, 429))
        super().__init__(message, **kwargs)
        self.status = status
        self.reason = reason


def shown_url(url: str) -> str:
    """A URL cut to a readable length for messages."""
    return url if len(url) <= MAX_SHOWN_URL else url[: MAX_SHOWN_URL - 1] + "…"

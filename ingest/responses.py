"""Reading an HTTP response: headers with lower-case names, and a body decompressed and capped as it arrives.

The cap holds before and after decompression, so neither a huge body nor a small gzip bomb is kept whole.
A reader made with `truncate=True` keeps the first `max_bytes` instead of refusing the rest (robots.txt,
which RFC 9309 says to read up to a limit), and says so with `full`.
"""

from __future__ import annotations

import http.client
import logging
import zlib

from ingest.failures import BadResponse, TooLarge, shown_url

LOGGER = logging.getLogger(__name__)


def lower_headers(message: http.client.HTTPMessage) -> dict[str, str]:
    """Response headers with lower-case names; repeated headers joined with ", "."""
    headers: dict[str, str] = {}
    for name, value in message.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


class BodyReader:
    """Accumulates a body, decompressing gzip/deflate chunk by chunk, and refuses anything over the cap.

    With `truncate`, it keeps what fits under the cap instead, sets `full` and ignores what comes after.
    """

    def __init__(self, encoding: str, max_bytes: int, url: str, *, truncate: bool = False) -> None:
        self._max = max_bytes
        self._url = url
        self._truncate = truncate
        self.full = False
        self._parts: list[bytes] = []
        self._size = 0
        self._raw_size = 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._wbits: int | None = None
        elif encoding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS  # zlib-wrapped; raw deflate is tried if this fails
        else:
            raise BadResponse(
                f"The server sent a body in an encoding we did not ask for ({encoding}).", url=url
            )
        self._decoder = None if self._wbits is None else zlib.decompressobj(self._wbits)

    def feed(self, data: bytes) -> None:
        """Add one chunk of the body as received."""
        if self.full:
            return
        room = self._max - self._raw_size
        over = len(data) > room
        if over:
            if not self._truncate:
                raise self._too_large("compressed " if self._decoder else "")
            # Compressed bytes beyond the cap would decompress to more still: what fits is all we read.
            data = data[:room]
        self._raw_size += len(data)
        self._decode(data)
        if over:
            self.full = True

    def _decode(self, data: bytes) -> None:
        """Keep one chunk of the body, decompressed when it is compressed."""
        if self._decoder is None:
            self._add(data)
            return
        pending = data
        while pending:
            try:
                out = self._decoder.decompress(pending, self._max - self._size + 1)
            except zlib.error as exc:
                if self._wbits == zlib.MAX_WBITS and self._size == 0:  # "deflate" that is really raw
                    self._wbits = -zlib.MAX_WBITS
                    self._decoder = zlib.decompressobj(self._wbits)
                    continue
                raise BadResponse(f"The compressed body of {shown_url(self._url)} is corrupt ({exc}).",
                                  url=self._url) from exc
            self._add(out)
            if self.full:
                return
            pending = self._decoder.unconsumed_tail
            if not pending and self._decoder.eof and self._decoder.unused_data:
                pending = self._decoder.unused_data  # another gzip member follows
                assert self._wbits is not None  # set whenever there is a decoder
                self._decoder = zlib.decompressobj(self._wbits)

    def finish(self) -> bytes:
        """The whole decompressed body (with `truncate`, as much of it as fits under the cap)."""
        if self._decoder is not None and not self.full:
            self._add(self._decoder.flush())
            if not self._decoder.eof:
                LOGGER.info("compressed body of %s ended early; keeping %d bytes", self._url, self._size)
        return b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        """Keep decompressed data, refusing (or, with `truncate`, ceasing) to grow past the cap."""
        if self._size + len(data) > self._max:
            if not self._truncate:
                self._size += len(data)
                raise self._too_large("decompressed " if self._decoder else "")
            data = data[: self._max - self._size]
            self.full = True
        self._size += len(data)
        if data:
            self._parts.append(data)

    def _too_large(self, kind: str) -> TooLarge:
        """The error for a body over the cap."""
        return TooLarge(
            f"The {kind}body of {shown_url(self._url)} is larger than the limit of {self._max:,} bytes.",
            url=self._url,
        )

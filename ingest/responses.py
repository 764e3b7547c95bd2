"""Reading an HTTP response: headers with lower-case names, and a body decompressed and capped as it arrives.

The cap holds before and after decompression, so neither a huge body nor a small gzip bomb is kept whole.
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
    """Accumulates a body, decompressing gzip/deflate chunk by chunk, and refuses anything over the cap."""

    def __init__(self, encoding: str, max_bytes: int, url: str) -> None:
        self._max = max_bytes
        self._url = url
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
        self._raw_size += len(data)
        if self._raw_size > self._max:
            raise self._too_large("compressed " if self._decoder else "")
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
            pending = self._decoder.unconsumed_tail
            if not pending and self._decoder.eof and self._decoder.unused_data:
                pending = self._decoder.unused_data  # another gzip member follows
                assert self._wbits is not None  # set whenever there is a decoder
                self._decoder = zlib.decompressobj(self._wbits)

    def finish(self) -> bytes:
        """The whole decompressed body."""
        if self._decoder is not None:
            self._add(self._decoder.flush())
            if not self._decoder.eof:
                LOGGER.info("compressed body of %s ended early; keeping %d bytes", self._url, self._size)
        return b"".join(self._parts)

    def _add(self, data: bytes) -> None:
        """Keep decompressed data, refusing to grow past the cap."""
        self._size += len(data)
        if self._size > self._max:
            raise self._too_large("decompressed " if self._decoder else "")
        if data:
            self._parts.append(data)

    def _too_large(self, kind: str) -> TooLarge:
        """The error for a body over the cap."""
        return TooLarge(
            f"The {kind}body of {shown_url(self._url)} is larger than the limit of {self._max:,} bytes.",
            url=self._url,
        )

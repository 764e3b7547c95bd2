"""Index files read from memory maps without copying them.

Whoosh reads a memory-mapped compound segment through `BufferFile`, whose `BytesIO` copies each postings
and terms file into the process: at 100,000 items, 650 MB and a quarter of a second for every searcher
opened (and every commit opens one for its deletions). Reading the same files through plain file handles
copies nothing but costs a system call per read, which made cold searches 15% slower.

`MappedStorage` maps each file once and hands out views of the map: the operating system's page cache
holds the data once for every searcher and process, and a read is a slice.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile

PEEK_BYTES = 256


class _Cursor:
    """The file interface BufferFile's reads go through (read, seek, tell, and what pickle needs), on a
    memoryview, without copying it."""

    __slots__ = ("view", "position")

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.position = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self.position
        end = len(self.view) if size is None or size < 0 else min(start + size, len(self.view))
        self.position = max(start, end)
        return bytes(self.view[start:end])

    def peek(self, size: int = 1) -> bytes:
        """Some next bytes without moving on: pickle reads ahead with it rather than calling read per
        opcode. It asks for 8 KB; Whoosh's pickles are a few dozen bytes, and peek may return fewer."""
        return bytes(self.view[self.position : self.position + min(max(size, 1), PEEK_BYTES)])

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        start = self.position
        end = len(self.view) if size is None or size < 0 else min(start + size, len(self.view))
        at = start
        while at < end:  # a piece at a time: the rest of the file may be hundreds of megabytes
            found = bytes(self.view[at : min(at + PEEK_BYTES, end)]).find(b"\n")
            if found >= 0:
                return self.read(at + found + 1 - start)
            at += PEEK_BYTES
        return self.read(end - start)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """As BytesIO seeks: a negative position is an error from the start, and 0 from elsewhere."""
        if whence == os.SEEK_SET:
            if offset < 0:
                raise ValueError(f"negative seek position {offset}")
            self.position = offset
        elif whence == os.SEEK_CUR:
            self.position = max(0, self.position + offset)
        elif whence == os.SEEK_END:
            self.position = max(0, len(self.view) + offset)
        else:
            raise ValueError(f"invalid whence {whence!r}")
        return self.position

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        pass


class MappedFile(BufferFile):  # type: ignore[misc] # whoosh has partial type hints
    """A read-only index file on a memoryview of a map; `subset` (a file inside a compound segment) is
    another view of the same map."""

    def __init__(self, view: memoryview, name: str | None = None) -> None:  # noqa: D107
        # BufferFile's own __init__ is skipped: its BytesIO would copy `view`. These are its attributes;
        # its get and get_array slice `_buf` without a copy.
        self._buf = view
        self._name = name
        self.file = _Cursor(view)  # type: ignore[assignment] # a file-like object, as BufferFile's BytesIO
        self.onclose = None
        self.is_real = False
        self.is_closed = False

    def subset(self, position: int, length: int, name: str | None = None) -> MappedFile:
        return MappedFile(memoryview(self._buf)[position : position + length], name=name or self._name)


class MappedStorage(FileStorage):  # type: ignore[misc]
    """A folder whose files are read through MappedFile. Writing is FileStorage's own.

    `supports_mmap` stays off so that a compound segment is read through `subset` of its mapped file,
    not Whoosh's own map and BufferFile.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path, supports_mmap=False)

    def open_file(self, name: str, **kwargs: Any) -> Any:
        """The file, mapped. Whoosh's current codec passes no options here; those of its legacy codecs
        (`mapped=False`, `onclose`) would be ignored."""
        path = self._fpath(name)
        if not os.path.getsize(path):
            return super().open_file(name, **kwargs)  # an empty file cannot be mapped
        with open(path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        # The map lives as long as a view of it does; it is unmapped when the last reader is collected.
        return MappedFile(memoryview(mapped), name=name)

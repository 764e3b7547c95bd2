"""The index's life: create, drain the outbox in batches under one writer, rebuild aside and swap.

Layout of the index folder:
    <index_root>/CURRENT       name of the live generation folder (replaced atomically)
    <index_root>/gen-<n>/      one complete Whoosh index
    <index_root>/writer.lock   held by whoever writes (drainer or rebuild), across processes
Readers open whatever CURRENT names, so a rebuild never takes search offline.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database
from whoosh import index as whoosh_index
from whoosh.index import FileIndex
from whoosh.searching import Searcher
from whoosh.writing import NO_MERGE

from kb import outbox
from kb.cases import cases_for_index
from kb.contacts import contacts_for_index
from kb.documents import CASE, CONTACT, ITEM, case_document, contact_document, document_key, item_document
from kb.index.schema import SCHEMA_VERSION, build_schema
from kb.items import iter_items, load_items

LOGGER = logging.getLogger(__name__)

INDEX_NAME = "items"
MULTI_VALUED = ("topic", "sector", "system", "right", "country", "source", "case")
# How long a drainer waits for another process's writer before leaving the rows for later.
LOCK_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class IndexStatus:
    documents: int
    pending: int
    missing: int  # in the database, not in the index
    stale: int  # in the index, no longer in the database
    schema_version: int | None

    @property
    def in_sync(self) -> bool:
        return self.pending == 0 and self.missing == 0 and self.stale == 0


def _fields(document: dict[str, object]) -> dict[str, object]:
    """Whoosh wants space-separated keywords and no empty dates."""
    fields = dict(document)
    for name in MULTI_VALUED:
        value = fields.get(name)
        if isinstance(value, list):
            fields[name] = " ".join(value)
    if fields.get("published") is None:
        fields.pop("published", None)
    return {k: v for k, v in fields.items() if v != ""}


class _SharedSearcher:
    """A searcher and how many searches use it; closed when retired and unused."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.users = 0
        self.retired = False

    def retire(self) -> None:
        self.retired = True
        if self.users == 0:
            self.searcher.close()

    def release(self) -> None:
        self.users -= 1
        if self.retired and self.users == 0:
            self.searcher.close()


class SearchIndex:
    """One index folder; thread-safe, and safe across processes through the writer lock."""

    def __init__(self, root: Path, batch_size: int = 200) -> None:
        self.root = Path(root)
        self.batch_size = batch_size
        self._lock = threading.RLock()
        self._ix: FileIndex | None = None
        self._ix_dir: Path | None = None
        self._shared: _SharedSearcher | None = None
        self._searcher_checked = 0.0

    # --- generations -------------------------------------------------------------------------
    def _current_name(self) -> str | None:
        try:
            return (self.root / "CURRENT").read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def _version_of(self, folder: Path) -> int | None:
        try:
            return int((folder / "SCHEMA_VERSION").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def _publish(self, folder: Path) -> None:
        """Point CURRENT at a finished generation (atomic rename) and delete the older ones."""
        pointer = self.root / "CURRENT.tmp"
        pointer.write_text(folder.name, encoding="utf-8")
        os.replace(pointer, self.root / "CURRENT")
        for old in self.root.glob("gen-*"):
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)

    def _new_generation(self) -> Path:
        folder = self.root / f"gen-{time.time_ns()}"
        folder.mkdir(parents=True)
        whoosh_index.create_in(str(folder), build_schema(), indexname=INDEX_NAME)
        (folder / "SCHEMA_VERSION").write_text(str(SCHEMA_VERSION), encoding="utf-8")
        return folder

    def exists(self) -> bool:
        name = self._current_name()
        return bool(name) and whoosh_index.exists_in(str(self.root / name), indexname=INDEX_NAME)

    def needs_rebuild(self) -> bool:
        """True when there is no usable index or it was built with another schema."""
        name = self._current_name()
        return not self.exists() or self._version_of(self.root / str(name)) != SCHEMA_VERSION

    def _open(self) -> FileIndex:
        with self._lock:
            name = self._current_name()
            if name is None:
                raise FileNotFoundError(f"no search index in {self.root}; run `kb init` or `kb reindex`")
            folder = self.root / name
            if self._ix is None or self._ix_dir != folder:
                self._close_searcher()
                self._ix = whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
                self._ix_dir = folder
            return self._ix

    # --- writing -----------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self, wait: float = LOCK_WAIT_SECONDS) -> Iterator[bool]:
        """Hold the one-writer lock (across processes); yields False if it could not be had in time."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "writer.lock", "a+") as handle:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _documents(self, db: Database, kind: str, ids: list[int]) -> dict[int, dict[str, object]]:
        """The current search documents of these records; records that are gone are left out."""
        if kind == ITEM:
            return {item.id: item_document(item) for item in load_items(db, ids)}
        if kind == CONTACT:
            return {contact.id: contact_document(contact) for contact in contacts_for_index(db, ids)}
        return {case.id: case_document(case) for case in cases_for_index(db, ids)}

    def _apply(self, ix: FileIndex, db: Database, records: list[tuple[str, int]], merge: bool = False) -> None:
        """Write the current state of these (kind, id) records, deleting the ones that are gone, in one commit."""
        wanted: dict[str, list[int]] = {}
        for kind, record_id in dict.fromkeys(records):
            wanted.setdefault(kind, []).append(record_id)
        writer = ix.writer()
        try:
            for kind, ids in wanted.items():
                documents = self._documents(db, kind, ids)
                for record_id in ids:
                    document = documents.get(record_id)
                    if document is None:
                        writer.delete_by_term("id", document_key(kind, record_id))
                    else:
                        writer.update_document(**_fields(document))
        except BaseException:
            writer.cancel()
            raise
        # Small commits never merge segments, so ingest is never stalled by a merge; optimize() merges.
        writer.commit(mergetype=None if merge else NO_MERGE)

    def sync(self, db: Database, *, wait: float = LOCK_WAIT_SECONDS, max_batches: int | None = None) -> int:
        """Drain the outbox into the index in batches; returns the number of changes applied."""
        applied = 0
        with self.writer_lock(wait) as locked:
            if not locked:
                LOGGER.info("index writer busy elsewhere; outbox left for later")
                return 0
            ix = self._open()
            batches = 0
            while max_batches is None or batches < max_batches:
                rows = outbox.pending(db, self.batch_size)
                if not rows:
                    break
                self._apply(ix, db, [(kind, record_id) for _, kind, record_id in rows])
                # Crash here: the rows stay and are applied again; update_document keeps it one document.
                outbox.acknowledge(db, [row_id for row_id, _, _ in rows])
                applied += len(rows)
                batches += 1
        if applied:
            self.refresh()
        return applied

    def optimize(self) -> None:
        """Merge segments; run off the ingest path (it may take seconds on a large index)."""
        with self.writer_lock() as locked:
            if locked:
                self._open().optimize()
                self.refresh()

    def rebuild(self, db: Database, progress: Callable[[int], None] | None = None) -> int:
        """Build a new generation from the database aside, swap it in, then apply what changed meanwhile."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.writer_lock() as locked:
            if not locked:
                raise TimeoutError("another process holds the index writer; try again when it is done")
            folder = self._new_generation()
            ix = whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
            count = 0
            # Build from one read transaction so the snapshot is consistent; changes made meanwhile
            # have outbox rows and are applied to the new generation right after the swap.
            db.execute("BEGIN")
            try:
                # Outbox rows up to here announce changes the snapshot already holds (nobody else can
                # acknowledge rows while we hold the writer lock, so later rows have higher ids).
                covered = int(db.execute("SELECT coalesce(max(id), 0) FROM index_outbox").fetchone()[0])
                total = int(db.execute("SELECT count(*) FROM items").fetchone()[0])
                # From 5,000 items, index on every core (at least two processes), each process writing
                # its own segment with no final merge; optimize() merges later, off the ingest path.
                # (Committing every 25,000 items wrote 100,000 items 45% faster but left 8 segments,
                # which made every search twice as slow: one commit it is.)
                if total >= 5_000:
                    procs = max(2, min(4, os.cpu_count() or 1))
                    writer = ix.writer(procs=procs, multisegment=True, limitmb=256)
                else:
                    writer = ix.writer(limitmb=256)
                try:
                    for item in iter_items(db):
                        writer.add_document(**_fields(item_document(item)))
                        count += 1
                        if progress:
                            progress(1)
                    for contact in contacts_for_index(db):
                        writer.add_document(**_fields(contact_document(contact)))
                    for case in cases_for_index(db):
                        writer.add_document(**_fields(case_document(case)))
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
            finally:
                db.execute("COMMIT")
            ix.close()
            with self._lock:
                self._publish(folder)
            db.execute("DELETE FROM index_outbox WHERE id <= ?", [covered])  # one statement: atomic
        self.sync(db)
        self.refresh()
        return count

    # --- reading -----------------------------------------------------------------------------
    def _close_searcher(self) -> None:
        if self._shared is not None:
            self._shared.retire()
            self._shared = None

    def refresh(self) -> None:
        """Make the next search see the latest commit (and a swapped-in generation)."""
        with self._lock:
            self._searcher_checked = 0.0

    @contextmanager
    def searcher(self, max_age: float = 1.0) -> Iterator[Searcher]:
        """A shared searcher, re-checked for new commits at most every `max_age` seconds.

        Searchers are reference-counted: a newer commit retires the old one, which closes once the
        searches still using it are done.
        """
        with self._lock:
            ix = self._open()
            now = time.monotonic()
            shared = self._shared
            if shared is not None and now - self._searcher_checked >= max_age and not shared.searcher.up_to_date():
                self._close_searcher()
                shared = None
            if shared is None:
                shared = self._shared = _SharedSearcher(ix.searcher())
            if now - self._searcher_checked >= max_age:
                self._searcher_checked = now
            shared.users += 1
        try:
            yield shared.searcher
        finally:
            with self._lock:
                shared.release()

    def document_count(self) -> int:
        with self.searcher(max_age=0) as searcher:
            return searcher.doc_count()

    def document_ids(self) -> set[str]:
        """The keys of every live document (`12` for an item, `contact:5`, `case:7`)."""
        with self.searcher(max_age=0) as searcher:
            # Stored fields skip deleted documents; the term lexicon would not until a merge.
            return {fields["id"] for fields in searcher.reader().all_stored_fields()}

    def status(self, db: Database) -> IndexStatus:
        """Compare the index with the database."""
        pending = outbox.pending_count(db)
        stored = {document_key(kind, row[0]) for kind, table in ((ITEM, "items"), (CONTACT, "contacts"),
                                                                 (CASE, "cases"))
                  for row in db.execute(f"SELECT id FROM {table}")}  # noqa: S608 - fixed table names
        if not self.exists():
            return IndexStatus(0, pending, len(stored), 0, None)
        indexed = self.document_ids()
        return IndexStatus(
            documents=len(indexed),
            pending=pending,
            missing=len(stored - indexed),
            stale=len(indexed - stored),
            schema_version=self._version_of(self.root / str(self._current_name())),
        )

    def close(self) -> None:
        with self._lock:
            self._close_searcher()
            if self._ix is not None:
                self._ix.close()
                self._ix = None

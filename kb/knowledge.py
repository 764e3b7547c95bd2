"""The knowledge base as one object: settings, a database connection per thread, and the derived index.

Opening it brings everything in line: the schema is migrated, a missing or outdated index is rebuilt,
and changes a crashed process left in the outbox are indexed.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlite_utils import Database

from kb.search.index import IndexStatus, SearchIndex
from kb.search.index.store import LANES as MERGE_LANES
from kb.settings import Settings
from kb.storage import db as storage
from kb.storage import meta
from kb.text.alias_matcher import alias_key
from kb.text.fingerprints import content_fingerprint

LOGGER = logging.getLogger(__name__)
# How often the background merger looks for index segments to merge.
MERGE_CHECK_SECONDS = 10.0
# Outbox batches the background sync applies before it lets go of the index writer for a moment.
SYNC_BATCHES_PER_ROUND = 5


@dataclass(frozen=True)
class Status:
    items: int
    sources: int
    contacts: int
    cases: int
    users: int
    index_documents: int
    index_pending: int
    index_in_sync: bool
    last_ingest: str | None
    schema_version: str | None
    data_dir: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class KnowledgeBase:
    """Open with `open_kb(settings)`; close when done."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = SearchIndex(settings.index_root, batch_size=settings.index_batch_size)
        self._local = threading.local()
        self._connections: list[Database] = []
        self._connections_lock = threading.Lock()

    @property
    def db(self) -> Database:
        """This thread's connection (SQLite connections must not be shared between threads' transactions)."""
        connection = getattr(self._local, "db", None)
        if connection is None:
            connection = storage.connect(self.settings.db_path)
            self._local.db = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def open(self, *, rebuild_index: bool = True) -> KnowledgeBase:
        """Create what is missing, migrate, and bring the index in line with the database."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        # The migrations that recompute stored fingerprints and alias keys use today's rules (storage
        # imports no kb.text).
        storage.migrate(self.db, sql_functions={storage.CONTENT_FINGERPRINT: content_fingerprint,
                                                storage.ALIAS_KEY: alias_key})
        if self.get_meta("secret_key") is None:
            self.set_meta("secret_key", secrets.token_hex(32))
        if rebuild_index and self.index.needs_rebuild():
            LOGGER.info("search index missing or outdated: rebuilding from the database")
            self.index.rebuild(self.db)
        elif self.index.exists():
            self.index.sync(self.db)
        return self

    def get_meta(self, key: str) -> str | None:
        return meta.get_meta(self.db, key)

    def set_meta(self, key: str, value: str) -> None:
        with storage.transaction(self.db):
            meta.set_meta(self.db, key, value)

    def sync_index(self) -> int:
        """Apply waiting changes to the index (the one writer); returns how many."""
        return self.index.sync(self.db)

    def start_index_sync(self, interval: float = 1.0) -> threading.Event:
        """Drain the outbox in a background thread every `interval` seconds; set the returned event to
        stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    # A bounded drain lets go of the index writer between rounds, so the background merger
                    # gets it even while a backlog is being indexed (unbounded, it starved: segments grew).
                    self.index.sync(self.db, wait=0, max_batches=SYNC_BATCHES_PER_ROUND)
                except Exception:  # noqa: BLE001 - keep draining; the rows stay in the outbox meanwhile
                    LOGGER.exception("index sync failed; will retry")

        threading.Thread(target=loop, name="index-sync", daemon=True).start()
        return stop

    def merge_index(self) -> int:
        """Merge index segments here and now until no lane has enough to merge (a one-off `kb ingest`
        leaves the index as a running monitor would); returns how many merges ran."""
        merges = 0
        for lane in MERGE_LANES:
            while self.index.merge_due(lane) and self.index.merge_segments(lane):
                merges += 1
        return merges

    def start_index_merging(self, interval: float = MERGE_CHECK_SECONDS) -> threading.Event:
        """Merge index segments in background processes (one per lane), checked every `interval` seconds.

        Off the ingest path: a merge holds the index writer only to choose segments and to swap the
        merged one in (see SearchIndex.merge_segments). Set the returned event to stop.
        """
        stop = threading.Event()

        def loop(lane: str) -> None:
            while not stop.wait(interval):
                try:
                    if self.index.merge_due(lane) and not self.index.merge_in_process(lane, stop):
                        if not stop.is_set():
                            LOGGER.warning("merging index segments (%s) failed; will retry", lane)
                except Exception:  # noqa: BLE001 - searches stay correct on unmerged segments; retry later
                    LOGGER.exception("merging index segments (%s) failed; will retry", lane)

        for lane in MERGE_LANES:
            threading.Thread(target=loop, args=(lane,), name=f"index-merge-{lane}", daemon=True).start()
        return stop

    def status(self) -> Status:
        def count(table: str) -> int:
            return self.db.table(table).count

        index_status: IndexStatus = self.index.status(self.db)
        return Status(
            items=count("items"), sources=count("sources"), contacts=count("contacts"), cases=count("cases"),
            users=count("users"), index_documents=index_status.documents, index_pending=index_status.pending,
            index_in_sync=index_status.in_sync, last_ingest=self.get_meta("last_ingest"),
            schema_version=storage.schema_version(self.db), data_dir=str(self.settings.data_dir),
        )

    def backup(self, target: Path) -> None:
        """A consistent copy made with SQLite's backup API while the product runs; owner-readable only."""
        target = Path(target)
        if target.exists():
            raise FileExistsError(f"{target} exists; choose a new file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Create the file with 0600 before any byte is written: the backup holds contacts.
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        destination = sqlite3.connect(str(target))
        try:
            self.db.conn.backup(destination)
        finally:
            destination.close()
        os.chmod(target, 0o600)

    def close(self) -> None:
        self.index.close()
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


def open_kb(settings: Settings, *, rebuild_index: bool = True) -> KnowledgeBase:
    """Open (and if need be create) the knowledge base in `settings.data_dir`."""
    return KnowledgeBase(settings).open(rebuild_index=rebuild_index)

"""The index's life: create, drain the outbox in batches under one writer, rebuild aside and swap.

Layout of the index folder:
    <index_root>/CURRENT       name of the live generation folder (replaced atomically)
    <index_root>/gen-<n>/      one complete Whoosh index
    <index_root>/writer.lock   held by whoever writes (drainer or rebuild), across processes
Readers open whatever CURRENT names, so a rebuild never takes search offline.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import math
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from whoosh import index as whoosh_index
from whoosh.index import FileIndex
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter, SegmentWriter

from kb.cases import cases_for_index
from kb.contacts import contacts_for_index
from kb.items import Item, count_items, item_ids, iter_items, load_items
from kb.search.documents import (
    CASE,
    CONTACT,
    ITEM,
    SYSTEM,
    case_document,
    contact_document,
    document_key,
    item_document,
    system_document,
)
from kb.search.index.mapped import MappedStorage
from kb.search.index.schema import SCHEMA_VERSION, build_schema
from kb.storage import outbox
from kb.storage.db import connect, database_file
from kb.systems import confirmed_system_ids, systems_for_index

LOGGER = logging.getLogger(__name__)

INDEX_NAME = "items"
MULTI_VALUED = ("topic", "sector", "system", "right", "country", "source", "case")
# How long a drainer waits for another process's writer before leaving the rows for later.
LOCK_WAIT_SECONDS = 30.0
# A rebuild of this many items or more runs on every core (see _build).
PARALLEL_FROM = 5_000
# Memory for the postings of each writing process before they spill to disk, and the items of one
# segment of a rebuild, whose postings fit in it (see _build).
BUILD_LIMIT_MB = 512
SEGMENT_DOCS = 8_000
PROGRESS_EVERY = 100
# Segments of one size tier merged together once there are this many (see merge_segments).
MERGE_FACTOR = 8
# Merge lanes and the size tiers each merges (tier 0: under 1,000 live documents, 1: under 10,000, ...).
# Small merges take seconds, large ones minutes: a lane each, so new small segments never wait for a
# large merge.
LANES = {"small": range(0, 1), "large": range(1, 99)}
MERGE_NICENESS = 10
# The hard bound behind the background merger. Its processes run at low priority, so on a machine kept
# busy by other work they can fall behind for as long as the load lasts (an hour of ingest beside other
# busy programs left 226 segments, most under 1,000 documents). Once more than FOLD_FROM segments under
# FOLD_BELOW documents exist, the index sync folds the smallest of them into its own commit, at its own
# priority, FOLD_DOCS documents at most per commit, so one commit holds the writer for seconds at most.
FOLD_FROM = 3 * MERGE_FACTOR
FOLD_BELOW = 10_000
FOLD_DOCS = 20_000


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


def _segment_bounds(db: Database, size: int) -> list[tuple[int, int]]:
    """(after, up_to) id ranges of `size` items each, covering every item."""
    ids = item_ids(db)
    return [(ids[start - 1] if start else 0, ids[min(start + size, len(ids)) - 1])
            for start in range(0, len(ids), size)]


def _write_items(writer: IndexWriter, items: Iterable[Item], progress: Callable[[int], None] | None,
                 systems: dict[int, list[int]]) -> int:
    """Add these items; `systems`: the systems each is confirmed to be about (confirmed_system_ids)."""
    count = 0
    for item in items:
        writer.add_document(**_fields(item_document(item, systems.get(item.id, ()))))
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    if progress and count % PROGRESS_EVERY:
        progress(count % PROGRESS_EVERY)
    return count


_progress_queue: Any = None


def _exit_with_parent() -> None:
    """In a worker process: exit as soon as the parent is gone (a killed parent must not leave it running)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _init_build_process(queue: Any) -> None:
    """Set up a worker process of a rebuild: where it reports progress, and that it dies with its parent."""
    global _progress_queue
    _progress_queue = queue
    _exit_with_parent()


def _open_dir(folder: Path | str) -> FileIndex:
    """An index folder, its files read from memory maps without copying them (see kb.search.index.mapped)."""
    return MappedStorage(str(folder)).open_index(INDEX_NAME)


def _build_segment(folder: str, db_file: str, after: int, up_to: int) -> tuple[Any, int]:
    """In a worker process: the items with after < id <= up_to as one new segment of the index in `folder`.

    Whoosh's own multi-process writer works this way: a SegmentWriter without the index lock writes a
    segment next to the others, and the process holding the lock lists it in its commit.
    """
    gc.disable()  # millions of posting tuples: the collector would walk them again and again, for nothing
    db = connect(db_file)
    try:
        writer = SegmentWriter(_open_dir(folder), _lk=False,
                               limitmb=BUILD_LIMIT_MB)
        count = _write_items(writer, iter_items(db, after=after, up_to=up_to),
                             _progress_queue.put if _progress_queue else None, confirmed_system_ids(db))
        segment = writer._finalize_segment() if count else None  # noqa: SLF001 - see the docstring
    finally:
        db.close()
        gc.enable()
        gc.collect()
    return segment, count


def _merge_at(root: str, lane: str) -> None:
    """The body of a merging process (see SearchIndex.merge_in_process)."""
    _exit_with_parent()
    os.nice(MERGE_NICENESS)  # ingest and searches come first
    gc.disable()  # as in _build_segment; the process ends with the merge
    index = SearchIndex(Path(root))
    try:
        merged = index.merge_segments(lane)
    finally:
        index.close()
    if merged:
        LOGGER.info("merged %d index segments into one", merged)


def _build(folder: Path, db: Database, progress: Callable[[int], None] | None) -> int:
    """Write every item, contact, case file and system into the empty index in `folder`; returns the
    items written.

    From PARALLEL_FROM items, the items are written on every core (see _build_segments): analysing
    and indexing both run in Python, so one process cannot go faster than one core. Each process writes
    segments of SEGMENT_DOCS items, whose postings fit in memory (spilling them to disk and merging them
    back made indexing twice as slow). The background merger (merge_segments) merges them later.
    """
    ix = _open_dir(folder)
    writer = ix.writer(limitmb=BUILD_LIMIT_MB)
    try:
        db_file = database_file(db)
        segments: list[Any] = []  # written by worker processes, listed in this commit
        if db_file is None or count_items(db) < PARALLEL_FROM:
            count = _write_items(writer, iter_items(db), progress, confirmed_system_ids(db))
        else:
            count, segments = _build_segments(folder, db_file, _segment_bounds(db, SEGMENT_DOCS), progress)
        for contact in contacts_for_index(db):
            writer.add_document(**_fields(contact_document(contact)))
        for case in cases_for_index(db):
            writer.add_document(**_fields(case_document(case)))
        for system in systems_for_index(db):
            writer.add_document(**_fields(system_document(system)))
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=lambda _writer, existing: [*existing, *segments])  # whoosh's merge hook
    ix.close()
    return count


def _build_segments(folder: Path, db_file: str, bounds: list[tuple[int, int]],
                    progress: Callable[[int], None] | None) -> tuple[int, list[Any]]:
    """_build_segment for each id range, on every core; returns (items written, the segments)."""
    context = multiprocessing.get_context("spawn")  # never fork a threaded server
    queue = context.SimpleQueue() if progress else None
    # One process more than cores: one waiting on SQLite or the disk leaves its core to the others
    # (431 against 395 items per second on two cores).
    processes = min(len(bounds), max(2, os.cpu_count() or 1) + 1)
    with ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_init_build_process,
                             initargs=(queue,)) as pool:
        futures = [pool.submit(_build_segment, str(folder), db_file, after, up_to) for after, up_to in bounds]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2)
            while queue is not None and not queue.empty():
                progress(queue.get())  # type: ignore[misc]
        results = [future.result() for future in futures]
    while queue is not None and not queue.empty():
        progress(queue.get())  # type: ignore[misc]
    return sum(n for _, n in results), [segment for segment, _ in results if segment is not None]


def _merge_plan(segments: list[Any], lane: str) -> list[Any]:
    """The segments a lane merges next: the MERGE_FACTOR smallest of its smallest tier holding that many.

    Tiers: under 1,000 live documents, under 10,000, under 100,000... Merging like sizes together keeps
    the number of segments logarithmic in the size of the index, and each document merged a few times.
    """
    tiers: dict[int, list[Any]] = {}
    for segment in segments:
        live = max(segment.doc_count(), 1)
        tiers.setdefault(max(0, int(math.log10(live)) - 2), []).append(segment)
    for tier in sorted(set(tiers) & set(LANES[lane])):
        if len(tiers[tier]) >= MERGE_FACTOR:
            return sorted(tiers[tier], key=lambda segment: segment.doc_count())[:MERGE_FACTOR]
    return []


def _fold_small(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """Whoosh merge hook of the sync's commits: the segments kept; the folded ones go into the new one.

    Folds nothing while the background merger keeps up (at most FOLD_FROM small segments); past that,
    the smallest ones, at least two and up to FOLD_DOCS documents in all.
    """
    small = sorted((s for s in segments if s.doc_count_all() < FOLD_BELOW), key=lambda s: s.doc_count_all())
    if len(small) <= FOLD_FROM:
        return segments
    folded: list[Any] = []
    documents = 0
    for segment in small:
        if len(folded) >= 2 and documents + segment.doc_count_all() > FOLD_DOCS:
            break
        folded.append(segment)
        documents += segment.doc_count_all()
    for segment in folded:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)  # copies the live documents; deleted ones are dropped
        finally:
            reader.close()
    gone = {segment.segment_id() for segment in folded}
    LOGGER.info("folded %d small index segments (%d documents) into a sync commit", len(folded), documents)
    return [segment for segment in segments if segment.segment_id() not in gone]


def _write_merged(ix: FileIndex, scratch: Path, chosen: list[Any]) -> tuple[Any, dict[tuple[str, int], int]]:
    """The live documents of `chosen` written as one segment into `scratch`, and where each document went.

    Whoosh copies each segment's live documents in order, so the new numbers follow from the deletions.
    """
    scratch.mkdir()
    scratch_ix = whoosh_index.create_in(str(scratch), ix.schema, indexname=INDEX_NAME)
    writer = SegmentWriter(scratch_ix, _lk=False, limitmb=BUILD_LIMIT_MB)
    renumbered: dict[tuple[str, int], int] = {}
    for segment in chosen:
        deleted = set(segment.deleted_docs())
        for docnum in range(segment.doc_count_all()):
            if docnum not in deleted:
                renumbered[(segment.segment_id(), docnum)] = len(renumbered)
        reader = SegmentReader(ix.storage, ix.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    merged = writer._finalize_segment()  # noqa: SLF001 - as in _build_segment
    for name in os.listdir(scratch):  # only the merged segment's files move into the index
        if not name.startswith(merged.segment_id()):  # "items_<id>": the segment's own files
            path = scratch / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return merged, renumbered


class _SharedSearcher:
    """A searcher and how many searches use it; closed when retired and unused.

    Whoosh's readers keep one position per open file, so two threads reading through one searcher at
    once read each other's postings blocks (corrupt blocks, wrong results). Its users take turns
    (`reading`, reentrant for nested use); the Python work of a search holds the interpreter lock anyway,
    and the database and snippet work of a search happens after it.
    """

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.users = 0
        self.retired = False
        self.reading = threading.RLock()

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

    def __init__(self, root: Path, batch_size: int = 1000) -> None:
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
        if not name:
            return False
        return bool(whoosh_index.exists_in(str(self.root / name), indexname=INDEX_NAME))

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
                self._ix = _open_dir(folder)
                self._ix_dir = folder
            return self._ix

    # --- writing -----------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self, wait: float = LOCK_WAIT_SECONDS, name: str = "writer.lock") -> Iterator[bool]:
        """Hold the one-writer lock (across processes); yields False if it could not be had in time."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / name, "a+") as handle:
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
            systems = confirmed_system_ids(db, ids)
            return {item.id: item_document(item, systems.get(item.id, ())) for item in load_items(db, ids)}
        if kind == CONTACT:
            return {contact.id: contact_document(contact) for contact in contacts_for_index(db, ids)}
        if kind == SYSTEM:
            return {system.id: system_document(system) for system in systems_for_index(db, ids)}
        if kind == CASE:
            return {case.id: case_document(case) for case in cases_for_index(db, ids)}
        raise ValueError(f"unknown kind of record {kind!r}")

    def _apply(self, ix: FileIndex, db: Database, records: list[tuple[str, int]],
               merge: bool = False) -> None:
        """Write the current state of these (kind, id) records in one commit; delete those that are gone."""
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
        # Small commits leave merging to the background merger, so ingest is not stalled by a merge,
        # unless it has fallen far behind (_fold_small); optimize() merges everything.
        writer.commit(mergetype=None if merge else _fold_small)

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
        """Merge every segment into one, holding the writer (minutes on a large index; for maintenance)."""
        with self.writer_lock() as locked:
            if locked:
                self._open().optimize()
                self.refresh()

    def merge_segments(self, lane: str = "small") -> int:
        """Merge segments of one lane (see LANES); returns how many were merged into one (0: none due).

        Every commit of new items writes a small segment; searches slow down as they pile up. Segments of
        the same size tier (under 1,000 live documents, under 10,000, ...) are merged once MERGE_FACTOR of
        them exist. The merged segment is written without the writer lock, in a folder of its own (a
        commit meanwhile cleans the index folder of files it does not know); the lock is only held to
        choose the segments and, at the end, to swap the merged segment in. Documents deleted meanwhile
        (updated or removed items) are deleted from the merged segment before the swap.
        """
        with self.writer_lock(wait=0, name=f"merge-{lane}.lock") as merging:  # one merge at a time per lane
            return self._merge_segments(lane) if merging else 0

    def merge_due(self, lane: str) -> bool:
        """True when merge_segments(lane) would find segments to merge."""
        if not self.exists():
            return False
        return bool(_merge_plan(self._open()._read_toc().segments, lane))  # noqa: SLF001 - the segment list

    def merge_in_process(self, lane: str, stop: threading.Event, poll: float = 0.5) -> bool:
        """Run merge_segments in a process of its own, stopped if `stop` is set first; True if it finished.

        Merging is Python through and through: in a thread it would hold the interpreter lock for
        minutes and slow down the ingest and the searches of this process. The merging process has a
        lower priority and exits with this one; a merge cut short is redone later.
        """
        process = multiprocessing.get_context("spawn").Process(
            target=_merge_at, args=(str(self.root), lane), name=f"kb-index-merge-{lane}", daemon=True)
        process.start()
        while process.is_alive():
            if stop.wait(poll):
                process.terminate()
                process.join()
                return False
        self.refresh()
        return process.exitcode == 0

    def _merge_segments(self, lane: str) -> int:
        with self.writer_lock() as locked:
            if not locked:
                LOGGER.warning("merging index segments (%s) put off: the index writer stayed busy", lane)
                return 0
            ix = self._open()
            folder = self._ix_dir
            # Left by a merge whose process was killed.
            for stale in self.root.glob(f"gen-*/merging-{lane}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            chosen = _merge_plan(ix._read_toc().segments, lane)  # noqa: SLF001 - the segments, their deletions
        if not chosen or folder is None:
            return 0
        scratch = folder / f"merging-{lane}-{time.time_ns()}"
        try:
            merged, renumbered = _write_merged(ix, scratch, chosen)
            with self.writer_lock() as locked:
                if not locked:
                    LOGGER.warning("merged index segments (%s) not swapped in: the index writer stayed busy",
                                   lane)
                    return 0
                if self._current_name() != folder.name:
                    return 0  # a rebuild swapped the generation meanwhile: this merge is moot
                writer = self._open().writer()
                swapped = False

                def swap(_writer: SegmentWriter, segments: list[Any]) -> list[Any]:
                    nonlocal swapped
                    current = {segment.segment_id(): segment for segment in segments}
                    if any(old.segment_id() not in current for old in chosen):
                        return segments  # merged elsewhere meanwhile
                    for old in chosen:
                        for docnum in set(current[old.segment_id()].deleted_docs()) - set(old.deleted_docs()):
                            merged.delete_document(renumbered[(old.segment_id(), docnum)])
                    for name in os.listdir(scratch):
                        os.replace(scratch / name, folder / name)
                    swapped = True
                    kept = [segment for segment in segments if segment.segment_id() not in
                            {old.segment_id() for old in chosen}]
                    return [*kept, merged]

                writer.commit(mergetype=swap)  # whoosh's merge hook: the new segment list
            if swapped:
                self.refresh()
            return len(chosen) if swapped else 0
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def rebuild(self, db: Database, progress: Callable[[int], None] | None = None) -> int:
        """Build a new generation from the database aside, swap it in, then apply what changed meanwhile."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.writer_lock() as locked:
            if not locked:
                raise TimeoutError("another process holds the index writer; try again when it is done")
            # Outbox rows up to here announce changes made before the build reads the database, so the
            # new generation holds them; later rows are applied to it right after the swap (nobody else
            # acknowledges rows while we hold the writer lock, and later rows have higher ids).
            covered = outbox.last_row_id(db)
            folder = self._new_generation()
            try:
                count = _build(folder, db, progress)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            with self._lock:
                self._publish(folder)
            outbox.acknowledge_through(db, covered)
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
        searches still using it are done. One thread at a time reads through a searcher (see
        _SharedSearcher).
        """
        with self._lock:
            ix = self._open()
            now = time.monotonic()
            shared = self._shared
            due = now - self._searcher_checked >= max_age
            if shared is not None and due and not shared.searcher.up_to_date():
                self._close_searcher()
                shared = None
            if shared is None:
                shared = self._shared = _SharedSearcher(ix.searcher())
            if due:
                self._searcher_checked = now
            shared.users += 1
        try:
            with shared.reading:
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
        stored = {document_key(kind, record_id) for kind, ids in outbox.searchable_ids(db).items()
                  for record_id in ids}
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

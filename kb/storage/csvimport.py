"""Row-by-row CSV imports into the records (contacts, the register of systems): the bytes read as UTF-8
text, the rows walked with their line numbers, one transaction per row, a report of what happened to each
row, the dry run that performs the same import and then undoes it, and the audit entry.

What a row means stays with its record module, which hands in how to read the header and import a row.
"""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from sqlite_utils import Database

from kb.errors import InvalidInput, KbError
from kb.storage import audit
from kb.storage.db import transaction

LOGGER = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 5_000_000
ACTIONS = ("created", "updated", "unchanged", "refused")


@dataclass(frozen=True)
class ImportRow:
    line: int
    action: str  # "created", "updated", "unchanged" or "refused"
    reason: str = ""
    name: str = ""
    record_id: int | None = None  # the record the row created or changed (none for a dry run's creation)


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[ImportRow] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> str:
        """One line such as "2 created, 1 updated, 0 unchanged, 1 refused (dry run: nothing written)"."""
        counts = ", ".join(f"{self.count(a)} {a}" for a in ACTIONS)
        return counts + (" (dry run: nothing written)" if self.dry_run else "")


def decode_csv(data: bytes) -> str:
    """The text of a CSV file (its byte-order mark dropped); InvalidInput if too large or not UTF-8."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB; split it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text: save it as 'CSV UTF-8'") from None


@contextmanager
def rolled_back(db: Database) -> Iterator[None]:
    """Everything written inside is undone at the end (the dry run runs the real import, then forgets it)."""
    if db.conn.in_transaction:
        db.conn.execute("SAVEPOINT kb_dry_run")
        try:
            yield
        finally:
            db.conn.execute("ROLLBACK TO SAVEPOINT kb_dry_run")
            db.conn.execute("RELEASE SAVEPOINT kb_dry_run")
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.conn.execute("ROLLBACK")


def import_csv(db: Database, data: bytes, *, read_header: Callable[[Sequence[str]], list[str]],
               import_row: Callable[[Mapping[str, str]], tuple[str, str, int]],
               row_name: Callable[[Mapping[str, str]], str], dry_run: bool, user_id: int,
               entity: str) -> ImportReport:
    """Import CSV bytes row by row and report on every row; the import is logged as done by `user_id`.

    The first non-blank line is the header, turned into field names by `read_header` (InvalidInput for a
    bad one stops the import); blank lines are skipped; a row's line is the file line it starts on.
    `import_row` writes one row (given as {field: cell}) in its own transaction and returns (action,
    reason, record id); a KbError or an integrity error refuses that row only, as does a row with more
    cells than the header has columns. `row_name` names the row in the report. The dry run performs the
    same import inside a transaction that is rolled back, so its report is exact, and logs nothing.
    """
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    header: list[str] | None = None
    report = ImportReport(dry_run=dry_run)
    with rolled_back(db) if dry_run else nullcontext():
        start = 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = read_header(cells)
                continue
            record = dict(zip(header, cells, strict=False))
            name = row_name(record)
            if len(cells) > len(header):
                report.rows.append(ImportRow(line, "refused", f"{len(cells)} cells for {len(header)} columns",
                                             name))
                continue
            report.rows.append(_import_one(import_row, line, name, record, dry_run, entity))
    if header is None:
        raise InvalidInput("the file is empty; the first line must name the columns")
    if not dry_run:
        with transaction(db):
            audit.record(db, user_id, "import", entity, None, {a: report.count(a) for a in ACTIONS})
    return report


def _import_one(import_row: Callable[[Mapping[str, str]], tuple[str, str, int]], line: int, name: str,
                record: Mapping[str, str], dry_run: bool, entity: str) -> ImportRow:
    try:
        action, reason, record_id = import_row(record)
    except KbError as exc:
        return ImportRow(line, "refused", str(exc), name)
    except sqlite3.IntegrityError as exc:
        LOGGER.warning("%s import: line %s could not be stored: %s", entity, line, exc)
        return ImportRow(line, "refused", f"could not be stored ({exc})", name)
    return ImportRow(line, action, reason, name, None if dry_run and action == "created" else record_id)

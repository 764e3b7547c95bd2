"""The register in and out: CSV import and export, JSON records, and the demo's starter register."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlite_utils import Database

from kb.contacts import spreadsheet_safe, unquote_formula
from kb.errors import InvalidInput
from kb.storage.csvimport import ImportReport, import_csv
from kb.storage.db import transaction
from kb.systems.records import (
    FIELDS,
    STATUSES,
    StatusStep,
    _choice,
    _editor,
    _insert,
    _insert_step,
    _reader,
    _select,
    _steps,
    clean_fields,
    find_system_by_name,
    parse_status_date,
    update_system,
)
from kb.text.alias_matcher import alias_key
from kb.text.cleaning import clean_list, clean_text
from kb.users import User

# The CSV of `kb systems export`/`import`: the record's fields, lists joined with "; ", and the timeline
# as "date status" steps ("2014 in use; 2020-02-05 ruled unlawful").
CSV_COLUMNS = ("name", "aliases", "country", "level", "organisation", "external_supplier", "sector", "kind",
               "description", "decision", "legal_basis", "rights", "register_url", "impact_assessment",
               "source_disclosed", "notes", "timeline")


@dataclass(frozen=True)
class SampleRegisterReport:
    created: int
    steps: int
    cases_linked: int = 0
    missing: tuple[str, ...] = field(default=())


def _timeline_cell(steps: Sequence[StatusStep]) -> str:
    return "; ".join(f"{s.date} {s.status}" for s in steps)


def _parse_timeline(cell: str) -> list[tuple[str, str]]:
    steps = []
    for part in clean_list(cell, "timeline"):
        when, _, status = part.partition(" ")
        status = _choice(status, STATUSES, f"the status of timeline step {part!r}")
        if not status:
            raise InvalidInput(f"timeline step {part!r}: write a date then a status, such as '2014 in use'")
        steps.append((parse_status_date(when), status))
    return steps


def export_records(db: Database, user: User) -> list[dict[str, Any]]:
    """Every system as a plain record (the JSON export and `kb systems list --json`), with its timeline
    and the ids of its confirmed items."""
    _reader(user)
    records = []
    for system in _select(db):
        steps = _steps(db, "system_id = ?", [system.id])
        record: dict[str, Any] = {"id": system.id}
        for name in FIELDS:
            value = getattr(system, name)
            record[name] = list(value) if isinstance(value, tuple) else value
        record.update(status=system.status, status_date=system.status_date,
                      timeline=[{"status": s.status, "date": s.date, "note": s.note,
                                 "item_ids": list(s.item_ids)} for s in steps],
                      confirmed_items=[r[0] for r in db.execute(
                          "SELECT item_id FROM system_items WHERE system_id = ? AND state = 'confirmed' "
                          "ORDER BY item_id", [system.id])],
                      created_at=system.created_at, updated_at=system.updated_at)
        records.append(record)
    return records


def export_csv(db: Database, user: User, out: TextIO) -> int:
    """Write the register as CSV (CSV_COLUMNS; formulas neutralised); returns the number of systems."""
    records = export_records(db, user)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        cells = {**record, "aliases": "; ".join(record["aliases"]), "rights": "; ".join(record["rights"]),
                 "timeline": "; ".join(f"{s['date']} {s['status']}" for s in record["timeline"])}
        writer.writerow([spreadsheet_safe(str(cells[c])) for c in CSV_COLUMNS])
    return len(records)


def _header(cells: Sequence[str]) -> list[str]:
    header = ["_".join(c.strip().lower().split()) for c in cells]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "name" not in header:
        named = ", ".join(map(repr, unknown)) or "(no name)"
        raise InvalidInput(f"unknown column(s) {named}; the columns are: {', '.join(CSV_COLUMNS)}, "
                           "and 'name' is required")
    return header


def _import_row(db: Database, user: User, cells: Mapping[str, str]) -> tuple[str, str, int]:
    """Create or update the system of one row (matched by its name or an alias, folded)."""
    given = {k: unquote_formula(v) for k, v in cells.items() if v.strip()}  # an empty cell changes nothing
    steps = _parse_timeline(given.pop("timeline", ""))
    cleaned = clean_fields(given, partial=True)
    if not cleaned.get("name"):
        raise InvalidInput("missing name")
    with transaction(db):
        existing = find_system_by_name(db, cleaned["name"])
        if existing is None:
            system_id = _insert(db, clean_fields(given), user.id)
            action, reason = "created", ""
        else:
            system_id = existing.id
            if alias_key(cleaned["name"]) != alias_key(existing.name):
                # The row names the system by one of its aliases: keep the system's name and that alias.
                row_name = cleaned.pop("name")
                if "aliases" in cleaned:
                    cleaned["aliases"] = (*cleaned["aliases"], row_name)
            after = update_system(db, user, existing.id, cleaned)
            action, reason = ("updated", f"system {system_id}") if after != existing else \
                ("unchanged", f"same as system {system_id}")
        known = {(s.date, s.status) for s in _steps(db, "system_id = ?", [system_id])}
        for when, status in steps:
            if (when, status) not in known:
                _insert_step(db, system_id, status, when, "", [], user.id)
                if action == "unchanged":
                    action, reason = "updated", f"system {system_id}"
        return action, reason, system_id


def import_systems(db: Database, user: User, data: bytes, *, dry_run: bool = False) -> ImportReport:
    """Import systems from CSV bytes (CSV_COLUMNS, a "name" column at least), one transaction per row; a
    refused row writes nothing and does not stop the others. A row whose name (or alias) is registered
    updates that system: an empty cell leaves a field alone, aliases are replaced, timeline steps added.
    The dry run performs the same import inside a transaction that is rolled back, so its report is exact."""
    _editor(user)
    return import_csv(db, data, read_header=_header, import_row=lambda record: _import_row(db, user, record),
                      row_name=lambda record: clean_text(record.get("name"), multiline=False)[:200],
                      dry_run=dry_run, user_id=user.id, entity="system")


def load_sample_register(db: Database, records: Sequence[Mapping[str, Any]]) -> SampleRegisterReport:
    """Add the sample systems that are missing (by name), with their timelines; running it twice adds
    nothing. Logged as the system (no user)."""
    created = steps = 0
    for record in records:
        fields = {k: v for k, v in record.items() if k in FIELDS}
        cleaned = clean_fields(fields)
        with transaction(db):
            if find_system_by_name(db, cleaned["name"]) is not None:
                continue
            system_id = _insert(db, cleaned, None)
            created += 1
            for step in record.get("timeline", []):
                note = clean_text(step.get("note", ""), multiline=True)
                _insert_step(db, system_id, _choice(step["status"], STATUSES, "the status"),
                             parse_status_date(step["date"]), note, [], None)
                steps += 1
    return SampleRegisterReport(created, steps)

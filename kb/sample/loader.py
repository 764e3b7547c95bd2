"""What the demo builder calls to load the bundled sample contacts and case files (kb/sample/*.json).

The work is done by `kb.cases.load_sample`, which returns a detailed report; this keeps the demo's
contract of two counts. Loading is idempotent: a second run creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from kb import cases


def load_sample(db: Database, contacts: list[dict[str, Any]], case_files: list[dict[str, Any]],
                item_id_by_slug: Callable[[str], int | None]) -> tuple[int, int]:
    """Load the sample, creating only what is missing; returns (contacts created, case files created)."""
    report = cases.load_sample(db, contacts, case_files, item_id_by_slug)
    return report.contacts_created, report.cases_created

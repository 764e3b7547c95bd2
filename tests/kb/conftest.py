"""Fixtures of the core's tests: a bare migrated database (no index) for the record modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from kb.storage.db import connect, migrate


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = connect(tmp_path / "kb.db")
    migrate(database)
    yield database
    database.conn.close()

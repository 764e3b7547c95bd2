from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.knowledge import KnowledgeBase
from tests.factories import make_kb


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    """An opened, empty knowledge base in a temporary data folder."""
    base = make_kb(tmp_path / "data")
    try:
        yield base
    finally:
        base.close()

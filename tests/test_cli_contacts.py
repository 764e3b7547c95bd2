"""`kb contacts import` and `export`, run as a subprocess: a report line per row on stdout, the summary on
stderr, the dry run writes nothing, a bad file is refused with a message and exit status 1."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.test_cli import folder_with_user, run_kb

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
ADMIN = "admin@lab.example"


def _folder(data_dir: Path) -> Path:
    return folder_with_user(data_dir, ADMIN, "admin")


def _exported_names(data_dir: Path) -> list[str]:
    exported = run_kb(data_dir, "contacts", "export", "--as", ADMIN)
    assert exported.returncode == 0, exported.stderr
    return [row["name"] for row in csv.DictReader(io.StringIO(exported.stdout))]


def test_import_prints_a_line_per_row_and_the_dry_run_writes_nothing(tmp_path: Path):
    data_dir = _folder(tmp_path / "data")
    file = FIXTURES / "mixed.csv"
    # The file's own lines: a row's line number is where it stands (line 11 is blank and skipped).
    lines = file.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("Sofía Ruiz,") and lines[9].startswith("Too Many Cells,") and not lines[10]

    dry = run_kb(data_dir, "contacts", "import", str(file), "--dry-run", "--as", ADMIN)
    assert dry.returncode == 0, dry.stderr
    printed = dry.stdout.splitlines()
    assert printed[0] == "line     2: created   Sofía Ruiz"
    assert "line     3: refused    - missing name" in printed
    assert "line    10: refused   Too Many Cells - 15 cells for 14 columns" in printed
    assert printed[-1] == "line    12: created   Paul Martin"
    assert len(printed) == 10
    assert dry.stderr.strip() == "2 created, 1 updated, 0 unchanged, 7 refused (dry run: nothing written)"
    assert _exported_names(data_dir) == []

    real = run_kb(data_dir, "contacts", "import", str(file), "--as", ADMIN)
    assert real.returncode == 0, real.stderr
    assert real.stdout == dry.stdout  # the dry run's report is exact
    assert real.stderr.strip() == "2 created, 1 updated, 0 unchanged, 7 refused"
    assert sorted(_exported_names(data_dir)) == ["Paul Martin", "Sofía Ruiz"]


def test_a_bad_file_is_refused_whole(tmp_path: Path):
    data_dir = _folder(tmp_path / "data")
    refused = run_kb(data_dir, "contacts", "import", str(FIXTURES / "bad_header.csv"), "--as", ADMIN)
    assert refused.returncode == 1
    assert "unknown column(s) 'sensitivty'" in refused.stderr and refused.stdout == ""
    assert _exported_names(data_dir) == []

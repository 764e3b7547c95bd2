"""The house rules that keep the code findable: the import contracts of pyproject.toml (import-linter),
module sizes, SQL only in the storage modules, and a docstring on every package."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kb", "ingest", "webui", "cli")
MAX_MODULE_LINES = 800
MAX_LOOSE_KB_MODULES = 12
# Where SQL may be written: the storage area, and the record modules, each the storage of its own tables.
SQL_MODULES = {
    *(f"kb/{name}.py" for name in ("items", "sources", "tags", "curation", "contacts", "cases", "users")),
    "kb/monitor.py", "kb/digest/draft.py", "kb/digest/deliveries.py", "kb/digest/recipients.py",
    "kb/search/saved.py", "kb/learning/records.py", "kb/systems/records.py", "kb/systems/matching.py",
    "kb/systems/exchange.py",
}
SQL_RE = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                    r"CREATE\s+(TABLE|INDEX|TRIGGER))\b", re.IGNORECASE | re.DOTALL)


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_stays_readable(path: Path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it along a seam"


def test_kb_top_level_holds_few_modules():
    loose = sorted(p.name for p in (ROOT / "kb").glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= MAX_LOOSE_KB_MODULES, loose


def test_every_package_says_what_it_owns():
    for init in sorted(p for package in PACKAGES for p in (ROOT / package).rglob("__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring and len(docstring) > 40, f"{init.relative_to(ROOT)} needs a docstring"


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_sql_lives_in_the_storage_modules():
    offenders = []
    for path in modules():
        name = path.relative_to(ROOT).as_posix()
        if name.startswith("kb/storage/") or name in SQL_MODULES:
            continue
        offenders += [f"{name}: {text[:60]!r}" for text in _string_constants(path) if SQL_RE.search(text)]
    assert offenders == []


def test_the_sql_check_finds_sql():
    # The check above must be able to fail: it sees the statements of a storage module.
    assert any(SQL_RE.search(text) for text in _string_constants(ROOT / "kb" / "storage" / "meta.py"))

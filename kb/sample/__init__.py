"""The bundled offline sample corpus: feeds, article pages, a watched page, contacts, cases and a starter
register of systems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLE_DIR: Path = Path(__file__).resolve().parent


def _load_json(name: str) -> Any:
    """Parse one JSON file of the corpus."""
    return json.loads((SAMPLE_DIR / name).read_text(encoding="utf-8"))


def load_manifest() -> dict[str, Any]:
    """The manifest: feeds, watched pages and items with their languages, sectors and feeds."""
    manifest: dict[str, Any] = _load_json("manifest.json")
    return manifest


def load_contacts() -> list[dict[str, Any]]:
    """The five fictional sample contacts."""
    contacts: list[dict[str, Any]] = _load_json("contacts.json")
    return contacts


def load_cases() -> list[dict[str, Any]]:
    """The two sample case files."""
    cases: list[dict[str, Any]] = _load_json("cases.json")
    return cases


def load_systems() -> list[dict[str, Any]]:
    """The starter register: systems the sample articles discuss, described from public facts (kb.systems)."""
    systems: list[dict[str, Any]] = _load_json("systems.json")
    return systems

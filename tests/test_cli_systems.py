"""`kb systems`, run as a subprocess against temporary data folders: import with its row-by-row report and
dry run, export as CSV and JSON, the listing, matching again, and the demo's starter register."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from kb import items as items_store
from tests.factories import make_draft, make_kb
from tests.test_cli import folder_with_user, run_kb

COORDINATOR = "coordinator@lab.example"
CSV_TEXT = """name,aliases,country,level,sector,kind,description,timeline
SyRI,Systeem Risico Indicatie,NL,national,welfare,risk-scoring,"Links files, flags addresses.",\
2014 in use; 2020-02-05 ruled unlawful
Welfare card,card,NL,,,,,
Robodebt,Online Compliance Intervention,AU,national,welfare,eligibility,Income averaging.,2016-07 in use
"""


def _folder(path: Path) -> Path:
    return folder_with_user(path, COORDINATOR, "coordinator")


def _names(data_dir: Path) -> list[str]:
    listed = run_kb(data_dir, "systems", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line)["name"] for line in listed.stdout.splitlines()]


def test_import_reports_every_row_and_the_dry_run_writes_nothing(tmp_path: Path):
    data_dir = _folder(tmp_path / "data")
    file = tmp_path / "register.csv"
    file.write_text(CSV_TEXT, encoding="utf-8")
    dry = run_kb(data_dir, "systems", "import", str(file), "--dry-run", "--as", COORDINATOR)
    assert dry.returncode == 1  # a refused row is an error for scripts
    assert "line     3: refused   Welfare card - the alias 'card' is a common word" in dry.stdout
    assert "2 created, 0 updated, 0 unchanged, 1 refused (dry run: nothing written)" in dry.stderr
    assert _names(data_dir) == []
    real = run_kb(data_dir, "systems", "import", str(file), "--as", COORDINATOR)
    assert "line     2: created   SyRI" in real.stdout and "line     4: created   Robodebt" in real.stdout
    assert _names(data_dir) == ["Robodebt", "SyRI"]
    human = run_kb(data_dir, "systems", "list", "--status", "ruled unlawful")
    assert "SyRI" in human.stdout and "ruled unlawful (2020-02-05)" in human.stdout
    assert "Robodebt" not in human.stdout
    refused = run_kb(data_dir, "systems", "import", str(file), "--as", "nobody@lab.example")
    assert refused.returncode == 1 and "no active user" in refused.stderr


def test_csv_export_imports_into_another_folder_unchanged_and_json_has_timelines(tmp_path: Path):
    first_dir = _folder(tmp_path / "first")
    file = tmp_path / "register.csv"
    file.write_text(CSV_TEXT, encoding="utf-8")
    run_kb(first_dir, "systems", "import", str(file), "--as", COORDINATOR)
    exported = tmp_path / "out.csv"
    done = run_kb(first_dir, "systems", "export", "--format", "csv", "-o", str(exported))
    assert done.returncode == 0, done.stderr
    assert "Exported 2 systems" in done.stderr
    second_dir = _folder(tmp_path / "second")
    again = run_kb(second_dir, "systems", "import", str(exported), "--as", COORDINATOR)
    assert again.returncode == 0, again.stdout + again.stderr
    assert run_kb(second_dir, "systems", "export").stdout == exported.read_text(encoding="utf-8")
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8")))}
    assert rows["SyRI"]["description"] == "Links files, flags addresses."
    records = json.loads(run_kb(second_dir, "systems", "export", "--format", "json").stdout)
    syri = next(r for r in records if r["name"] == "SyRI")
    assert [(s["date"], s["status"]) for s in syri["timeline"]] == [("2014", "in use"),
                                                                     ("2020-02-05", "ruled unlawful")]
    assert (syri["status"], syri["country"], syri["aliases"]) == (
        "ruled unlawful", "country/nl", ["Systeem Risico Indicatie"])


def test_suggest_matches_items_stored_before_the_system_was_registered(tmp_path: Path):
    data_dir = _folder(tmp_path / "data")
    base = make_kb(data_dir)
    item_id = items_store.store_item(base.db, make_draft(title="Het SyRI-vonnis", language="nl")).item_id
    base.close()
    file = tmp_path / "register.csv"
    file.write_text(CSV_TEXT, encoding="utf-8")
    run_kb(data_dir, "systems", "import", str(file), "--as", COORDINATOR)
    done = run_kb(data_dir, "systems", "suggest")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 suggested links")
    base = make_kb(data_dir)
    from kb import systems

    links = systems.links_for_items(base.db, [item_id])[item_id]
    base.close()
    assert [(link.system_name, link.state, link.evidence) for link in links] == [
        ("SyRI", "suggested", ("SyRI",))]


# Which register entry a reader finds named in each of these sample articles (written by hand from the
# articles), and articles that name none.
DEMO_EXPECTED = {
    "nl-syri-vonnis-terugblik": {"SyRI"},
    "en-robodebt-income-averaging-lessons": {"Robodebt"},
    "de-ams-algorithmus-arbeitsmarktchancen": {"AMS-Algorithmus"},
    "en-ofqual-algorithm-grading-legacy": {"Ofqual 2020 grading model"},
    "en-aadhaar-biometric-exclusion-rations": {"Aadhaar"},
    "fr-caf-score-de-risque": {"Score de risque CAF"},
    "es-viogen-riesgo-violencia-genero": {"VioGén"},
    "it-algoritmo-mobilita-docenti": {"Algoritmo della mobilità docenti"},
    "ar-jordan-takaful-targeting-algorithm": {"Takaful cash transfer programme"},
    "ar-morocco-unified-social-registry-index": {"Registre social unifié"},
    "en-serbia-social-card-registry": {"Social Card"},
    "nl-duo-risicoprofiel-uitwonendenbeurs": {"DUO risicoprofiel uitwonendenbeurs"},
    "en-football-harbour-rovers-derby": set(),
    "fr-recette-tarte-aux-pommes-grand-mere": set(),
}


def test_the_demo_loads_the_starter_register_and_ingest_suggests_its_systems(tmp_path: Path):
    data_dir = tmp_path / "demo"
    built = run_kb(data_dir, "demo", "--build-only")
    assert built.returncode == 0, built.stderr
    assert "Loaded 17 systems into the register (2 case files linked" in built.stdout
    base = make_kb(data_dir)
    from kb import systems

    try:
        by_slug = {item.canonical_url.rpartition("/pages/")[2].removesuffix(".html"): item
                   for item in items_store.iter_items(base.db) if "/pages/" in item.canonical_url}
        links = systems.links_for_items(base.db, [item.id for item in by_slug.values()])
        for slug, expected in DEMO_EXPECTED.items():
            assert {link.system_name for link in links.get(by_slug[slug].id, [])} == expected, slug
        suggested = [link for found in links.values() for link in found]
        assert all(link.state == "suggested" for link in suggested)
        assert len({link.system_name for link in suggested}) >= 12
        assert len({by_slug[slug].language for slug, item in by_slug.items() if item.id in links}) >= 6
        case_systems = {case_id: [s.name for s in systems.systems_for_case(base.db, case_id)]
                        for case_id in (1, 2)}
        assert sorted(case_systems.values()) == [["DUO risicoprofiel uitwonendenbeurs"],
                                                 ["Score de risque CAF"]]
    finally:
        base.close()

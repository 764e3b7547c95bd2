"""`kb taxonomy`, run as a subprocess: a term previewed then added (the stored item gets the topic), a
refused term, export, and a bad file refused with the entry named and nothing changed."""

from __future__ import annotations

from pathlib import Path

from kb import items as items_store
from kb.learning import taxonomies
from kb.text.taxonomy import install_taxonomy, load_taxonomy, taxonomy_data
from tests.factories import make_draft, make_kb
from tests.test_cli import run_kb


def test_add_a_term_export_and_a_bad_import(tmp_path: Path):
    data_dir = tmp_path / "data"
    kb = make_kb(data_dir)
    item_id = items_store.store_item(kb.db, make_draft(
        title="Ruzuku za mbolea zacheleweshwa", text="Wakulima wanasubiri ruzuku za mbolea.", language="sw",
        topics=())).item_id
    kb.close()

    dry = run_kb(data_dir, "taxonomy", "add-term", "sector/welfare", "sw", "ruzuku", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would tag 1 stored items and untag 0" in dry.stdout and "Dry run" in dry.stdout
    refused = run_kb(data_dir, "taxonomy", "add-term", "sector/welfare", "en", "model")
    assert refused.returncode == 1 and "too general" in refused.stderr
    added = run_kb(data_dir, "taxonomy", "add-term", "sector/welfare", "sw", "ruzuku")
    assert added.returncode == 0, added.stderr
    assert "Saved as taxonomy version 1." in added.stdout

    exported = tmp_path / "taxonomy.toml"
    assert run_kb(data_dir, "taxonomy", "export", "-o", str(exported)).returncode == 0
    assert "ruzuku" in load_taxonomy(exported).get("sector/welfare").terms["sw"]
    bad = tmp_path / "bad.toml"
    bad.write_text(exported.read_text(encoding="utf-8").replace('facet = "right"', 'facet = "rightz"', 1),
                   encoding="utf-8")
    refused = run_kb(data_dir, "taxonomy", "import", str(bad))
    assert refused.returncode == 1
    assert "bad.toml: topic #" in refused.stderr and "unknown facet 'rightz'" in refused.stderr

    kb = make_kb(data_dir)
    try:
        assert "sector/welfare" in items_store.get_item(kb.db, item_id).topics
        assert len(taxonomies.history(kb.db)) == 1
        assert taxonomy_data(taxonomies.current(kb.db)) == taxonomy_data(load_taxonomy(exported))
    finally:
        kb.close()
        install_taxonomy(None)

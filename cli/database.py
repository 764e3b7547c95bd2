"""`kb init`, `kb status`, `kb reindex` and `kb backup`: the data folder as a whole."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.state import CliState, pass_state, reports_errors
from kb import items as items_store


@click.command()
@pass_state
@reports_errors
def init(state: CliState) -> None:
    """Create the database and the search index (safe to run again: nothing is lost)."""
    kb = state.kb()
    click.echo(f"Knowledge base ready in {state.settings.data_dir} (schema {kb.status().schema_version}).")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_state
@reports_errors
def status(state: CliState, as_json: bool) -> None:
    """Counts, index health and the last ingest."""
    current = state.kb().status()
    if as_json:
        click.echo(json.dumps(current.as_json(), indent=2))
        return
    click.echo(f"Data folder:     {current.data_dir}")
    click.echo(f"Items:           {current.items}")
    click.echo(f"Sources:         {current.sources}")
    click.echo(f"Contacts:        {current.contacts}")
    click.echo(f"Case files:      {current.cases}")
    click.echo(f"Users:           {current.users}")
    agreement = "in sync with the database" if current.index_in_sync else "OUT OF SYNC (run `kb reindex`)"
    click.echo(f"Index:           {current.index_documents} documents, {agreement}")
    click.echo(f"Last ingest:     {current.last_ingest or 'never'}")


@click.command()
@pass_state
@reports_errors
def reindex(state: CliState) -> None:
    """Rebuild the search index from the database aside, then swap it in (search stays online)."""
    kb = state.kb()
    total = items_store.count_items(kb.db)
    with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
        count = kb.index.rebuild(kb.db, progress=bar.update)
    click.echo(f"Indexed {count} items.")


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@pass_state
@reports_errors
def backup(state: CliState, target: str) -> None:
    """Write a consistent copy of the database to TARGET (readable by you only; it holds contacts)."""
    try:
        state.kb().backup(Path(target))
    except (FileExistsError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up to {target}. Restore: stop kb, copy it to {state.settings.db_path}, "
               "run `kb reindex`.")

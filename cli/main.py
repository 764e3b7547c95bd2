"""The `kb` command tree: the root group with --data-dir, and every command group registered by name."""

from __future__ import annotations

import logging

import click

from cli import (
    cases,
    contacts,
    database,
    digest,
    items,
    monitor,
    search,
    serve,
    sources,
    systems,
    taxonomy,
    users,
)
from cli.state import CliState


@click.group()
@click.option("--data-dir", envvar="KB_DATA_DIR", default="kb-data", show_default=True,
              type=click.Path(file_okay=False), help="Folder holding the database, the index and kb.toml.")
@click.pass_context
def kb_group(ctx: click.Context, data_dir: str) -> None:
    """Research knowledge base and media monitoring."""
    state = CliState(data_dir)
    ctx.obj = state
    ctx.call_on_close(state.close)


for command in (
    database.init, database.status, database.reindex, database.backup,
    items.items, users.users, sources.sources, monitor.ingest, monitor.worker,
    search.search_command, search.saved, contacts.contacts, cases.cases, systems.systems, digest.digest,
    serve.serve_command, serve.demo_command, taxonomy.taxonomy,
):
    kb_group.add_command(command)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    kb_group(prog_name="kb")

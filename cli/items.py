"""`kb items`: the items of the knowledge base, exported for use elsewhere."""

from __future__ import annotations

import csv

import click

from cli.state import CliState, open_output, pass_state, reports_errors
from kb import items as items_store

EXPORT_FIELDS = ("id", "url", "canonical_url", "title", "text", "summary", "author", "language", "topics",
                 "sectors", "countries", "relevant", "status", "in_digest", "published", "created_at",
                 "sources", "cases")


@click.group()
def items() -> None:
    """Items in the knowledge base."""


@items.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="File to write (default: standard output).")
@pass_state
@reports_errors
def items_export(state: CliState, fmt: str, output: str | None) -> None:
    """Every item, for taking the lab's sources elsewhere."""
    kb = state.kb()
    records = (items_store.export_record(item) for item in items_store.iter_items(kb.db))
    count = 0
    with open_output(output, newline="" if fmt == "csv" else None) as handle:
        if fmt == "jsonl":
            for record in records:
                handle.write(items_store.dumps(record) + "\n")
                count += 1
        else:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            for record in records:
                writer.writerow({k: "|".join(map(str, v)) if isinstance(v, list) else v
                                 for k, v in record.items()})
                count += 1
    if output and output != "-":
        click.echo(f"Exported {count} items to {output}.", err=True)

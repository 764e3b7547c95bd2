"""`kb items`: the items of the knowledge base, exported for use elsewhere, re-tagged with the current
taxonomy and relevance model, and the relevance model trained."""

from __future__ import annotations

import csv

import click

from cli.state import CliState, open_output, pass_state, reports_errors
from kb import items as items_store
from kb.learning import taxonomies, training
from kb.learning.retag import retag

EXPORT_FIELDS = ("id", "url", "canonical_url", "title", "text", "summary", "author", "language",
                 "language_name", "topics", "topic_labels", "sectors", "countries", "relevant", "status",
                 "in_digest", "published", "created_at", "sources", "cases")


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


@items.command("retag")
@click.option("--dry-run", is_flag=True, help="Count what would change; write nothing.")
@click.option("--as", "as_email", metavar="EMAIL", help="Record this user in the audit log as who ran it.")
@pass_state
@reports_errors
def items_retag(state: CliState, dry_run: bool, as_email: str | None) -> None:
    """Tag and judge every item again with the current taxonomy and learned model.

    Never changes what a person decided: an accepted or rejected item keeps its relevance, and tags a
    person set, confirmed or removed stay.
    """
    kb = state.kb()
    user_id = state.acting_user(as_email).id if as_email else None
    report = retag(kb.db, taxonomy=taxonomies.current(kb.db), dry_run=dry_run, user_id=user_id)
    for line in report.lines():
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was written.")
    elif report.retopiced or report.rescored:
        kb.sync_index()


@items.command("train")
@click.option("--force", is_flag=True, help="Train even when fewer than the usual new decisions exist.")
@pass_state
@reports_errors
def items_train(state: CliState, force: bool) -> None:
    """Train the relevance model on the accepted and rejected items now (the monitor does it by itself
    once enough new decisions exist)."""
    db = state.kb().db
    record = training.train(db, force=force)
    if record is None:
        state_now = training.training_state(db)
        click.echo(f"Not trained. {state_now.line()}")
        return
    click.echo(training.training_state(db).line())

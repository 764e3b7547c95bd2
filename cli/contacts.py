"""`kb contacts`: CSV import and export of contacts, acting as the user named by --as (their access
rules apply)."""

from __future__ import annotations

import io
from pathlib import Path

import click

from cli.reports import print_import_report
from cli.state import AS_OPTION, OUTPUT_OPTION, CliState, pass_state, reports_errors, write_output
from kb import contacts as contacts_store


@click.group()
def contacts() -> None:
    """Contacts: all export those they may see (researchers: not restricted); coordinators import."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Report what would happen, change nothing.")
@AS_OPTION
@pass_state
@reports_errors
def contacts_import(state: CliState, file: str, dry_run: bool, as_email: str) -> None:
    """Create or update contacts from a CSV file (the columns of `kb contacts export`; lists split by ';')."""
    user = state.acting_user(as_email)
    report = contacts_store.import_contacts(state.kb().db, user, Path(file).read_bytes(), dry_run=dry_run)
    print_import_report(report)


@contacts.command("export")
@OUTPUT_OPTION
@AS_OPTION
@pass_state
@reports_errors
def contacts_export(state: CliState, output: str | None, as_email: str) -> None:
    """Every contact you may see, as CSV (a file is written readable by you only)."""
    user = state.acting_user(as_email)
    buffer = io.StringIO()
    count = contacts_store.export_contacts(state.kb().db, user, buffer)
    write_output(output, buffer.getvalue(), private=True)
    if output and output != "-":
        click.echo(f"Exported {count} contacts to {output}.", err=True)

"""`kb contacts` and `kb cases`: CSV import and export of contacts, case files and their sources.

Every command acts as the user named by --as, so the access rules of kb.contacts and kb.cases apply.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import click

from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import users as users_store
from kb.cli import CliState, cli, pass_state, reports_errors
from kb.users import User

AS_OPTION = click.option("--as", "as_email", required=True, metavar="EMAIL",
                         help="Act as this user: their access rules apply.")
OUTPUT_OPTION = click.option("--output", "-o", type=click.Path(dir_okay=False),
                             help="File to write (default: standard output).")


def _acting_user(state: CliState, email: str) -> User:
    user = users_store.find_user_by_email(state.kb().db, email)
    if user is None or not user.active:
        raise click.ClickException(f"no active user with e-mail {email}; see `kb users list`")
    return user


def _write(output: str | None, text: str, *, private: bool) -> None:
    """Write to standard output, or to a new file (readable by the owner only when `private`)."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    if private:
        # Created 0600 before any byte is written: the file holds personal data.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")


@cli.group()
def contacts() -> None:
    """Contacts (coordinators and admins; restricted ones only for their case team and admins)."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Report what would happen, change nothing.")
@AS_OPTION
@pass_state
@reports_errors
def contacts_import(state: CliState, file: str, dry_run: bool, as_email: str) -> None:
    """Create or update contacts from a CSV file (the columns of `kb contacts export`; lists split by ';')."""
    user = _acting_user(state, as_email)
    report = contacts_store.import_contacts(state.kb().db, user, Path(file).read_bytes(), dry_run=dry_run)
    for row in report.rows:
        detail = f" - {row.reason}" if row.reason else ""
        click.echo(f"line {row.line:>5}: {row.action:<9} {row.name}{detail}")
    click.echo(report.summary(), err=True)


@contacts.command("export")
@OUTPUT_OPTION
@AS_OPTION
@pass_state
@reports_errors
def contacts_export(state: CliState, output: str | None, as_email: str) -> None:
    """Every contact you may see, as CSV (a file is written readable by you only)."""
    user = _acting_user(state, as_email)
    buffer = io.StringIO()
    count = contacts_store.export_contacts(state.kb().db, user, buffer)
    _write(output, buffer.getvalue(), private=True)
    if output and output != "-":
        click.echo(f"Exported {count} contacts to {output}.", err=True)


@cli.group()
def cases() -> None:
    """Case files."""


@cases.command("list")
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True)
@AS_OPTION
@pass_state
@reports_errors
def cases_list(state: CliState, status: str, as_email: str) -> None:
    """Case files, most recently changed first."""
    user = _acting_user(state, as_email)
    found = cases_store.list_cases(state.kb().db, user, status=None if status == "all" else status)
    for case in found:
        click.echo(f"{case.id:>4}  {case.status:<6}  {case.country:<12}  {case.title}")
    if not found:
        click.echo("No case files.", err=True)


@cases.command("export-sources")
@click.argument("case_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "ris"]), default="csv", show_default=True)
@OUTPUT_OPTION
@AS_OPTION
@pass_state
@reports_errors
def cases_export_sources(state: CliState, case_id: int, fmt: str, output: str | None, as_email: str) -> None:
    """The sources (items) of a case file as CSV or as RIS for reference managers (Zotero, EndNote)."""
    user = _acting_user(state, as_email)
    db = state.kb().db
    text = (cases_store.sources_csv if fmt == "csv" else cases_store.sources_ris)(db, user, case_id)
    _write(output, text, private=False)
    if output and output != "-":
        click.echo(f"Wrote the sources of case file {case_id} to {output}.", err=True)

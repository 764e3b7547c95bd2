"""`kb cases`: case files and their sources for reference managers, acting as the user named by --as
(their access rules apply)."""

from __future__ import annotations

import click

from cli.state import AS_OPTION, OUTPUT_OPTION, CliState, pass_state, reports_errors, write_output
from kb import cases as cases_store


@click.group()
def cases() -> None:
    """Case files."""


@cases.command("list")
@click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True)
@AS_OPTION
@pass_state
@reports_errors
def cases_list(state: CliState, status: str, as_email: str) -> None:
    """Case files, most recently changed first."""
    user = state.acting_user(as_email)
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
    user = state.acting_user(as_email)
    db = state.kb().db
    text = (cases_store.sources_csv if fmt == "csv" else cases_store.sources_ris)(db, user, case_id)
    write_output(output, text, private=False)
    if output and output != "-":
        click.echo(f"Wrote the sources of case file {case_id} to {output}.", err=True)

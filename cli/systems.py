"""`kb systems`: the register of algorithmic systems from the command line (kb.systems): CSV import, CSV or
JSON export, a listing, matching the stored items again, and the items that may be about a new system."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click

from cli.reports import print_import_report
from cli.state import AS_OPTION, OUTPUT_OPTION, CliState, pass_state, reports_errors, write_output
from kb import systems as systems_store
from kb.users import User

# Reading the register needs no account: it holds no personal data (its contacts are not listed here).
_READER = User(id=0, email="", name="command line", role="researcher", active=True, session_version=0,
               created_at="")
READ_AS_OPTION = click.option("--as", "as_email", default=None, metavar="EMAIL",
                              help="Act as this user (default: a reader).")


def _reader(state: CliState, as_email: str | None) -> User:
    return state.acting_user(as_email) if as_email else _READER


@click.group()
def systems() -> None:
    """The register of algorithmic systems: everyone reads it; coordinators and admins import."""


@systems.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Report what would happen, change nothing.")
@AS_OPTION
@pass_state
@reports_errors
def systems_import(state: CliState, file: str, dry_run: bool, as_email: str) -> None:
    """Create or update systems from a CSV file (the columns of `kb systems export --format csv`; lists and
    timeline steps separated by ';', a step written "2020-02-05 ruled unlawful")."""
    user = state.acting_user(as_email)
    report = systems_store.import_systems(state.kb().db, user, Path(file).read_bytes(), dry_run=dry_run)
    print_import_report(report)
    if report.count("refused"):
        raise SystemExit(1)


@systems.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@OUTPUT_OPTION
@READ_AS_OPTION
@pass_state
@reports_errors
def systems_export(state: CliState, fmt: str, output: str | None, as_email: str | None) -> None:
    """Every system: CSV (importable again) or JSON (with timelines, their evidence and confirmed items)."""
    user = _reader(state, as_email)
    db = state.kb().db
    if fmt == "csv":
        buffer = io.StringIO()
        count = systems_store.export_csv(db, user, buffer)
        text = buffer.getvalue()
    else:
        records = systems_store.export_records(db, user)
        count, text = len(records), json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    write_output(output, text, private=False)
    if output and output != "-":
        click.echo(f"Exported {count} systems to {output}.", err=True)


@systems.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line.")
@click.option("--country", help="Only this country (\"NL\" or \"country/nl\").")
@click.option("--sector", help="Only this sector (\"welfare\").")
@click.option("--status", type=click.Choice(systems_store.STATUSES), help="Only systems in this status now.")
@click.option("--query", "-q", help="Words of a name or alias.")
@READ_AS_OPTION
@pass_state
@reports_errors
def systems_list(state: CliState, as_json: bool, country: str | None, sector: str | None, status: str | None,
                 query: str | None, as_email: str | None) -> None:
    """The systems of the register, by name, with their country and current status."""
    user = _reader(state, as_email)
    found = systems_store.list_systems(state.kb().db, user, country=country, sector=sector, status=status,
                                       q=query)
    if as_json:
        wanted = {s.id for s in found}
        for record in systems_store.export_records(state.kb().db, user):
            if record["id"] in wanted:
                click.echo(json.dumps(record, ensure_ascii=False))
        return
    for system in found:
        status_text = f"{system.status} ({system.status_date})" if system.status else "no status yet"
        country_text = system.country.partition("/")[2].upper() or "--"
        click.echo(f"{system.id:>5}  {country_text:<3} {system.name:<45} {status_text}")
    click.echo(f"{len(found)} systems", err=True)


@systems.command("suggest")
@pass_state
@reports_errors
def systems_suggest(state: CliState) -> None:
    """Match every stored item against the register again (after systems were added or renamed) and link
    case files to the systems their free-text fields name. Confirmed and rejected links stay as they are."""
    db = state.kb().db
    written = systems_store.rematch(db)
    cases = systems_store.link_cases_by_name(db)
    click.echo(f"{written} suggested links; {cases} case files newly linked to a system.")


@systems.command("candidates")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_state
@reports_errors
def systems_candidates(state: CliState, limit: int) -> None:
    """Items tagged with a kind of system and a country that name no registered system: maybe a new one."""
    found = systems_store.possible_new_systems(state.kb().db, limit)
    for candidate in found:
        tags = " ".join((*candidate.countries, *candidate.kinds))
        click.echo(f"item {candidate.item_id:>6}  {candidate.title[:70]:<70}  {tags}")
    click.echo(f"{len(found)} items may be about a system not in the register", err=True)

"""`kb taxonomy`: the lab's taxonomy as a file (export, import) and one term added or removed, each with a
preview of what it would tag and untag on the stored items (`--dry-run`). A change is stored and audited
as in the web UI, then the stored items are re-tagged here and now (never over a person's decision)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from cli.state import CliState, open_output, pass_state, reports_errors
from kb.learning import taxonomies
from kb.learning.retag import RetagReport
from kb.learning.taxonomies import TermChange


@click.group()
def taxonomy() -> None:
    """The topics, their terms per language, and the relevance terms."""


def _counts(report: RetagReport, topic: str | None = None) -> str:
    tagged = report.tagged.get(topic, 0) if topic else sum(report.tagged.values())
    untagged = report.untagged.get(topic, 0) if topic else sum(report.untagged.values())
    return f"would tag {tagged} stored items and untag {untagged} ({report.examined} examined)"


def _retag(state: CliState) -> None:
    kb = state.kb()
    report = taxonomies.retag_now(kb.db)
    if report is not None:
        for line in report.lines():
            click.echo(line)
        kb.sync_index()


@taxonomy.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="File to write (default: standard output).")
@pass_state
@reports_errors
def taxonomy_export(state: CliState, output: str | None) -> None:
    """The current taxonomy as a TOML file (with the header that explains how to edit it)."""
    text = taxonomies.export_text(state.kb().db)
    with open_output(output) as handle:
        handle.write(text)


@taxonomy.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what it would change; write nothing.")
@click.option("--as", "as_email", metavar="EMAIL", help="Record this user in the audit log as who did it.")
@pass_state
@reports_errors
def taxonomy_import(state: CliState, file: Path, dry_run: bool, as_email: str | None) -> None:
    """Make a taxonomy file the lab's taxonomy (a bad file changes nothing and names the entry)."""
    db = state.kb().db
    data = file.read_bytes()
    _, changes, report = taxonomies.preview_import(db, data, file.name)
    click.echo(f"{len(changes.added)} terms added, {len(changes.removed)} removed; {_counts(report)}.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    user_id = state.acting_user(as_email).id if as_email else None
    version = taxonomies.import_taxonomy(db, data, user_id=user_id, source=file.name)
    click.echo(f"Imported as taxonomy version {version}.")
    _retag(state)


def _term_command(remove: bool) -> Callable[..., None]:
    @click.argument("topic")
    @click.argument("language")
    @click.argument("term")
    @click.option("--dry-run", is_flag=True, help="Say what it would tag and untag; write nothing.")
    @click.option("--as", "as_email", metavar="EMAIL",
                  help="Record this user in the audit log as who did it.")
    @pass_state
    @reports_errors
    def command(state: CliState, topic: str, language: str, term: str, dry_run: bool,
                as_email: str | None) -> None:
        db = state.kb().db
        change = TermChange(topic, language, term, remove=remove)
        report = taxonomies.preview_term(db, change)
        click.echo(f"{'Removing' if remove else 'Adding'} {term.strip()!r} ({language}) "
                   f"{'from' if remove else 'to'} {topic} {_counts(report, topic)}.")
        if dry_run:
            click.echo("Dry run: nothing was written.")
            return
        user_id = state.acting_user(as_email).id if as_email else None
        version = taxonomies.apply_term(db, change, user_id=user_id)
        click.echo(f"Saved as taxonomy version {version}.")
        _retag(state)

    return command


taxonomy.command("add-term", help="Add TERM in LANGUAGE (a code such as sw, or all) to TOPIC (such as "
                 "sector/welfare), then re-tag the stored items.")(_term_command(remove=False))
taxonomy.command("remove-term", help="Remove TERM in LANGUAGE from TOPIC, then re-tag the stored "
                 "items.")(_term_command(remove=True))

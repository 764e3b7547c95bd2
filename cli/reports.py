"""Printing what an import did: `kb contacts import` and `kb systems import` report alike."""

from __future__ import annotations

import click

from kb.storage.csvimport import ImportReport


def print_import_report(report: ImportReport) -> None:
    """A line per row on stdout ("line     3: refused   Name - reason"), the summary line on stderr."""
    for row in report.rows:
        detail = f" - {row.reason}" if row.reason else ""
        click.echo(f"line {row.line:>5}: {row.action:<9} {row.name}{detail}")
    click.echo(report.summary(), err=True)

"""`kb sources`: follow feeds and watch pages, with their health; OPML in and out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.state import CliState, pass_state, reports_errors
from ingest.fetch import FetchConfig, Fetcher
from ingest.subscribe import export_opml, import_opml, subscribe
from kb import sources as sources_store


@click.group()
def sources() -> None:
    """Feeds and watched pages."""


@sources.command("add")
@click.argument("url")
@click.option("--kind", type=click.Choice(["feed", "page"]), default="feed", show_default=True)
@click.option("--name", default="", help="Display name (default: the feed's title).")
@click.option("--interval", type=click.IntRange(min=1),
              help="Minutes between fetches (default: KB_SOURCE_INTERVAL).")
@click.option("--full-text/--summary-only", default=False, show_default=True,
              help="Fetch and extract each entry's article page.")
@click.option("--no-check", is_flag=True, help="Add without fetching the address first.")
@pass_state
@reports_errors
def sources_add(state: CliState, url: str, kind: str, name: str, interval: int | None, full_text: bool,
                no_check: bool) -> None:
    """Follow a feed (a web page's feed is found through autodiscovery) or watch a page."""
    kb = state.kb()
    with Fetcher(FetchConfig.from_settings(kb.settings)) as fetcher:
        source = subscribe(kb, None if no_check else fetcher, url, kind=kind, name=name,
                           interval_minutes=interval, full_text=full_text)
    click.echo(f"Added source {source.id}: {source.url} ({source.kind}, "
               f"every {source.interval_minutes} min).")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def sources_list(state: CliState, as_json: bool) -> None:
    """Every source with its health, its warning and what its last fetch did with the entries."""
    found = sources_store.list_sources(state.kb().db)
    if as_json:
        click.echo(json.dumps([s.as_json() for s in found], indent=2))
        return
    for s in found:
        health = "paused" if s.paused else (f"FAILING x{s.failures}: {s.last_error}" if s.failures else "ok")
        click.echo(f"{s.id:>4}  {s.kind:<4}  {s.items:>5} items  {health:<30}  {s.name or s.url}")
        if s.warning:
            click.echo(f"{'':>6}warning: {s.warning}")
        if s.last_success:
            click.echo(f"{'':>6}last fetch: {s.entries_summary() or 'nothing new'}"
                       + (" (the last that worked)" if s.failures else ""))


@sources.command("remove")
@click.argument("source_id", type=int)
@pass_state
@reports_errors
def sources_remove(state: CliState, source_id: int) -> None:
    """Stop following a source (its items stay)."""
    sources_store.delete_source(state.kb().db, source_id)
    click.echo(f"Removed source {source_id}.")


@sources.command("pause")
@click.argument("source_id", type=int)
@pass_state
@reports_errors
def sources_pause(state: CliState, source_id: int) -> None:
    """Stop fetching a source for now."""
    sources_store.set_paused(state.kb().db, source_id, True)
    click.echo(f"Paused source {source_id}.")


@sources.command("resume")
@click.argument("source_id", type=int)
@pass_state
@reports_errors
def sources_resume(state: CliState, source_id: int) -> None:
    """Fetch a paused source again."""
    sources_store.set_paused(state.kb().db, source_id, False)
    click.echo(f"Resumed source {source_id}.")


@sources.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_state
@reports_errors
def sources_import_opml(state: CliState, file: str) -> None:
    """Follow the feeds listed in an OPML file (from any feed reader)."""
    added, skipped = import_opml(state.kb(), Path(file).read_bytes())
    click.echo(f"Added {len(added)} feeds; {len(skipped)} were followed already.")


@sources.command("export-opml")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="File to write (default: standard output).")
@pass_state
@reports_errors
def sources_export_opml(state: CliState, output: str | None) -> None:
    """Write the followed feeds as OPML."""
    data = export_opml(sources_store.list_sources(state.kb().db))
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)

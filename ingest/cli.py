"""`kb sources`, `kb ingest` and `kb worker`."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from ingest.fetch import FetchConfig, Fetcher
from ingest.pipeline import Ingestor, sources_for_pass
from ingest.subscribe import export_opml, import_opml, subscribe
from ingest.worker import run_worker
from kb import sources as sources_store
from kb.cli import CliState, cli, pass_state, reports_errors
from kb.digest.deliveries import due_for_sending, send_digest
from kb.errors import KbError
from kb.knowledge import KnowledgeBase

LOGGER = logging.getLogger(__name__)


@cli.group()
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
    """Every source with its health."""
    found = sources_store.list_sources(state.kb().db)
    if as_json:
        click.echo(json.dumps([s.as_json() for s in found], indent=2))
        return
    for s in found:
        health = "paused" if s.paused else (f"FAILING x{s.failures}: {s.last_error}" if s.failures else "ok")
        click.echo(f"{s.id:>4}  {s.kind:<4}  {s.items:>5} items  {health:<30}  {s.name or s.url}")


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


@cli.command()
@click.option("--all", "every", is_flag=True, help="Fetch every source, due or not.")
@click.option("--source", "source_id", type=int, help="Fetch this source only.")
@pass_state
@reports_errors
def ingest(state: CliState, every: bool, source_id: int | None) -> None:
    """One pass over the sources that are due."""
    kb = state.kb()
    todo = sources_for_pass(kb, every=every, source_id=source_id)
    with Ingestor(kb) as ingestor, click.progressbar(length=len(todo), label="Fetching",
                                                     file=sys.stderr) as bar:
        summary = ingestor.run(todo, progress=lambda _source: bar.update(1))
    click.echo(summary.line())
    for source_id_failed, error in summary.errors:
        click.echo(f"  source {source_id_failed}: {error}", err=True)


@cli.command()
@pass_state
@reports_errors
def worker(state: CliState) -> None:
    """Fetch each source when it is due, until SIGINT or SIGTERM (in-flight work is finished first)."""
    kb = state.kb()
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        click.echo(f"Received {signal.Signals(signum).name}; finishing what is in flight.", err=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    click.echo(f"Worker started on {kb.settings.data_dir}.", err=True)
    stop_merging = kb.start_index_merging()  # each pass writes new segments; merge them off its path
    try:
        with Ingestor(kb) as ingestor:
            run_worker(ingestor, stop, on_pass=lambda summary: click.echo(summary.line(), err=True),
                       tick=lambda: _send_scheduled_digest(kb))
    finally:
        stop_merging.set()
    click.echo("Worker stopped.", err=True)


def _send_scheduled_digest(kb: KnowledgeBase) -> None:
    """Send the weekly digest when KB_DIGEST_WEEKDAY and KB_DIGEST_HOUR say it is time."""
    week = due_for_sending(kb.settings, datetime.now(UTC), kb.db)
    if week is None:
        return
    try:
        report = send_digest(kb.db, kb.settings, week)
    except KbError as exc:  # the worker keeps fetching; the coordinator sees the failure in the archive
        LOGGER.error("digest %s not sent: %s", week, exc)
        click.echo(f"Digest {week} not sent: {exc}", err=True)
        return
    click.echo(f"Digest {week}: {report.line()}", err=True)

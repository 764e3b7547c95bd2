"""`kb ingest` (one pass in this process, for scripts and cron) and `kb worker` (consume the task queue)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable

import click

from cli.state import CliState, pass_state, reports_errors
from ingest.queue import QUEUE_FILE, TaskQueue, run_once
from kb import sources as sources_store
from kb.settings import redacted_url


@click.command()
@click.option("--all", "every", is_flag=True, help="Fetch every source, due or not.")
@click.option("--source", "source_id", type=int, help="Fetch this source only.")
@pass_state
@reports_errors
def ingest(state: CliState, every: bool, source_id: int | None) -> None:
    """One pass over the sources that are due, run here (the index is left synced and merged)."""
    kb = state.kb()
    if source_id is not None:
        todo = [sources_store.get_source(kb.db, source_id)]
    elif every:
        todo = [s for s in sources_store.list_sources(kb.db) if not s.paused]
    else:
        todo = sources_store.due_sources(kb.db)
    with click.progressbar(length=len(todo), label="Fetching", file=sys.stderr) as bar:
        summary = run_once(kb, [s.id for s in todo], progress=lambda _source_id: bar.update(1))
    click.echo(summary.line())
    for failed_id, error in summary.errors:
        click.echo(f"  source {failed_id}: {error}", err=True)


def wait_for_signal(running: Callable[[], bool] = lambda: True) -> None:
    """Block until SIGINT or SIGTERM, or until `running()` (asked every second) turns false; the caller
    then finishes what is in flight."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        click.echo(f"Received {signal.Signals(signum).name}; finishing what is in flight.", err=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stop.wait(1.0) and running():
        pass


@click.command()
@click.option("--threads", type=click.IntRange(min=1),
              help="Fetching threads (default: KB_FETCH_CONCURRENCY).")
@click.option("--store", is_flag=True,
              help="Also be the writer: store what workers fetch and schedule the due sources. Only on the "
                   "machine that holds the data folder, when no `kb serve` runs there.")
@pass_state
@reports_errors
def worker(state: CliState, threads: int | None, store: bool) -> None:
    """Fetch for the monitor until SIGINT or SIGTERM: consume the task queue (KB_QUEUE_URL shares it
    between machines). In-flight work is finished first."""
    settings = state.settings
    queue = TaskQueue(settings)
    stop_sync = stop_merging = None
    if store:
        kb = state.kb()
        queue.start_storing(kb)
        stop_sync, stop_merging = kb.start_index_sync(), kb.start_index_merging()
    queue.start_fetching(threads)
    where = redacted_url(settings.queue_url) if settings.queue_url else str(settings.data_dir / QUEUE_FILE)
    click.echo(f"Worker started on {where}{' (and writing)' if store else ''}.", err=True)
    try:
        wait_for_signal()
    finally:
        queue.stop()
        for stop in (stop_sync, stop_merging):
            if stop is not None:
                stop.set()
    click.echo("Worker stopped.", err=True)

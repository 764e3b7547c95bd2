"""`kb ingest` (one pass, for scripts and cron) and `kb worker` (fetch each source when it is due)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime

import click

from cli.state import CliState, pass_state, reports_errors
from ingest.pipeline import Ingestor, sources_for_pass
from ingest.worker import run_worker
from kb.digest.deliveries import due_for_sending, send_digest
from kb.errors import KbError
from kb.knowledge import KnowledgeBase

LOGGER = logging.getLogger(__name__)


@click.command()
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


@click.command()
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

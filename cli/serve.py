"""`kb serve` (the web UI on waitress) and `kb demo` (build the demo data folder, then serve it)."""

from __future__ import annotations

import dataclasses
import ipaddress

import click

from cli.demo import DEMO_PASSWORD, DEMO_USERS, build_demo, serve_sample
from cli.monitor import wait_for_signal
from cli.state import CliState, pass_state, reports_errors
from cli.web import web_app
from ingest.queue import TaskQueue
from webui.server import start_in_background


def _serve(state: CliState, host: str, port: int, threads: int | None, *, fetch: bool) -> None:
    """The web server, the monitor's writer and scheduler, and (with `fetch`) a fetching consumer, in this
    process until SIGINT or SIGTERM; then each finishes what it has in hand."""
    kb = state.kb()
    queue = TaskQueue(kb.settings)
    queue.start_storing(kb)
    if fetch:
        queue.start_fetching()
    stop_sync, stop_merging = kb.start_index_sync(), kb.start_index_merging()
    server = start_in_background(web_app(kb, queue), host=host, port=port,
                                 threads=threads or kb.settings.web_threads)
    click.echo(f"Serving {kb.settings.data_dir} on {server.url}"
               + ("" if fetch else " (fetching left to `kb worker`)"))
    try:
        wait_for_signal()
    finally:
        server.stop()
        queue.stop()
        stop_sync.set()
        stop_merging.set()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(min=1), help="Server threads (default: KB_WEB_THREADS).")
@click.option("--worker/--no-worker", "fetch", default=True, show_default=True,
              help="Also fetch in this process (--no-worker: leave fetching to `kb worker` processes).")
@pass_state
@reports_errors
def serve_command(state: CliState, host: str, port: int, threads: int | None, fetch: bool) -> None:
    """Run the web UI (waitress) with the monitor: the writer, the scheduler and a fetching worker."""
    _serve(state, host, port, threads, fetch=fetch)


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--build-only", is_flag=True, help="Build the demo data folder and exit.")
@pass_state
@reports_errors
def demo_command(state: CliState, port: int, build_only: bool) -> None:
    """Build a demo knowledge base from the bundled sample corpus and serve it."""
    # The sample corpus is served on loopback, which the fetcher refuses unless allowed.
    loopback = ipaddress.ip_network("127.0.0.0/8")
    state._settings = dataclasses.replace(
        state.settings, fetch_allow_private=(*state.settings.fetch_allow_private, loopback),
        fetch_host_delay=0.0
    )
    click.echo(f"Building the demo in {state.settings.data_dir} from the bundled sample corpus...")
    # The sample sites keep answering for as long as the demo runs, so its monitor goes on fetching them.
    with serve_sample() as base_url:
        report = build_demo(state.settings, base_url)
        click.echo(report.summary.line())
        click.echo(f"Loaded {report.contacts} contacts and {report.cases} case files.")
        click.echo(f"Loaded {report.systems} systems into the register ({report.case_system_links} "
                   "case files linked to their system); see `kb systems list`.")
        if build_only:
            return
        click.echo(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD}):")
        for email, role in DEMO_USERS:
            click.echo(f"  {email:<28} {role}")
        _serve(state, "127.0.0.1", port, None, fetch=True)


"""`kb serve` (the web UI on waitress) and `kb demo` (build the demo data folder, then serve it)."""

from __future__ import annotations

import dataclasses
import ipaddress

import click

from cli.demo import DEMO_PASSWORD, DEMO_USERS, build_demo
from cli.state import CliState, pass_state, reports_errors
from cli.web import web_app
from webui.server import serve


def _serve(state: CliState, host: str, port: int, threads: int | None) -> None:
    kb = state.kb()
    app = web_app(kb)
    stop_sync = kb.start_index_sync()
    stop_merging = kb.start_index_merging()
    try:
        serve(app, host=host, port=port, threads=threads or kb.settings.web_threads)
    finally:
        stop_sync.set()
        stop_merging.set()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(min=1), help="Server threads (default: KB_WEB_THREADS).")
@pass_state
@reports_errors
def serve_command(state: CliState, host: str, port: int, threads: int | None) -> None:
    """Run the web UI with a production WSGI server (waitress)."""
    click.echo(f"Serving {state.settings.data_dir} on http://{host}:{port}/")
    _serve(state, host, port, threads)


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
    report = build_demo(state.settings)
    click.echo(report.summary.line())
    click.echo(f"Loaded {report.contacts} contacts and {report.cases} case files.")
    if build_only:
        return
    click.echo(f"\nWeb UI: http://127.0.0.1:{port}/")
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for email, role in DEMO_USERS:
        click.echo(f"  {email:<28} {role}")
    _serve(state, "127.0.0.1", port, None)


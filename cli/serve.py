"""`kb serve` (the web UI with the monitor) and `kb demo` (build the demo data folder, then serve it).

`kb serve` is two kinds of process behind one command:
- this process is the monitor's writer, exactly one per data folder: it migrates and opens the knowledge
  base, stores what the queue's workers fetch, schedules the due sources, and keeps the index synced and
  merged (and, unless --no-worker, fetches too);
- the web UI runs in gunicorn's worker processes (`--workers`, default one per core), forked from a
  gunicorn master that this process spawns fresh (so it forks no thread of the writer), each worker with
  its own database connections and searchers. Sessions, CSRF tokens, sign-out and sign-in throttling live
  in the database and its session key, so any worker serves any request.
Where there is no fork (Windows), the web UI runs on waitress in this process instead.
"""

from __future__ import annotations

import dataclasses
import errno
import importlib.util
import ipaddress
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import click
from flask import Flask

from cli.demo import DEMO_PASSWORD, DEMO_USERS, build_demo, serve_sample
from cli.monitor import wait_for_signal
from cli.state import CliState, pass_state, reports_errors
from cli.web import web_app
from ingest.queue import TaskQueue
from kb.knowledge import KnowledgeBase
from kb.settings import Settings
from webui.server import GRACEFUL_SECONDS, serve_workers, start_in_background

# How long the web server's master may take to bind its port (gunicorn retries a busy port for 5 s).
START_SECONDS = 60.0


def default_workers() -> int:
    """One web process per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _check_port(host: str, port: int) -> None:
    """Say at once, before the monitor starts, when the address cannot be served (gunicorn would retry a
    busy port for 5 s first)."""
    try:
        family, kind, _proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as exc:
        raise click.ClickException(f"cannot serve on {host!r}: no such host or address ({exc})") from exc
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "another program is using it" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise click.ClickException(f"cannot serve on {host} port {port}: {reason}") from exc


def _worker_app(settings: Settings) -> Flask:
    """The app of one web worker process. The knowledge base is attached, not opened: the writer process
    has migrated it and keeps its index in line; a worker only reads the index and writes records (whose
    changes reach the index through the outbox, drained by the writer)."""
    return web_app(KnowledgeBase(settings), TaskQueue(settings))


def _exit_with_parent() -> None:
    """In the web master: stop gracefully (SIGTERM to itself) once `kb serve` is gone, even if it was
    killed, so no web process outlives the writer or keeps the port."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _run_web_master(settings: Settings, host: str, port: int, workers: int, threads: int,
                    ready: Connection) -> None:
    """The spawned web master process: gunicorn's arbiter, which forks the workers and replaces any that
    dies; tells `ready` the address it bound."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Out of the terminal's process group: Ctrl-C reaches `kb serve` alone, which stops the web processes
    # gracefully (gunicorn takes SIGINT as "quit now", dropping the requests in hand).
    os.setpgrp()
    _exit_with_parent()

    def bound(bound_host: str, bound_port: int) -> None:
        ready.send((bound_host, bound_port))
        ready.close()

    serve_workers(partial(_worker_app, settings), host=host, port=port, workers=workers, threads=threads,
                  ready=bound)


@dataclass
class _WebProcesses:
    """The web master process and the URL it serves; `stop()` stops it and its workers gracefully."""

    process: Any
    url: str

    @classmethod
    def start(cls, settings: Settings, host: str, port: int, workers: int, threads: int) -> _WebProcesses:
        context = multiprocessing.get_context("spawn")
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_run_web_master, name="kb-web",
                                  args=(settings, host, port, workers, threads, writer))
        process.start()
        writer.close()
        web = cls(process, _url(host, port))
        deadline = time.monotonic() + START_SECONDS
        try:
            while not reader.poll(0.2):
                if not process.is_alive() or time.monotonic() > deadline:
                    raise EOFError
            bound_host, bound_port = reader.recv()
        except EOFError:
            web.stop()
            raise click.ClickException(
                f"the web server could not start on {host} port {port} (see the messages above; "
                "is another server using that port?)") from None
        finally:
            reader.close()
        web.url = _url(bound_host, bound_port)
        return web

    def running(self) -> bool:
        return bool(self.process.is_alive())

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()  # SIGTERM: gunicorn lets the workers finish the requests in hand
            self.process.join(GRACEFUL_SECONDS + 10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _serve(state: CliState, host: str, port: int, threads: int | None, workers: int | None, *,
           fetch: bool) -> None:
    """The monitor's writer and scheduler and (with `fetch`) a fetching consumer in this process, the web
    UI in worker processes, until SIGINT or SIGTERM; then each finishes what it has in hand."""
    _check_port(host, port)
    if hasattr(os, "fork") and importlib.util.find_spec("gunicorn") is None:
        raise click.ClickException("gunicorn is not installed; install the project again "
                                   "(pip install -e .) or pip install 'gunicorn>=22'")
    kb = state.kb()
    settings = kb.settings
    threads = threads or settings.web_threads
    queue = TaskQueue(settings)
    queue.start_storing(kb)
    if fetch:
        queue.start_fetching()
    stop_sync, stop_merging = kb.start_index_sync(), kb.start_index_merging()
    web: Any = None
    try:
        if hasattr(os, "fork"):
            workers = workers or default_workers()
            web = _WebProcesses.start(settings, host, port, workers, threads)
            running = web.running
            how = f"{workers} web process{'es' if workers > 1 else ''} of {threads} threads"
        else:  # no pre-fork server here: waitress's threads in this process
            web = start_in_background(web_app(kb, queue), host=host, port=port, threads=threads)
            running, how = web.thread.is_alive, f"one web process of {threads} threads"
        click.echo(f"Serving {settings.data_dir} on {web.url} ({how})"
                   + ("" if fetch else "; fetching left to `kb worker`"))
        wait_for_signal(running)
        if not running():
            raise click.ClickException("the web server stopped unexpectedly (see the messages above)")
    finally:
        if web is not None:
            web.stop()
        queue.stop()
        stop_sync.set()
        stop_merging.set()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", type=click.IntRange(min=1),
              help="Web server processes (default: one per core).")
@click.option("--threads", type=click.IntRange(min=1),
              help="Threads of each web server process (default: KB_WEB_THREADS).")
@click.option("--worker/--no-worker", "fetch", default=True, show_default=True,
              help="Also fetch in this process (--no-worker: leave fetching to `kb worker` processes).")
@pass_state
@reports_errors
def serve_command(state: CliState, host: str, port: int, workers: int | None, threads: int | None,
                  fetch: bool) -> None:
    """Run the web UI (gunicorn's worker processes) with the monitor: the writer, the scheduler and a
    fetching worker."""
    _serve(state, host, port, threads, workers, fetch=fetch)


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
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
        _serve(state, "127.0.0.1", port, None, None, fetch=True)


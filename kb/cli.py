"""The `kb` command line, core commands. Thin: parse, call kb, print.

ingest/cli.py and webui/cli.py add their commands to the same group; webui.cli:main is the entry point.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from kb import items as items_store
from kb import users as users_store
from kb.errors import KbError
from kb.knowledge import KnowledgeBase, open_kb
from kb.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])
EXPORT_FIELDS = ("id", "url", "canonical_url", "title", "text", "summary", "author", "language", "topics",
                 "sectors", "countries", "relevant", "status", "in_digest", "published", "created_at",
                 "sources", "cases")


@dataclass
class CliState:
    data_dir: str | None
    _settings: Settings | None = None
    _kb: KnowledgeBase | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.data_dir)
        return self._settings

    def kb(self) -> KnowledgeBase:
        """The opened knowledge base (created on first use)."""
        if self._kb is None:
            self._kb = open_kb(self.settings)
        return self._kb

    def close(self) -> None:
        if self._kb is not None:
            self._kb.close()
            self._kb = None


def reports_errors(func: F) -> F:
    """Turn the product's expected errors into a clean message and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KbError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("--data-dir", envvar="KB_DATA_DIR", default="kb-data", show_default=True,
              type=click.Path(file_okay=False), help="Folder holding the database, the index and kb.toml.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str) -> None:
    """Research knowledge base and media monitoring."""
    state = CliState(data_dir)
    ctx.obj = state
    ctx.call_on_close(state.close)


pass_state = click.make_pass_decorator(CliState)


@cli.command()
@pass_state
@reports_errors
def init(state: CliState) -> None:
    """Create the database and the search index (safe to run again: nothing is lost)."""
    kb = state.kb()
    click.echo(f"Knowledge base ready in {state.settings.data_dir} (schema {kb.status().schema_version}).")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_state
@reports_errors
def status(state: CliState, as_json: bool) -> None:
    """Counts, index health and the last ingest."""
    current = state.kb().status()
    if as_json:
        click.echo(json.dumps(current.as_json(), indent=2))
        return
    click.echo(f"Data folder:     {current.data_dir}")
    click.echo(f"Items:           {current.items}")
    click.echo(f"Sources:         {current.sources}")
    click.echo(f"Contacts:        {current.contacts}")
    click.echo(f"Case files:      {current.cases}")
    click.echo(f"Users:           {current.users}")
    agreement = "in sync with the database" if current.index_in_sync else "OUT OF SYNC (run `kb reindex`)"
    click.echo(f"Index:           {current.index_documents} documents, {agreement}")
    click.echo(f"Last ingest:     {current.last_ingest or 'never'}")


@cli.command()
@pass_state
@reports_errors
def reindex(state: CliState) -> None:
    """Rebuild the search index from the database aside, then swap it in (search stays online)."""
    kb = state.kb()
    total = items_store.count_items(kb.db)
    with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
        count = kb.index.rebuild(kb.db, progress=bar.update)
    click.echo(f"Indexed {count} items.")


@cli.group()
def items() -> None:
    """Items in the knowledge base."""


@contextmanager
def _output(path: str | None, newline: str | None = None) -> Iterator[Any]:
    if path is None or path == "-":
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8", newline=newline) as handle:
            yield handle


@items.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="File to write (default: standard output).")
@pass_state
@reports_errors
def items_export(state: CliState, fmt: str, output: str | None) -> None:
    """Every item, for taking the lab's sources elsewhere."""
    kb = state.kb()
    records = (items_store.export_record(item) for item in items_store.iter_items(kb.db))
    count = 0
    with _output(output, newline="" if fmt == "csv" else None) as handle:
        if fmt == "jsonl":
            for record in records:
                handle.write(items_store.dumps(record) + "\n")
                count += 1
        else:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            for record in records:
                writer.writerow({k: "|".join(map(str, v)) if isinstance(v, list) else v
                                 for k, v in record.items()})
                count += 1
    if output and output != "-":
        click.echo(f"Exported {count} items to {output}.", err=True)


@cli.group()
def users() -> None:
    """People who may sign in."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(users_store.ROLES), required=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@pass_state
@reports_errors
def users_add(state: CliState, email: str, role: str, name: str, password_stdin: bool) -> None:
    """Add a user (the first admin is made this way)."""
    user = users_store.add_user(state.kb().db, email, _read_password(password_stdin), role, name=name)
    click.echo(f"Added {user.email} as {user.role}.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def users_list(state: CliState, as_json: bool) -> None:
    """List users and their roles."""
    people = users_store.list_users(state.kb().db)
    if as_json:
        click.echo(json.dumps([{"id": u.id, "email": u.email, "role": u.role, "active": u.active}
                               for u in people]))
        return
    for user in people:
        click.echo(f"{user.id:>4}  {user.email:<40} {user.role:<12} "
                   f"{'active' if user.active else 'disabled'}")


@users.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@pass_state
@reports_errors
def users_token(state: CliState, email: str, name: str) -> None:
    """Create a personal API token (printed once; only its hash is kept)."""
    kb = state.kb()
    user = users_store.find_user_by_email(kb.db, email)
    if user is None:
        raise click.ClickException(f"no user with e-mail {email}")
    click.echo(users_store.create_token(kb.db, user.id, name))


@cli.command()
@click.argument("target", type=click.Path(dir_okay=False))
@pass_state
@reports_errors
def backup(state: CliState, target: str) -> None:
    """Write a consistent copy of the database to TARGET (readable by you only; it holds contacts)."""
    try:
        state.kb().backup(Path(target))
    except (FileExistsError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up to {target}. Restore: stop kb, copy it to {state.settings.db_path}, "
               "run `kb reindex`.")

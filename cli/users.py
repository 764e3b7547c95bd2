"""`kb users`: who may sign in, their roles and personal API tokens."""

from __future__ import annotations

import json
import sys

import click

from cli.state import CliState, pass_state, reports_errors
from kb import users as users_store


@click.group()
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

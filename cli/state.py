"""What every command shares: the data folder's settings and knowledge base, opened once, and the
decorators that hand them in and turn the product's expected errors into clean messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from kb import users as users_store
from kb.errors import KbError
from kb.knowledge import KnowledgeBase, open_kb
from kb.settings import Settings, load_settings
from kb.users import User

F = TypeVar("F", bound=Callable[..., Any])


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

    def acting_user(self, email: str) -> User:
        """The active user with this e-mail, whose access rules the command follows."""
        user = users_store.find_user_by_email(self.kb().db, email)
        if user is None or not user.active:
            raise click.ClickException(f"no active user with e-mail {email}; see `kb users list`")
        return user

    def close(self) -> None:
        if self._kb is not None:
            self._kb.close()
            self._kb = None


pass_state = click.make_pass_decorator(CliState)
AS_OPTION = click.option("--as", "as_email", required=True, metavar="EMAIL",
                         help="Act as this user: their access rules apply.")
OUTPUT_OPTION = click.option("--output", "-o", type=click.Path(dir_okay=False),
                             help="File to write (default: standard output).")


def reports_errors(func: F) -> F:
    """Turn the product's expected errors into a clean message and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KbError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def open_output(path: str | None, newline: str | None = None) -> Iterator[Any]:
    """Standard output for no path or "-", else the file at `path` (written as UTF-8)."""
    if path is None or path == "-":
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8", newline=newline) as handle:
            yield handle


def write_output(output: str | None, text: str, *, private: bool) -> None:
    """Write to standard output, or to a new file (readable by the owner only when `private`)."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    if private:
        # Created 0600 before any byte is written: the file holds personal data.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")

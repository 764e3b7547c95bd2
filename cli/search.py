"""`kb search` and `kb saved` (a user's saved searches). Thin: parse, call kb, print."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from typing import Any

import click

from cli.state import CliState, pass_state, reports_errors
from kb.knowledge import KnowledgeBase
from kb.search import saved as saved_store
from kb.search.service import SORTS, SearchFilters, SearchResults, search
from kb.users import User

_MARK = re.compile(r"<mark>(.*?)</mark>")
_DATE = click.DateTime(formats=["%Y-%m-%d"])


def filter_options(func: Any) -> Any:
    """The filter options shared by `kb search` and `kb saved add`."""
    options = [
        click.option("--lang", "language", multiple=True, help="Language code (repeatable), e.g. fr."),
        click.option("--topic", multiple=True, help="Topic id (repeatable), e.g. right/privacy."),
        click.option("--sector", multiple=True, help="Sector, e.g. health or sector/health (repeatable)."),
        click.option("--country", multiple=True, help="Country code, e.g. nl (repeatable)."),
        click.option("--source", multiple=True, help="Source id, name or feed URL (repeatable)."),
        click.option("--status", multiple=True, type=click.Choice(["new", "accepted", "rejected"])),
        click.option("--case", multiple=True, help="Case file id (repeatable)."),
        click.option("--from", "date_from", type=_DATE, help="Published on or after this day (YYYY-MM-DD)."),
        click.option("--to", "date_to", type=_DATE, help="Published on or before this day (YYYY-MM-DD)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filters(options: dict[str, Any]) -> SearchFilters:
    def day(value: datetime | None) -> Any:
        return value.date() if value else None

    return SearchFilters(
        language=tuple(options["language"]), topic=tuple(options["topic"]), sector=tuple(options["sector"]),
        country=tuple(options["country"]), source=tuple(options["source"]), status=tuple(options["status"]),
        case=tuple(options["case"]), date_from=day(options["date_from"]), date_to=day(options["date_to"]),
    )


def _user(state: CliState, email: str | None) -> User | None:
    """The active user with this e-mail, or None without one."""
    return state.acting_user(email) if email else None


def _owner(state: CliState, email: str | None) -> User:
    """The user whose saved searches a `kb saved` command handles."""
    if not email:
        raise click.UsageError("say whose saved searches these are with --user EMAIL (or KB_USER)")
    return state.acting_user(email)


def _terminal(snippet: str) -> str:
    """A snippet's safe HTML as terminal text, the highlighted words in bold."""
    return html.unescape(_MARK.sub(lambda m: click.style(m.group(1), bold=True), snippet))


def _print(results: SearchResults, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(results.as_json(), ensure_ascii=False, indent=2))
        return
    for note in results.notes:
        click.echo(f"Note: {note}", err=True)
    if results.suggestion:
        click.echo(f"Did you mean: {results.suggestion}")
    click.echo(f"{results.total} result{'s' if results.total != 1 else ''}"
               f" (page {results.page} of {results.pages})")
    for hit in results.hits:
        when = (hit.published or "")[:10]
        label = "" if hit.kind == "item" else f"[{hit.kind}] "
        click.echo("")
        heading = click.style(f"{label}{hit.id}  {hit.title}", bold=True)
        click.echo(f"{heading}  ({hit.language or '-'} {when})")
        if hit.url:
            click.echo(f"    {hit.url}")
        click.echo(f"    {_terminal(hit.snippet)}")
    if results.total:
        click.echo("")
        for name in ("language", "sector", "country", "month"):
            top = list(results.facets.get(name, {}).items())[:6]
            if top:
                click.echo(f"{name}: " + ", ".join(f"{value} ({count})" for value, count in top))


_words_only_option = click.option(
    "--words-only", is_flag=True,
    help="Match the words only: a word naming a topic, sector, kind of system or country does not also find "
         "the items tagged with it (the same as starting the query with =).")


@click.command("search")
@click.argument("query", default="")
@filter_options
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@_words_only_option
@click.option("--user", "email", envvar="KB_USER",
              help="Search with this user's access (contacts, case files).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_state
@reports_errors
def search_command(state: CliState, query: str, sort: str, page: int, words_only: bool, email: str | None,
                   as_json: bool, **options: Any) -> None:
    """Search the knowledge base: words (all must match), "phrases", OR, NOT or -word, (groups),
    field:value (title, text, source, language, topic, country) and prefix*. Words naming a concept of the
    taxonomy in any of its languages ("welfare", "aide sociale", "France") also find the items tagged with
    it, ranked after those holding the words; --words-only turns that off."""
    kb = state.kb()
    results = search(kb, query, _filters(options), user=_user(state, email), sort=sort, page=page,
                     expand=not words_only)
    _print(results, as_json)


@click.group("saved")
def saved() -> None:
    """Saved searches of a user (--user EMAIL or KB_USER)."""


_user_option = click.option("--user", "email", envvar="KB_USER", help="Whose saved searches (e-mail).")


@saved.command("list")
@_user_option
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def saved_list(state: CliState, email: str | None, as_json: bool) -> None:
    """List the user's saved searches."""
    kb = state.kb()
    user = _owner(state, email)
    found = saved_store.list_saved_searches(kb.db, user.id)
    if as_json:
        click.echo(json.dumps([s.as_json() for s in found], ensure_ascii=False, indent=2))
        return
    for entry in found:
        filters = entry.filters.as_json()
        shown = json.dumps(filters, ensure_ascii=False) if filters else ""
        click.echo(f"{entry.id:>4}  {entry.name:<30} {entry.query}  {shown}".rstrip())


@saved.command("add")
@click.argument("name")
@click.argument("query", default="")
@filter_options
@_words_only_option
@_user_option
@pass_state
@reports_errors
def saved_add(state: CliState, name: str, query: str, email: str | None, words_only: bool,
              **options: Any) -> None:
    """Save QUERY with its filters under NAME, or replace the query and filters of an existing NAME."""
    kb = state.kb()
    user = _owner(state, email)
    existing = saved_store.find_saved_search_by_name(kb.db, user.id, name)
    if existing:
        saved_store.update_saved_search(kb.db, user.id, existing.id, query=query, filters=_filters(options),
                                        words_only=words_only)
        click.echo(f"Updated saved search {existing.name!r}.")
    else:
        entry = saved_store.create_saved_search(kb.db, user.id, name, query, _filters(options),
                                                words_only=words_only)
        click.echo(f"Saved search {entry.name!r} (id {entry.id}).")


def _saved_by_name_or_id(kb: KnowledgeBase, user: User, name: str) -> saved_store.SavedSearch:
    entry = saved_store.find_saved_search_by_name(kb.db, user.id, name)
    if entry is None and name.isdigit():
        entry = saved_store.find_saved_search(kb.db, user.id, int(name))
    if entry is None:
        raise click.ClickException(f"you have no saved search called {name!r}; see `kb saved list`")
    return entry


@saved.command("run")
@click.argument("name")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@_user_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_state
@reports_errors
def saved_run(state: CliState, name: str, sort: str, page: int, email: str | None, as_json: bool) -> None:
    """Run a saved search (by name or id)."""
    kb = state.kb()
    user = _owner(state, email)
    entry = _saved_by_name_or_id(kb, user, name)
    _print(saved_store.run_saved_search(kb, user, entry.id, sort=sort, page=page), as_json)


@saved.command("delete")
@click.argument("name")
@_user_option
@pass_state
@reports_errors
def saved_delete(state: CliState, name: str, email: str | None) -> None:
    """Delete a saved search (by name or id)."""
    kb = state.kb()
    user = _owner(state, email)
    entry = _saved_by_name_or_id(kb, user, name)
    saved_store.delete_saved_search(kb.db, user.id, entry.id)
    click.echo(f"Deleted saved search {entry.name!r}.")

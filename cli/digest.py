"""`kb digest`: preview, send and archive the weekly digest, and manage who receives it."""

from __future__ import annotations

import json

import click

from cli.state import CliState, F, pass_state, reports_errors
from kb.digest import deliveries as deliveries_store
from kb.digest import draft as digest_store
from kb.digest import recipients as recipients_store

_WEEK_HELP = "ISO week in the lab's time zone, e.g. 2026-W47 (default: the last completed week)."


def _week_option(func: F) -> F:
    return click.option("--week", metavar="YYYY-Www", help=_WEEK_HELP)(func)


@click.group()
def digest() -> None:
    """The weekly digest of the media monitoring."""


@digest.command("preview")
@_week_option
@click.option("--format", "fmt", type=click.Choice(["text", "html"]), default="text", show_default=True)
@pass_state
@reports_errors
def digest_preview(state: CliState, week: str | None, fmt: str) -> None:
    """Show the week's digest as it would be sent (with the coordinator's edits)."""
    kb = state.kb()
    draft = digest_store.build_digest(kb.db, kb.settings, week)
    if draft.total == 0:
        click.echo(f"The digest of {draft.week} ({draft.period}) has no items accepted or marked "
                   "for the digest.", err=True)
        return
    body = digest_store.render_email_html(draft) if fmt == "html" else digest_store.render_text(draft)
    click.echo(body, nl=False)
    if draft.dropped:
        dropped = ", ".join(str(e.item_id) for e in draft.dropped)
        click.echo(f"Dropped by the coordinator: {dropped}", err=True)
    if draft.late_item_ids:
        late = ", ".join(map(str, draft.late_item_ids))
        click.echo(f"Accepted after it was sent, so not in it: {late}", err=True)


@digest.command("send")
@_week_option
@pass_state
@reports_errors
def digest_send(state: CliState, week: str | None) -> None:
    """Send the week's digest to every recipient who has not had it yet (safe to run again)."""
    kb = state.kb()
    report = deliveries_store.send_digest(kb.db, kb.settings, week)
    click.echo(report.line())
    for email, error in report.failed:
        click.echo(f"  failed: {email}: {error}", err=True)
    if report.failed:
        raise click.exceptions.Exit(1)


@digest.command("archive")
@click.option("--week", metavar="YYYY-Www", help="Show one week's items and deliveries.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def digest_archive(state: CliState, week: str | None, as_json: bool) -> None:
    """Past digests: what each held and how delivery went for each recipient."""
    kb = state.kb()
    records = deliveries_store.list_digests(kb.db, kb.settings)
    if week:
        wanted = digest_store.parse_week(week)
        records = [r for r in records if r.week == wanted]
        if not records:
            raise click.ClickException(f"there is no digest for {wanted}")
    if as_json:
        click.echo(json.dumps([{
            "week": r.week, "created_at": r.created_at, "sent_at": r.sent_at, "items": r.items,
            "titles": list(r.titles),
            "deliveries": [{"email": d.email, "kind": d.kind, "status": d.status, "error": d.error,
                            "attempted_at": d.attempted_at} for d in r.deliveries],
        } for r in records], indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo("No digest has been drafted or sent yet.")
    for r in records:
        when = f"sent {r.sent_at}" if r.sent_at else "draft"
        counts = f"{r.count('sent')} sent, {r.count('failed')} failed, {r.count('pending')} pending"
        click.echo(f"{r.week}  {when:<32} {r.items:>3} items  {counts}")
        if week:
            for title in r.titles:
                click.echo(f"    - {title}")
            for d in r.deliveries:
                detail = f"  {d.error}" if d.error else ""
                click.echo(f"    {d.status:<8} {d.email:<40} {d.attempted_at or ''}{detail}")


@digest.group("recipients")
def recipients() -> None:
    """Who receives the digest: outside addresses here, users through `kb digest subscribe`."""


@recipients.command("add")
@click.argument("email")
@click.option("--name", default="", help="Name shown in the To: header.")
@pass_state
@reports_errors
def recipients_add(state: CliState, email: str, name: str) -> None:
    """Send the digest to EMAIL too."""
    recipient = recipients_store.add_recipient(state.kb().db, email, name)
    click.echo(f"{recipient.email} will receive the digest.")


@recipients.command("remove")
@click.argument("email")
@pass_state
@reports_errors
def recipients_remove(state: CliState, email: str) -> None:
    """Stop sending the digest to EMAIL (its past deliveries stay in the archive)."""
    recipients_store.remove_recipient(state.kb().db, email)
    click.echo(f"{email.strip()} will no longer receive the digest.")


@recipients.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include those who unsubscribed or were removed.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
@reports_errors
def recipients_list(state: CliState, show_all: bool, as_json: bool) -> None:
    """Everyone who receives the digest: subscribed users and outside addresses."""
    found = recipients_store.list_recipients(state.kb().db, active_only=not show_all)
    if as_json:
        click.echo(json.dumps([{"email": r.email, "name": r.name, "kind": r.kind, "active": r.active}
                               for r in found], ensure_ascii=False))
        return
    if not found:
        click.echo("Nobody receives the digest yet.")
    for r in found:
        status = "" if r.active else "  (unsubscribed)"
        click.echo(f"{r.email:<40} {r.kind:<8} {r.name}{status}")


@digest.command("subscribe")
@click.argument("email")
@pass_state
@reports_errors
def digest_subscribe(state: CliState, email: str) -> None:
    """Subscribe the user with this EMAIL to the digest."""
    recipient = recipients_store.subscribe_user(state.kb().db, email)
    click.echo(f"{recipient.email} is subscribed to the digest.")


@digest.command("unsubscribe")
@click.argument("email")
@pass_state
@reports_errors
def digest_unsubscribe(state: CliState, email: str) -> None:
    """Unsubscribe the user with this EMAIL from the digest."""
    recipients_store.unsubscribe_user(state.kb().db, email)
    click.echo(f"{email.strip()} is unsubscribed from the digest.")

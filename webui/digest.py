"""The weekly digest on the web: the coordinator's draft (edits, preview, sending), the archive, the outside
recipients, each user's own subscription, and the public page behind every digest's unsubscribe link.

The work is done in `kb.digest`, `kb.deliveries` and `kb.recipients`; this module turns forms into their
calls. A refused edit or a failed send (EmptyDigest, MailError, SettingsError, Conflict, ...) comes back as
a message on the page the form was on, never as a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup

from kb import systems as systems_store
from kb.digest import recipients as recipients_store
from kb.digest.deliveries import deliveries, list_digests, send_digest, send_test
from kb.digest.draft import (
    Digest,
    build_digest,
    current_week,
    drop_item,
    is_sending,
    only_system,
    parse_week,
    render_html_body,
    restore_item,
    send_state,
    set_grouping,
    set_intro,
    set_order,
    set_summary,
    web_stylesheet,
    week_dates,
    week_of,
)
from kb.digest.recipients import Recipient
from kb.errors import InvalidInput, KbError, NotFound
from kb.users import User
from webui.access import current_kb, login_required, role_required, safe_next, signed_in_user
from webui.app import csrf
from webui.i18n import N_

bp = Blueprint("digest", __name__)
NAV = ((N_("Digest"), "digest.draft", "coordinator"),)

MOVES = ("up", "down")
# Pages reached through an unsubscribe link carry its token in the address: keep them out of caches.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


# --- helpers -------------------------------------------------------------------------------------------


def _sentence(error: KbError) -> str:
    """An error of the core as a sentence for a flash message."""
    text = str(error).strip() or gettext("That did not work")
    if not any(mark in text.split(" ", 1)[0] for mark in "@/:"):  # an address stays as it is
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _attempt(action: Callable[[], object], done: str | None = None) -> bool:
    """Run a change; the core's refusal becomes a message on the next page instead of an error page."""
    try:
        action()
    except KbError as exc:
        flash(_sentence(exc), "error")
        return False
    if done:
        flash(done, "info")
    return True


def _shift(week: str, weeks: int) -> str:
    monday, _ = week_dates(week)
    year, number, _ = (monday + timedelta(weeks=weeks)).isocalendar()
    return f"{year:04d}-W{number:02d}"


def _form_week() -> str:
    return parse_week(request.form.get("week", ""))


def _form_item() -> int:
    try:
        return int(request.form.get("item_id", ""))
    except ValueError as exc:
        raise InvalidInput("choose an item of the digest") from exc


def _back(week: str, item_id: int | None = None) -> ResponseReturnValue:
    anchor = f"#item-{item_id}" if item_id is not None else ""
    return redirect(url_for("digest.draft", week=week) + anchor)


def _preview(digest: Digest) -> Markup:
    # render_html_body renders kb's own templates (kb/templates/digest) with autoescaping on, so every
    # item text, summary and the intro are escaped there, and only http(s) links are written. The result
    # is markup already: marking it safe here avoids escaping it twice; no user text is marked safe.
    return Markup(render_html_body(digest))  # noqa: S704


def _own_recipient(user: User) -> Recipient | None:
    return recipients_store.find_recipient(current_kb().db, user.email)


def _private(response: ResponseReturnValue, status: int = 200) -> Response:
    reply = Response(response, status=status) if isinstance(response, str) else response
    assert isinstance(reply, Response)
    reply.headers.update(PRIVATE_HEADERS)
    return reply


def _masked(email: str) -> str:
    """An address shown on a public page: enough for its owner to recognise it, not all of it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * min(max(len(local) - 1, 1), 6)}@{domain}"


# --- the draft -----------------------------------------------------------------------------------------


@bp.route("/digest")
@role_required("coordinator")
def draft() -> ResponseReturnValue:
    """A week's draft (default: the week under way, where today's acceptances go) with its edits, preview,
    send buttons and a test copy to oneself."""
    kb = current_kb()
    settings = kb.settings
    asked = request.args.get("week", "").strip()
    week = parse_week(asked) if asked else current_week(settings)
    digest = build_digest(kb.db, settings, week)
    # The list may show only the items confirmed to be about one system; the preview stays whole.
    register = systems_store.list_systems(kb.db, signed_in_user())
    chosen = request.args.get("system", "").strip()
    system = next((s for s in register if str(s.id) == chosen), None)
    if chosen and system is None:
        flash(f"There is no system number {chosen[:20]!r} in the register: all items are shown.", "error")
    now = datetime.now(UTC)
    next_week = _shift(week, 1)
    delivered = deliveries(kb.db, week)
    return render_template(
        "digest/draft.html",
        digest=digest,
        shown=only_system(digest, system.id) if system else digest,
        register=register,
        system=system,
        preview=_preview(digest),
        previous_week=_shift(week, -1),
        next_week=next_week if next_week <= week_of(now, settings) else None,
        current_week=week_of(now, settings),
        sending=is_sending(send_state(kb.db, week), now),
        deliveries=delivered,
        pending=[d for d in delivered if d.status != "sent"],
        editable=not digest.frozen,
        own=_own_recipient(signed_in_user()),
    )


@bp.route("/digest/style.css")
@role_required("coordinator")
def stylesheet() -> ResponseReturnValue:
    """The classes of the rendered digest body (a stylesheet, since the CSP refuses inline styles)."""
    return Response(web_stylesheet(), mimetype="text/css")


@bp.route("/digest/intro", methods=["POST"])
@role_required("coordinator")
def intro() -> ResponseReturnValue:
    kb, week = current_kb(), _form_week()
    _attempt(lambda: set_intro(kb.db, week, request.form.get("intro", ""), by=signed_in_user().id),
             gettext("The introduction is saved."))
    return _back(week)


@bp.route("/digest/grouping", methods=["POST"])
@role_required("coordinator")
def grouping() -> ResponseReturnValue:
    """Group a section by the systems of the register (by_system=1) or back by system topics."""
    kb, week = current_kb(), _form_week()
    on = request.form.get("by_system") == "1"
    _attempt(lambda: set_grouping(kb.db, week, request.form.get("section", ""), on, by=signed_in_user().id),
             "The section is grouped by system." if on else "The section is grouped by topic.")
    return _back(week)


@bp.route("/digest/summary", methods=["POST"])
@role_required("coordinator")
def summary() -> ResponseReturnValue:
    kb, week, item_id = current_kb(), _form_week(), _form_item()
    text = request.form.get("summary", "")
    _attempt(lambda: set_summary(kb.db, kb.settings, week, item_id, text, by=signed_in_user().id),
             gettext("The summary is saved.") if text.strip()
             else gettext("The summary is back to the default."))
    return _back(week, item_id)


@bp.route("/digest/drop", methods=["POST"])
@role_required("coordinator")
def drop() -> ResponseReturnValue:
    kb, week, item_id = current_kb(), _form_week(), _form_item()
    _attempt(lambda: drop_item(kb.db, kb.settings, week, item_id, by=signed_in_user().id),
             gettext("The item is left out of this digest (it stays accepted in the knowledge base)."))
    return _back(week)


@bp.route("/digest/restore", methods=["POST"])
@role_required("coordinator")
def restore() -> ResponseReturnValue:
    kb, week, item_id = current_kb(), _form_week(), _form_item()
    _attempt(lambda: restore_item(kb.db, week, item_id, by=signed_in_user().id),
             gettext("The item is back in the digest."))
    return _back(week, item_id)


def _moved(digest: Digest, item_id: int, move: str) -> list[int]:
    """The digest's order with an item swapped with its neighbour in its topic group."""
    order = [entry.item_id for entry in digest.entries]
    for section in digest.sections:
        for group in section.groups:
            members = [entry.item_id for entry in group.entries]
            if item_id not in members:
                continue
            index = members.index(item_id)
            other = index - 1 if move == "up" else index + 1
            if not 0 <= other < len(members):
                raise InvalidInput(gettext("the item is already the first of its topic") if move == "up"
                                   else gettext("the item is already the last of its topic"))
            a, b = order.index(members[index]), order.index(members[other])
            order[a], order[b] = order[b], order[a]
            return order
    raise InvalidInput(gettext("item %(id)s is not in the digest of %(week)s", id=item_id, week=digest.week))


def _positioned(digest: Digest) -> list[int]:
    """The order given by the reorder form: by the positions typed, a changed item before an unchanged one."""
    keyed = []
    for index, entry in enumerate(digest.entries, start=1):
        raw = request.form.get(f"pos-{entry.item_id}", "").strip()
        try:
            position = float(raw) if raw else float(index)
        except ValueError as exc:
            raise InvalidInput(gettext("the position of %(title)s is not a number",
                                       title=repr(entry.title[:60]))) from exc
        keyed.append((position, position == index, index, entry.item_id))
    return [item_id for *_, item_id in sorted(keyed)]


@bp.route("/digest/order", methods=["POST"])
@role_required("coordinator")
def order() -> ResponseReturnValue:
    """Move one item within its topic (`move`, `item_id`), or reorder all of them (`pos-<id>` fields)."""
    kb, week = current_kb(), _form_week()
    move = request.form.get("move", "")
    item_id = _form_item() if move else None

    def change() -> None:
        digest = build_digest(kb.db, kb.settings, week)
        if move:
            if move not in MOVES:
                raise InvalidInput("move is up or down")
            assert item_id is not None
            ids = _moved(digest, item_id, move)
        else:
            ids = _positioned(digest)
        set_order(kb.db, kb.settings, week, ids, by=signed_in_user().id)

    _attempt(change, None if move else gettext("The order is saved."))
    return _back(week, item_id)


@bp.route("/digest/send", methods=["POST"])
@role_required("coordinator")
def send() -> ResponseReturnValue:
    """Send the week's digest to each recipient who lacks it; the run's report comes back as messages."""
    kb, week = current_kb(), _form_week()
    try:
        report = send_digest(kb.db, kb.settings, week)
    except KbError as exc:  # EmptyDigest, DigestError, MailError, SettingsError, Conflict
        flash(_sentence(exc), "error")
    else:
        flash(report.line(), "info")
        for email, answer in report.failed:
            flash(gettext("Not delivered to %(email)s: %(answer)s", email=email, answer=answer), "error")
    return _back(week)


@bp.route("/digest/test", methods=["POST"])
@role_required("coordinator")
def test_copy() -> ResponseReturnValue:
    """The draft as it stands, to the signed-in coordinator's own address only; nothing is marked sent."""
    kb, week, user = current_kb(), _form_week(), signed_in_user()
    _attempt(lambda: send_test(kb.db, kb.settings, week, user.email, user.name, by=user.id),
             gettext("A test copy of the draft went to %(email)s. Nothing is marked as sent.",
                     email=user.email))
    return _back(week)


# --- archive -------------------------------------------------------------------------------------------


@bp.route("/digest/archive")
@role_required("coordinator")
def archive() -> ResponseReturnValue:
    kb = current_kb()
    return render_template("digest/archive.html", records=list_digests(kb.db, kb.settings))


@bp.route("/digest/archive/<week>")
@role_required("coordinator")
def archived(week: str) -> ResponseReturnValue:
    """A sent digest as a web page, with how its delivery went for each recipient."""
    kb = current_kb()
    try:
        week = parse_week(week)
    except InvalidInput as exc:
        raise NotFound(str(exc)) from exc
    digest = build_digest(kb.db, kb.settings, week)
    if digest.sent_at is None:
        raise NotFound(f"the digest of {week} has not been sent")
    return render_template("digest/archived.html", digest=digest, preview=_preview(digest),
                           deliveries=deliveries(kb.db, week))


# --- recipients ----------------------------------------------------------------------------------------


@bp.route("/digest/recipients")
@role_required("coordinator")
def recipients() -> ResponseReturnValue:
    everyone = recipients_store.list_recipients(current_kb().db)
    return render_template("digest/recipients.html", recipients=everyone,
                           active=sum(1 for r in everyone if r.active))


@bp.route("/digest/recipients/add", methods=["POST"])
@role_required("coordinator")
def add_recipient() -> ResponseReturnValue:
    email = request.form.get("email", "")
    _attempt(lambda: recipients_store.add_recipient(current_kb().db, email, request.form.get("name", ""),
                                                    by=signed_in_user().id),
             f"{email.strip()} will receive the digest.")
    return redirect(url_for("digest.recipients"))


@bp.route("/digest/recipients/remove", methods=["POST"])
@role_required("coordinator")
def remove_recipient() -> ResponseReturnValue:
    email = request.form.get("email", "")
    _attempt(lambda: recipients_store.remove_recipient(current_kb().db, email, by=signed_in_user().id),
             f"{email.strip()} will no longer receive the digest.")
    return redirect(url_for("digest.recipients"))


# --- one's own subscription (any signed-in user) -------------------------------------------------------


@bp.route("/digest/subscription")
@login_required
def subscription() -> ResponseReturnValue:
    return render_template("digest/subscription.html", own=_own_recipient(signed_in_user()))


@bp.route("/digest/subscription", methods=["POST"])
@login_required
def set_subscription() -> ResponseReturnValue:
    """Subscribe (`subscribe=1`) or unsubscribe (`subscribe=0`) the signed-in user; both are idempotent."""
    user = signed_in_user()
    db = current_kb().db
    wanted = request.form.get("subscribe") == "1"

    def change() -> None:
        if wanted:
            recipients_store.subscribe_user(db, user.email, by=user.id)
            return
        own = _own_recipient(user)
        if own is None or not own.active:
            return
        if own.user_id is None:  # the coordinators had added this address by hand: it is the user's own
            recipients_store.subscribe_user(db, user.email, by=user.id)
        recipients_store.unsubscribe_user(db, user.email, by=user.id)

    _attempt(change, gettext("You will receive the weekly digest.") if wanted
             else gettext("You will no longer receive the weekly digest."))
    return redirect(safe_next(request.form.get("next"), url_for("digest.subscription")))


# --- the public unsubscribe link -----------------------------------------------------------------------


def _unknown_link() -> Response:
    page = render_template("digest/unsubscribe.html", state="unknown", address="", token="")
    return _private(page, 404)


@bp.route("/digest/unsubscribe/<token>")
def unsubscribe_page(token: str) -> ResponseReturnValue:
    """Ask before unsubscribing: mail scanners follow GET links, so a GET never unsubscribes."""
    recipient = recipients_store.recipient_for_token(current_kb().db, token)
    if recipient is None:
        return _unknown_link()
    state = "confirm" if recipient.active else "already"
    return _private(render_template("digest/unsubscribe.html", state=state, token=token,
                                    address=_masked(recipient.email)))


@bp.route("/digest/unsubscribe/<token>", methods=["POST"])
@csrf.exempt  # The RFC 8058 one-click target: mail clients POST `List-Unsubscribe=One-Click` without a
# session or CSRF token. The token in the address is the secret (random, one per recipient), and the only
# thing this can do is stop the digest for that recipient, so no CSRF token is needed. Idempotent.
def unsubscribe(token: str) -> ResponseReturnValue:
    db = current_kb().db
    recipient = recipients_store.recipient_for_token(db, token)
    if recipient is None or not recipients_store.unsubscribe(db, token):
        return _unknown_link()
    return _private(render_template("digest/unsubscribe.html", state="done", token=token,
                                    address=_masked(recipient.email)))

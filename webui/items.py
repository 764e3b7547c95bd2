"""The item page (text, sources, tags and their evidence, notes, decisions, page versions, similar items)
and the curation queue, where coordinators decide one item at a time or in bulk."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from werkzeug.datastructures import MultiDict

from kb import cases as cases_store
from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.curation import Change, LastDecision, QueueFilters, Undone
from kb.errors import InvalidInput, KbError
from kb.items import PageVersion
from kb.search.service import similar_items
from kb.storage.db import parse_published, parse_row_id
from kb.text.taxonomy import FACETS, load_taxonomy
from kb.users import User
from webui.access import current_kb, login_required, role_required, safe_next, signed_in_user
from webui.errors import status_of
from webui.i18n import N_, key_label
from webui.templating import language_name, topic_label

bp = Blueprint("items", __name__)
NAV = ((N_("Curation"), "items.queue", "coordinator"),)

MAX_DIFF_LINES = 400
STATUS_DONE = {"accepted": N_("Accepted"), "rejected": N_("Rejected"), "new": N_("Back in the queue")}
AFTER_UNDO = {"new": N_("back in the queue"), "accepted": N_("accepted again"),
              "rejected": N_("rejected again")}
TITLES_SHOWN = 3  # a bulk confirmation names this many items, then counts the rest
# The queue offers to undo one's last decision for this long (the undo itself has no time limit).
UNDO_OFFER = timedelta(hours=1)


@dataclass(frozen=True)
class VersionChange:
    version: PageVersion
    previous: PageVersion | None
    title_changed: bool
    lines: list[tuple[str, str]]  # (kind, text): kind is "add", "del", "hunk" or "same"
    added: int
    removed: int
    truncated: bool


def version_changes(versions: list[PageVersion]) -> list[VersionChange]:
    """What changed from each version of a watched page to the next, newest first."""
    changes = []
    for n, version in enumerate(versions):
        previous = versions[n - 1] if n else None
        lines: list[tuple[str, str]] = []
        added = removed = 0
        if previous is not None:
            diff = difflib.unified_diff(previous.text.splitlines(), version.text.splitlines(),
                                        lineterm="", n=1)
            for line in diff:
                if line.startswith(("---", "+++")):
                    continue
                kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
                added += kind == "add"
                removed += kind == "del"
                lines.append((kind, line[1:] if kind in ("add", "del", "same") else line))
        title_changed = previous is not None and previous.title != version.title
        changes.append(VersionChange(version, previous, title_changed, lines[:MAX_DIFF_LINES], added, removed,
                                     len(lines) > MAX_DIFF_LINES))
    return changes[::-1]


def change_from_form(form: MultiDict[str, str]) -> Change:
    """The curation change a form asks for (status and digest buttons, tag lists, a case, a note)."""
    digest = form.get("digest", "")
    if digest not in ("", "0", "1"):
        raise InvalidInput("digest must be 1 or 0")
    case = form.get("case_id", "").strip()
    try:
        case_id = int(case) if case else None
    except ValueError as exc:
        raise InvalidInput("choose a case file from the list") from exc
    return Change(
        status=form.get("status") or None,
        in_digest=None if digest == "" else digest == "1",
        add_tags=tuple(dict.fromkeys(t.strip() for t in form.getlist("add_tag") if t.strip())),
        remove_tags=tuple(dict.fromkeys(t.strip() for t in form.getlist("remove_tag") if t.strip())),
        case_id=case_id,
        note=form.get("note", ""),
    )


def _named(titles: Sequence[str], count: int) -> str:
    """The items a confirmation is about: the title of one, else how many and the first few titles."""
    names = [title.strip() or gettext("(no title)") for title in titles[:TITLES_SHOWN]]
    if count == 1 and names:
        return names[0]
    rest = count - len(names)
    listed = "; ".join(names) + (gettext(" and %(rest)s more", rest=rest) if rest > 0 else "")
    if names:
        return ngettext("%(num)s item (%(listed)s)", "%(num)s items (%(listed)s)", count, listed=listed)
    return ngettext("%(num)s item", "%(num)s items", count)


def describe(change: Change, titles: Sequence[str], count: int | None = None) -> str:
    """The confirmation of a change, naming its items: "Accepted: <title>"."""
    parts = []
    if change.status:
        parts.append(gettext(STATUS_DONE[change.status]))
    if change.in_digest is not None:
        parts.append(gettext("Marked for the digest") if change.in_digest
                     else gettext("Taken out of the digest"))
    if change.add_tags or change.remove_tags:
        parts.append(gettext("Tags changed"))
    if change.case_id is not None:
        parts.append(gettext("Filed under the case"))
    if change.note.strip():
        parts.append(gettext("Note added"))
    what = ", ".join([parts[0], *(part.lower() for part in parts[1:])]) if parts else gettext("Saved")
    named = _named(titles, len(titles) if count is None else count)
    return gettext("%(what)s: %(items)s", what=what, items=named)


def describe_undo(undone: Undone) -> str:
    if len(undone.items) == 1:
        item = undone.items[0]
        states = [gettext(AFTER_UNDO[item.status])] if item.status_changed or not item.digest_changed else []
        if item.digest_changed:
            states.append(gettext("in the digest again") if item.in_digest
                          else gettext("out of the digest again"))
        return gettext("Undone: %(title)s is %(states)s", title=item.title.strip() or gettext("(no title)"),
                       states=gettext(" and ").join(states))
    named = _named([item.title for item in undone.items], len(undone.items))
    return gettext("Undone for %(items)s", items=named)


def describe_last(last: LastDecision) -> str:
    """One's last decision, as the queue's undo offer names it."""
    if last.status:
        what = gettext(STATUS_DONE[last.status])
    else:
        what = (gettext("Marked for the digest") if last.action == "digest-add"
                else gettext("Taken out of the digest"))
    return gettext("%(what)s: %(items)s", what=what, items=_named(last.titles, len(last.item_ids)))


def wants_json() -> bool:
    """True for the queue's script (fetch with Accept: application/json); a plain form gets a page."""
    return request.accept_mimetypes.best_match(("text/html", "application/json")) == "application/json"


def _states(item_ids: Sequence[int]) -> list[dict[str, object]]:
    db = current_kb().db
    states = []
    for item_id in item_ids[:curation.QUEUE_PAGE_SIZE]:  # the script updates only the rows it shows
        decision = curation.decision(db, item_id)
        states.append({"id": item_id, "status": decision.status, "in_digest": decision.in_digest})
    return states


def _json_reply(message: str, item_ids: Sequence[int], undo: str | None) -> ResponseReturnValue:
    return jsonify(ok=True, message=message, undo=undo, items=_states(item_ids),
                   new_count=curation.queue_size(current_kb().db))


def _json_error(error: KbError) -> ResponseReturnValue:
    text = str(error).strip() or gettext("That did not work")
    response = jsonify(ok=False, error=text[:1].upper() + text[1:])
    response.status_code = status_of(error)
    return response


def _editing_context(user: User) -> dict[str, object]:
    """What the curation controls offer: topics by facet and the open case files."""
    taxonomy = load_taxonomy()
    return {
        "topics_by_facet": [(facet, taxonomy.by_facet(facet)) for facet in FACETS],
        "open_cases": cases_store.list_cases(current_kb().db, user, status="open"),
    }


@bp.route("/items/<int:item_id>")
@login_required
def show(item_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    kb = current_kb()
    item = items_store.get_item(kb.db, item_id)
    cases = [case for case in (cases_store.find_case(kb.db, user, cid) for cid in item.case_ids) if case]
    deciders = {tag.decided_by for tag in item.tags if tag.decided_by is not None}
    context: dict[str, object] = {
        "item": item,
        # Who set or confirmed each tag, by name: the tag table says who, not "a person".
        "deciders": {u.id: u.name or u.email for u in users_store.list_users(kb.db) if u.id in deciders},
        "decision": curation.decision(kb.db, item_id),
        "history": curation.history(kb.db, item_id),
        "notes": curation.list_notes(kb.db, item_id),
        "cases": cases,
        "versions": version_changes(items_store.page_versions(kb.db, item_id)),
        "similar": similar_items(kb, item_id, limit=5),
        "here": url_for("items.show", item_id=item_id),
    }
    if user.can("coordinator"):
        context.update(_editing_context(user))
    return render_template("items/show.html", **context)


@bp.route("/items/<int:item_id>/notes", methods=["POST"])
@login_required
def add_note(item_id: int) -> ResponseReturnValue:
    curation.add_note(current_kb().db, item_id, signed_in_user().id, request.form.get("note", ""))
    flash(gettext("Note added."), "info")
    return redirect(url_for("items.show", item_id=item_id) + "#notes")


@bp.route("/items/<int:item_id>/curation", methods=["POST"])
@role_required("coordinator")
def curate(item_id: int) -> ResponseReturnValue:
    """One item's decision; the queue's script asks for JSON and stays on the page, a form is redirected."""
    db = current_kb().db
    try:
        change = change_from_form(request.form)
        applied = curation.decide(db, [item_id], change, signed_in_user().id)
    except KbError as exc:
        if wants_json():
            return _json_error(exc)
        raise
    message = describe(change, [items_store.get_item(db, item_id).title])
    if wants_json():
        return _json_reply(message, [item_id], applied.undo_key)
    flash(message, "info")
    return redirect(safe_next(request.form.get("next"), url_for("items.show", item_id=item_id)))


@bp.route("/curation/undo", methods=["POST"])
@role_required("coordinator")
def undo() -> ResponseReturnValue:
    """Put back the state before one's last decision (`decision` names it, so a stale page undoes nothing)."""
    back = safe_next(request.form.get("next"), url_for("items.queue"))
    try:
        undone = curation.undo(current_kb().db, signed_in_user().id, request.form.get("decision") or None)
    except KbError as exc:
        if wants_json():
            return _json_error(exc)
        text = str(exc).strip()
        flash(text[:1].upper() + text[1:] + ".", "error")
        return redirect(back)
    message = describe_undo(undone)
    if wants_json():
        return _json_reply(message, [item.item_id for item in undone.items], None)
    flash(message + ".", "info")
    return redirect(back)


def _queue_filters(args: MultiDict[str, str]) -> QueueFilters:
    source = args.get("source", "").strip()
    try:
        source_id = int(source) if source else None
    except ValueError as exc:
        raise InvalidInput("choose a source from the list") from exc
    return QueueFilters(
        status=args.get("status", "new") or "new",
        language=args.get("language", "").strip(),
        topic=args.get("topic", "").strip(),
        source=source_id,
        relevant_only=args.get("relevant") == "1",
        needs_reader_only=args.get("reader") == "1",
        system=parse_row_id(raw, "choose a system from the list")
        if (raw := args.get("system", "").strip()) else None,
    )


@bp.route("/curation")
@role_required("coordinator")
def queue() -> ResponseReturnValue:
    """New items, relevant first and newest first; j/k to move, a to accept, r to reject, u to undo, ? for
    help (curation.js, which decides without reloading the page; every action is a plain form as well)."""
    user = signed_in_user()
    db = current_kb().db
    filters = _queue_filters(request.args)
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError as exc:
        raise InvalidInput("page must be a whole number") from exc
    page = curation.queue(db, filters, page=page_number)
    last = curation.last_decision(db, user.id)
    made = parse_published(last.at) if last else None
    offer = last if last and not last.undone and made and datetime.now(UTC) - made < UNDO_OFFER else None
    return render_template(
        "items/queue.html", page=page, filters=filters, here=request.full_path.rstrip("?"),
        languages=curation.queue_languages(db), sources=sources_store.list_sources(db),
        undo_offer=offer, undo_line=describe_last(offer) if offer else "",
        filters_on=_filters_on(filters), **_editing_context(user),
    )


def _filters_on(filters: QueueFilters) -> list[str]:
    """The filters in use, in words, for the folded filter form's summary."""
    on = []
    if filters.status != "new":
        on.append(key_label("status_name", filters.status).lower())
    if filters.language:
        on.append(language_name(filters.language))
    if filters.topic:
        on.append(topic_label(filters.topic))
    if filters.source is not None:
        on.append(gettext("one source"))
    if filters.relevant_only:
        on.append(gettext("relevant only"))
    if filters.needs_reader_only:
        on.append(gettext("needs a reader only"))
    if filters.system is not None:
        on.append(gettext("one system"))
    return on


@bp.route("/curation/bulk", methods=["POST"])
@role_required("coordinator")
def bulk() -> ResponseReturnValue:
    """One change applied to every chosen item in one transaction."""
    try:
        ids = [int(v) for v in request.form.getlist("item_id")]
    except ValueError as exc:
        raise InvalidInput("item ids are whole numbers") from exc
    change = change_from_form(request.form)
    db = current_kb().db
    count = curation.apply(db, ids, change, signed_in_user().id)
    titles = [item.title for item in items_store.load_items(db, list(dict.fromkeys(ids))[:TITLES_SHOWN])]
    flash(describe(change, titles, count), "info")
    return redirect(safe_next(request.form.get("next"), url_for("items.queue")))

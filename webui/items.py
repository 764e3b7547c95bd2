"""The item page (text, sources, tags and their evidence, notes, decisions, page versions, similar items)
and the curation queue, where coordinators decide one item at a time or in bulk."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from kb import cases as cases_store
from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb.curation import Change, QueueFilters
from kb.errors import InvalidInput
from kb.items import PageVersion
from kb.search.service import similar_items
from kb.text.taxonomy import FACETS, load_taxonomy
from kb.users import User
from webui.access import current_kb, login_required, role_required, safe_next, signed_in_user

bp = Blueprint("items", __name__)
NAV = (("Curation", "items.queue", "coordinator"),)

MAX_DIFF_LINES = 400
STATUS_VERBS = {"accepted": "accepted", "rejected": "rejected", "new": "returned to the queue"}


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


def describe(change: Change, count: int) -> str:
    """A one-line summary for the flash message."""
    what = f"{count} item{'s' if count != 1 else ''}" if count != 1 else "The item"
    parts = []
    if change.status:
        parts.append(STATUS_VERBS[change.status])
    if change.in_digest is not None:
        parts.append("marked for the digest" if change.in_digest else "taken out of the digest")
    if change.add_tags or change.remove_tags:
        parts.append("tags changed")
    if change.case_id is not None:
        parts.append("filed under the case")
    if change.note.strip():
        parts.append("note added")
    return f"{what}: {', '.join(parts)}."


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
    context: dict[str, object] = {
        "item": item,
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
    flash("Note added.", "info")
    return redirect(url_for("items.show", item_id=item_id) + "#notes")


@bp.route("/items/<int:item_id>/curation", methods=["POST"])
@role_required("coordinator")
def curate(item_id: int) -> ResponseReturnValue:
    change = change_from_form(request.form)
    curation.apply(current_kb().db, [item_id], change, signed_in_user().id)
    flash(describe(change, 1), "info")
    return redirect(safe_next(request.form.get("next"), url_for("items.show", item_id=item_id)))


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
    )


@bp.route("/curation")
@role_required("coordinator")
def queue() -> ResponseReturnValue:
    """New items, relevant first and newest first; j/k to move, a to accept, r to reject (curation.js)."""
    user = signed_in_user()
    db = current_kb().db
    filters = _queue_filters(request.args)
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError as exc:
        raise InvalidInput("page must be a whole number") from exc
    page = curation.queue(db, filters, page=page_number)
    return render_template(
        "items/queue.html", page=page, filters=filters, here=request.full_path.rstrip("?"),
        languages=curation.queue_languages(db), sources=sources_store.list_sources(db),
        **_editing_context(user),
    )


@bp.route("/curation/bulk", methods=["POST"])
@role_required("coordinator")
def bulk() -> ResponseReturnValue:
    """One change applied to every chosen item in one transaction."""
    try:
        ids = [int(v) for v in request.form.getlist("item_id")]
    except ValueError as exc:
        raise InvalidInput("item ids are whole numbers") from exc
    change = change_from_form(request.form)
    count = curation.apply(current_kb().db, ids, change, signed_in_user().id)
    flash(describe(change, count), "info")
    return redirect(safe_next(request.form.get("next"), url_for("items.queue")))

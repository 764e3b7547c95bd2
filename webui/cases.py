"""Case files on the web: list, create, the case page (fields, team, items with their tags, contacts with
their role, notes, deadlines), edit, close and reopen, linking items and contacts, a search within the case,
source exports (CSV and RIS) and, for admins, the audit history.

Who may do what is decided in `kb.cases` (and `kb.contacts` for contacts): every signed-in user reads case
files; coordinators, admins and the case lead change one; its members add notes and link items; only
coordinators and admins create case files or change a team. The pages offer only what the user may do,
and the core refuses the rest (403), so a hidden button is never the only guard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import systems as systems_store
from kb import users as users_store
from kb.cases import CaseFile
from kb.errors import InvalidInput, KbError, NotFound, PermissionDenied
from kb.items import Item
from kb.search.service import SearchFilters, search
from kb.storage.db import parse_row_id
from kb.text.taxonomy import load_taxonomy
from kb.users import User
from webui.access import current_kb, login_required, role_required, safe_next, signed_in_user

bp = Blueprint("cases", __name__, url_prefix="/cases")
NAV = (("Case files", "cases.index", "researcher"),)

STATUS_CHOICES = ("open", "closed", "all")
SEARCH_PAGE_SIZE = 20
MAX_QUERY = 500
RIS_TYPE = "application/x-research-info-systems; charset=utf-8"
CSV_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Permissions:
    """What the signed-in user may do on one case page (the core checks again on every change)."""

    manage: bool  # edit, close/reopen, deadlines, contacts
    contribute: bool  # notes, items
    team: bool  # change the team
    see_contacts: bool
    link_contacts: bool  # link and unlink contacts, create one for the case file
    history: bool

    @classmethod
    def of(cls, user: User, case: CaseFile) -> Permissions:
        return cls(manage=cases_store.can_manage_case(user, case),
                   contribute=cases_store.can_contribute(user, case),
                   team=cases_store.can_create_cases(user),
                   see_contacts=contacts_store.can_see_contacts(user),
                   link_contacts=cases_store.can_manage_case(user, case)
                   and contacts_store.can_change_contacts(user),
                   history=user.can("admin"))


# --- reading forms -------------------------------------------------------------------------------------


def _id(form: MultiDict[str, str], name: str, what: str) -> int:
    return parse_row_id((form.get(name) or "").strip().lstrip("#"), f"give {what} as a number")


def _optional_id(form: MultiDict[str, str], name: str, what: str) -> int | None:
    return _id(form, name, what) if (form.get(name) or "").strip() else None


def case_fields(form: MultiDict[str, str], *, partial: bool = False) -> dict[str, object]:
    """The case file fields of a form; with `partial` (edits) a field the form did not send is left alone."""
    return {name: form.get(name, "") for name in cases_store.FIELDS if name in form or not partial}


def team_from_form(form: MultiDict[str, str]) -> tuple[int | None, list[int]]:
    lead = _optional_id(form, "lead_id", "the lead")
    try:
        members = sorted({int(v) for v in form.getlist("member_ids") if v.strip()})
    except ValueError as exc:
        raise InvalidInput("choose the members from the list") from exc
    return lead, members


def _page(args: MultiDict[str, str]) -> int:
    raw = (args.get("page") or "").strip()
    try:
        return max(1, min(int(raw), 500)) if raw else 1
    except ValueError as exc:
        raise InvalidInput("page must be a whole number") from exc


def _require(case_id: int, need: str) -> CaseFile:
    """The case file, if the user may `need` ("manage" or "contribute") it; checked before the form is read,
    so that a refused user gets 403 whatever they sent (the core checks again when it writes)."""
    user = signed_in_user()
    case = cases_store.get_case(current_kb().db, user, case_id)
    allowed = cases_store.can_manage_case if need == "manage" else cases_store.can_contribute
    if not allowed(user, case):
        raise PermissionDenied("you may not change this case file" if need == "manage"
                               else "you may not add to this case file")
    return case


def _back_to_case(case_id: int, anchor: str = "") -> ResponseReturnValue:
    return redirect(url_for("cases.show", case_id=case_id) + (f"#{anchor}" if anchor else ""))


def _refused(error: KbError) -> None:
    """A refused small change (an empty note, a bad date, an unknown item id) as a message on the page."""
    text = str(error).strip() or "That did not work"
    flash(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."), "error")


# --- template helpers ----------------------------------------------------------------------------------


@bp.app_template_global()
def case_choices_for_item(item: Item) -> list[CaseFile]:
    """Open case files the signed-in user may file this item under (for the form on the item page)."""
    user = signed_in_user()
    return [case for case in cases_store.list_cases(current_kb().db, user, status="open")
            if case.id not in item.case_ids and cases_store.can_contribute(user, case)]


def _people() -> dict[int, User]:
    return {person.id: person for person in users_store.list_users(current_kb().db)}


def _sectors() -> list[str]:
    return [topic.id.partition("/")[2] for topic in load_taxonomy().by_facet("sector")]


# --- list and create -----------------------------------------------------------------------------------


@bp.route("")
@login_required
def index() -> ResponseReturnValue:
    user = signed_in_user()
    status = request.args.get("status", "open")
    if status not in STATUS_CHOICES:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_CHOICES)}")
    mine = request.args.get("mine") == "1"
    found = cases_store.list_cases(current_kb().db, user, status=None if status == "all" else status,
                                   team_member=user.id if mine else None)
    return render_template("cases/index.html", cases=found, status=status, mine=mine, people=_people(),
                           may_create=cases_store.can_create_cases(user))


def _render_case_form(case: CaseFile | None, values: dict[str, object], error: str = "",
                      status: int = 200) -> ResponseReturnValue:
    people = sorted((p for p in _people().values() if p.active), key=lambda p: (p.name or p.email).casefold())
    return render_template("cases/form.html", case=case, values=values, error=error, people=people,
                           sectors=_sectors()), status


@bp.route("/new")
@role_required("coordinator")
def new() -> ResponseReturnValue:
    return _render_case_form(None, {"lead_id": signed_in_user().id, "member_ids": []})


@bp.route("/new", methods=["POST"])
@role_required("coordinator")
def create() -> ResponseReturnValue:
    form = request.form
    try:
        lead, members = team_from_form(form)
        case = cases_store.create_case(current_kb().db, signed_in_user(), case_fields(form), lead_id=lead,
                                       member_ids=members)
    except InvalidInput as exc:
        values: dict[str, object] = {**case_fields(form), "lead_id": form.get("lead_id", ""),
                                     "member_ids": form.getlist("member_ids")}
        return _render_case_form(None, values, str(exc), 400)
    flash(gettext("Case file “%(title)s” opened.", title=case.title), "info")
    return _back_to_case(case.id)


# --- the case page -------------------------------------------------------------------------------------


@bp.route("/<int:case_id>")
@login_required
def show(case_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    case = cases_store.get_case(db, user, case_id)
    allowed = Permissions.of(user, case)
    linked_contacts = cases_store.case_contacts(db, user, case_id)
    pickable = []
    if allowed.link_contacts:
        linked_ids = {cc.contact.id for cc in linked_contacts}
        pickable = [c for c in contacts_store.list_contacts(db, user) if c.id not in linked_ids]
    people = _people()
    return render_template(
        "cases/show.html", case=case, allowed=allowed, people=people,
        active_people=sorted((p for p in people.values() if p.active),
                             key=lambda p: (p.name or p.email).casefold()),
        items=cases_store.case_items(db, user, case_id), contacts=linked_contacts, pickable=pickable,
        systems=systems_store.systems_for_case(db, case_id),
        notes=cases_store.case_notes(db, user, case_id),
        deadlines=cases_store.case_deadlines(db, user, case_id),
        history=cases_store.case_history(db, user, case_id) if allowed.history else [],
    )


@bp.route("/<int:case_id>/edit")
@login_required
def edit(case_id: int) -> ResponseReturnValue:
    case = _require(case_id, "manage")
    values: dict[str, object] = {name: getattr(case, name) for name in cases_store.FIELDS}
    return _render_case_form(case, values)


@bp.route("/<int:case_id>/edit", methods=["POST"])
@login_required
def update(case_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    case = _require(case_id, "manage")
    try:
        cases_store.update_case(db, user, case_id, case_fields(request.form, partial=True))
    except InvalidInput as exc:
        values = {name: getattr(case, name) for name in cases_store.FIELDS}
        values.update(case_fields(request.form, partial=True))
        return _render_case_form(case, values, str(exc), 400)
    flash(gettext("Case file saved."), "info")
    return _back_to_case(case_id)


@bp.route("/<int:case_id>/team", methods=["POST"])
@role_required("coordinator")
def team(case_id: int) -> ResponseReturnValue:
    lead, members = team_from_form(request.form)
    cases_store.set_team(current_kb().db, signed_in_user(), case_id, lead, members)
    flash(gettext("Team saved."), "info")
    return _back_to_case(case_id, "team")


@bp.route("/<int:case_id>/close", methods=["POST"])
@login_required
def close(case_id: int) -> ResponseReturnValue:
    cases_store.close_case(current_kb().db, signed_in_user(), case_id)
    flash(gettext("Case file closed."), "info")
    return _back_to_case(case_id)


@bp.route("/<int:case_id>/reopen", methods=["POST"])
@login_required
def reopen(case_id: int) -> ResponseReturnValue:
    cases_store.reopen_case(current_kb().db, signed_in_user(), case_id)
    flash(gettext("Case file reopened."), "info")
    return _back_to_case(case_id)


@bp.route("/<int:case_id>/notes", methods=["POST"])
@login_required
def add_note(case_id: int) -> ResponseReturnValue:
    _require(case_id, "contribute")
    try:
        cases_store.add_note(current_kb().db, signed_in_user(), case_id, request.form.get("body", ""))
    except InvalidInput as exc:
        _refused(exc)
    else:
        flash(gettext("Note added."), "info")
    return _back_to_case(case_id, "notes")


@bp.route("/<int:case_id>/deadlines", methods=["POST"])
@login_required
def add_deadline(case_id: int) -> ResponseReturnValue:
    _require(case_id, "manage")
    try:
        cases_store.add_deadline(current_kb().db, signed_in_user(), case_id, request.form.get("due", ""),
                                 request.form.get("what", ""))
    except InvalidInput as exc:
        _refused(exc)
    else:
        flash(gettext("Deadline added."), "info")
    return _back_to_case(case_id, "deadlines")


def _deadline_of_case(case_id: int, deadline_id: int) -> None:
    """A deadline is changed through the page of its own case file only."""
    db = current_kb().db
    if all(d.id != deadline_id for d in cases_store.case_deadlines(db, signed_in_user(), case_id)):
        raise NotFound(f"deadline {deadline_id} does not exist in this case file")


@bp.route("/<int:case_id>/deadlines/<int:deadline_id>/done", methods=["POST"])
@login_required
def deadline_done(case_id: int, deadline_id: int) -> ResponseReturnValue:
    _deadline_of_case(case_id, deadline_id)
    done = request.form.get("done", "1") != "0"
    cases_store.set_deadline_done(current_kb().db, signed_in_user(), deadline_id, done)
    flash(gettext("Deadline marked done.") if done else gettext("Deadline open again."), "info")
    return _back_to_case(case_id, "deadlines")


@bp.route("/<int:case_id>/deadlines/<int:deadline_id>/delete", methods=["POST"])
@login_required
def delete_deadline(case_id: int, deadline_id: int) -> ResponseReturnValue:
    _deadline_of_case(case_id, deadline_id)
    cases_store.delete_deadline(current_kb().db, signed_in_user(), deadline_id)
    flash(gettext("Deadline removed."), "info")
    return _back_to_case(case_id, "deadlines")


# --- items and contacts of a case file -----------------------------------------------------------------


def _link_item(case_id: int, item_id: int) -> None:
    user = signed_in_user()
    db = current_kb().db
    case = _require(case_id, "contribute")  # an unknown case file is a 404, an unknown item a message
    try:
        linked = cases_store.link_item(db, user, case_id, item_id)
    except NotFound as exc:
        _refused(exc)
        return
    if linked:
        flash(gettext("Item %(id)s filed under “%(title)s”.", id=item_id, title=case.title), "info")
    else:
        flash(gettext("Item %(id)s was already filed under “%(title)s”.", id=item_id, title=case.title),
              "info")


@bp.route("/<int:case_id>/items", methods=["POST"])
@login_required
def link_item(case_id: int) -> ResponseReturnValue:
    """Link an item by its id (the box on the case page)."""
    _require(case_id, "contribute")
    try:
        item_id = _id(request.form, "item_id", "the item")
    except InvalidInput as exc:
        _refused(exc)
    else:
        _link_item(case_id, item_id)
    return redirect(safe_next(request.form.get("next"), url_for("cases.show", case_id=case_id) + "#items"))


@bp.route("/link-item", methods=["POST"])
@login_required
def link_item_from_item() -> ResponseReturnValue:
    """Link an item to a case file chosen from a list (the form on the item page)."""
    item_id = _id(request.form, "item_id", "the item")
    _link_item(_id(request.form, "case_id", "the case file"), item_id)
    return redirect(safe_next(request.form.get("next"), url_for("items.show", item_id=item_id) + "#cases"))


@bp.route("/<int:case_id>/items/<int:item_id>/unlink", methods=["POST"])
@login_required
def unlink_item(case_id: int, item_id: int) -> ResponseReturnValue:
    if cases_store.unlink_item(current_kb().db, signed_in_user(), case_id, item_id):
        flash(gettext("Item %(id)s taken out of the case file.", id=item_id), "info")
    return redirect(safe_next(request.form.get("next"), url_for("cases.show", case_id=case_id) + "#items"))


@bp.route("/<int:case_id>/contacts", methods=["POST"])
@role_required("coordinator")
def link_contact(case_id: int) -> ResponseReturnValue:
    _require(case_id, "manage")
    try:
        contact_id = _id(request.form, "contact_id", "the contact")
        cases_store.link_contact(current_kb().db, signed_in_user(), case_id, contact_id,
                                 request.form.get("role", ""))
    except InvalidInput as exc:
        _refused(exc)
    else:
        flash(gettext("Contact linked."), "info")
    return _back_to_case(case_id, "contacts")


@bp.route("/<int:case_id>/contacts/<int:contact_id>/unlink", methods=["POST"])
@role_required("coordinator")
def unlink_contact(case_id: int, contact_id: int) -> ResponseReturnValue:
    if cases_store.unlink_contact(current_kb().db, signed_in_user(), case_id, contact_id):
        flash(gettext("Contact taken out of the case file."), "info")
    return _back_to_case(case_id, "contacts")


# --- search within the case and exports ----------------------------------------------------------------


@bp.route("/<int:case_id>/search")
@login_required
def case_search(case_id: int) -> ResponseReturnValue:
    """The search, limited to the items of this case file."""
    user = signed_in_user()
    kb = current_kb()
    case = cases_store.get_case(kb.db, user, case_id)
    query = (request.args.get("q") or "").strip()[:MAX_QUERY]
    page = _page(request.args)
    results = search(kb, query, SearchFilters(case=(str(case_id),), kind=("item",)), user=user,
                     page=page, page_size=SEARCH_PAGE_SIZE)
    pages = max(1, math.ceil(results.total / results.page_size))
    return render_template("cases/search.html", case=case, query=query, results=results, pages=pages)


def _download(body: str, content_type: str, filename: str) -> Response:
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/<int:case_id>/sources.csv")
@login_required
def sources_csv(case_id: int) -> ResponseReturnValue:
    body = cases_store.sources_csv(current_kb().db, signed_in_user(), case_id)
    return _download("\ufeff" + body, CSV_TYPE, f"case-{case_id}-sources.csv")


@bp.route("/<int:case_id>/sources.ris")
@login_required
def sources_ris(case_id: int) -> ResponseReturnValue:
    body = cases_store.sources_ris(current_kb().db, signed_in_user(), case_id)
    return _download(body, RIS_TYPE, f"case-{case_id}-sources.ris")

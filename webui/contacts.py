"""Contacts on the web: list with search and facets, detail and CSV export for every signed-in user (each
sees the contacts `kb.contacts.contact_scope` allows: researchers the ones that are not restricted); create,
edit, delete and a two-step CSV import (dry run, then the real import) for coordinators and admins.

Every rule about who sees which contact lives in `kb.contacts`: a restricted contact the user may not see
does not exist for them (404, absent from lists, facets and exports). This module only turns forms into
calls and never reads the contacts table itself.

The CSV import keeps no copy of the file on the server between its two steps. The upload is checked with a
dry run (the real import inside a transaction that is rolled back) and the report page carries the file's
text back in a hidden field of the confirm form, with a signed token binding its SHA-256 to the user and
to a time limit. The confirm step imports exactly the text that was previewed, or refuses. A server-side
temporary file would leave personal data of people at risk on disk whenever someone stops after the
preview, and the session cookie is far too small; asking for the file a second time is easy to get wrong.
"""

from __future__ import annotations

import hashlib
import io
import math
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from kb import cases as cases_store
from kb import contacts as contacts_store
from kb.contacts import KINDS, SENSITIVITIES, Contact, ContactFilter, ImportReport
from kb.errors import InvalidInput
from kb.storage.db import parse_row_id, transaction
from kb.text.taxonomy import FACETS as TOPIC_FACETS
from kb.text.taxonomy import load_taxonomy
from kb.users import User
from webui.access import current_kb, login_required, role_required, signed_in_user
from webui.search import Facet, FacetValue
from webui.templating import language_name, topic_label

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
NAV = (("Contacts", "contacts.index", "researcher"),)

PAGE_SIZE = 50
MAX_QUERY = 200
FACET_VALUES_SHOWN = 12
# (query argument, key in contact_facets, title); each argument holds one value (ContactFilter).
FILTERS = (("organisation", "organisation", "Organisation"), ("country", "country", "Country"),
           ("language", "languages", "Language"), ("expertise", "expertise", "Expertise"),
           ("network", "networks", "Network"), ("kind", "kind", "Kind"))
TEXT_FIELDS = ("name", "organisation", "role", "kind", "country", "notes", "consent_how", "consent_date",
               "sensitivity")
LINE_LIST_FIELDS = ("languages", "emails", "phones", "networks")  # one per line (or ';') in the form
IMPORT_SALT = "kb-contacts-import"
IMPORT_MAX_AGE = 3600  # seconds between the dry run and the confirmation
# The confirm form carries the file's text in an ordinary field; Flask allows 500 kB for such fields.
IMPORT_FORM_ROOM = contacts_store.MAX_IMPORT_BYTES + 100_000


# --- reading requests ----------------------------------------------------------------------------------


def _one(args: MultiDict[str, str], name: str, limit: int = 200) -> str:
    return (args.get(name) or "").strip()[:limit]


def parse_filters(args: MultiDict[str, str]) -> ContactFilter:
    """The list's search words and filters from the query string (or the export form)."""
    values = {arg: _one(args, arg) for arg, _, _ in FILTERS}
    return ContactFilter(query=_one(args, "q", MAX_QUERY), organisation=values["organisation"],
                         country=values["country"], language=values["language"],
                         expertise=values["expertise"], network=values["network"], kind=values["kind"])


def filter_arguments(filters: ContactFilter) -> dict[str, str]:
    """The query arguments that give these filters (only those set)."""
    values = {"q": filters.query, **{arg: getattr(filters, arg) for arg, _, _ in FILTERS}}
    return {name: value for name, value in values.items() if value}


def _page(args: MultiDict[str, str]) -> int:
    raw = (args.get("page") or "").strip()
    try:
        return max(1, min(int(raw), 10_000)) if raw else 1
    except ValueError as exc:
        raise InvalidInput("page must be a whole number") from exc


def optional_id(form: MultiDict[str, str], name: str, what: str) -> int | None:
    raw = (form.get(name) or "").strip()
    return parse_row_id(raw, f"choose {what} from the list") if raw else None


def contact_fields(form: MultiDict[str, str], *, partial: bool = False) -> dict[str, object]:
    """The fields of the contact form: an empty box clears its field.

    With `partial` (edits), a field the form did not send at all is left alone, so that a form without the
    sensitivity choice can never turn a restricted contact into a normal one. The expertise checkboxes send
    nothing when none is ticked, so the form marks their presence with `expertise_shown`.
    """
    fields: dict[str, object] = {name: form.get(name, "") for name in (*TEXT_FIELDS, *LINE_LIST_FIELDS)
                                 if name in form or not partial}
    if "expertise" in form or "expertise_shown" in form or not partial:
        fields["expertise"] = [v for v in form.getlist("expertise") if v.strip()]
    return fields


def form_values(contact: Contact | None) -> dict[str, object]:
    """What the form boxes show for a contact (lists one entry per line)."""
    if contact is None:
        return {"sensitivity": "normal", "expertise": []}
    values: dict[str, object] = dict(contact.fields())
    for name in LINE_LIST_FIELDS:
        values[name] = "\n".join(getattr(contact, name))
    values["expertise"] = list(contact.expertise)
    values["consent_date"] = contact.consent_date or ""
    return values


def _submitted_values(form: MultiDict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {name: form.get(name, "") for name in (*TEXT_FIELDS, *LINE_LIST_FIELDS)}
    values["expertise"] = form.getlist("expertise")
    return values


# --- facets --------------------------------------------------------------------------------------------


def _label(arg: str, value: str) -> str:
    if arg == "language":
        return language_name(value)
    if arg == "expertise":
        return topic_label(value)
    if arg == "kind":
        return value.capitalize()
    return value


def build_facets(counts: dict[str, list[tuple[str, int]]], filters: ContactFilter) -> list[Facet]:
    """The facet boxes of the list: a value is a link that sets its filter, or clears it when chosen."""
    current = filter_arguments(filters)
    facets = []
    for arg, key, title in FILTERS:
        chosen = getattr(filters, arg)
        pairs = counts.get(key, [])[:FACET_VALUES_SHOWN]
        if chosen and not any(v.casefold() == chosen.casefold() for v, _ in pairs):
            pairs = [(chosen, 0), *pairs]  # a chosen value stays visible, to clear it
        values = []
        for value, count in pairs:
            selected = bool(chosen) and value.casefold() == chosen.casefold()
            arguments: dict[str, Any] = {k: v for k, v in current.items() if k != arg}
            if not selected:
                arguments[arg] = value
            values.append(FacetValue(value, _label(arg, value), count, selected,
                                     url_for("contacts.index", **arguments)))
        if values:
            facets.append(Facet(arg, title, values))
    return facets


# --- pages ---------------------------------------------------------------------------------------------


@bp.route("")
@login_required
def index() -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    filters = parse_filters(request.args)
    found = contacts_store.list_contacts(db, user, filters)
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    page = min(_page(request.args), pages)
    facets = build_facets(contacts_store.contact_facets(db, user, filters), filters)
    return render_template(
        "contacts/index.html", may_change=contacts_store.can_change_contacts(user),
        contacts=found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], total=len(found),
        page=page, pages=pages, filters=filters, facets=facets, arguments=filter_arguments(filters),
    )


def _case_choices(user: User) -> list[cases_store.CaseFile]:
    """Case files a contact can be linked to from its form (all; the core refuses what is not allowed)."""
    return cases_store.list_cases(current_kb().db, user)


def _render_form(contact: Contact | None, values: dict[str, object], error: str = "",
                 status: int = 200) -> ResponseReturnValue:
    user = signed_in_user()
    taxonomy = load_taxonomy()
    db = current_kb().db
    team_cases = {c.id for c in cases_store.list_cases(db, user, team_member=user.id)}
    return render_template(
        "contacts/form.html", contact=contact, values=values, error=error, kinds=KINDS,
        sensitivities=SENSITIVITIES, topics_by_facet=[(f, taxonomy.by_facet(f)) for f in TOPIC_FACETS],
        cases=_case_choices(user), team_cases=team_cases,
    ), status


@bp.route("/new")
@role_required("coordinator")
def new() -> ResponseReturnValue:
    values = form_values(None)
    case_id = request.args.get("case_id", "")
    if case_id.isdigit():
        values["case_id"] = case_id
    return _render_form(None, values)


@bp.route("/new", methods=["POST"])
@role_required("coordinator")
def create() -> ResponseReturnValue:
    user = signed_in_user()
    form = request.form
    try:
        case_id = optional_id(form, "case_id", "a case file")
        contact = contacts_store.create_contact(current_kb().db, user, contact_fields(form), case_id=case_id,
                                                case_role=form.get("case_role", ""))
    except InvalidInput as exc:
        values = _submitted_values(form)
        values.update(case_id=form.get("case_id", ""), case_role=form.get("case_role", ""))
        return _render_form(None, values, str(exc), 400)
    flash(gettext("Contact %(name)s created.", name=contact.name), "info")
    return redirect(url_for("contacts.show", contact_id=contact.id))


@bp.route("/<int:contact_id>")
@login_required
def show(contact_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    contact = contacts_store.get_contact(db, user, contact_id)
    linked = []
    for case_id in contact.case_ids:
        case = cases_store.find_case(db, user, case_id)
        if case is None:
            continue
        role = next((cc.role for cc in cases_store.case_contacts(db, user, case_id)
                     if cc.contact.id == contact_id), "")
        linked.append((case, role))
    history = contacts_store.contact_history(db, user, contact_id) if user.can("admin") else []
    return render_template("contacts/show.html", contact=contact, linked=linked, history=history,
                           may_change=contacts_store.can_change_contacts(user))


@bp.route("/<int:contact_id>/edit")
@role_required("coordinator")
def edit(contact_id: int) -> ResponseReturnValue:
    contact = contacts_store.get_contact(current_kb().db, signed_in_user(), contact_id)
    return _render_form(contact, form_values(contact))


@bp.route("/<int:contact_id>/edit", methods=["POST"])
@role_required("coordinator")
def update(contact_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    contact = contacts_store.get_contact(db, user, contact_id)
    form = request.form
    try:
        case_id = optional_id(form, "case_id", "a case file")
        with transaction(db):  # the new case link and the change stand or fall together
            if case_id is not None:
                cases_store.link_contact(db, user, case_id, contact_id, form.get("case_role", ""))
            contact = contacts_store.update_contact(db, user, contact_id, contact_fields(form, partial=True))
    except InvalidInput as exc:
        values = _submitted_values(form)
        values.update(case_id=form.get("case_id", ""), case_role=form.get("case_role", ""))
        return _render_form(contact, values, str(exc), 400)
    flash(gettext("Contact saved."), "info")
    return redirect(url_for("contacts.show", contact_id=contact.id))


@bp.route("/<int:contact_id>/delete")
@role_required("coordinator")
def confirm_delete(contact_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    contact = contacts_store.get_contact(db, user, contact_id)
    cases = [c for c in (cases_store.find_case(db, user, i) for i in contact.case_ids) if c]
    return render_template("contacts/delete.html", contact=contact, cases=cases)


@bp.route("/<int:contact_id>/delete", methods=["POST"])
@role_required("coordinator")
def delete(contact_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    contact = contacts_store.get_contact(db, user, contact_id)
    contacts_store.delete_contact(db, user, contact_id)
    flash(gettext("Contact %(name)s deleted.", name=contact.name), "info")
    return redirect(url_for("contacts.index"))


# --- CSV export and import -----------------------------------------------------------------------------


@bp.route("/export.csv", methods=["POST"])
@login_required
def export() -> ResponseReturnValue:
    """The visible contacts matching the list's filters as CSV.

    A POST with its CSRF token: an export of personal data is logged and never started from another site.
    """
    user = signed_in_user()
    out = io.StringIO()
    out.write("\ufeff")  # a byte order mark, so spreadsheets read the names as UTF-8
    contacts_store.export_contacts(current_kb().db, user, out, parse_filters(request.form))
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="contacts-{day}.csv"',
                             "Cache-Control": "no-store"})


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=IMPORT_SALT)


def canonical_text(data: bytes) -> str:
    """The uploaded file as the text both steps import: UTF-8 without BOM, line ends as LF.

    Line ends are normalised because a browser sends a form field's line ends as CRLF; inside a cell they
    mean the same to the import.
    """
    if len(data) > contacts_store.MAX_IMPORT_BYTES:
        megabytes = contacts_store.MAX_IMPORT_BYTES // 1_000_000
        raise InvalidInput(f"the file is larger than {megabytes} MB; split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text: save it as 'CSV UTF-8'") from None
    if "\x00" in text:
        raise InvalidInput("the file holds NUL characters: it is not a CSV text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def import_token(user: User, text: str) -> str:
    """A signed, timed token saying this user previewed exactly this text."""
    return _serializer().dumps({"u": user.id, "h": _digest(text)})


def check_import_token(user: User, text: str, token: str) -> None:
    try:
        data = _serializer().loads(token, max_age=IMPORT_MAX_AGE)
    except BadSignature:
        raise InvalidInput("the preview is older than an hour or not valid: upload the file again") from None
    if not isinstance(data, dict) or data.get("u") != user.id or data.get("h") != _digest(text):
        raise InvalidInput("the file changed since its preview: upload it again")


@bp.url_value_preprocessor
def _room_for_the_file(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the app's CSRF check reads the form: the confirm form carries the whole file as a field.
    if endpoint == "contacts.import_confirm":
        request.max_form_memory_size = IMPORT_FORM_ROOM


def _import_page(report: ImportReport | None = None, text: str = "", token: str = "", error: str = "",
                 status: int = 200) -> ResponseReturnValue:
    return render_template("contacts/import.html", report=report, text=text, token=token, error=error,
                           fields=contacts_store.FIELDS), status


@bp.route("/import")
@role_required("coordinator")
def import_form() -> ResponseReturnValue:
    return _import_page()


@bp.route("/import", methods=["POST"])
@role_required("coordinator")
def import_preview() -> ResponseReturnValue:
    """Step 1: the dry run of the uploaded file, row by row; nothing is written."""
    user = signed_in_user()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(error=gettext("Choose a CSV file to import."), status=400)
    try:
        text = canonical_text(upload.read(contacts_store.MAX_IMPORT_BYTES + 1))
        report = contacts_store.import_contacts(current_kb().db, user, text.encode("utf-8"), dry_run=True)
    except InvalidInput as exc:
        return _import_page(error=str(exc), status=400)
    return _import_page(report, text, import_token(user, text))


@bp.route("/import/confirm", methods=["POST"])
@role_required("coordinator")
def import_confirm() -> ResponseReturnValue:
    """Step 2: the import for real, of exactly the text previewed in step 1."""
    user = signed_in_user()
    try:
        text = canonical_text(request.form.get("csv", "").encode("utf-8"))
        check_import_token(user, text, request.form.get("token", ""))
        report = contacts_store.import_contacts(current_kb().db, user, text.encode("utf-8"))
    except InvalidInput as exc:
        return _import_page(error=str(exc), status=400)
    counts = {action: report.count(action) for action in ("created", "updated", "unchanged", "refused")}
    flash(gettext("Import done: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                  "%(refused)s refused.", **counts), "info")
    return _import_page(report)

"""The register of systems on the web: the list with filters, a system's page (record, status timeline with
its evidence, mentions per month by language, suggested and confirmed items, case files, contacts), the
forms that create and edit a system and add a status step, "maybe a new system" with a one-click draft,
and the country pages (/countries/<code>): a country's systems, its items per month by sector, its open
case files with their deadlines and its latest accepted items.

Who may do what is decided in `kb.systems` (and `kb.contacts` for the contacts of a system): every signed-in
user reads; coordinators and admins change records, timelines and links. The pages offer only what the user
may do; the core refuses the rest (403). A form's mistake is shown next to the field it is about, with what
was typed kept (`field_of` reads which field the core's message names).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import items as items_store
from kb import systems as systems_store
from kb.cases import CaseFile, Deadline
from kb.curation import NO_SECTOR, Series
from kb.errors import Conflict, InvalidInput, KbError, NotFound
from kb.items import Item
from kb.search.service import SearchFilters, search
from kb.storage.db import parse_row_id
from kb.systems import System, SystemLink
from kb.systems.records import TEXT_FIELDS
from kb.text.taxonomy import load_taxonomy
from kb.users import User
from webui.access import current_kb, login_required, role_required, safe_next, signed_in_user
from webui.dashboard import Chart, line_chart
from webui.errors import status_of
from webui.i18n import N_
from webui.templating import language_name, topic_label

bp = Blueprint("systems", __name__)
NAV = ((N_("Systems"), "systems.index", "researcher"),)

NO_STATUS = "none"  # the list's status filter for systems with no step yet
MAX_QUERY = 200
CHART_MONTHS = 36  # months shown at most on a system's chart (the latest)
CHART_MIN_MONTHS = 6
COUNTRY_MONTHS = 12
LATEST_ITEMS = 10
CANDIDATES_SHOWN = 100
# Which form field a message of kb.systems is about: the first (prefix) found in the message wins.
FIELD_WORDS = (
    ("a system needs a name", "name"), ("the name", "name"), ("the alias", "aliases"), ("aliases", "aliases"),
    ("unknown country", "country"), ("unknown sector", "sector"), ("unknown kind of system", "kind"),
    ("unknown right", "rights"), ("the level", "level"), ("impact assessment", "impact_assessment"),
    ("source disclosed", "source_disclosed"), ("the register entry", "register_url"),
    ("organisation", "organisation"), ("external supplier", "external_supplier"),
    ("description", "description"), ("decision", "decision"), ("legal basis", "legal_basis"),
    ("register url", "register_url"), ("notes", "notes"), ("name", "name"),
    # the status form
    ("bad date", "date"), ("the date", "date"), ("the status", "status"), ("say which status", "status"),
    ("the note", "note"), ("item", "item_ids"),
)


# --- reading forms -------------------------------------------------------------------------------------


def field_of(message: str, fields: tuple[str, ...]) -> str:
    """The form field a message of the core is about ("" when it names none of `fields`)."""
    text = message.lower()
    for words, name in FIELD_WORDS:
        if name in fields and text.startswith(words):
            return name
    for words, name in FIELD_WORDS:
        if name in fields and words in text:
            return name
    return ""


def _sentence(text: str) -> str:
    text = text.strip() or gettext("That did not work")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def system_fields(form: MultiDict[str, str], *, editing: bool = False) -> dict[str, object]:
    """The fields of the system form (aliases one per line; rights as checkboxes, marked present)."""
    fields: dict[str, object] = {name: form.get(name, "") for name in TEXT_FIELDS}
    fields["aliases"] = form.get("aliases", "")
    fields["rights"] = [v for v in form.getlist("rights") if v.strip()]
    if editing:
        fields["draft"] = form.get("draft") == "1"
    return fields


def form_values(system: System | None) -> dict[str, object]:
    """What the form boxes show for a system."""
    if system is None:
        return {"rights": [], "impact_assessment": "unknown", "source_disclosed": "unknown"}
    values: dict[str, object] = {name: getattr(system, name) for name in TEXT_FIELDS}
    values["aliases"] = "\n".join(system.aliases)
    values["rights"] = list(system.rights)
    values["draft"] = system.draft
    return values


def _item_ids(form: MultiDict[str, str]) -> list[int]:
    """The evidence of a status step: ticked items and numbers typed in ("12, #15 20")."""
    raw = [v for v in form.getlist("item_ids") if v.strip()]
    raw += (form.get("other_items") or "").replace(",", " ").split()
    return sorted({parse_row_id(v.strip().lstrip("#"), f"item numbers are whole numbers, not {v[:20]!r}")
                   for v in raw})


# --- template helpers ----------------------------------------------------------------------------------


def _countries() -> dict[str, str]:
    """Country codes, topic ids and English names (folded) -> the country's code ("nl")."""
    found: dict[str, str] = {}
    for topic in load_taxonomy().by_facet("country"):
        code = topic.id.partition("/")[2]
        for key in (code, topic.id, topic.label):
            found[key.casefold()] = code
    return found


def country_code(value: str | None) -> str | None:
    """The code of the taxonomy's country that `value` names ("country/nl", "NL", "Netherlands"), or None."""
    return _countries().get((value or "").strip().casefold())


@bp.app_template_global()
def country_page(value: str | None) -> str | None:
    """The URL of the country page of a country tag, facet value or name; None for anything else."""
    code = country_code(value)
    return url_for("systems.country", code=code) if code else None


@bp.app_template_global()
def item_system_links(item_id: int) -> list[SystemLink]:
    """The item's links to systems, suggested and confirmed (rejected ones are not shown on the item)."""
    links = systems_store.links_for_items(current_kb().db, [item_id]).get(item_id, [])
    return [link for link in links if link.state != "rejected"]


@bp.app_template_global()
def system_links_for(items: list[Item]) -> dict[int, list[SystemLink]]:
    """The system links of several items (the curation queue's page), rejected ones left out."""
    found = systems_store.links_for_items(current_kb().db, [item.id for item in items])
    return {item_id: [link for link in links if link.state != "rejected"] for item_id, links in found.items()}


@bp.app_template_global()
def queue_systems() -> list[System]:
    """The register's systems, for the curation queue's filter."""
    return systems_store.list_systems(current_kb().db, signed_in_user())


@bp.app_template_global()
def may_edit_systems() -> bool:
    return systems_store.can_edit_systems(signed_in_user())


def _options(facet: str) -> list[tuple[str, str]]:
    return [(topic.id, topic.label) for topic in load_taxonomy().by_facet(facet)]


def _choices() -> dict[str, object]:
    return {"countries": _options("country"), "sectors": _options("sector"), "kinds": _options("system"),
            "rights_choices": _options("right"), "levels": systems_store.LEVELS,
            "statuses": systems_store.STATUSES, "impact_choices": systems_store.IMPACT_ASSESSMENT,
            "disclosed_choices": systems_store.SOURCE_DISCLOSED}


def _items_by_id(item_ids: list[int]) -> dict[int, Item]:
    return {item.id: item for item in items_store.load_items(current_kb().db, sorted(set(item_ids)))}


def _months_between(first: str, last: str) -> list[str]:
    """Every YYYY-MM from `first` to `last`, at least CHART_MIN_MONTHS (a line needs two points) and at
    most the last CHART_MONTHS."""
    end = (int(last[:4]), int(last[5:7]))
    year, month = end[0], end[1] - (CHART_MIN_MONTHS - 1)
    while month < 1:
        year, month = year - 1, month + 12
    year, month = min((year, month), (int(first[:4]), int(first[5:7])))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months[-CHART_MONTHS:]


def mentions_chart(rows: list[tuple[str, str, int]]) -> Chart | None:
    """Mentions per month by language (kb.systems.mentions_by_month), as the dashboard draws its charts."""
    rows = [r for r in rows if r[0] and len(r[0]) == 7 and r[0][:4].isdigit() and r[0][5:].isdigit()]
    if not rows:
        return None
    months = _months_between(rows[0][0], rows[-1][0])
    position = {month: n for n, month in enumerate(months)}
    counts: dict[str, list[int]] = {}
    for month, language, count in rows:
        if month in position:
            counts.setdefault(language or "und", [0] * len(months))[position[month]] += count
    series = sorted((Series(k, tuple(v)) for k, v in counts.items()), key=lambda s: (-s.total, s.key))
    return line_chart(gettext("Mentions per month by language"), months, series, language_name)


# --- the list and "maybe a new system" -----------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    country: str
    sector: str
    status: str  # a status, NO_STATUS, or "" for any
    q: str

    def arguments(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def parse_list_filters(args: MultiDict[str, str]) -> ListFilters:
    status = (args.get("status") or "").strip().lower()
    if status and status != NO_STATUS and status not in systems_store.STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(systems_store.STATUSES)}, or {NO_STATUS}")
    return ListFilters(country=(args.get("country") or "").strip()[:100],
                       sector=(args.get("sector") or "").strip()[:100], status=status,
                       q=(args.get("q") or "").strip()[:MAX_QUERY])


def find_systems(user: User, filters: ListFilters) -> list[System]:
    status = None if not filters.status else "" if filters.status == NO_STATUS else filters.status
    return systems_store.list_systems(current_kb().db, user, country=filters.country or None,
                                      sector=filters.sector or None, status=status, q=filters.q or None)


@bp.route("/systems")
@login_required
def index() -> ResponseReturnValue:
    user = signed_in_user()
    filters = parse_list_filters(request.args)
    found = find_systems(user, filters)
    return render_template("systems/index.html", systems=found, filters=filters, no_status=NO_STATUS,
                           may_edit=systems_store.can_edit_systems(user), **_choices())


@bp.route("/systems/candidates")
@login_required
def candidates() -> ResponseReturnValue:
    """Items that speak of a kind of system in a country but name no registered system."""
    found = systems_store.possible_new_systems(current_kb().db, limit=CANDIDATES_SHOWN)
    return render_template("systems/candidates.html", candidates=found,
                           may_edit=systems_store.can_edit_systems(signed_in_user()))


@bp.route("/systems/draft", methods=["POST"])
@role_required("coordinator")
def draft() -> ResponseReturnValue:
    """One click on "maybe a new system": a draft system from the item, then its form to check it."""
    item_id = parse_row_id((request.form.get("item_id") or "").strip(), "choose an item from the list")
    name = (request.form.get("name") or "").strip() or None
    try:
        system = systems_store.draft_from_item(current_kb().db, signed_in_user(), item_id, name)
    except (InvalidInput, Conflict) as exc:
        flash(gettext("No draft made from item %(id)s: %(error)s.", id=item_id,
                      error=str(exc).strip().rstrip(".")), "error")
        return redirect(url_for("systems.candidates"))
    flash(gettext("Draft “%(name)s” made from item %(id)s: check every field and save.", name=system.name,
                  id=item_id), "info")
    return redirect(url_for("systems.edit", system_id=system.id))


# --- create and edit -----------------------------------------------------------------------------------


def _render_form(system: System | None, values: dict[str, object], error: str = "",
                 status: int = 200) -> ResponseReturnValue:
    fields = (*TEXT_FIELDS, "aliases", "rights")
    errors = {}
    if error:
        errors[field_of(error, fields) or "form"] = _sentence(error)
    return render_template("systems/form.html", system=system, values=values, errors=errors,
                           **_choices()), status


@bp.route("/systems/new")
@role_required("coordinator")
def new() -> ResponseReturnValue:
    return _render_form(None, form_values(None))


@bp.route("/systems/new", methods=["POST"])
@role_required("coordinator")
def create() -> ResponseReturnValue:
    fields = system_fields(request.form)
    try:
        system = systems_store.create_system(current_kb().db, signed_in_user(), fields)
    except (InvalidInput, Conflict) as exc:
        return _render_form(None, fields, str(exc), 400)
    flash(gettext("System “%(name)s” added to the register.", name=system.name), "info")
    return redirect(url_for("systems.show", system_id=system.id))


@bp.route("/systems/<int:system_id>/edit")
@role_required("coordinator")
def edit(system_id: int) -> ResponseReturnValue:
    system = systems_store.get_system(current_kb().db, signed_in_user(), system_id)
    return _render_form(system, form_values(system))


@bp.route("/systems/<int:system_id>/edit", methods=["POST"])
@role_required("coordinator")
def update(system_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    system = systems_store.get_system(db, user, system_id)
    fields = system_fields(request.form, editing=True)
    try:
        system = systems_store.update_system(db, user, system_id, fields)
    except (InvalidInput, Conflict) as exc:
        return _render_form(system, fields, str(exc), 400)
    flash(gettext("System saved."), "info")
    return redirect(url_for("systems.show", system_id=system_id))


# --- the system page -----------------------------------------------------------------------------------


def _render_show(system_id: int, status_values: dict[str, object] | None = None,
                 status_errors: dict[str, str] | None = None, code: int = 200) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    system = systems_store.get_system(db, user, system_id)
    steps = systems_store.timeline(db, user, system_id)
    links = systems_store.system_links(db, user, system_id)
    suggested = [link for link in links if link.state == "suggested"]
    confirmed = [link for link in links if link.state == "confirmed"]
    items = _items_by_id([link.item_id for link in links if link.state != "rejected"]
                         + [i for step in steps for i in step.item_ids])
    linked_cases = systems_store.system_cases(db, user, system_id)
    contacts = systems_store.system_contacts(db, user, system_id)
    may_edit = systems_store.can_edit_systems(user)
    pickable_cases: list[CaseFile] = []
    pickable_contacts: list[contacts_store.Contact] = []
    may_link_contacts = may_edit and contacts_store.can_change_contacts(user)
    if may_edit:
        linked = {c.case_id for c in linked_cases}
        pickable_cases = [c for c in cases_store.list_cases(db, user) if c.id not in linked]
    if may_link_contacts:
        linked = {c.contact.id for c in contacts}
        pickable_contacts = [c for c in contacts_store.list_contacts(db, user) if c.id not in linked]
    return render_template(
        "systems/show.html", system=system, steps=steps, suggested=suggested, confirmed=confirmed,
        rejected_count=sum(link.state == "rejected" for link in links), items=items,
        chart=mentions_chart(systems_store.mentions_by_month(db, system_id)), cases=linked_cases,
        contacts=contacts, see_contacts=contacts_store.can_see_contacts(user), may_edit=may_edit,
        may_link_contacts=may_link_contacts, pickable_cases=pickable_cases,
        pickable_contacts=pickable_contacts, status_values=status_values or {},
        status_errors=status_errors or {}, statuses=systems_store.STATUSES,
        history=systems_store.system_history(db, user, system_id) if user.can("admin") else [],
        here=url_for("systems.show", system_id=system_id),
    ), code


@bp.route("/systems/<int:system_id>")
@login_required
def show(system_id: int) -> ResponseReturnValue:
    return _render_show(system_id)


@bp.route("/systems/<int:system_id>/status", methods=["POST"])
@role_required("coordinator")
def add_status(system_id: int) -> ResponseReturnValue:
    form = request.form
    values: dict[str, object] = {"status": form.get("status", ""), "date": form.get("date", ""),
                                 "note": form.get("note", ""), "other_items": form.get("other_items", ""),
                                 "item_ids": form.getlist("item_ids")}
    try:
        step = systems_store.add_status(current_kb().db, signed_in_user(), system_id, form.get("status", ""),
                                        form.get("date", ""), note=form.get("note", ""),
                                        item_ids=_item_ids(form))
    except (InvalidInput, NotFound) as exc:
        if isinstance(exc, NotFound) and "system" in str(exc):
            raise
        name = field_of(str(exc), ("status", "date", "note", "item_ids")) or "item_ids"
        return _render_show(system_id, values, {name: _sentence(str(exc))}, 400)
    flash(gettext("Status “%(status)s” on %(date)s added.", status=step.status, date=step.date), "info")
    return redirect(url_for("systems.show", system_id=system_id) + "#timeline")


@bp.route("/systems/<int:system_id>/status/<int:step_id>/remove", methods=["POST"])
@role_required("coordinator")
def remove_status(system_id: int, step_id: int) -> ResponseReturnValue:
    db = current_kb().db
    user = signed_in_user()
    if all(step.id != step_id for step in systems_store.timeline(db, user, system_id)):
        raise NotFound(f"status step {step_id} does not exist in this system's timeline")
    systems_store.remove_status(db, user, step_id)
    flash(gettext("Status step removed."), "info")
    return redirect(url_for("systems.show", system_id=system_id) + "#timeline")


def _wants_json() -> bool:
    """True for the queue's script (fetch with Accept: application/json); a plain form gets a page."""
    return request.accept_mimetypes.best_match(("text/html", "application/json")) == "application/json"


def _decide(system_id: int, item_id: int, state: str) -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    change = systems_store.confirm_link if state == "confirmed" else systems_store.reject_link
    try:
        link = change(db, user, system_id, item_id)
    except KbError as exc:
        if not _wants_json():
            raise
        response = jsonify(ok=False, error=_sentence(str(exc)))
        response.status_code = status_of(exc)
        return response
    message = (gettext("Item %(id)s confirmed as about “%(system)s”.", id=item_id, system=link.system_name)
               if state == "confirmed" else
               gettext("Item %(id)s rejected for “%(system)s”.", id=item_id, system=link.system_name))
    if _wants_json():
        return jsonify(ok=True, message=message, link=link_json(link))
    flash(message, "info")
    default = url_for("systems.show", system_id=system_id) + "#suggested"
    return redirect(safe_next(request.form.get("next"), default))


@bp.route("/systems/<int:system_id>/items/<int:item_id>/confirm", methods=["POST"])
@role_required("coordinator")
def confirm(system_id: int, item_id: int) -> ResponseReturnValue:
    return _decide(system_id, item_id, "confirmed")


@bp.route("/systems/<int:system_id>/items/<int:item_id>/reject", methods=["POST"])
@role_required("coordinator")
def reject(system_id: int, item_id: int) -> ResponseReturnValue:
    return _decide(system_id, item_id, "rejected")


@bp.route("/systems/<int:system_id>/items", methods=["POST"])
@role_required("coordinator")
def link_item(system_id: int) -> ResponseReturnValue:
    """A person links an item by its number (a confirmed link)."""
    try:
        item_id = parse_row_id((request.form.get("item_id") or "").strip().lstrip("#"),
                               "give the item as a number")
        systems_store.link_item(current_kb().db, signed_in_user(), system_id, item_id)
    except (InvalidInput, NotFound) as exc:
        if isinstance(exc, NotFound) and "system" in str(exc):
            raise
        flash(_sentence(str(exc)), "error")
    else:
        flash(gettext("Item %(id)s linked.", id=item_id), "info")
    return redirect(url_for("systems.show", system_id=system_id) + "#confirmed")


def _link(system_id: int, anchor: str, action: Any) -> ResponseReturnValue:
    try:
        message = action()
    except (InvalidInput, NotFound) as exc:
        if isinstance(exc, NotFound) and "system" in str(exc):
            raise
        flash(_sentence(str(exc)), "error")
    else:
        flash(message, "info")
    return redirect(url_for("systems.show", system_id=system_id) + f"#{anchor}")


@bp.route("/systems/<int:system_id>/cases", methods=["POST"])
@role_required("coordinator")
def link_case(system_id: int) -> ResponseReturnValue:
    def act() -> str:
        case_id = parse_row_id((request.form.get("case_id") or "").strip(),
                               "choose a case file from the list")
        linked = systems_store.link_case(current_kb().db, signed_in_user(), system_id, case_id)
        return gettext("Case file linked.") if linked else gettext("That case file was linked already.")

    return _link(system_id, "cases", act)


@bp.route("/systems/<int:system_id>/cases/<int:case_id>/unlink", methods=["POST"])
@role_required("coordinator")
def unlink_case(system_id: int, case_id: int) -> ResponseReturnValue:
    return _link(system_id, "cases", lambda: gettext("Case file unlinked.") if systems_store.unlink_case(
        current_kb().db, signed_in_user(), system_id, case_id) else gettext("That case file was not linked."))


@bp.route("/systems/<int:system_id>/contacts", methods=["POST"])
@role_required("coordinator")
def link_contact(system_id: int) -> ResponseReturnValue:
    def act() -> str:
        contact_id = parse_row_id((request.form.get("contact_id") or "").strip(),
                                  "choose a contact from the list")
        systems_store.link_contact(current_kb().db, signed_in_user(), system_id, contact_id,
                                   request.form.get("role", ""))
        return gettext("Contact linked.")

    return _link(system_id, "contacts", act)


@bp.route("/systems/<int:system_id>/contacts/<int:contact_id>/unlink", methods=["POST"])
@role_required("coordinator")
def unlink_contact(system_id: int, contact_id: int) -> ResponseReturnValue:
    def act() -> str:
        unlinked = systems_store.unlink_contact(current_kb().db, signed_in_user(), system_id, contact_id)
        return gettext("Contact unlinked.") if unlinked else gettext("That contact was not linked.")

    return _link(system_id, "contacts", act)


# --- country pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountryCase:
    case: CaseFile
    deadlines: list[Deadline]  # not done, soonest first


def _last_months(today: date, count: int) -> list[tuple[str, date, date]]:
    """(YYYY-MM, first day, last day) of the `count` months up to this one, oldest first."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        last_day = date(year, month, monthrange(year, month)[1])
        months.append((f"{year:04d}-{month:02d}", date(year, month, 1), last_day))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def country_chart(topic_id: str, user: User, today: date) -> Chart:
    """Items (not rejected) per month by sector for the country, counted by the search (its facets)."""
    kb = current_kb()
    months = _last_months(today, COUNTRY_MONTHS)
    counts: dict[str, list[int]] = {}
    for n, (_, first, last) in enumerate(months):
        filters = SearchFilters(country=(topic_id,), kind=("item",), status=("new", "accepted"),
                                date_from=first, date_to=last)
        results = search(kb, "", filters, user=user, page_size=1)
        by_sector = results.facets.get("sector", {})
        for sector, count in by_sector.items():
            counts.setdefault(sector.partition("/")[2] or sector, [0] * len(months))[n] += count
        without = results.total - sum(by_sector.values())
        if without > 0:  # an item of two sectors counts in both, so this is a floor
            counts.setdefault(NO_SECTOR, [0] * len(months))[n] += without
    series = sorted((Series(k, tuple(v)) for k, v in counts.items()),
                    key=lambda s: (s.key == NO_SECTOR, -s.total, s.key))
    return line_chart(gettext("Items per month by sector"), [m[0] for m in months], series,
                      lambda key: gettext("No sector") if key == NO_SECTOR else topic_label(f"sector/{key}"))


def country_cases(user: User, code: str, systems: list[System]) -> list[CountryCase]:
    """Open case files of the country: those whose country field names it, and those linked to its systems."""
    db = current_kb().db
    linked = {c.case_id for s in systems for c in systems_store.system_cases(db, user, s.id)}
    found = []
    for case in cases_store.list_cases(db, user, status="open"):
        if case.id in linked or country_code(case.country) == code:
            deadlines = [d for d in cases_store.case_deadlines(db, user, case.id) if not d.done]
            found.append(CountryCase(case, deadlines))
    return found


@bp.route("/countries")
@login_required
def countries() -> ResponseReturnValue:
    user = signed_in_user()
    counts: dict[str, int] = {}
    for system in systems_store.list_systems(current_kb().db, user):
        counts[system.country] = counts.get(system.country, 0) + 1
    rows = [(topic_id.partition("/")[2], label, counts.get(topic_id, 0))
            for topic_id, label in _options("country")]
    return render_template("systems/countries.html", rows=sorted(rows, key=lambda r: r[1]))


@bp.route("/countries/<code>")
@login_required
def country(code: str) -> ResponseReturnValue:
    user = signed_in_user()
    kb = current_kb()
    found = country_code(code)
    if found is None:
        raise NotFound(f"the taxonomy follows no country {code[:20]!r}")
    if found != code:  # "NL" or "country/nl": the one address of the page
        return redirect(url_for("systems.country", code=found))
    topic_id = f"country/{code}"
    systems = systems_store.list_systems(kb.db, user, country=topic_id)
    accepted = SearchFilters(country=(topic_id,), kind=("item",), status=("accepted",))
    latest = search(kb, "", accepted, user=user, sort="newest", page_size=LATEST_ITEMS)
    today = datetime.now(kb.settings.tz).date()
    return render_template("systems/country.html", code=code, label=topic_label(topic_id), systems=systems,
                           chart=country_chart(topic_id, user, today),
                           cases=country_cases(user, code, systems), latest=latest.hits,
                           today=today.isoformat())


# --- the JSON API's records (webui.api serves them) ----------------------------------------------------


def system_json(system: System) -> dict[str, Any]:
    record: dict[str, Any] = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(system).items()}
    return record


def link_json(link: SystemLink) -> dict[str, Any]:
    return {"system_id": link.system_id, "system_name": link.system_name, "item_id": link.item_id,
            "state": link.state, "origin": link.origin, "evidence": list(link.evidence),
            "decided_at": link.decided_at}


def system_detail_json(system_id: int, user: User) -> dict[str, Any]:
    """A system with its status timeline and its confirmed items."""
    db = current_kb().db
    system = systems_store.get_system(db, user, system_id)
    record = system_json(system)
    record["timeline"] = [{"id": s.id, "status": s.status, "date": s.date, "note": s.note,
                           "item_ids": list(s.item_ids)} for s in systems_store.timeline(db, user, system_id)]
    confirmed = systems_store.system_links(db, user, system_id, state="confirmed")
    items = _items_by_id([link.item_id for link in confirmed])
    record["items"] = [{"id": item.id, "title": item.title, "url": item.url, "published": item.published,
                        "language": item.language}
                       for item in (items.get(link.item_id) for link in confirmed) if item]
    return record


def list_json(args: MultiDict[str, str], user: User) -> dict[str, Any]:
    found = find_systems(user, parse_list_filters(args))
    return {"total": len(found), "systems": [system_json(s) for s in found]}

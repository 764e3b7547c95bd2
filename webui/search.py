"""The search page (home): one query box, facets with counts, highlighted results, export, saved searches.

Facets are multi-select: the values chosen in one facet are alternatives (OR), facets combine (AND); each
value is a link that adds it to or takes it from the address, so the query and the filters are always in
the URL, and "Clear all filters" keeps the query. `words_only=1` (the "Words only" box) turns concept
expansion off, as a query starting with `=` does.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from kb import cases as cases_store
from kb import items as items_store
from kb import sources as sources_store
from kb import systems as systems_store
from kb.errors import InvalidInput
from kb.search import saved as saved_searches
from kb.search.concepts import readable_key
from kb.search.saved import SavedSearch
from kb.search.service import SearchFilters, SearchHit, SearchResults, search
from kb.users import User
from webui.access import current_kb, login_required, signed_in_user
from webui.i18n import N_, key_label
from webui.templating import language_name, link_to, topic_label

bp = Blueprint("search", __name__)
NAV = ((N_("Search"), "search.index", "researcher"),)

FACETS = (("language", N_("Language")), ("sector", N_("Sector")), ("topic", N_("Topic")),
          ("country", N_("Country")), ("source", N_("Source")), ("status", N_("Status")),
          ("case", N_("Case file")), ("system", N_("System")))
FACET_NAMES = tuple(name for name, _ in FACETS)
FILTER_NAMES = (*FACET_NAMES, "kind")  # "kind" (item, contact, case) filters without a facet of its own
SORTS = ("relevance", "newest")
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 500
MAX_QUERY = 500
MAX_VALUES = 50
EXPORT_LIMIT = 5_000
EXPORT_FIELDS = ("id", "title", "url", "canonical_url", "published", "language", "language_name", "topics",
                 "topic_labels", "sectors", "countries", "status", "in_digest", "relevant", "author",
                 "sources", "cases", "summary", "text", "created_at")
# Spreadsheet programs run cells starting with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SearchRequest:
    query: str
    filters: SearchFilters
    sort: str
    page: int
    page_size: int
    expand: bool = True  # concept expansion (off: words_only=1)
    cut: bool = False  # the query was longer than MAX_QUERY and was cut


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    href: str


@dataclass(frozen=True)
class Facet:
    name: str
    title: str
    values: list[FacetValue]


def _date(args: MultiDict[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date written YYYY-MM-DD, not {raw[:20]!r}") from exc


def _int(args: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return min(max(int(raw), low), high)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a whole number") from exc


def parse_request(args: MultiDict[str, str], *, default_page_size: int = PAGE_SIZE) -> SearchRequest:
    """The query, filters, sort and page of a search page, export or API call (the same arguments for all)."""
    values = {name: tuple(dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip()))[:MAX_VALUES]
              for name in FILTER_NAMES}
    filters = SearchFilters(**values, date_from=_date(args, "from"), date_to=_date(args, "to"))
    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")
    query = (args.get("q") or "").strip()
    return SearchRequest(
        query=query[:MAX_QUERY],
        filters=filters,
        sort=sort,
        page=_int(args, "page", 1, 1, MAX_PAGE),
        page_size=_int(args, "page_size", default_page_size, 1, MAX_PAGE_SIZE),
        expand=(args.get("words_only") or "") not in ("1", "on", "true"),
        cut=len(query) > MAX_QUERY,
    )


def run_search(parsed: SearchRequest, user: User) -> SearchResults:
    """The search with the user's access (kb.search applies the contact rule of kb.contacts)."""
    results = search(current_kb(), parsed.query, parsed.filters, user=user, sort=parsed.sort,
                     page=parsed.page, page_size=parsed.page_size, expand=parsed.expand)
    if parsed.cut:
        results.notes.insert(0, gettext("The query was longer than %(max)s characters: only the first "
                                        "%(max)s were searched.", max=MAX_QUERY))
    return results


def _topic_name(value: str) -> str:
    """A topic's label; for a topic the taxonomy no longer has, its key in words (never `country/xx`)."""
    label = topic_label(value)
    return readable_key(value) if label == value else label


def facet_labeller(user: User) -> dict[str, Any]:
    """Functions turning a facet value into words, per facet."""
    db = current_kb().db
    source_names = {str(s.id): s.name or s.url for s in sources_store.list_sources(db)}
    case_titles = {str(c.id): c.title for c in cases_store.list_cases(db, user)}
    system_names = {str(s.id): s.name for s in systems_store.list_systems(db, user)}
    return {
        "language": language_name,
        "sector": _topic_name,
        "topic": _topic_name,
        "country": _topic_name,
        "source": lambda v: source_names.get(v, gettext("Source %(id)s", id=v)),
        "status": lambda v: key_label("status_name", v),
        "case": lambda v: case_titles.get(v, gettext("Case %(id)s", id=v)),
        "system": lambda v: system_names.get(v, gettext("A system no longer in the register")),
    }


def _toggle(args: MultiDict[str, str], name: str, value: str) -> str:
    current = [v for v in args.getlist(name) if v]
    changed = [v for v in current if v != value] if value in current else [*current, value]
    rest: dict[str, Any] = {k: args.getlist(k) for k in args if k not in (name, "page")}
    if changed:
        rest[name] = changed
    return url_for("search.index", **rest)


def build_facets(results: SearchResults, parsed: SearchRequest, user: User) -> list[Facet]:
    labels = facet_labeller(user)
    facets = []
    for name, title in FACETS:
        counts = dict(results.facets.get(name, {}))
        selected = getattr(parsed.filters, name)
        if name == "topic":  # sectors and countries have facets of their own
            counts = {v: n for v, n in counts.items() if v.partition("/")[0] not in ("sector", "country")}
        for value in selected:  # a chosen value stays visible (to unselect it) even with no hits left
            counts.setdefault(value, 0)
        values = [FacetValue(value, labels[name](value), count, value in selected,
                             _toggle(request.args, name, value))
                  for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        if values:
            facets.append(Facet(name, gettext(title), values))
    return facets


def clear_filters_url(args: MultiDict[str, str]) -> str | None:
    """The search page with the same query, sort, dates and toggle but no facet value chosen; None when
    none is."""
    if not any(v for name in FILTER_NAMES for v in args.getlist(name)):
        return None
    rest: dict[str, Any] = {k: args.getlist(k) for k in args if k not in (*FILTER_NAMES, "page")}
    return url_for("search.index", **rest)


def hit_link(hit: SearchHit) -> str | None:
    """Where a result leads inside the product (items; contacts and cases when those pages exist)."""
    return link_to(f"{hit.kind}s.show", **{f"{hit.kind}_id": hit.id})


def _pages(page: int, pages: int) -> list[int]:
    window = range(max(1, page - 3), min(pages, page + 3) + 1)
    return sorted({1, pages, *window})


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    user = signed_in_user()
    parsed = parse_request(request.args)
    results = run_search(parsed, user)
    pages = max(1, math.ceil(results.total / results.page_size)) if results.page_size else 1
    # A page beyond the results (an old link, a hand-made address) says so, with the way to the last one.
    past_last = min(pages, results.pages) if results.total and not results.hits and results.page > 1 else None
    asked_page = _int(request.args, "page", 1, 1, 10**9)  # as asked for (parse_request bounds it to MAX_PAGE)
    db = current_kb().db
    saved = saved_searches.list_saved_searches(db, user.id)
    # Sources and status are shown from the stored items (one query for the page's hits).
    hit_ids = [int(h.id) for h in results.hits if h.kind == "item"]
    items_by_id = {item.id: item for item in items_store.load_items(db, hit_ids)}
    arguments: dict[str, Any] = {k: request.args.getlist(k) for k in request.args if k != "page"}
    return render_template(
        "search/index.html", parsed=parsed, results=results, facets=build_facets(results, parsed, user),
        pages=pages, past_last=past_last, asked_page=asked_page, clear_url=clear_filters_url(request.args),
        page_numbers=_pages(results.page, pages), hit_link=hit_link, saved=saved,
        items_by_id=items_by_id,
        selected={name: getattr(parsed.filters, name) for name in FACET_NAMES}, arguments=arguments,
        csv_url=url_for("search.export", fmt="csv", **arguments),
        json_url=url_for("search.export", fmt="json", **arguments),
        suggestion_url=url_for("search.index", **{**arguments, "q": results.suggestion})
        if results.suggestion else None,
    )


def _export_records(parsed: SearchRequest, user: User) -> list[dict[str, object]]:
    """Every item the search finds (up to EXPORT_LIMIT), as `kb items export` records, in result order."""
    ids: list[int] = []
    page = 1
    while len(ids) < EXPORT_LIMIT:
        one_page = SearchRequest(parsed.query, parsed.filters, parsed.sort, page, MAX_PAGE_SIZE,
                                 parsed.expand)
        results = run_search(one_page, user)
        ids.extend(int(h.id) for h in results.hits if h.kind == "item")
        if not results.hits or page * MAX_PAGE_SIZE >= results.total:
            break
        page += 1
    loaded = items_store.load_items(current_kb().db, ids[:EXPORT_LIMIT])
    return [items_store.export_record(item) for item in loaded]


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, list | tuple):
        text = "; ".join(str(v) for v in value)
    elif value is None:
        text = ""
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@bp.route("/search/export.<fmt>")
@login_required
def export(fmt: str) -> ResponseReturnValue:
    """The results as CSV or JSON (every page, up to EXPORT_LIMIT items)."""
    if fmt not in ("csv", "json"):
        abort(404)
    parsed = parse_request(request.args)
    records = _export_records(parsed, signed_in_user())
    headers = {"Content-Disposition": f'attachment; filename="search-results.{fmt}"'}
    if fmt == "json":
        body = json.dumps({"query": parsed.query, "total": len(records), "items": records},
                          ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/json", headers=headers)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    for record in records:
        writer.writerow([spreadsheet_cell(record.get(name)) for name in EXPORT_FIELDS])
    return Response(out.getvalue(), mimetype="text/csv", headers=headers)


@bp.route("/saved-searches", methods=["POST"])
@login_required
def save() -> ResponseReturnValue:
    """Save the current query and filters under a name."""
    user = signed_in_user()
    parsed = parse_request(request.form)
    saved = saved_searches.create_saved_search(current_kb().db, user.id, request.form.get("name", ""),
                                               parsed.query, parsed.filters, words_only=not parsed.expand)
    flash(gettext("Search saved as “%(name)s”.", name=saved.name), "info")
    return redirect(saved_search_url(saved))


@bp.route("/saved-searches/<int:search_id>/delete", methods=["POST"])
@login_required
def delete_saved(search_id: int) -> ResponseReturnValue:
    saved_searches.delete_saved_search(current_kb().db, signed_in_user().id, search_id)
    flash(gettext("Saved search deleted."), "info")
    return redirect(url_for("search.index"))


def filter_arguments(filters: SearchFilters) -> dict[str, Any]:
    """The query-string arguments of the search page that give these filters."""
    arguments: dict[str, Any] = {name: list(getattr(filters, name)) for name in FILTER_NAMES
                                 if getattr(filters, name)}
    if filters.date_from:
        arguments["from"] = filters.date_from.isoformat()
    if filters.date_to:
        arguments["to"] = filters.date_to.isoformat()
    return arguments


@bp.app_template_global()
def saved_search_url(saved: SavedSearch) -> str:
    """The search page running a saved search (with "Words only" ticked if it was saved so)."""
    return url_for("search.index", q=saved.query or None, **filter_arguments(saved.filters),
                   words_only="1" if saved.words_only else None)

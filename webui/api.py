"""The JSON API (/api/v1/): the same users, roles and functions as the pages.

Authenticate with the session (POSTs then need the X-CSRFToken header) or a personal token sent as
`Authorization: Bearer kbt_...` (made on the profile page or with `kb users token EMAIL`; exempt from CSRF).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from kb import cases as cases_store
from kb import curation
from kb import items as items_store
from kb.curation import Change
from kb.errors import InvalidInput
from kb.items import Item
from kb.users import User
from webui.access import current_kb, login_required, signed_in_user
from webui.search import parse_request, run_search
from webui.systems import item_system_links, link_json, list_json, system_detail_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CURATION_KEYS = frozenset({"status", "in_digest", "tags", "note", "case_id"})


def item_json(item: Item, user: User) -> dict[str, Any]:
    """An item as the API returns it: the export record plus tags with evidence, decision, notes, cases."""
    db = current_kb().db
    record: dict[str, Any] = items_store.export_record(item)
    record["tags"] = [
        {"topic": t.topic, "state": t.state, "origin": t.origin, "confirmed": t.confirmed,
         "evidence": list(t.evidence), "decided_at": t.decided_at}
        for t in item.tags
    ]
    record["sources"] = [{"id": s.source_id, "name": s.name, "url": s.url, "entry_url": s.entry_url,
                          "first_seen": s.first_seen} for s in item.sources]
    record["decision"] = curation.decision(db, item.id).as_json()
    record["notes"] = [note.as_json() for note in curation.list_notes(db, item.id)]
    record["cases"] = [{"id": c.id, "title": c.title, "status": c.status}
                       for c in (cases_store.find_case(db, user, cid) for cid in item.case_ids) if c]
    record["systems"] = [link_json(link) for link in item_system_links(item.id)]
    return record


def _strings(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{what} must be a list of topic ids")
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def change_from_json(body: object) -> Change:
    """The change a JSON body asks for; every field optional, unknown fields refused."""
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object (Content-Type: application/json)")
    unknown = sorted(set(body) - CURATION_KEYS)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)[:200]}")
    status = body.get("status")
    if status is not None and not isinstance(status, str):
        raise InvalidInput("status must be a string")
    in_digest = body.get("in_digest")
    if in_digest is not None and not isinstance(in_digest, bool):
        raise InvalidInput("in_digest must be true or false")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or set(tags) - {"add", "remove"}:
        raise InvalidInput('tags must be an object like {"add": [...], "remove": [...]}')
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise InvalidInput("note must be a string")
    case_id = body.get("case_id")
    if case_id is not None and (not isinstance(case_id, int) or isinstance(case_id, bool)):
        raise InvalidInput("case_id must be a number")
    return Change(status=status, in_digest=in_digest, add_tags=_strings(tags.get("add"), "tags.add"),
                  remove_tags=_strings(tags.get("remove"), "tags.remove"), case_id=case_id, note=note)


@bp.route("/search")
@login_required
def search() -> ResponseReturnValue:
    """GET /api/v1/search?q=...&language=fr&sector=sector/health&sort=newest&page=2 (as the search page)."""
    results = run_search(parse_request(request.args), signed_in_user())
    return jsonify({**results.as_json(), "page": results.page, "page_size": results.page_size,
                    "pages": results.pages})


@bp.route("/items/<int:item_id>")
@login_required
def item(item_id: int) -> ResponseReturnValue:
    return jsonify(item_json(items_store.get_item(current_kb().db, item_id), signed_in_user()))


@bp.route("/items/<int:item_id>/curation", methods=["POST"])
@login_required
def curate(item_id: int) -> ResponseReturnValue:
    """Change status, digest mark, tags, case link and/or add a note; a note alone needs no coordinator."""
    user = signed_in_user()
    change = change_from_json(request.get_json(silent=True))
    if not change.only_note and not user.can("coordinator"):
        abort(403, "curation needs the coordinator role")
    db = current_kb().db
    curation.apply(db, [item_id], change, user.id)
    return jsonify(item_json(items_store.get_item(db, item_id), user))


@bp.route("/systems")
@login_required
def systems() -> ResponseReturnValue:
    """GET /api/v1/systems?country=nl&sector=welfare&status=in+use&q=syri (as the register's list)."""
    return jsonify(list_json(request.args, signed_in_user()))


@bp.route("/systems/<int:system_id>")
@login_required
def system(system_id: int) -> ResponseReturnValue:
    """A system with its status timeline and its confirmed items."""
    return jsonify(system_detail_json(system_id, signed_in_user()))

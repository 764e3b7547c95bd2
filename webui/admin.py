"""Administration (admins only): users (add, change role or name, deactivate and reactivate, reset a
password), everyone's API tokens (revoke, after a confirmation), and the audit log: filtered by person,
kind of record and dates, read as sentences with before/after, paged, and exported as CSV.

The history tables of case files, contacts, systems and items use the same readable form (`readable_audit`,
a template global) and the same rows (admin/_entry.html).
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from kb import contacts as contacts_store
from kb import users as users_store
from kb.contacts import spreadsheet_safe
from kb.errors import InvalidInput, NotFound
from kb.storage import audit
from kb.users import ROLES
from webui.access import current_kb, refresh_session_version, role_required, signed_in_user
from webui.i18n import N_, key_label
from webui.taxonomy import language_label
from webui.templating import topic_label, when

bp = Blueprint("admin", __name__, url_prefix="/admin")
NAV = ((N_("Users"), "admin.users", "admin"), (N_("Audit log"), "admin.audit_log", "admin"))
PAGE_SIZE = 50
MAX_EXPORT = 100_000
# The CSV: keys in their own columns for machines, then the same entry as a person reads it.
CSV_COLUMNS = ("id", "at_utc", "user_id", "user_email", "action", "entity", "entity_id", "details_json",
               "when", "who", "what", "record", "changes")


@bp.route("/users")
@role_required("admin")
def users() -> ResponseReturnValue:
    return render_template("admin/users.html", people=users_store.list_users(current_kb().db), roles=ROLES)


@bp.route("/users", methods=["POST"])
@role_required("admin")
def add_user() -> ResponseReturnValue:
    form = request.form
    password = form.get("password", "")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    user = users_store.add_user(current_kb().db, form.get("email", ""), password, form.get("role", ""),
                                name=form.get("name", ""), by=signed_in_user().id)
    if generated:  # shown once, in this response only
        return render_template("admin/password.html", person=user, password=password, created=True)
    role = key_label("role_label", user.role)
    flash(gettext("%(email)s can now sign in as %(role)s.", email=user.email, role=role), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>", methods=["POST"])
@role_required("admin")
def update_user(user_id: int) -> ResponseReturnValue:
    """Change role, name or active flag; a role change or deactivation signs the user out everywhere."""
    me = signed_in_user()
    form = request.form
    role = form.get("role") or None
    active = {"1": True, "0": False}.get(form.get("active", ""))
    if user_id == me.id and ((role is not None and role != me.role) or active is False):
        raise InvalidInput("you cannot change your own role or deactivate yourself; ask another admin")
    name = form.get("name")
    person = users_store.update_user(current_kb().db, user_id, role=role, active=active, name=name, by=me.id)
    flash(gettext("%(email)s updated.", email=person.email), "info")
    return redirect(url_for("admin.users") + f"#user-{user_id}")


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required("admin")
def reset_password(user_id: int) -> ResponseReturnValue:
    """Set a new password (typed, or generated and shown once); the user's sessions end."""
    db = current_kb().db
    person = users_store.get_user(db, user_id)
    password = request.form.get("password", "")
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    me = signed_in_user()
    users_store.set_password(db, user_id, password, by=me.id)
    if user_id == me.id:  # their own: keep this session, end the others
        refresh_session_version(users_store.get_user(db, user_id))
    if generated:
        return render_template("admin/password.html", person=person, password=password, created=False)
    flash(gettext("The password of %(email)s is reset; their sessions are ended.", email=person.email),
          "info")
    return redirect(url_for("admin.users"))


# --- API tokens -------------------------------------------------------------------------------------------


@bp.route("/tokens")
@role_required("admin")
def tokens() -> ResponseReturnValue:
    return render_template("admin/tokens.html", tokens=users_store.list_all_tokens(current_kb().db))


def _token_or_404(token_id: int) -> users_store.ApiToken:
    token = users_store.find_token(current_kb().db, token_id)
    if token is None or token.revoked_at is not None:
        raise NotFound(f"token {token_id} does not exist or is revoked already")
    return token


@bp.route("/tokens/<int:token_id>/revoke")
@role_required("admin")
def confirm_revoke(token_id: int) -> ResponseReturnValue:
    return render_template("admin/revoke.html", token=_token_or_404(token_id))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke anyone's token once confirmed; programs using it get 401 from then on."""
    token = _token_or_404(token_id)
    if request.form.get("confirm") != "yes":
        return render_template("admin/revoke.html", token=token,
                               error=gettext("Tick the box to confirm, then press Revoke.")), 400
    users_store.revoke_token(current_kb().db, token.user_id, token_id, by=signed_in_user())
    flash(gettext("The token %(name)s of %(owner)s is revoked.", name=token.name or gettext("(unnamed)"),
                  owner=token.owner), "info")
    return redirect(url_for("admin.tokens"))


# --- the audit log ----------------------------------------------------------------------------------------


@dataclass
class AuditQuery:
    """The audit log's filters as typed (kept on the form), and what is wrong with them, by field."""

    person: str = ""
    kind: str = ""
    since: str = ""  # YYYY-MM-DD, in the lab's time zone
    until: str = ""  # YYYY-MM-DD, inclusive
    page: str = "1"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, args: MultiDict[str, str]) -> AuditQuery:
        return cls(args.get("person", "").strip(), args.get("kind", "").strip(), args.get("from", "").strip(),
                   args.get("to", "").strip(), args.get("page", "1").strip() or "1")

    def _date(self, name: str, text: str) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.errors[name] = gettext("“%(text)s” is not a date: pick one, or type it as 2026-03-31.",
                                        text=text[:40])
            return None

    def check(self, people: Sequence[tuple[int, str]]) -> audit.AuditFilter:
        """The filter for kb; mistakes land in `errors` (the filter then leaves that field out)."""
        person_id = None
        if self.person:
            if self.person.isascii() and self.person.isdigit() and int(self.person) in {p for p, _ in people}:
                person_id = int(self.person)
            else:
                self.errors["person"] = gettext("Choose a person from the list.")
        if self.kind and self.kind not in audit.KINDS:
            self.errors["kind"] = gettext("Choose a kind of record from the list.")
        since, until = self._date("from", self.since), self._date("to", self.until)
        if since and until and since > until:
            self.errors["to"] = gettext("The end date is before the start date.")
        if not (self.page.isascii() and self.page.isdigit() and int(self.page) >= 1):
            self.errors["page"] = gettext("The page number must be a whole number from 1.")
        tz = current_kb().settings.tz
        return audit.AuditFilter(
            person_id=person_id, entity=self.kind if "kind" not in self.errors else None,
            since=datetime.combine(since, time(0), tz) if since else None,
            before=(datetime.combine(until + timedelta(days=1), time(0), tz)
                    if until and "to" not in self.errors else None))

    @property
    def page_number(self) -> int:
        return int(self.page) if "page" not in self.errors else 1

    def args(self) -> dict[str, str]:
        """The filters as query arguments (for the CSV link and the pager)."""
        pairs = {"person": self.person, "kind": self.kind, "from": self.since, "to": self.until}
        return {k: v for k, v in pairs.items() if v}


def readable_audit(entries: Sequence[audit.AuditEntry]) -> list[audit.ReadableEntry]:
    """Entries as a person reads them, in their language: names and titles, before/after, topic labels;
    a contact the signed-in user may not see is named "a restricted contact" (kb.contacts' rule)."""
    db = current_kb().db
    return audit.readable(db, entries, topic_label=topic_label, language_label=language_label,
                          translate=gettext,
                          visible_contacts=contacts_store.visible_contact_ids(db, signed_in_user()))


@bp.app_template_global("readable_audit")
def _readable_audit(entries: Sequence[audit.AuditEntry]) -> list[audit.ReadableEntry]:
    return readable_audit(entries)


@bp.route("/audit")
@role_required("admin")
def audit_log() -> ResponseReturnValue:
    db = current_kb().db
    people = audit.people(db)
    query = AuditQuery.read(request.args)
    where = query.check(people)
    total = 0 if query.errors else audit.count(db, where)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = query.page_number
    found = [] if query.errors or page > pages else \
        audit.entries(db, where=where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    kinds = {key: gettext(label) for key, label in audit.KINDS.items()}
    return render_template("admin/audit.html", query=query, people=people, kinds=kinds,
                           entries=readable_audit(found), total=total, page=page, pages=pages,
                           page_size=PAGE_SIZE), (400 if query.errors else 200)


def _csv_rows(entries: Sequence[audit.ReadableEntry]) -> Iterator[list[str]]:
    for r in entries:
        e = r.entry
        cells = [str(e.id), e.at, "" if e.user_id is None else str(e.user_id), e.user_email or "", e.action,
                 e.entity, "" if e.entity_id is None else str(e.entity_id),
                 audit.details_json(e.details), when(e.at), r.who, r.action,
                 f"{r.kind} {r.record}".strip(), r.details_text()]
        yield [spreadsheet_safe(cell) for cell in cells]


@bp.route("/audit.csv")
@role_required("admin")
def audit_csv() -> ResponseReturnValue:
    """The entries matching the filters (all pages, newest first) as CSV; the export is itself logged."""
    db = current_kb().db
    query = AuditQuery.read(request.args)
    where = query.check(audit.people(db))
    if query.errors:
        raise InvalidInput("; ".join(query.errors.values()))
    found = audit.entries(db, where=where, limit=MAX_EXPORT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_rows(readable_audit(found)))
    used: dict[str, object] = {"user_id": where.person_id, "kind": where.entity, "from": query.since,
                               "to": query.until}
    audit.log_export(db, signed_in_user().id, len(found), {k: v for k, v in used.items() if v})
    stamp = datetime.now(current_app.extensions["kb"].settings.tz).strftime("%Y-%m-%d")
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'})

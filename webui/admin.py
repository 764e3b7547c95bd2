"""User management (admins): list, add, change role or name, deactivate and reactivate, reset a password."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from kb import users as users_store
from kb.errors import InvalidInput
from kb.users import ROLES
from webui.access import current_kb, refresh_session_version, role_required, signed_in_user

bp = Blueprint("admin", __name__, url_prefix="/admin")
NAV = (("Users", "admin.users", "admin"),)


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
    flash(f"{user.email} can now sign in as {user.role}.", "info")
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
    flash(f"{person.email} updated.", "info")
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
    flash(f"The password of {person.email} is reset; their sessions are ended.", "info")
    return redirect(url_for("admin.users"))

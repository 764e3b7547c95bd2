"""Signing in and out (each attempt, success or failure, is audited), and the profile page: own password and
personal API tokens."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext

from kb import users as users_store
from kb.errors import InvalidInput
from webui.access import (
    current_kb,
    current_user,
    login_required,
    refresh_session_version,
    safe_next,
    signed_in_user,
    start_session,
)
from webui.ratelimit import FailureLimiter

bp = Blueprint("auth", __name__)


def _limits() -> tuple[FailureLimiter, FailureLimiter]:
    return current_app.extensions["kb_sign_in_limits"]  # type: ignore[no-any-return]


@bp.route("/login", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Email and password; failures are throttled per account and per address."""
    target = safe_next(request.values.get("next"), url_for("search.index"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target)
        return render_template("auth/sign_in.html", next=target, email="")
    email = request.form.get("email", "").strip()[:254]
    password = request.form.get("password", "")[:1024]
    per_account, per_address = _limits()
    account_key = email.lower()
    address_key = request.remote_addr or "unknown"
    wait = max(per_account.retry_after(account_key), per_address.retry_after(address_key))
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        message = ngettext("Too many failed sign-ins. Try again in %(num)s minute.",
                           "Too many failed sign-ins. Try again in %(num)s minutes.", minutes)
        return render_template("auth/sign_in.html", next=target, email=email, error=message), 429
    user = users_store.sign_in(current_kb().db, email, password, address=address_key)  # audited either way
    if user is None:
        per_account.fail(account_key)
        per_address.fail(address_key)
        return render_template("auth/sign_in.html", next=target, email=email,
                               error=gettext("Wrong e-mail address or password.")), 200
    per_account.reset(account_key)
    start_session(user)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def sign_out() -> ResponseReturnValue:
    """End every session of the user on the server, not only this cookie."""
    user = current_user()
    if user is not None:
        users_store.end_sessions(current_kb().db, user.id, signing_out=True)
    session.clear()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/profile")
@login_required
def profile() -> ResponseReturnValue:
    user = signed_in_user()
    tokens = users_store.list_tokens(current_kb().db, user.id)
    return render_template("auth/profile.html", tokens=tokens)


@bp.route("/profile/password", methods=["POST"])
@login_required
def change_password() -> ResponseReturnValue:
    user = signed_in_user()
    db = current_kb().db
    if users_store.authenticate(db, user.email, request.form.get("current", "")) is None:
        raise InvalidInput(gettext("the current password is wrong"))
    new = request.form.get("new", "")
    if new != request.form.get("confirm", ""):
        raise InvalidInput(gettext("the two new passwords differ"))
    users_store.set_password(db, user.id, new, by=user.id)
    refresh_session_version(users_store.get_user(db, user.id))  # other sessions end, this one goes on
    flash(gettext("Your password is changed; your other sessions are signed out."), "info")
    return redirect(url_for("auth.profile"))


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token() -> ResponseReturnValue:
    """Create a token and show it once (in this response only, never in a redirect or the session)."""
    user = signed_in_user()
    name = request.form.get("name", "").strip()
    token = users_store.create_token(current_kb().db, user.id, name)
    tokens = users_store.list_tokens(current_kb().db, user.id)
    return render_template("auth/profile.html", tokens=tokens, new_token=token, new_token_name=name)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    users_store.revoke_token(current_kb().db, user.id, token_id, by=user)
    flash(gettext("The token is revoked."), "info")
    return redirect(url_for("auth.profile"))

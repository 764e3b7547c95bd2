"""Who is asking: the user of a session or of an API token, loaded once per request, and the role checks.

A session holds the user's id, their session version and when it began. It is refused when the user
is gone or inactive, when the version changed (sign-out, password or role change end every session on
the server), or when it is older than `session_minutes`. API requests may instead send a personal token
(`Authorization: Bearer ...`); such a request ignores the session cookie and is exempt from CSRF.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from kb import users as users_store
from kb.knowledge import KnowledgeBase
from kb.users import User

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])

SESSION_USER = "uid"
SESSION_VERSION = "sv"
SESSION_STARTED = "started"
API_PREFIX = "/api/"
CSRF_FIELD = "csrf_token"  # where Flask-WTF keeps the session's CSRF secret
# Who a page needing a role is for, and how to name a user's role, in the 403 page's sentence.
ROLE_AUDIENCE = {"researcher": "everyone signed in", "coordinator": "coordinators and admins",
                 "admin": "admins"}
ROLE_NAMES = {"researcher": "a researcher", "coordinator": "a coordinator", "admin": "an admin"}


def current_kb() -> KnowledgeBase:
    """The knowledge base the app was created with."""
    return current_app.extensions["kb"]  # type: ignore[no-any-return]


def current_user() -> User | None:
    return g.get("user")


def signed_in_user() -> User:
    """The user of a view that requires one (after the decorators ran)."""
    user = current_user()
    if user is None:  # pragma: no cover - the decorators make this unreachable
        abort(401)
    return user


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header on an API request, else None."""
    if not is_api_request():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def uses_token() -> bool:
    """True when the request authenticates with a bearer token (and so is exempt from CSRF)."""
    return bearer_token() is not None


def start_session(user: User) -> None:
    """Sign the user in: a fresh session (no data carried over from before sign-in)."""
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_VERSION] = user.session_version
    session[SESSION_STARTED] = int(time.time())
    session.permanent = True


def _end_session() -> None:
    """Forget the user but keep the CSRF token, so a form sent after expiry leads to sign-in, not a 400."""
    csrf = session.get(CSRF_FIELD)
    session.clear()
    if csrf is not None:
        session[CSRF_FIELD] = csrf


def refresh_session_version(user: User) -> None:
    """Keep the current session valid after a change that ended the user's sessions (own password)."""
    session[SESSION_VERSION] = user.session_version


def load_user() -> None:
    """before_request: set g.user from the bearer token or the session (None when neither is valid)."""
    g.user = None
    g.auth = None
    kb = current_kb()
    token = bearer_token()
    if token is not None:
        g.auth = "token"
        g.user = users_store.user_for_token(kb.db, token)
        return
    user_id = session.get(SESSION_USER)
    if user_id is None:
        return
    user = users_store.find_user(kb.db, int(user_id))
    started = session.get(SESSION_STARTED, 0)
    age = time.time() - float(started) if isinstance(started, int | float) else float("inf")
    max_age = current_app.config["KB_SESSION_SECONDS"]
    if user is None or not user.active or session.get(SESSION_VERSION) != user.session_version \
            or not (-60 <= age <= max_age):
        _end_session()
        return
    g.user = user
    g.auth = "session"


def _refuse_anonymous() -> ResponseReturnValue:
    if is_api_request():
        abort(401)
    if request.method != "GET":  # a form sent after the session ended: back home after signing in
        return redirect(url_for("auth.sign_in"))
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.sign_in", next=target))


def role_name(user: User) -> str:
    """The user's role as words: "a researcher", "an admin"."""
    return ROLE_NAMES.get(user.role, f"a {user.role}")


def role_refusal(role: str, user: User) -> str:
    """The 403 sentence: which role a page needs and the user's own."""
    needed = ROLE_AUDIENCE.get(role, f"the {role} role")
    return f"This page is for {needed}; you are signed in as {role_name(user)}."


def role_required(role: str) -> Callable[[F], F]:
    """Allow the view to users whose role includes `role`; others get 403, no session a sign-in (API: 401)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            user = current_user()
            if user is None:
                return _refuse_anonymous()
            if not user.can(role):
                abort(403, role_refusal(role, user))
            return view(*args, **kwargs)

        wrapper.required_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


login_required = role_required("researcher")


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to after a form, never another site (open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")) \
            or any(ord(ch) < 32 for ch in target):
        return default
    return target

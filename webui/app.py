"""The app factory: one KnowledgeBase per app, security defaults, and one blueprint per area.

Blueprints are listed by module name; each module defines `bp` and may define `NAV` (menu entries as
(label, endpoint, role)), so adding an area is adding a module and a line here.
"""

from __future__ import annotations

import importlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from kb.knowledge import KnowledgeBase, open_kb
from kb.settings import Settings
from kb.storage.db import MAX_ROW_ID
from webui import access, i18n, templating
from webui.errors import register_error_handlers
from webui.ratelimit import FailureLimiter

if TYPE_CHECKING:
    from webui.sources import SourceIntake

LOGGER = logging.getLogger(__name__)

BLUEPRINTS = (
    "webui.auth",
    "webui.search",
    "webui.items",
    "webui.sources",
    "webui.dashboard",
    "webui.admin",
    "webui.taxonomy",
    "webui.api",
    "webui.cases",
    "webui.contacts",
    "webui.digest",
    "webui.i18n",
    "webui.systems",
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Failed sign-ins allowed per window before further attempts are refused (counted in the database, so
# across every web process).
SIGN_IN_LIMIT_PER_ACCOUNT = 5
SIGN_IN_LIMIT_PER_ADDRESS = 20
SIGN_IN_WINDOW_SECONDS = 300
MAX_UPLOAD_BYTES = 5_000_000

csrf = CSRFProtect()


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: ids beyond SQLite's 64-bit range are not found (404), not a crash."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def _blueprint_modules() -> list[Any]:
    return [importlib.import_module(name) for name in BLUEPRINTS]


def create_app(settings: Settings, *, kb: KnowledgeBase | None = None, intake: SourceIntake | None = None,
               **config: Any) -> Flask:
    """The web app over the knowledge base in `settings.data_dir` (opened here unless `kb` is given);
    `intake` checks and adds sources (without it the sources page can list them but not add any)."""
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter
    owns_kb = kb is None
    knowledge = kb if kb is not None else open_kb(settings)
    app.extensions["kb"] = knowledge
    app.extensions["kb_owned"] = owns_kb
    app.extensions["kb_intake"] = intake
    app.config.update(
        SECRET_KEY=knowledge.get_meta("secret_key"),
        SESSION_COOKIE_NAME="kb_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_minutes),
        KB_SESSION_SECONDS=settings.session_minutes * 60,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        # CSRF is checked in `_csrf` below so that API requests carrying a bearer token can be exempt.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=settings.session_minutes * 60,
        WTF_CSRF_SSL_STRICT=True,
        JSON_SORT_KEYS=False,
    )
    app.config.update(config)
    app.extensions["kb_sign_in_limits"] = (
        FailureLimiter(SIGN_IN_LIMIT_PER_ACCOUNT, SIGN_IN_WINDOW_SECONDS, "account"),
        FailureLimiter(SIGN_IN_LIMIT_PER_ADDRESS, SIGN_IN_WINDOW_SECONDS, "address"),
    )
    csrf.init_app(app)
    templating.init_app(app)
    i18n.init_app(app)
    register_error_handlers(app)

    app.before_request(access.load_user)

    @app.before_request
    def _csrf() -> None:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not access.uses_token():
            # Views marked `@csrf.exempt` are skipped: only the digest's one-click unsubscribe (RFC 8058).
            csrf.protect(apply_exemptions=True)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if g.get("user") is not None and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    nav: list[tuple[str, str, str]] = []
    for module in _blueprint_modules():
        app.register_blueprint(module.bp)
        nav.extend(getattr(module, "NAV", ()))
    app.extensions["kb_nav"] = nav
    return app


def close_app(app: Flask) -> None:
    """Close the knowledge base if the app opened it."""
    if app.extensions.get("kb_owned"):
        app.extensions["kb"].close()

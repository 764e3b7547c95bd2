"""The one place where errors become responses: an HTML page, or JSON under /api/.

The page is in the product's layout and says what happened (the message), what to do about it (ADVICE) and
gives a link back: to the page the user came from when that is a page of this site, else to the search. A
403 names the user's role. A 404 reads the same whether a thing does not exist or is hidden from the user.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from kb.errors import Conflict, FetchError, InvalidInput, KbError, NotFound, PermissionDenied
from webui.access import current_user, is_api_request, role_name, safe_next
from webui.i18n import N_

LOGGER = logging.getLogger(__name__)

# First match wins, so subclasses come before their parents.
STATUS_OF: tuple[tuple[type[KbError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (PermissionDenied, 403),
    (InvalidInput, 400),
    (FetchError, 502),
)
TITLES = {400: N_("Bad request"), 401: N_("Sign-in required"), 403: N_("Not allowed"), 404: N_("Not found"),
          405: N_("Not allowed"), 409: N_("Conflict"), 413: N_("Too large"), 429: N_("Too many attempts"),
          500: N_("Something went wrong"), 502: N_("Could not fetch")}
ADVICE = {
    400: N_("Check what you entered or the address, and try again."),
    403: N_("If you need this, ask an admin to change your role."),
    404: N_("Check the address, or find what you are looking for with the search."),
    405: N_("Use the page's own buttons and links rather than typing the address."),
    409: N_("Reload the page to see the latest state, then try again."),
    413: N_("Send something smaller, or split it."),
    429: N_("Wait a little, then try again."),
    500: N_("Try again in a moment; if it keeps happening, tell an admin."),
    502: N_("The other site did not answer as expected; try again later."),
}


def status_of(error: KbError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def error_response(status: int, message: str) -> ResponseReturnValue:
    """The error as JSON for the API, else as a page."""
    title = TITLES.get(status, "Error")
    if is_api_request():
        response = jsonify(error={"status": status, "title": title, "message": message})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="kb"'
        return response
    user = current_user()
    if status == 403 and user is not None and "signed in as" not in message:
        message = f"{message.rstrip('.')}. You are signed in as {role_name(user)}." if message else \
            f"You are signed in as {role_name(user)}."
    back_url, back_label = _way_back()
    advice = ADVICE.get(status)
    return render_template("errors/error.html", status=status, title=gettext(title), message=message,
                           advice=gettext(advice) if advice else "", back_url=back_url,
                           back_label=gettext(back_label)), status


def _way_back() -> tuple[str, str]:
    """The page the user came from, when it is a page of this site (and not this one), else the search."""
    home = url_for("search.index")
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if parts.netloc == request.host and parts.scheme in ("http", "https"):
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        target = safe_next(target, home)
        if target not in (request.full_path.rstrip("?"), request.path, home):
            return target, N_("Back to the previous page")
    return home, N_("Back to the search")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(KbError)
    def kb_error(error: KbError) -> ResponseReturnValue:
        return error_response(status_of(error), str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return error_response(error.code or 500, error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        LOGGER.exception("unexpected error")
        return error_response(500, InternalServerError.description)

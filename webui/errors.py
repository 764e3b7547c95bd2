"""The one place where errors become responses: an HTML page, or JSON under /api/."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from kb.errors import Conflict, FetchError, InvalidInput, KbError, NotFound, PermissionDenied
from webui.access import is_api_request

LOGGER = logging.getLogger(__name__)

# First match wins, so subclasses come before their parents.
STATUS_OF: tuple[tuple[type[KbError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (PermissionDenied, 403),
    (InvalidInput, 400),
    (FetchError, 502),
)
TITLES = {400: "Bad request", 401: "Sign-in required", 403: "Not allowed", 404: "Not found",
          405: "Not allowed", 409: "Conflict", 413: "Too large", 429: "Too many attempts",
          500: "Something went wrong", 502: "Could not fetch"}


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
    return render_template("errors/error.html", status=status, title=title, message=message), status


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

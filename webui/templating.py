"""Jinja filters and globals: safe links, topic labels, dates (and how long ago), paragraphs, pagination
and the menu."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from flask import Flask, current_app, g, request, url_for
from flask_babel import gettext
from werkzeug.routing import BuildError

from kb.curation import queue_size
from kb.storage.db import parse_published
from kb.text.language import language_name as english_language_name
from kb.text.taxonomy import load_taxonomy
from kb.text.urls import is_http_url
from webui.access import current_user
from webui.i18n import format_moment
from webui.i18n import language as interface_language

_NOT_LANGUAGES = {"und": "Unknown", "other": "Other"}  # facet values that name no language
STATUS_NAMES = {"new": "New", "accepted": "Accepted", "rejected": "Rejected"}
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*\n\s*|\s*\n\s*")


def http_url(url: str | None) -> str:
    """The URL if it is an absolute http(s) address, else "" (templates link only what this lets through)."""
    return url if url and is_http_url(url) else ""


def topic_label(topic_id: str, language: str | None = None) -> str:
    """The topic's label in `language`, by default the reader's (the taxonomy has labels in each)."""
    taxonomy = load_taxonomy()
    return taxonomy.label(topic_id, language or interface_language()) if topic_id in taxonomy else topic_id


def language_name(code: str | None) -> str:
    code = code or "und"
    return _NOT_LANGUAGES.get(code) or english_language_name(code)


def when(value: str | datetime | None, with_time: bool = True) -> str:
    """A stored UTC timestamp, shown in the lab's time zone and written for the reader's language."""
    moment = value if isinstance(value, datetime) else parse_published(value)
    if moment is None:
        return ""
    local = moment.astimezone(current_app.extensions["kb"].settings.tz)
    return format_moment(local, with_time)


def ago(value: str | datetime | None, now: datetime | None = None) -> str:
    """How long ago a stored UTC timestamp was, for a glance, in the reader's language (Babel's short
    form: "12 sec. ago", "il y a 5 min", "hace 3 h", "قبل 3 أيام")."""
    moment = value if isinstance(value, datetime) else parse_published(value)
    if moment is None:
        return ""
    elapsed = (now or datetime.now(UTC)) - moment
    if elapsed < timedelta(seconds=1):  # also a clock a little ahead on another machine
        return gettext("just now")
    return format_timedelta(-elapsed, add_direction=True, format="short", locale=interface_language())


def paragraphs(text: str | None) -> list[str]:
    """Extracted text as paragraphs (rendered as text, one <p> each)."""
    return [part for part in _PARAGRAPH_BREAK.split((text or "").strip()) if part]


def url_with(**changes: Any) -> str:
    """The current page's URL with some query arguments replaced (None removes one)."""
    args: dict[str, Any] = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None or value == "" or value == []:
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [value]
    return url_for(request.endpoint or "search.index", **(request.view_args or {}), **args)


def link_to(endpoint: str, **values: Any) -> str | None:
    """The URL of a page that may not exist (areas registered only when their module is there), else None."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _menu() -> list[tuple[str, str, bool]]:
    user = current_user()
    if user is None:
        return []
    entries = []
    for label, endpoint, role in current_app.extensions["kb_nav"]:
        if user.can(role):
            entries.append((label, url_for(endpoint), request.endpoint == endpoint))
    return entries


def nav_count(href: str) -> int | None:
    """The number beside a menu entry: the new items beside the curation queue, for coordinators (one
    indexed count per page)."""
    user = current_user()
    if user is None or not user.can("coordinator") or href != link_to("items.queue"):
        return None
    if "kb_new_items" not in g:
        g.kb_new_items = queue_size(current_app.extensions["kb"].db)
    return int(g.kb_new_items)


def init_app(app: Flask) -> None:
    app.jinja_env.autoescape = True
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(http_url)
    app.add_template_filter(topic_label)
    app.add_template_filter(language_name)
    app.add_template_filter(when)
    app.add_template_filter(ago)
    app.add_template_filter(paragraphs)
    app.add_template_global(url_with)
    app.add_template_global(link_to)
    app.add_template_global(nav_count)
    app.jinja_env.globals["status_names"] = STATUS_NAMES

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"user": current_user(), "menu": _menu}

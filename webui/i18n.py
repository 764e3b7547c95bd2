"""The interface's language: English, French, Spanish or Arabic (right to left), chosen per user.

The locale of a request is the signed-in user's chosen language (kept in the users table), else the best of
the browser's Accept-Language among the four, else English. Messages live in `webui/translations/` (see
README, "Interface languages"); templates mark text with `_()` and `ngettext()`, Python code with
`gettext`, or with `N_` for text defined at import time (marked for extraction, translated where shown).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from babel.dates import format_skeleton, format_time
from flask import Blueprint, Flask, flash, g, has_request_context, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale, gettext
from flask_babel import refresh as refresh_locale

from kb import users as users_store
from kb.users import INTERFACE_LANGUAGES
from webui.access import current_kb, current_user, login_required, signed_in_user

bp = Blueprint("i18n", __name__)

DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
# Each language named in itself, as the picker shows it.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}


def N_(message: str) -> str:  # noqa: N802 - the conventional name of gettext's no-op marker
    """Mark a message for extraction without translating it now (it is translated where it is shown)."""
    return message


# The menu's labels, defined as data in each module's NAV (base.html translates them when shown).
MENU_LABELS = (N_("Search"), N_("Curation"), N_("Sources"), N_("Dashboard"), N_("Users"), N_("Case files"),
               N_("Contacts"), N_("Digest"))
# Stored keys a person reads, by what they name; templates show them through the globals of these names.
KEY_LABELS: dict[str, dict[str, str]] = {
    "role_label": {"researcher": N_("researcher"), "coordinator": N_("coordinator"), "admin": N_("admin")},
    "case_status": {"open": N_("Open"), "closed": N_("Closed")},
    "status_name": {"new": N_("New"), "accepted": N_("Accepted"), "rejected": N_("Rejected")},
    "contact_kind": {"journalist": N_("Journalist"), "expert": N_("Expert"), "partner": N_("Partner"),
                     "lawyer": N_("Lawyer"), "affected person": N_("Affected person")},
    "sensitivity_label": {"normal": N_("Normal"), "restricted": N_("Restricted")},
    "facet_label": {"sector": N_("Sector"), "system": N_("System"), "right": N_("Right"),
                    "country": N_("Country")},
    "import_action": {"created": N_("Created"), "updated": N_("Updated"), "unchanged": N_("Unchanged"),
                      "refused": N_("Refused")},
}


def key_label(what: str, key: str) -> str:
    """The label of a stored key in the reader's language (the key itself when it has none)."""
    labels = KEY_LABELS[what]
    return gettext(labels[key]) if key in labels else key


def select_locale() -> str:
    """The signed-in user's choice, else the browser's, else English (also for API token requests)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    user = current_user()
    if user is not None and g.get("auth") == "session":
        chosen = users_store.user_language(current_kb().db, user.id)
        if chosen:
            return chosen
    return request.accept_languages.best_match(INTERFACE_LANGUAGES, default=DEFAULT_LANGUAGE)


def language() -> str:
    """The language of the current request ("en", "fr", "es" or "ar"; "en" outside a request)."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def direction() -> str:
    return "rtl" if language() in RIGHT_TO_LEFT else "ltr"


def format_moment(local: datetime, with_time: bool = True) -> str:
    """A moment already in the lab's time zone, written for the reader: English keeps the lab's ISO form
    (2026-10-30 14:05), the other languages their own (30 oct. 2026 14:05; 30 أكتوبر 2026 2:05 م)."""
    lang = language()
    if lang == DEFAULT_LANGUAGE:
        return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    day = format_skeleton("yMMMd", local, tzinfo=local.tzinfo, locale=lang)
    return f"{day} {format_time(local, 'short', tzinfo=local.tzinfo, locale=lang)}" if with_time else day


@bp.route("/account/language", methods=["POST"])
@login_required
def set_language() -> ResponseReturnValue:
    """The signed-in user's interface language ("" follows the browser)."""
    user = signed_in_user()
    users_store.set_user_language(current_kb().db, user.id, request.form.get("language", ""), by=user.id)
    refresh_locale()  # so that the confirmation already speaks the new language
    flash(gettext("Your interface language is saved."), "info")
    return redirect(url_for("auth.profile") + "#language")


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        interface_languages=LANGUAGE_NAMES, html_lang=language, html_dir=direction,
        user_language=lambda: users_store.user_language(current_kb().db, signed_in_user().id),
    )
    for what in KEY_LABELS:
        app.jinja_env.globals[what] = partial(key_label, what)

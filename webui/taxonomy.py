"""The taxonomy page: facets, topics, their labels and terms per language; coordinators add and remove a
term (preview of what it would tag and untag on the stored items, then apply), export the taxonomy as a
TOML file and import one (checked, previewed, applied). Researchers read the page.

A preview re-tags every stored item in a dry run, minutes at a year of monitoring: longer than a request
may take. The form is checked inline at once, then the preview runs as a background job
(`taxonomies.start_term_preview`) and its page (`/taxonomy/preview/<id>`) shows the progress, refreshing
itself (a meta refresh: the CSP allows no inline script), then the result and the Apply form.

Applying a change stores a new version (`kb.learning.taxonomies`, audited); the writer re-tags the stored
items in the background at its next tick, never over a person's decision. Every request first picks up
the current version (`taxonomies.current`: one read of the newest version's digest), so each web process
tags and labels with it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_number, gettext

from kb.errors import Conflict, InvalidInput
from kb.learning import taxonomies
from kb.learning.retag import RetagReport
from kb.learning.taxonomies import TermChange, TermProblem
from kb.text.language import LANGUAGE_NAMES
from kb.text.taxonomy import ANY_LANGUAGE, FACETS
from kb.users import User
from webui.access import current_kb, current_user, login_required, role_required, signed_in_user
from webui.i18n import N_

bp = Blueprint("taxonomy", __name__)
NAV = ((N_("Taxonomy"), "taxonomy.index", "coordinator"),)

MAX_IMPORT = 2_000_000  # bytes of a taxonomy file (the bundled one has about 110,000)
# The apply form carries the whole file back as a field: room beyond the form's default 500 kB.
IMPORT_FORM_ROOM = MAX_IMPORT + 100_000
# What a form's mistake says, by TermProblem.kind, in the reader's language.
PROBLEMS = {
    "topic": ("topic", N_("Choose a topic from the list.")),
    "language": ("language", N_("Choose a language from the list.")),
    "empty": ("term", N_("Type a word or a phrase.")),
    "long": ("term", N_("A term has at most 200 characters.")),
    "duplicate": ("term", N_("This topic has this term in this language already.")),
    "missing": ("term", N_("This topic has no such term in this language.")),
    "short": ("term", N_("Too short: a word of one or two letters matches inside many words. Use a longer "
                         "word, a phrase, or an abbreviation in capitals.")),
    "general": ("term", N_("Too general: this word is used in many other subjects. Use a longer phrase.")),
    "no-word": ("term", N_("This term has no word to match: use letters or digits.")),
    "last": ("term", N_("This is the topic's last term: a topic needs at least one.")),
}


@bp.url_value_preprocessor
def _room_for_the_file(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the app's CSRF check reads the form.
    if endpoint == "taxonomy.import_apply":
        request.max_form_memory_size = IMPORT_FORM_ROOM


@bp.before_app_request
def _current_taxonomy() -> None:
    # Every web process labels, validates and previews with the lab's current version (one read).
    if request.endpoint != "static":
        taxonomies.current(current_kb().db)


def _languages() -> list[tuple[str, str]]:
    """The languages a term can be in, by name, with "all" (every language) first."""
    named = sorted(LANGUAGE_NAMES.items(), key=lambda pair: pair[1])
    return [(ANY_LANGUAGE, gettext("Every language (names, acronyms)")), *named]


def language_label(code: str) -> str:
    """A taxonomy language code as a person reads it (its name; "all" in words); the audit log uses it too."""
    if code == ANY_LANGUAGE:
        return gettext("Every language (names, acronyms)")
    return LANGUAGE_NAMES.get(code, code)


def _change_from(values: dict[str, str]) -> TermChange:
    return TermChange(values.get("topic", ""), values.get("language", ""), values.get("term", ""),
                      remove=values.get("action") == "remove")


def _form_values() -> dict[str, str]:
    source = request.form if request.method == "POST" else request.args
    return {key: source.get(key, "")[:1000] for key in ("topic", "language", "term", "action")}


def _index(status: int = 200, *, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
           import_error: str = "") -> ResponseReturnValue:
    db = current_kb().db
    taxonomy = taxonomies.current(db)
    user = current_user()
    return render_template(
        "taxonomy/index.html", facets=[(facet, taxonomy.by_facet(facet)) for facet in FACETS],
        taxonomy=taxonomy, can_edit=bool(user and user.can("coordinator")), languages=_languages(),
        language_label=language_label, form=form or {"action": "add"}, errors=errors or {},
        import_error=import_error, state=taxonomies.retag_state(db), history=taxonomies.history(db, 10),
        term_count=sum(len(terms) for topic in taxonomy for terms in topic.terms.values()),
    ), status


@bp.route("/taxonomy")
@login_required
def index() -> ResponseReturnValue:
    return _index(form=_form_values() if request.args.get("topic") else None)


def _problem(error: TermProblem, values: dict[str, str]) -> ResponseReturnValue:
    field, message = PROBLEMS.get(error.kind, ("term", ""))
    errors = {field: gettext(message) if message else str(error),
              "form": gettext("The term was not changed: see what is marked below.")}
    return _index(400, form=values, errors=errors)


@bp.route("/taxonomy/preview", methods=["POST"])
@role_required("coordinator")
def preview() -> ResponseReturnValue:
    """Check the term (a mistake is shown inline at once) and start previewing what adding or removing it
    would tag and untag (a dry run in the background: nothing is written); then its page. A POST with the
    CSRF token: it starts work, so another site must not be able to start it."""
    values = _form_values()
    kb = current_kb()
    try:
        job_id = taxonomies.start_term_preview(kb.db, kb.settings.db_path, _change_from(values),
                                               user_id=signed_in_user().id)
    except TermProblem as exc:
        return _problem(exc, values)
    return redirect(url_for("taxonomy.preview_job", job_id=job_id))


@bp.route("/taxonomy/preview/<int:job_id>")
@role_required("coordinator")
def preview_job(job_id: int) -> ResponseReturnValue:
    """A preview's progress while it runs (the page refreshes itself), then its result and the Apply form
    (carrying the digest of the taxonomy it was computed against)."""
    state = taxonomies.preview_state(current_kb().db, job_id)
    if state is None:
        abort(404)
    job = state.job
    progress = gettext("Examined %(examined)s of %(total)s articles.", examined=format_number(job.examined),
                       total=format_number(job.total))
    common = {"state": state, "report": state.report, "expected": job.digest, "progress": progress,
              "refresh": state.status == "running", "language_label": language_label}
    if state.change is None:  # an import
        return render_template("taxonomy/import.html", text=job.subject, changes=state.changes,
                               counts=_counts(state.report) if state.report else (0, 0),
                               topics=state.topics, **common)
    change = state.change
    values = {"topic": change.topic, "language": change.language, "term": change.term,
              "action": "remove" if change.remove else "add"}
    counts = _counts(state.report, change.topic) if state.report else (0, 0)
    return render_template("taxonomy/preview.html", change=change, counts=counts, values=values, **common)


def _counts(report: RetagReport, topic: str | None = None) -> tuple[int, int]:
    """Items that would gain and lose a topic (the one edited, or any)."""
    if topic is not None:
        return report.tagged.get(topic, 0), report.untagged.get(topic, 0)
    return sum(report.tagged.values()), sum(report.untagged.values())


@bp.route("/taxonomy/apply", methods=["POST"])
@role_required("coordinator")
def apply() -> ResponseReturnValue:
    values = _form_values()
    change = _change_from(values)
    user: User = signed_in_user()
    try:
        tagged, untagged = int(request.form.get("tagged", "")), int(request.form.get("untagged", ""))
    except ValueError:
        tagged = untagged = None  # type: ignore[assignment]
    try:
        taxonomies.apply_term(current_kb().db, change, user_id=user.id, expected=request.form.get("expected"),
                              tagged=tagged, untagged=untagged)
    except TermProblem as exc:
        return _problem(exc, values)
    except Conflict:
        return _index(409, form=values, errors={"form": gettext(
            "Someone changed the taxonomy since your preview: preview the change again.")})
    term, topic = " ".join(change.term.split()), change.topic
    if change.remove:
        flash(gettext("“%(term)s” was removed from %(topic)s. The stored articles are re-tagged in the "
                      "background.", term=term, topic=topic), "info")
    else:
        flash(gettext("“%(term)s” was added to %(topic)s. The stored articles are re-tagged in the "
                      "background.", term=term, topic=topic), "info")
    return redirect(url_for("taxonomy.index") + "#status")


@bp.route("/taxonomy/export")
@login_required
def export() -> ResponseReturnValue:
    """The current taxonomy as a TOML file (with the header that tells a coordinator how to edit it)."""
    text = taxonomies.export_text(current_kb().db)
    return Response(text, mimetype="application/toml",
                    headers={"Content-Disposition": 'attachment; filename="taxonomy.toml"'})


def _import_text() -> str:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(gettext("Choose a taxonomy file (.toml) to import."))
    data = upload.read(MAX_IMPORT + 1)
    if len(data) > MAX_IMPORT:
        raise InvalidInput(gettext("The file is too large for a taxonomy."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(gettext("The file is not UTF-8 text: save it as UTF-8 and try again.")) from exc


@bp.route("/taxonomy/import", methods=["POST"])
@role_required("coordinator")
def import_preview() -> ResponseReturnValue:
    """A taxonomy file checked at once, then previewed in the background: what it changes and what it
    would tag (nothing written); then the preview's page."""
    kb = current_kb()
    try:
        text = _import_text()
        job_id = taxonomies.start_import_preview(kb.db, kb.settings.db_path, text,
                                                 user_id=signed_in_user().id)
    except InvalidInput as exc:
        return _index(400, import_error=str(exc))
    return redirect(url_for("taxonomy.preview_job", job_id=job_id))


@bp.route("/taxonomy/import/apply", methods=["POST"])
@role_required("coordinator")
def import_apply() -> ResponseReturnValue:
    db = current_kb().db
    text = request.form.get("text", "")
    try:
        taxonomies.import_taxonomy(db, text[:MAX_IMPORT], user_id=signed_in_user().id,
                                   expected=request.form.get("expected"))
    except Conflict:
        return _index(409, import_error=gettext(
            "Someone changed the taxonomy since your preview: import the file again."))
    except InvalidInput as exc:
        return _index(400, import_error=str(exc))
    flash(gettext("The taxonomy was imported. The stored articles are re-tagged in the background."), "info")
    return redirect(url_for("taxonomy.index") + "#status")

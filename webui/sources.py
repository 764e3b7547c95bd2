"""The sources page: every feed and watched page with its health, or its fetch while one is in flight; add
(mistakes shown on the form itself), edit (name, interval, summary or full text), pause, resume, remove
(after a confirmation that says what becomes of its items), fetch now, OPML. Every change is audited.

It also says whether the monitor is alive, from the database (the workers' heartbeats, `kb.monitor`) and
from the queue (the tasks waiting): `monitor_status` for this page and the dashboard, and the banner every
page shows coordinators and admins when no worker fetches or no writer runs (`page_banner`, handed to the
templates by a context processor registered on this blueprint).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from werkzeug.datastructures import MultiDict

from kb import monitor
from kb import sources as sources_store
from kb.errors import Conflict, InvalidInput, KbError
from kb.knowledge import KnowledgeBase
from kb.monitor import Run, Worker
from kb.sources import KINDS, MAX_INTERVAL_MINUTES, MAX_NAME, Source
from kb.text.urls import is_http_url
from webui.access import current_kb, current_user, role_required, signed_in_user
from webui.i18n import N_
from webui.templating import ago

LOGGER = logging.getLogger(__name__)

bp = Blueprint("sources", __name__)
NAV = ((N_("Sources"), "sources.index", "coordinator"),)

NOT_CONFIGURED = N_("This web server was started without fetching: it lists the sources but cannot add or "
                  "fetch any. Start the web UI with `kb serve`.")


class SourceIntake(Protocol):
    """What this page needs from the fetching side. The `kb` command hands in ingest's implementation
    (`create_app(..., intake=...)`), so the web UI never imports `ingest` itself.

    `fetch_now` and `waiting` raise when the task queue cannot be reached (any error but a KbError, such
    as a refused connection to Redis); the pages then say so."""

    def subscribe(self, kb: KnowledgeBase, url: str, *, kind: str, name: str, interval_minutes: int | None,
                  full_text: bool, by: int | None = None) -> Source:
        """Add the source (audited as done by the user `by`) and queue its first fetch, which checks it and
        names an unnamed source after its feed's or page's title (the source stays added, and due, when
        the queue cannot take that fetch)."""
        ...

    def fetch_now(self, kb: KnowledgeBase, source_id: int) -> bool:
        """Queue a fetch of the source at once; False when one is in flight already."""
        ...

    def waiting(self) -> int:
        """Tasks waiting in the queue (fetching and storing)."""
        ...

    def import_opml(self, kb: KnowledgeBase, data: bytes,
                    by: int | None = None) -> tuple[list[Source], list[str]]:
        ...

    def export_opml(self, sources: list[Source]) -> bytes: ...


def _configured_intake() -> SourceIntake | None:
    intake: SourceIntake | None = current_app.extensions.get("kb_intake")
    return intake


def _intake() -> SourceIntake:
    intake = _configured_intake()
    if intake is None:
        raise KbError(gettext(NOT_CONFIGURED))
    return intake


# --- the monitor's state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorStatus:
    """What the sources page and the dashboard say about the monitor."""

    configured: bool  # this web app has an intake (fetching is wired in)
    waiting: int | None  # tasks waiting in the queue; None when not known
    unreachable: bool  # the queue did not answer
    writers: tuple[Worker, ...]  # the live writers, else the one seen last
    fetchers: tuple[Worker, ...]  # the live fetching workers, else the one seen last
    earlier: tuple[Worker, ...]  # other workers, silent (earlier runs), kept for a week
    banner: tuple[str, ...]  # what the banner says (nothing when the monitor is alive)
    now: datetime


def _period(since: str, now: datetime) -> str:
    minutes = max(0, int((now - datetime.fromisoformat(since)).total_seconds() // 60))
    if minutes < 120:
        return ngettext("%(num)s minute", "%(num)s minutes", minutes)
    if minutes < 48 * 60:
        return ngettext("%(num)s hour", "%(num)s hours", minutes // 60)
    return ngettext("%(num)s day", "%(num)s days", minutes // (24 * 60))


def banner_lines(workers: Sequence[Worker], now: datetime) -> tuple[str, ...]:
    """What to tell coordinators when the monitor is not running: no fetching worker or no writer has been
    seen for two minutes (kb.monitor.WORKER_SILENT_AFTER). `workers` come most recently seen first."""
    lines = []
    fetchers = [w for w in workers if w.role == "fetch"]
    if not any(w.alive(now) for w in fetchers):
        lines.append(gettext("No worker has fetched for %(period)s: sources are not being monitored. "
                             "Start `kb serve` or `kb worker`.", period=_period(fetchers[0].last_seen, now))
                     if fetchers else gettext("No worker has fetched yet: sources are not being monitored. "
                                              "Start `kb serve` or `kb worker`."))
    writers = [w for w in workers if w.role == "writer"]
    if not any(w.alive(now) for w in writers):
        lines.append(gettext("No writer has run for %(period)s: what workers fetch is not stored and no "
                             "source is scheduled. Start `kb serve`.",
                             period=_period(writers[0].last_seen, now))
                     if writers else gettext("No writer has run yet: what workers fetch is not stored and no "
                                             "source is scheduled. Start `kb serve`."))
    return tuple(lines)


def monitor_status(kb: KnowledgeBase, now: datetime | None = None) -> MonitorStatus:
    moment = now or datetime.now(UTC)
    intake = _configured_intake()
    waiting, unreachable = None, False
    if intake is not None:
        try:
            waiting = intake.waiting()
        except Exception as exc:  # noqa: BLE001 - an unreachable queue is shown on the page, never a 500
            LOGGER.warning("the task queue is unreachable: %s", exc)
            unreachable = True
    everyone = monitor.workers(kb.db)

    def shown(role: str) -> tuple[Worker, ...]:
        ours = [w for w in everyone if w.role == role]
        return tuple([w for w in ours if w.alive(moment)] or ours[:1])

    writers, fetchers = shown("writer"), shown("fetch")
    earlier = tuple(w for w in everyone if w not in writers and w not in fetchers)
    return MonitorStatus(intake is not None, waiting, unreachable, writers, fetchers, earlier,
                         banner_lines(everyone, moment), moment)


def page_banner() -> tuple[str, ...]:
    """The banner of the page being rendered: for coordinators and admins, when the monitor is down."""
    user = current_user()
    if user is None or not user.can("coordinator"):
        return ()
    try:
        return banner_lines(monitor.workers(current_kb().db), datetime.now(UTC))
    except Exception:  # noqa: BLE001 - the banner shows on error pages too: it must never fail one
        LOGGER.exception("the monitor's state could not be read for the banner")
        return ()


@bp.app_context_processor
def _banner_context() -> dict[str, Any]:
    return {"monitor_banner": page_banner}


# --- a source's row ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRow:
    source: Source
    health: str  # "Paused", "Failing", "Healthy", "Not fetched yet"
    progress: str  # the fetch in flight, in words ("" when none)
    entries: str  # what the last fetch did with the entries


def _progress(run: Run | None, now: datetime) -> str:
    if run is None:
        return ""
    if run.expired(now):
        return gettext("A fetch started %(ago)s did not finish in time; it will be fetched again.",
                       ago=ago(run.started_at, now))
    if run.state == "queued":
        return gettext("Fetch queued %(ago)s, waiting for a worker.", ago=ago(run.started_at, now))
    if run.chunks_waiting > 0:
        return ngettext("Reading entries: %(num)s chunk to store.",
                        "Reading entries: %(num)s chunks to store.", run.chunks_waiting)
    return gettext("Storing entries.")


def source_row(source: Source, run: Run | None, now: datetime) -> SourceRow:
    if source.paused:
        health = gettext("Paused")
    elif source.failures:
        health = gettext("Failing")
    elif source.last_success:
        health = gettext("Healthy")
    else:
        health = gettext("Not fetched yet")
    return SourceRow(source, health, _progress(run, now), source.entries_summary())


# --- the form that adds a source --------------------------------------------------------------------------


@dataclass
class AddForm:
    """What the person typed into "Follow a feed or watch a page", and what is wrong with it by field
    ("url", "kind", "interval"; "form" for the whole)."""

    url: str = ""
    kind: str = "feed"
    name: str = ""
    interval: str = ""
    full_text: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    conflict: bool = False

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> AddForm:
        return cls(url=form.get("url", "").strip(), kind=form.get("kind", "feed"), name=form.get("name", ""),
                   interval=form.get("interval", "").strip(), full_text=form.get("full_text") == "1")

    def minutes(self) -> int | None:
        return int(self.interval) if self.interval else None

    def check(self, kb: KnowledgeBase) -> bool:
        """Find every mistake, in words for the person who typed it; True when there is none."""
        if not self.url:
            self.errors["url"] = gettext("Enter the address of a feed, or of a web page to watch.")
        elif not is_http_url(self.url):
            self.errors["url"] = gettext("This is not a web address: enter one that starts with http:// or "
                                         "https://.")
        else:
            known = sources_store.find_source_by_url(kb.db, self.url)
            if known is not None:
                self.already_followed(known)
        if self.kind not in KINDS:
            self.errors["kind"] = gettext("Choose a feed, or a page to watch for changes.")
        if self.interval and not _interval_ok(self.interval):
            self.errors["interval"] = gettext("Enter a whole number of minutes from 1 to %(max)s (a month), "
                                              "or leave it empty for the default.",
                                              max=format(MAX_INTERVAL_MINUTES, ","))
        return not self.errors

    def already_followed(self, known: Source | None) -> None:
        self.errors["url"] = (gettext("You already follow this address, as “%(name)s”.", name=known.name)
                              if known is not None and known.name
                              else gettext("You already follow this address."))
        self.conflict = True

    @property
    def status(self) -> int:
        return 409 if self.conflict and len(self.errors) == 1 else 400


def _interval_ok(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_INTERVAL_MINUTES


@dataclass
class EditForm:
    """What the person typed to change a source, and what is wrong with it by field ("name", "interval",
    "mode"). A field missing from the request counts as left empty."""

    name: str = ""
    interval: str = ""
    mode: str = ""  # "summary" or "full"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, source: Source) -> EditForm:
        return cls(source.name, str(source.interval_minutes), "full" if source.full_text else "summary")

    @classmethod
    def read(cls, form: MultiDict[str, str]) -> EditForm:
        return cls(name=form.get("name", ""), interval=form.get("interval", "").strip(),
                   mode=form.get("mode", ""))

    def check(self) -> bool:
        if not self.name.strip():
            self.errors["name"] = gettext("Enter a name: it is how the source shows in lists and on its "
                                          "items.")
        elif len(self.name.strip()) > MAX_NAME:
            self.errors["name"] = gettext("Keep the name to %(max)s characters.", max=MAX_NAME)
        if not _interval_ok(self.interval):
            self.errors["interval"] = gettext("Enter a whole number of minutes from 1 to %(max)s (a month).",
                                              max=format(MAX_INTERVAL_MINUTES, ","))
        if self.mode not in ("summary", "full"):
            self.errors["mode"] = gettext("Choose whether to keep the feed's summary or fetch each full "
                                          "article.")
        return not self.errors


# --- the pages -----------------------------------------------------------------------------------------


def _page(form: AddForm | None = None) -> ResponseReturnValue:
    kb = current_kb()
    now = datetime.now(UTC)
    sources = sources_store.list_sources(kb.db)
    running = monitor.runs(kb.db)
    rows = [source_row(source, running.get(source.id), now) for source in sources]
    failing = sum(1 for s in sources if s.failures and not s.paused)
    form = form or AddForm()
    return render_template("sources/index.html", rows=rows, failing=failing, kinds=KINDS, form=form,
                           monitor=monitor_status(kb, now)), (form.status if form.errors else 200)


@bp.route("/sources")
@role_required("coordinator")
def index() -> ResponseReturnValue:
    return _page()


@bp.route("/sources", methods=["POST"])
@role_required("coordinator")
def add() -> ResponseReturnValue:
    """Add a feed (or a web page whose feed its first fetch finds) or a page to watch; the first fetch,
    queued at once, checks it and its row shows how that went. Mistakes come back on the form."""
    kb = current_kb()
    form = AddForm.read(request.form)
    intake = _configured_intake()
    if not form.check(kb):
        return _page(form)
    if intake is None:
        form.errors["form"] = gettext(NOT_CONFIGURED)
        return _page(form)
    try:
        source = intake.subscribe(kb, form.url, kind=form.kind, name=form.name,
                                  interval_minutes=form.minutes(), full_text=form.full_text,
                                  by=signed_in_user().id)
    except Conflict:  # added meanwhile by someone else
        form.already_followed(sources_store.find_source_by_url(kb.db, form.url))
        return _page(form)
    except InvalidInput as exc:
        form.errors["form"] = gettext("This source cannot be added: %(reason)s", reason=exc)
        return _page(form)
    flash(gettext("Now following %(name)s: its first fetch checks the address, and its row shows how "
                  "that went.", name=source.name or source.url), "info")
    return redirect(url_for("sources.index") + f"#source-{source.id}")


@bp.route("/sources/<int:source_id>/pause", methods=["POST"])
@role_required("coordinator")
def pause(source_id: int) -> ResponseReturnValue:
    db = current_kb().db
    sources_store.set_paused(db, source_id, True, by=signed_in_user().id)
    flash(gettext("Paused %(name)s: it is not fetched until resumed.",
                  name=_called(sources_store.get_source(db, source_id))),
          "info")
    return redirect(url_for("sources.index") + f"#source-{source_id}")


@bp.route("/sources/<int:source_id>/resume", methods=["POST"])
@role_required("coordinator")
def resume(source_id: int) -> ResponseReturnValue:
    db = current_kb().db
    sources_store.set_paused(db, source_id, False, by=signed_in_user().id)
    flash(gettext("Resumed %(name)s.", name=_called(sources_store.get_source(db, source_id))), "info")
    return redirect(url_for("sources.index") + f"#source-{source_id}")


def _called(source: Source) -> str:
    return source.name or source.url


def _edit_page(source: Source, form: EditForm, status: int = 200) -> ResponseReturnValue:
    return render_template("sources/edit.html", source=source, form=form,
                           max_interval=MAX_INTERVAL_MINUTES, max_name=MAX_NAME), status


@bp.route("/sources/<int:source_id>/edit")
@role_required("coordinator")
def edit(source_id: int) -> ResponseReturnValue:
    source = sources_store.get_source(current_kb().db, source_id)
    return _edit_page(source, EditForm.of(source))


@bp.route("/sources/<int:source_id>/edit", methods=["POST"])
@role_required("coordinator")
def save(source_id: int) -> ResponseReturnValue:
    """Rename, re-schedule, switch between summary and full text; mistakes come back on the form with
    what was typed."""
    db = current_kb().db
    source = sources_store.get_source(db, source_id)
    form = EditForm.read(request.form)
    if not form.check():
        return _edit_page(source, form, 400)
    try:
        changed = sources_store.update_source(db, source_id, name=form.name,
                                              interval_minutes=int(form.interval),
                                              full_text=form.mode == "full", by=signed_in_user().id)
    except InvalidInput as exc:
        form.errors["form"] = gettext("The source was not changed: %(reason)s.", reason=exc)
        return _edit_page(source, form, 400)
    flash(gettext("Saved %(name)s: every %(minutes)s min, full articles.", name=_called(changed),
                  minutes=changed.interval_minutes) if changed.full_text else
          gettext("Saved %(name)s: every %(minutes)s min, feed summaries.", name=_called(changed),
                  minutes=changed.interval_minutes), "info")
    return redirect(url_for("sources.index") + f"#source-{source_id}")


@bp.route("/sources/<int:source_id>/remove")
@role_required("coordinator")
def confirm_remove(source_id: int) -> ResponseReturnValue:
    return render_template("sources/remove.html", source=sources_store.get_source(current_kb().db, source_id))


@bp.route("/sources/<int:source_id>/remove", methods=["POST"])
@role_required("coordinator")
def remove(source_id: int) -> ResponseReturnValue:
    """Stop following a source, once confirmed; its items stay."""
    db = current_kb().db
    source = sources_store.get_source(db, source_id)
    if request.form.get("confirm") != "yes":
        return render_template("sources/remove.html", source=source,
                               error=gettext("Tick the box to confirm, then press Remove.")), 400
    sources_store.delete_source(db, source_id, by=signed_in_user().id)
    flash(ngettext("Removed %(name)s: it is no longer fetched; its %(count)s item stays in the knowledge "
                   "base.",
                   "Removed %(name)s: it is no longer fetched; its %(count)s items stay in the knowledge "
                   "base.",
                   source.items, name=_called(source), count=format(source.items, ",")) if source.items else
          gettext("Removed %(name)s: it is no longer fetched.", name=_called(source)), "info")
    return redirect(url_for("sources.index"))


@bp.route("/sources/<int:source_id>/fetch", methods=["POST"])
@role_required("coordinator")
def fetch_now(source_id: int) -> ResponseReturnValue:
    """Queue a fetch at once. The source is also made due, so that the scheduler fetches it should the
    queue be unreachable now, or the task be lost."""
    kb = current_kb()
    source = sources_store.get_source(kb.db, source_id)
    name = source.name or source.url
    sources_store.make_due(kb.db, source_id)
    intake = _configured_intake()
    if intake is None:
        flash(gettext("%(name)s is due now, but this web server was started without fetching: it is "
                      "fetched once the monitor runs (`kb serve`).", name=name), "error")
    else:
        try:
            queued = intake.fetch_now(kb, source_id)
        except KbError:
            raise
        except Exception as exc:  # noqa: BLE001 - the queue is unreachable: say so, never a 500
            LOGGER.warning("fetch of source %s not queued: %s", source_id, exc)
            flash(gettext("The task queue is unreachable, so no fetch of %(name)s was queued. It is due "
                          "now: the monitor fetches it once the queue answers again.", name=name), "error")
        else:
            flash(gettext("Queued a fetch of %(name)s.", name=name) if queued
                  else gettext("A fetch of %(name)s is already under way.", name=name), "info")
    return redirect(url_for("sources.index") + f"#source-{source_id}")


@bp.route("/sources/opml")
@role_required("coordinator")
def opml_export() -> ResponseReturnValue:
    body = _intake().export_opml(sources_store.list_sources(current_kb().db))
    return Response(body, mimetype="text/x-opml",
                    headers={"Content-Disposition": 'attachment; filename="sources.opml"'})


@bp.route("/sources/opml", methods=["POST"])
@role_required("coordinator")
def opml_import() -> ResponseReturnValue:
    upload = request.files.get("opml")
    if upload is None or not upload.filename:
        raise InvalidInput("choose an OPML file to import")
    added, skipped = _intake().import_opml(current_kb(), upload.read(), signed_in_user().id)
    flash(ngettext("Imported %(num)s feed; %(skipped)s already followed.",
                   "Imported %(num)s feeds; %(skipped)s already followed.", len(added),
                   skipped=len(skipped)), "info")
    return redirect(url_for("sources.index"))

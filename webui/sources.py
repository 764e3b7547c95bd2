"""The sources page: every feed and watched page with its health; add, pause, resume, fetch now, OPML."""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from kb import sources as sources_store
from kb.errors import InvalidInput, KbError
from kb.knowledge import KnowledgeBase
from kb.sources import KINDS, Source
from webui.access import current_kb, role_required

bp = Blueprint("sources", __name__)
NAV = (("Sources", "sources.index", "coordinator"),)


class SourceIntake(Protocol):
    """What this page needs from the fetching side. The `kb` command hands in ingest's implementation
    (`create_app(..., intake=...)`), so the web UI never imports `ingest` itself."""

    def subscribe(self, kb: KnowledgeBase, url: str, *, kind: str, name: str, interval_minutes: int | None,
                  full_text: bool) -> Source: ...

    def import_opml(self, kb: KnowledgeBase, data: bytes) -> tuple[list[Source], list[str]]: ...

    def export_opml(self, sources: list[Source]) -> bytes: ...


def _intake() -> SourceIntake:
    intake: SourceIntake | None = current_app.extensions.get("kb_intake")
    if intake is None:
        raise KbError("this web server was started without fetching; start it with `kb serve` to add sources")
    return intake


@bp.route("/sources")
@role_required("coordinator")
def index() -> ResponseReturnValue:
    sources = sources_store.list_sources(current_kb().db)
    failing = sum(1 for s in sources if s.failures and not s.paused)
    return render_template("sources/index.html", sources=sources, failing=failing, kinds=KINDS)


@bp.route("/sources", methods=["POST"])
@role_required("coordinator")
def add() -> ResponseReturnValue:
    """Add a feed (checked, and found through a web page's feed links) or a page to watch."""
    kb = current_kb()
    kind = request.form.get("kind", "feed")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    interval = request.form.get("interval", "").strip()
    try:
        minutes = int(interval) if interval else None
    except ValueError as exc:
        raise InvalidInput("the interval is a whole number of minutes") from exc
    source = _intake().subscribe(kb, request.form.get("url", ""), kind=kind,
                                 name=request.form.get("name", ""), interval_minutes=minutes,
                                 full_text=request.form.get("full_text") == "1")
    flash(f"Now following {source.name or source.url}.", "info")
    return redirect(url_for("sources.index") + f"#source-{source.id}")


@bp.route("/sources/<int:source_id>/pause", methods=["POST"])
@role_required("coordinator")
def pause(source_id: int) -> ResponseReturnValue:
    sources_store.set_paused(current_kb().db, source_id, True)
    flash("Source paused.", "info")
    return redirect(url_for("sources.index") + f"#source-{source_id}")


@bp.route("/sources/<int:source_id>/resume", methods=["POST"])
@role_required("coordinator")
def resume(source_id: int) -> ResponseReturnValue:
    sources_store.set_paused(current_kb().db, source_id, False)
    flash("Source resumed.", "info")
    return redirect(url_for("sources.index") + f"#source-{source_id}")


@bp.route("/sources/<int:source_id>/fetch", methods=["POST"])
@role_required("coordinator")
def fetch_now(source_id: int) -> ResponseReturnValue:
    sources_store.make_due(current_kb().db, source_id)
    flash("The source will be fetched on the worker's next pass.", "info")
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
    added, skipped = _intake().import_opml(current_kb(), upload.read())
    flash(f"Imported {len(added)} feed{'s' if len(added) != 1 else ''}; "
          f"{len(skipped)} already followed.", "info")
    return redirect(url_for("sources.index"))

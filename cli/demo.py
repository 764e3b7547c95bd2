"""`kb demo`: build a demo data folder from the bundled sample corpus through the real ingest path.

The corpus is served on a loopback HTTP server, added as sources, ingested, and the sample contacts and
case files are loaded; then the web UI starts with three demo users.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ingest.queue import IngestSummary, run_once
from kb import cases as cases_store
from kb import items as items_store
from kb import sample
from kb import sources as sources_store
from kb import systems as systems_store
from kb import users as users_store
from kb.errors import Conflict
from kb.knowledge import KnowledgeBase, open_kb
from kb.settings import Settings

LOGGER = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed by `kb demo` on purpose
DEMO_USERS = (
    ("admin@demo.example", "admin"),
    ("coordinator@demo.example", "coordinator"),
    ("researcher@demo.example", "researcher"),
)


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/xml"}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        LOGGER.debug("sample server: " + format, *args)


@contextmanager
def serve_sample(folder: Path = sample.SAMPLE_DIR) -> Iterator[str]:
    """Serve the sample corpus on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="sample-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def add_sample_sources(kb: KnowledgeBase, base_url: str) -> int:
    """Follow the sample feeds and watched pages served at `base_url`; returns how many were added."""
    manifest = sample.load_manifest()
    added = 0
    for feed in manifest["feeds"]:
        try:
            sources_store.add_source(kb.db, base_url + feed["file"], kind="feed", name=feed["name"],
                                     full_text=bool(feed.get("full_text")))
            added += 1
        except Conflict:
            pass
    for page in manifest.get("watched", []):
        try:
            sources_store.add_source(kb.db, base_url + page["file"], kind="page", name=page["name"])
            added += 1
        except Conflict:
            pass
    return added


def add_demo_users(kb: KnowledgeBase) -> None:
    for email, role in DEMO_USERS:
        if users_store.find_user_by_email(kb.db, email) is None:
            users_store.add_user(kb.db, email, DEMO_PASSWORD, role, name=role.title())


@dataclass(frozen=True)
class DemoReport:
    summary: IngestSummary
    contacts: int
    cases: int
    systems: int = 0
    case_system_links: int = 0


def build_demo(settings: Settings, base_url: str) -> DemoReport:
    """Create (or re-create) a demo data folder from the sample corpus served at `base_url` (see
    serve_sample); refuses a folder that holds a real knowledge base."""
    folder = settings.data_dir
    if settings.db_path.exists():
        existing = open_kb(settings, rebuild_index=False)
        try:
            is_demo = existing.get_meta("demo") == "1"
        finally:
            existing.close()
        if not is_demo:
            raise Conflict(f"{folder} holds a knowledge base that is not a demo; choose another --data-dir")
        shutil.rmtree(folder)
    kb = open_kb(settings)
    try:
        kb.set_meta("demo", "1")
        add_demo_users(kb)
        add_sample_sources(kb, base_url)
        # The register first, so that ingest suggests its systems on the items it stores.
        register = systems_store.load_sample_register(kb.db, sample.load_systems())
        summary = run_once(kb, [source.id for source in sources_store.list_sources(kb.db)])
        contacts, cases = _load_people_and_cases(kb)
        # Case files name their system in free text: link them to the registered system they name.
        case_links = systems_store.link_cases_by_name(kb.db)
        kb.sync_index()
        return DemoReport(summary, contacts, cases, register.created, case_links)
    finally:
        kb.close()


def _load_people_and_cases(kb: KnowledgeBase) -> tuple[int, int]:
    """Load the sample contacts and case files, linking the case items by their page slug."""
    page_ids = {item.canonical_url.rpartition("/pages/")[2].removesuffix(".html"): item.id
                for item in items_store.iter_items(kb.db) if "/pages/" in item.canonical_url}
    report = cases_store.load_sample(kb.db, sample.load_contacts(), sample.load_cases(), page_ids.get)
    return report.contacts_created, report.cases_created

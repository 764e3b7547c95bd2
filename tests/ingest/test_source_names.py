"""A source nobody named takes its own title: a watched page its page's title, a feed the feed's title,
whether it was added with a check (`kb sources add`) or by the web UI (named by its first fetch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.fetch import Fetcher
from ingest.queue import run_once
from ingest.subscribe import page_title, subscribe
from kb import sources as sources_store
from kb.knowledge import KnowledgeBase
from kb.storage import audit
from tests.factories import make_kb

PAGE = ("<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Registre des algorithmes "
        "&amp; sécurité sociale</title></head><body><h1>Autre titre</h1>"
        + "<p>La caisse publie la liste des algorithmes utilisés pour contrôler les allocataires.</p>" * 5
        + "</body></html>").encode("utf-8")
FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Council &amp; Data</title>'
        b"<link>https://example.org/</link><item><title>A story</title><link>/a</link>"
        b"<description>About welfare.</description></item></channel></rss>")
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = make_kb(tmp_path / "data", fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                   fetch_read_timeout=2, fetch_retries=1, extract_processes=1)
    try:
        yield base
    finally:
        base.close()


@pytest.mark.parametrize(("body", "expected"), [
    (b"<html><head><title>  Plain\n title </title></head></html>", "Plain title"),
    (b"<html><body><h1>Only a <em>heading</em></h1></body></html>", "Only a heading"),
    (b"<html><head><title></title></head><body><h1>Heading</h1></body></html>", "Heading"),
    (b"<html><body><p>Nothing to call it</p></body></html>", ""),
    (b"", ""),
])
def test_page_title(body, expected):
    assert page_title(body, HTML) == expected


def test_kb_sources_add_names_a_page_after_its_title(kb, http_server, fetch_config):
    http_server.add("/registre", (200, HTML, PAGE))
    with Fetcher(fetch_config) as fetcher:
        source = subscribe(kb, fetcher, http_server.url("/registre"), kind="page")
        named = subscribe(kb, fetcher, http_server.url("/registre?v=2"), kind="page", name="Mine")
    assert source.name == "Registre des algorithmes & sécurité sociale"
    assert named.name == "Mine"  # a name given is kept


def test_a_page_added_without_a_check_is_named_by_its_first_fetch(kb, http_server):
    http_server.add("/registre", (200, HTML, PAGE))
    source = subscribe(kb, None, http_server.url("/registre"), kind="page", by=None)  # as the web UI does
    assert source.name == ""
    run_once(kb, [source.id])
    assert sources_store.get_source(kb.db, source.id).name == "Registre des algorithmes & sécurité sociale"
    [entry] = audit.entries(kb.db, entity="source", entity_id=source.id, limit=1)
    assert entry.details == {"changes": {"name": ["", "Registre des algorithmes & sécurité sociale"]}}
    run_once(kb, [source.id])  # later fetches leave the name alone
    assert len(audit.entries(kb.db, entity="source", entity_id=source.id)) == 2


def test_an_unnamed_feed_takes_the_feeds_title_and_a_named_one_keeps_its_name(kb, http_server):
    http_server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml"}, FEED))
    http_server.add("/other.xml", (200, {"Content-Type": "application/rss+xml"}, FEED))
    unnamed = subscribe(kb, None, http_server.url("/feed.xml"))
    named = subscribe(kb, None, http_server.url("/other.xml"), name="Our name")
    run_once(kb, [unnamed.id, named.id])
    assert sources_store.get_source(kb.db, unnamed.id).name == "Council & Data"
    assert sources_store.get_source(kb.db, named.id).name == "Our name"

"""Which week's digest an item is in (the week it was accepted, not published), the draft page opening on
the week under way, and "send a test to me" through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kb import curation
from kb.digest import recipients
from kb.digest.deliveries import deliveries
from kb.digest.draft import build_digest, set_intro
from kb.items import store_item
from kb.knowledge import KnowledgeBase
from tests.factories import make_draft, make_kb
from tests.smtpserver import LocalSMTPServer
from tests.webui.conftest import csrf_token

LAB_ZONE = ZoneInfo("Europe/Amsterdam")
OLD_STORY = "Exam algorithm downgraded pupils in poorer schools"
PARTNER = "ana@partner.example"


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(LAB_ZONE).isocalendar()
    return f"{year:04d}-W{week:02d}"


@pytest.fixture(scope="module")
def smtp_server_running() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_server(smtp_server_running: LocalSMTPServer) -> LocalSMTPServer:
    with smtp_server_running.lock:
        smtp_server_running.received.clear()
    return smtp_server_running


@pytest.fixture
def kb(tmp_path: Path, smtp_server: LocalSMTPServer) -> Iterator[KnowledgeBase]:
    base = make_kb(tmp_path / "data", timezone="Europe/Amsterdam", base_url="https://kb.lab.example",
                   smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_security="none",
                   smtp_sender="Media monitoring <digest@lab.example>")
    try:
        yield base
    finally:
        base.close()


def _text(response) -> str:
    return response.get_data(as_text=True)


def _post(client, path: str, **data: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def _old_story(kb: KnowledgeBase) -> int:
    """A story published five months ago, found only now."""
    published = datetime.now(UTC) - timedelta(days=150)
    return store_item(kb.db, make_draft(title=OLD_STORY, published=published)).item_id


# --- the week of acceptance ---------------------------------------------------------------------------


def test_an_old_story_accepted_this_week_is_in_this_weeks_digest(signed_in, world):
    kb = world.kb
    item_id = _old_story(kb)
    published_week = _iso_week(datetime.now(UTC) - timedelta(days=150))
    client = signed_in("coordinator")
    assert _post(client, f"/items/{item_id}/curation", status="accepted", next="/curation").status_code == 302
    this_week = _iso_week(datetime.now(UTC))

    assert item_id in [e.item_id for e in build_digest(kb.db, kb.settings, this_week).entries]
    assert item_id not in [e.item_id for e in build_digest(kb.db, kb.settings, published_week).entries]
    page = _text(client.get("/digest"))  # the page opens on this week ...
    assert f"<h1>Digest of week {int(this_week[-2:])}, {this_week[:4]}" in page
    assert html.escape(OLD_STORY) in page  # ... with the old story in it
    old_page = _text(client.get(f"/digest?week={published_week}"))
    assert html.escape(OLD_STORY) not in old_page


def test_a_story_marked_for_the_digest_counts_from_the_mark_and_an_undo_takes_it_out(signed_in, world):
    kb = world.kb
    item_id = _old_story(kb)
    this_week = _iso_week(datetime.now(UTC))
    client = signed_in("coordinator")
    reply = client.post(f"/items/{item_id}/curation", data={"digest": "1", "csrf_token": csrf_token(client)},
                        headers={"Accept": "application/json"}).get_json()
    assert item_id in [e.item_id for e in build_digest(kb.db, kb.settings, this_week).entries]
    _post(client, "/curation/undo", decision=reply["undo"])
    assert item_id not in [e.item_id for e in build_digest(kb.db, kb.settings, this_week).entries]


def test_a_later_decision_does_not_move_an_item_to_another_week(world):
    kb = world.kb
    item_id = _old_story(kb)
    last_week = datetime.now(UTC) - timedelta(days=7)
    curation.set_status(kb.db, item_id, "accepted", None, now=last_week)
    curation.set_in_digest(kb.db, item_id, True, None)  # marked today: it stays in last week's digest
    assert item_id in [e.item_id for e in build_digest(kb.db, kb.settings, _iso_week(last_week)).entries]
    this_week = _iso_week(datetime.now(UTC))
    assert item_id not in [e.item_id for e in build_digest(kb.db, kb.settings, this_week).entries]


def test_the_page_opens_on_the_week_under_way(signed_in, world):
    page = _text(signed_in("coordinator").get("/digest"))
    now = datetime.now(LAB_ZONE)
    year, week, _ = now.isocalendar()
    monday = (now - timedelta(days=now.weekday())).date()
    assert f"<h1>Digest of week {week}, {year}" in page
    assert f"{year:04d}-W{week:02d} · {monday.isoformat()} to" in page
    assert "This week is not over yet" in page


# --- send a test to me ------------------------------------------------------------------------------


def test_a_test_copy_goes_to_the_coordinator_only_and_nothing_is_marked_sent(signed_in, world, smtp_server):
    kb = world.kb
    item_id = _old_story(kb)
    curation.set_status(kb.db, item_id, "accepted", None)
    recipients.add_recipient(kb.db, PARTNER, "Ana Partner")
    recipients.subscribe_user(kb.db, "researcher@lab.example")
    week = _iso_week(datetime.now(UTC))
    set_intro(kb.db, week, "Draft intro, not final.")

    client = signed_in("coordinator")
    response = _post(client, "/digest/test", week=week)
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "A test copy of the draft went to coordinator@lab.example. Nothing is marked as sent." in page

    [received] = smtp_server.received
    assert received.recipients == ("coordinator@lab.example",)
    message = received.message()
    assert message["To"].addresses[0].addr_spec == "coordinator@lab.example"
    assert message["Subject"].startswith("[Test] Media monitoring digest")
    assert message["List-Unsubscribe"] is None  # the coordinator is not unsubscribing anyone
    body = message.get_body(("plain",)).get_content()
    assert OLD_STORY in body and "Draft intro, not final." in body

    digest = build_digest(kb.db, kb.settings, week)
    assert (digest.frozen, digest.sent_at) == (False, None)
    assert {d.status for d in deliveries(kb.db, week)} == {"pending"}  # the partner and researcher still wait
    set_intro(kb.db, week, "Final intro.")  # still editable


def test_a_test_copy_of_an_empty_week_says_so_and_sends_nothing(signed_in, world, smtp_server):
    client = signed_in("coordinator")
    week = _iso_week(datetime.now(UTC) + timedelta(days=7))
    response = _post(client, "/digest/test", week=week)
    page = _text(client.get(response.headers["Location"]))
    flashes = [html.unescape(m) for m in re.findall(r'<p class="flash flash-error" role="status">(.*?)</p>',
                                                     page, re.S)]
    assert any("there is nothing to test" in f for f in flashes), flashes
    assert smtp_server.received == []


def test_the_draft_page_has_the_test_button_and_the_unsaved_changes_script(signed_in, world):
    page = _text(signed_in("coordinator").get("/digest"))
    assert 'action="/digest/test"' in page and "Send a test to me" in page
    assert 'src="/static/digest-draft.js"' in page
    assert 'data-unsaved="the introduction"' in page

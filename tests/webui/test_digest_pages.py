"""The digest pages: who may open them, CSRF, the draft and its edits, escaping, sending through a real SMTP
server, the archive, recipients, one's own subscription, and the public unsubscribe link (RFC 8058)."""

from __future__ import annotations

import dataclasses
import html
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from kb import curation
from kb.digest import recipients
from kb.digest.deliveries import send_digest
from kb.digest.draft import build_digest
from kb.items import store_item
from kb.knowledge import KnowledgeBase
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_kb
from tests.smtpserver import LocalSMTPServer
from tests.webui.conftest import ROLES, World, csrf_token

WEEK = "2026-W47"  # Monday 16 to Sunday 22 November 2026; make_draft publishes on the 18th
IN_WEEK = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
BASE_URL = "https://kb.lab.example"
PARTNER = "ana@partner.example"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOAD = f"{SCRIPT} {IMG}"


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp_server_running() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


@pytest.fixture
def smtp_server(smtp_server_running: LocalSMTPServer) -> LocalSMTPServer:
    """One real SMTP server on 127.0.0.1 for the module, emptied before each test."""
    server = smtp_server_running
    with server.lock:
        server.received.clear()
        server.refused.clear()
        server.refuse.clear()
        server.close_after = None
    return server


@pytest.fixture
def kb(tmp_path: Path, smtp_server: LocalSMTPServer) -> Iterator[KnowledgeBase]:
    """The conftest's knowledge base, configured to send mail to the test SMTP server."""
    base = make_kb(tmp_path / "data", timezone="Europe/Amsterdam", base_url=BASE_URL,
                   smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_security="none",
                   smtp_sender="Media monitoring <digest@lab.example>")
    try:
        yield base
    finally:
        base.close()


def _accepted(kb: KnowledgeBase, **overrides: Any) -> int:
    """A stored item, accepted by a person on the day it was published (so in that week's digest)."""
    draft = make_draft(**overrides)
    item_id = store_item(kb.db, draft).item_id
    curation.set_status(kb.db, item_id, "accepted", None, now=draft.published)
    return item_id


def _text(response) -> str:
    return response.get_data(as_text=True)


def _token(client: FlaskClient) -> str:
    token = getattr(client, "_csrf", None)
    if token is None:
        token = csrf_token(client)
        client._csrf = token  # type: ignore[attr-defined]
    return token


def _post(client: FlaskClient, path: str, **data: Any):
    """A form sent like a browser (with the session's CSRF token), following the redirect to read flashes."""
    return client.post(path, data={**data, "csrf_token": _token(client)}, follow_redirects=True)


def _flashes(page: str) -> list[str]:
    found = re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', page, re.S)
    return [html.unescape(" ".join(message.split())) for message in found]


def _assert_inert(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "onerror=alert(1)>" not in page
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", page, re.IGNORECASE)


def _assert_csp_clean(page: str) -> None:
    """Nothing the CSP would block: no inline script, event handler or style attribute or element."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+\s*=", page)
    assert not re.search(r"\sstyle\s*=", page)
    assert "<style" not in page


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- who may open what ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    path: str
    role: str | None  # the least role allowed; None: public
    data: dict[str, str] = field(default_factory=dict)
    sent: bool = False  # needs a digest sent (for the archive page of that week)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/digest", f"/digest?week={WEEK}", "coordinator"),
    Route("GET", "/digest/style.css", "/digest/style.css", "coordinator"),
    Route("POST", "/digest/intro", "/digest/intro", "coordinator", {"week": WEEK, "intro": "This week"}),
    Route("POST", "/digest/summary", "/digest/summary", "coordinator",
          {"week": WEEK, "item_id": "{item}", "summary": "Short."}),
    Route("POST", "/digest/drop", "/digest/drop", "coordinator", {"week": WEEK, "item_id": "{item}"}),
    Route("POST", "/digest/restore", "/digest/restore", "coordinator", {"week": WEEK, "item_id": "{item}"}),
    Route("POST", "/digest/order", "/digest/order", "coordinator", {"week": WEEK, "pos-{item}": "1"}),
    Route("POST", "/digest/grouping", "/digest/grouping", "coordinator",
          {"week": WEEK, "section": "", "by_system": "1"}),
    Route("POST", "/digest/send", "/digest/send", "coordinator", {"week": WEEK}),
    Route("POST", "/digest/test", "/digest/test", "coordinator", {"week": WEEK}),
    Route("GET", "/digest/archive", "/digest/archive", "coordinator"),
    Route("GET", "/digest/archive/<week>", "/digest/archive/2026-W46", "coordinator", sent=True),
    Route("GET", "/digest/recipients", "/digest/recipients", "coordinator"),
    Route("POST", "/digest/recipients/add", "/digest/recipients/add", "coordinator",
          {"email": "new@partner.example", "name": "New"}),
    Route("POST", "/digest/recipients/remove", "/digest/recipients/remove", "coordinator",
          {"email": PARTNER}),
    Route("GET", "/digest/subscription", "/digest/subscription", "researcher"),
    Route("POST", "/digest/subscription", "/digest/subscription", "researcher", {"subscribe": "1"}),
    Route("GET", "/digest/unsubscribe/<token>", "/digest/unsubscribe/{token}", None),
    Route("POST", "/digest/unsubscribe/<token>", "/digest/unsubscribe/{token}", None),
]
POSTS = [r for r in ROUTES if r.method == "POST" and r.role is not None]


def _prepare(world: World, route: Route) -> dict[str, str]:
    """The world's item accepted for the week, an outside recipient, and (if asked) a digest sent."""
    kb = world.kb
    curation.set_status(kb.db, world.item_id, "accepted", world.users["coordinator"].id, now=IN_WEEK)
    partner = recipients.add_recipient(kb.db, PARTNER, "Ana Partner")
    if route.sent:
        _accepted(kb, published=IN_WEEK - timedelta(days=7), title="Last week's story")
        send_digest(kb.db, kb.settings, "2026-W46")
    return {"item": str(world.item_id), "token": partner.unsubscribe_token}


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("who", (None, *ROLES), ids=lambda r: r or "anonymous")
def test_access_matrix(app, world, signed_in, route, who):
    ids = _prepare(world, route)
    client = app.test_client() if who is None else signed_in(who)
    path = route.path.format(**ids)
    if route.method == "GET":
        response = client.get(path)
    else:
        data = {key.format(**ids): value.format(**ids) for key, value in route.data.items()}
        response = client.post(path, data={**data, "csrf_token": csrf_token(client)})
    if route.role is None:
        assert response.status_code == 200
    elif who is None:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    elif ROLES.index(who) < ROLES.index(route.role):
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302), _text(response)[:500]
        if response.status_code == 302:
            assert not response.headers["Location"].startswith("/login")


def test_every_digest_route_is_in_the_matrix(app):
    covered = {(r.method, r.rule) for r in ROUTES}
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("digest.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == covered


def test_the_menu_offers_the_digest_to_coordinators_only(signed_in, world):
    assert 'href="/digest"' not in _text(signed_in("researcher").get("/profile"))
    assert 'href="/digest"' in _text(signed_in("coordinator").get("/profile"))


# --- CSRF ----------------------------------------------------------------------------------------------


def _state(kb: KnowledgeBase) -> tuple[list[tuple], list[tuple]]:
    return (list(kb.db.execute("SELECT week, intro, edits, sent_at FROM digests")),
            list(kb.db.execute("SELECT email, active FROM digest_recipients ORDER BY email")))


@pytest.mark.parametrize("route", POSTS, ids=str)
def test_forms_without_csrf_token_are_refused(signed_in, world, smtp_server, route):
    ids = _prepare(world, route)
    recipients.subscribe_user(world.kb.db, "researcher@lab.example")
    before = _state(world.kb)
    client = signed_in("admin")
    data = {key.format(**ids): value.format(**ids) for key, value in route.data.items()}
    refused = client.post(route.path, data=data)
    assert refused.status_code == 400 and "CSRF" in _text(refused)
    forged = client.post(route.path, data={**data, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert _state(world.kb) == before
    assert smtp_server.received == []


# --- the draft -----------------------------------------------------------------------------------------


def test_the_draft_shows_items_in_several_languages_with_their_labels(signed_in, world):
    kb = world.kb
    ids = {
        "en": _accepted(kb, title="Council pauses benefit fraud risk score"),
        "fr": _accepted(kb, language="fr", title="La CAF note les allocataires",
                        summary="La CAF utilise un algorithme. Il note les allocataires."),
        "ar": _accepted(kb, language="ar", title="خوارزمية لتصحيح الامتحانات",
                        topics=(TopicEvidence("sector/education", ("x",)),)),
        "de": store_item(kb.db, make_draft(language="de", title="Gesichtserkennung im Jobcenter")).item_id,
    }
    curation.set_in_digest(kb.db, ids["de"], True, None, now=IN_WEEK)  # marked for the digest, not accepted
    store_item(kb.db, make_draft(title="Undecided story"))
    _accepted(kb, title="Last week's story", published=IN_WEEK - timedelta(days=7))

    response = signed_in("coordinator").get(f"/digest?week={WEEK}")
    assert response.status_code == 200
    page = _text(response)
    for label in ("English", "French", "Arabic", "German"):
        assert f'<span class="badge badge-language">{label}</span>' in page
    assert 'lang="ar"' in page and "خوارزمية لتصحيح الامتحانات" in page
    assert "Undecided story" not in page and "Last week&#39;s story" not in page
    # Counts at the top, by sector and by language.
    counts = page.split('class="cards dg-counts"', 1)[1].split("</div>", 1)[0]
    assert "4 items by sector" in counts
    assert "Welfare and social protection <strong>3</strong>" in counts
    assert "Education <strong>1</strong>" in counts
    assert "Arabic <strong>1</strong>" in counts and "French <strong>1</strong>" in counts
    # Each entry links to its original (apart, without referrer) and to its item page.
    for item_id in ids.values():
        assert f'id="item-{item_id}"' in page and f'href="/items/{item_id}"' in page
    assert '<a href="https://news.example.org/2026/welfare-algorithm-' in page
    original = r'<a href="https://[^"]+" rel="noopener noreferrer" target="_blank">Original article</a>'
    assert re.search(original, page)
    # The week's neighbours, the preview body (styled through its own stylesheet), and the send form.
    assert 'href="/digest?week=2026-W46"' in page and 'href="/digest?week=2026-W48"' in page
    assert 'class="digest-h1"' in page and 'href="/digest/style.css"' in page
    assert 'href="/static/digest.css"' in page
    assert 'action="/digest/send"' in page
    _assert_csp_clean(page)


def test_the_default_week_is_the_last_completed_one_and_bad_weeks_are_refused(signed_in, world):
    client = signed_in("coordinator")
    assert client.get("/digest").status_code == 200
    bad = client.get("/digest?week=2026-W99")
    assert bad.status_code == 400 and "ISO week" in _text(bad)


def test_the_stylesheet_of_the_preview(signed_in, world):
    response = signed_in("coordinator").get("/digest/style.css")
    assert response.mimetype == "text/css"
    assert ".digest-h1 {" in _text(response) and ".digest-lang {" in _text(response)


def test_edits_persist(signed_in, world):
    kb = world.kb
    first = _accepted(kb, title="First story", published=IN_WEEK)
    second = _accepted(kb, title="Second story", published=IN_WEEK + timedelta(hours=1))
    third = _accepted(kb, title="Third story", published=IN_WEEK + timedelta(hours=2))
    client = signed_in("coordinator")

    page = _text(_post(client, "/digest/intro", week=WEEK, intro="A quiet week.\n\nTwo paragraphs."))
    assert "The introduction is saved." in _flashes(page)
    page = _text(_post(client, "/digest/summary", week=WEEK, item_id=second, summary="Edited by hand."))
    assert "The summary is saved." in _flashes(page)
    assert ">Edited by hand.</textarea>" in page and "(edited;" in page

    _post(client, "/digest/order", week=WEEK, item_id=third, move="up")
    assert [e.item_id for e in build_digest(kb.db, kb.settings, WEEK).entries] == [first, third, second]
    page = _text(_post(client, "/digest/order", week=WEEK, item_id=first, move="up"))
    assert "The item is already the first of its topic." in _flashes(page)

    _post(client, "/digest/order", week=WEEK, **{f"pos-{first}": "3", f"pos-{third}": "2",
                                                 f"pos-{second}": "1"})
    assert [e.item_id for e in build_digest(kb.db, kb.settings, WEEK).entries] == [second, third, first]
    page = _text(_post(client, "/digest/order", week=WEEK, **{f"pos-{first}": "first"}))
    assert any("is not a number" in f for f in _flashes(page))

    page = _text(_post(client, "/digest/drop", week=WEEK, item_id=third))
    dropped = page.split('class="dg-dropped"', 1)[1]
    assert "Third story" in dropped and 'action="/digest/restore"' in dropped

    digest = build_digest(kb.db, kb.settings, WEEK)
    assert digest.intro == "A quiet week.\n\nTwo paragraphs."
    assert [e.item_id for e in digest.entries] == [second, first]
    assert [e.item_id for e in digest.dropped] == [third]
    assert digest.entries[0].summary == "Edited by hand." and digest.entries[0].summary_edited

    page = _text(client.get(f"/digest?week={WEEK}"))
    assert ">A quiet week.\n\nTwo paragraphs.</textarea>" in page
    preview = page.split('class="dg-frame"', 1)[1]
    assert '<p class="digest-intro">Two paragraphs.</p>' in preview and "Third story" not in preview
    assert preview.index("Second story") < preview.index("First story")

    _post(client, "/digest/restore", week=WEEK, item_id=third)
    _post(client, "/digest/summary", week=WEEK, item_id=second, summary="")  # back to the default
    digest = build_digest(kb.db, kb.settings, WEEK)
    assert digest.dropped == () and len(digest.entries) == 3
    assert not next(e for e in digest.entries if e.item_id == second).summary_edited


def test_an_edit_the_core_refuses_is_a_message_not_an_error_page(signed_in, world):
    outside = _accepted(world.kb, title="Next week's story", published=IN_WEEK + timedelta(days=7))
    client = signed_in("coordinator")
    response = _post(client, "/digest/drop", week=WEEK, item_id=outside)
    assert response.status_code == 200
    assert _flashes(_text(response)) == [f"Item(s) {outside} are not in the digest of {WEEK}."]
    response = _post(client, "/digest/intro", week=WEEK, intro="x" * 10_001)
    assert any("longer than" in f for f in _flashes(_text(response)))


def test_hostile_text_comes_out_escaped(signed_in, world):
    kb = world.kb
    item_id = _accepted(kb, title=f"Title {PAYLOAD}", summary=f"Summary {PAYLOAD}. More.",
                        site_name=PAYLOAD)
    client = signed_in("coordinator")
    _post(client, "/digest/intro", week=WEEK, intro=f"Intro {PAYLOAD}")
    _post(client, "/digest/summary", week=WEEK, item_id=item_id, summary=f"Edited {PAYLOAD}</textarea>")
    _post(client, "/digest/recipients/add", email="ana@partner.example", name=f"Ana {PAYLOAD}")
    page = _text(client.get(f"/digest?week={WEEK}"))
    _assert_inert(page)
    assert "Title &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Intro &lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Edited &lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;/textarea&gt;" in page
    preview = page.split('class="dg-frame"', 1)[1]
    assert "Title &lt;script&gt;" in preview and "Intro &lt;script&gt;" in preview

    send = _post(client, "/digest/send", week=WEEK)
    assert send.status_code == 200
    for path in ("/digest/archive", f"/digest/archive/{WEEK}", "/digest/recipients", "/digest/subscription"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_inert(_text(response))
    assert "Ana &lt;script&gt;" in _text(client.get("/digest/recipients"))


# --- sending, the archive ------------------------------------------------------------------------------


def test_send_through_smtp_then_the_archive_shows_deliveries_and_a_second_send_adds_nothing(
        signed_in, world, smtp_server):
    kb = world.kb
    _accepted(kb, title="Council pauses benefit fraud risk score")
    _accepted(kb, language="fr", title="La CAF note les allocataires")
    coordinator, researcher = signed_in("coordinator"), signed_in("researcher")
    assert "will receive the digest" in _flashes(_text(_post(coordinator, "/digest/recipients/add",
                                                             email=PARTNER, name="Ana Partner")))[0]
    page = _text(_post(researcher, "/digest/subscription", subscribe="1"))
    assert "You will receive the weekly digest." in _flashes(page)
    assert "You receive the weekly digest at researcher@lab.example." in page

    page = _text(_post(coordinator, "/digest/send", week=WEEK))
    assert f"Digest {WEEK} (2 items): sent to 2 of 2 recipients." in _flashes(page)
    assert sorted(smtp_server.envelope_recipients()) == [PARTNER, "researcher@lab.example"]
    [message] = smtp_server.messages_to(PARTNER)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "can no longer be edited" in page  # the draft is frozen now
    assert 'action="/digest/intro"' not in page and 'action="/digest/drop"' not in page

    archive = _text(coordinator.get("/digest/archive"))
    record = archive.split(f'id="week-{WEEK}"', 1)[1]
    assert "delivered to 2" in record and "La CAF note les allocataires" in record
    assert record.count('<tr class="dg-status-sent">') == 2
    assert f'href="/digest/archive/{WEEK}"' in record
    for path in ("/digest/archive", f"/digest/archive/{WEEK}", "/digest/recipients", "/digest/subscription"):
        _assert_csp_clean(_text(coordinator.get(path)))

    sent = _text(coordinator.get(f"/digest/archive/{WEEK}"))
    assert "Media monitoring digest, week 47 2026" in sent and "La CAF note les allocataires" in sent
    assert sent.count('<td class="dg-status">Delivered</td>') == 2
    assert coordinator.get("/digest/archive/2026-W40").status_code == 404  # never sent
    assert coordinator.get("/digest/archive/not-a-week").status_code == 404

    page = _text(_post(coordinator, "/digest/send", week=WEEK))
    assert f"Digest {WEEK} (2 items): sent to 0, 2 had it already of 2 recipients." in _flashes(page)
    assert len(smtp_server.received) == 2

    refused = _post(coordinator, "/digest/intro", week=WEEK, intro="Too late")
    assert any("can no longer be changed" in f for f in _flashes(_text(refused)))


def test_a_refused_recipient_is_reported_and_shown_as_failed(signed_in, world, smtp_server):
    _accepted(world.kb)
    recipients.add_recipient(world.kb.db, PARTNER)
    recipients.add_recipient(world.kb.db, "bounce@partner.example")
    smtp_server.refuse.add("bounce@partner.example")
    client = signed_in("coordinator")
    flashes = _flashes(_text(_post(client, "/digest/send", week=WEEK)))
    assert flashes[0].startswith(f"Digest {WEEK} (1 items): sent to 1, failed for 1")
    assert flashes[1].startswith("Not delivered to bounce@partner.example: 550")
    page = _text(client.get(f"/digest/archive/{WEEK}"))
    assert '<tr class="dg-status-failed">' in page and "mailbox unavailable" in page


def test_send_errors_are_messages_not_server_errors(signed_in, world, smtp_server, monkeypatch):
    kb = world.kb
    client = signed_in("coordinator")
    empty = _post(client, "/digest/send", week="2026-W40")
    assert empty.status_code == 200
    assert any("has no items" in f for f in _flashes(_text(empty)))

    _accepted(kb)
    nobody = _flashes(_text(_post(client, "/digest/send", week=WEEK)))
    assert any(f.startswith("Nobody receives the digest") for f in nobody)

    recipients.add_recipient(kb.db, PARTNER)
    monkeypatch.setattr(kb, "settings", dataclasses.replace(kb.settings, smtp_host=""))
    unset = _post(client, "/digest/send", week=WEEK)
    assert unset.status_code == 200
    assert any("smtp_host (KB_SMTP_HOST)" in f for f in _flashes(_text(unset)))

    monkeypatch.setattr(kb, "settings", dataclasses.replace(kb.settings, smtp_host="127.0.0.1",
                                                            smtp_port=_closed_port()))
    down = _post(client, "/digest/send", week=WEEK)
    assert down.status_code == 200
    assert any(f.startswith("Could not connect to the SMTP server") for f in _flashes(_text(down)))
    assert smtp_server.received == []


# --- recipients and one's own subscription ------------------------------------------------------------


def test_the_coordinator_manages_outside_recipients(signed_in, world):
    client = signed_in("coordinator")
    page = _text(_post(client, "/digest/recipients/add", email=PARTNER, name="Ana Partner"))
    assert f"{PARTNER} will receive the digest." in _flashes(page)
    assert "<td>Ana Partner</td>" in page and "<td>Outside address</td>" in page
    again = _flashes(_text(_post(client, "/digest/recipients/add", email=PARTNER)))
    assert again == [f"{PARTNER} receives the digest already."]
    assert any("is not an e-mail address" in f
               for f in _flashes(_text(_post(client, "/digest/recipients/add", email="nobody"))))
    page = _text(_post(client, "/digest/recipients/remove", email=PARTNER))
    assert f"{PARTNER} will no longer receive the digest." in _flashes(page)
    assert "<td>Stopped</td>" in page
    assert recipients.deliverable_recipients(world.kb.db) == []


def test_any_user_subscribes_and_unsubscribes_themselves(signed_in, world):
    client = signed_in("researcher")
    page = _text(client.get("/digest/subscription"))
    assert "You do not receive the weekly digest." in page and 'class="dg-tabs"' not in page
    _post(client, "/digest/subscription", subscribe="1")
    _post(client, "/digest/subscription", subscribe="1")  # twice is fine
    [member] = recipients.deliverable_recipients(world.kb.db)
    assert (member.email, member.kind) == ("researcher@lab.example", "user")
    page = _text(_post(client, "/digest/subscription", subscribe="0", next="https://evil.example/"))
    assert "You will no longer receive the weekly digest." in _flashes(page)  # and stayed on the site
    _post(client, "/digest/subscription", subscribe="0")
    assert recipients.deliverable_recipients(world.kb.db) == []


# --- the public unsubscribe link -----------------------------------------------------------------------


def test_unsubscribe_link_asks_on_get_and_unsubscribes_on_one_click_post(app, signed_in, world, smtp_server):
    kb = world.kb
    _accepted(kb)
    recipients.add_recipient(kb.db, PARTNER, "Ana Partner")
    recipients.subscribe_user(kb.db, "researcher@lab.example")
    coordinator = signed_in("coordinator")
    _post(coordinator, "/digest/send", week=WEEK)
    [message] = smtp_server.messages_to(PARTNER)
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{BASE_URL}/digest/unsubscribe/")
    path = link.removeprefix(BASE_URL)

    visitor = app.test_client()  # no session: the mail client, or a scanner following links
    for _ in range(2):
        page = visitor.get(path)
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        assert f'<form method="post" action="{path}">' in _text(page)
        assert "a••@partner.example" in _text(page) and PARTNER not in _text(page)
    assert recipients.find_recipient(kb.db, PARTNER).active  # looking did not unsubscribe

    one_click = visitor.post(path, data="List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200 and "will no longer receive the digest" in _text(one_click)
    assert not recipients.find_recipient(kb.db, PARTNER).active
    assert visitor.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    assert "does not receive the digest any more" in _text(visitor.get(path))

    unknown = visitor.get("/digest/unsubscribe/not-a-token")
    assert unknown.status_code == 404 and "This unsubscribe link is not known." in _text(unknown)
    assert "<h1>Unsubscribe from the digest</h1>" in _text(unknown)
    assert visitor.post("/digest/unsubscribe/not-a-token").status_code == 404
    _assert_csp_clean(_text(unknown))

    # The next digest goes to the others only.
    _accepted(kb, title="Next week's story", published=IN_WEEK + timedelta(days=7))
    flashes = _flashes(_text(_post(coordinator, "/digest/send", week="2026-W48")))
    assert "Digest 2026-W48 (1 items): sent to 1 of 1 recipients." in flashes
    assert len(smtp_server.messages_to(PARTNER)) == 1
    assert len(smtp_server.messages_to("researcher@lab.example")) == 2

"""CSRF, escaping of hostile text, safe links, headers, cookies, sessions that end, and sign-in throttling."""

from __future__ import annotations

import re
import time

import pytest

from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft, make_settings
from tests.webui.conftest import PASSWORD, csrf_token, enter_session, sign_in
from webui.app import SECURITY_HEADERS, SIGN_IN_LIMIT_PER_ACCOUNT, SIGN_IN_LIMIT_PER_ADDRESS, create_app
from webui.ratelimit import FailureLimiter
from webui.templating import http_url

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"


# --- CSRF ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/items/{item}/notes", "/items/{item}/curation", "/sources/{source}/pause",
                                  "/profile/tokens", "/logout", "/admin/users"])
def test_post_without_csrf_token_is_refused(signed_in, world, path):
    client = signed_in("admin")
    response = client.post(path.format(item=world.item_id, source=world.source_id),
                           data={"note": "x", "status": "accepted", "name": "t"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert curation.list_notes(world.kb.db, world.item_id) == []
    assert not sources_store.get_source(world.kb.db, world.source_id).paused


def test_post_with_a_wrong_csrf_token_is_refused(signed_in, world):
    client = signed_in("researcher")
    response = client.post(f"/items/{world.item_id}/notes", data={"note": "x", "csrf_token": "forged"})
    assert response.status_code == 400


def test_sign_in_form_needs_its_csrf_token(client, world):
    response = client.post("/login", data={"email": "admin@lab.example", "password": PASSWORD})
    assert response.status_code == 400


def test_session_api_post_needs_the_csrf_header(signed_in, world):
    client = signed_in("coordinator")
    path = f"/api/v1/items/{world.item_id}/curation"
    refused = client.post(path, json={"status": "accepted"})
    assert refused.status_code == 400 and refused.is_json
    accepted = client.post(path, json={"status": "accepted"}, headers={"X-CSRFToken": csrf_token(client)})
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"


# --- hostile text comes out as text -------------------------------------------------------------------

@pytest.fixture
def hostile(world):
    """A payload in every field a person or a feed can fill."""
    db = world.kb.db
    payload = f"{SCRIPT} {IMG}"
    source = sources_store.add_source(db, "https://evil.example.org/feed", name=payload)
    sources_store.record_failure(db, source.id, f"HTTP 500 {payload}")
    item_id = items_store.store_item(db, make_draft(
        title=f"Title {payload}", text=f"Para one {payload}\n\nPara two {SCRIPT}", summary=payload,
        author=payload, site_name=payload, topics=(TopicEvidence("sector/welfare", (payload,)),),
    ), source_id=source.id).item_id
    # Rows that bypassed the checks (older data, a bug elsewhere) must still not become javascript: links.
    db.execute("UPDATE items SET url = ? WHERE id = ?", [JS_URL, item_id])
    db.execute("INSERT INTO sources (url, kind, name, created_at) VALUES (?, 'feed', ?, 'now')",
               [JS_URL, payload])
    db.execute("UPDATE item_sources SET entry_url = ? WHERE item_id = ?", [JS_URL, item_id])
    curation.add_note(db, item_id, world.users["coordinator"].id, f"Note {payload}")
    curation.set_status(db, item_id, "new", world.users["coordinator"].id)
    users_store.update_user(db, world.users["researcher"].id, name=payload)
    from kb.search import saved as saved_searches

    saved_searches.create_saved_search(db, world.users["admin"].id, f"Saved {payload}", payload)
    world.kb.sync_index()
    return item_id


def _assert_inert(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "onerror=alert(1)>" not in page
    assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", page, re.IGNORECASE)


@pytest.mark.parametrize("path", ["/", "/?q=Title", "/items/{item}", "/curation", "/sources", "/dashboard",
                                  "/admin/users", "/profile", "/?q=" + SCRIPT, "/?q=x&language=" + SCRIPT])
def test_hostile_text_is_escaped_on_every_page(signed_in, world, hostile, path):
    client = signed_in("admin")
    response = client.get(path.format(item=hostile))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _assert_inert(page)


def test_hostile_text_is_shown_escaped_not_dropped(signed_in, world, hostile):
    page = signed_in("admin").get(f"/items/{hostile}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<p>Para") == 2  # the text is paragraphs of text
    assert '<span class="unlinked">Original</span>' in page  # shown as text, never as a link
    assert f'href="{JS_URL}"' not in page


def test_external_links_open_apart_without_referrer(signed_in, world):
    page = signed_in("researcher").get(f"/items/{world.item_id}").get_data(as_text=True)
    links = re.findall(r'<a href="https?://[^"]+"[^>]*>', page)
    assert links
    for link in links:
        assert 'rel="noopener noreferrer"' in link and 'target="_blank"' in link


@pytest.mark.parametrize("url, expected", [
    ("https://example.org/a", "https://example.org/a"),
    ("http://example.org", "http://example.org"),
    (JS_URL, ""), ("JAVASCRIPT:alert(1)", ""), ("data:text/html,x", ""), ("//evil.example", ""),
    ("java\tscript:alert(1)", ""), ("", ""), (None, ""), ("vbscript:x", ""), ("https://", ""),
])
def test_only_http_urls_become_links(url, expected):
    assert http_url(url) == expected


# --- headers and cookies ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/", "/items/1", "/nowhere", "/api/v1/search",
                                  "/api/v1/nowhere", "/static/curation.js", "/admin/users"])
def test_security_headers_on_every_response(signed_in, world, path):
    with signed_in("researcher").get(path) as response:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]


def test_pages_carry_no_inline_script_or_event_handlers(signed_in, world):
    client = signed_in("admin")
    paths = ("/", f"/items/{world.item_id}", "/curation", "/sources", "/dashboard", "/admin/users",
             "/profile")
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"\son[a-z]+\s*=", page), path
        assert not re.search(r"\sstyle\s*=", page), path


def test_session_cookie_flags(client, world):
    response = sign_in(client, "researcher@lab.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_when_configured(world, tmp_path):
    settings = make_settings(world.kb.settings.data_dir, secure_cookies=True)
    app = create_app(settings, kb=world.kb, TESTING=True)
    client = app.test_client()
    response = client.get("/login", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]


def test_open_redirect_after_sign_in_is_refused(app, world):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = sign_in(app.test_client(), "researcher@lab.example", next=target)
        assert response.status_code == 302 and response.headers["Location"] == "/", target
    response = sign_in(app.test_client(), "researcher@lab.example", next=f"/items/{world.item_id}")
    assert response.headers["Location"] == f"/items/{world.item_id}"


# --- sessions -----------------------------------------------------------------------------------------

def test_sign_in_and_out(client, world):
    assert sign_in(client, "researcher@lab.example").status_code == 302
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_wrong_password_and_inactive_user_cannot_sign_in(client, world):
    page = sign_in(client, "researcher@lab.example", "wrong password!").get_data(as_text=True)
    assert "Wrong e-mail address or password" in page
    users_store.update_user(world.kb.db, world.users["researcher"].id, active=False)
    assert sign_in(client, "researcher@lab.example").status_code == 200  # the form again
    assert client.get("/").status_code == 302


def test_sign_out_invalidates_a_copied_session_cookie(app, world):
    browser = app.test_client()
    sign_in(browser, "coordinator@lab.example")
    stolen = browser.get_cookie("kb_session").value
    thief = app.test_client()
    thief.set_cookie("kb_session", stolen)
    assert thief.get("/curation").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf_token(browser)})
    assert thief.get("/curation").status_code == 302
    assert thief.get(f"/api/v1/items/{world.item_id}").status_code == 401


def test_role_change_and_deactivation_end_sessions(signed_in, world):
    client = signed_in("coordinator")
    assert client.get("/curation").status_code == 200
    users_store.update_user(world.kb.db, world.users["coordinator"].id, role="researcher")
    assert client.get("/curation").status_code == 302  # signed out: the old role is not carried on


def test_session_expires(app, world):
    minutes = world.kb.settings.session_minutes
    fresh, stale = app.test_client(), app.test_client()
    enter_session(fresh, world.users["researcher"], started=time.time() - minutes * 60 + 30)
    enter_session(stale, world.users["researcher"], started=time.time() - minutes * 60 - 1)
    assert fresh.get("/").status_code == 200
    assert stale.get("/").status_code == 302


def test_a_form_sent_after_the_session_ended_leads_to_sign_in(app, world):
    client = app.test_client()
    sign_in(client, "researcher@lab.example")
    token = csrf_token(client)
    users_store.end_sessions(world.kb.db, world.users["researcher"].id)  # e.g. signed out on another device
    response = client.post(f"/items/{world.item_id}/notes", data={"note": "late", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert curation.list_notes(world.kb.db, world.item_id) == []


def test_session_lifetime_follows_the_setting(world):
    settings = make_settings(world.kb.settings.data_dir, session_minutes=30)
    app = create_app(settings, kb=world.kb, TESTING=True)
    client = app.test_client()
    enter_session(client, world.users["researcher"], started=time.time() - 31 * 60)
    assert client.get("/").status_code == 302
    response = sign_in(client, "researcher@lab.example")
    assert "Max-Age=1800" in response.headers["Set-Cookie"] or "Expires=" in response.headers["Set-Cookie"]


def test_session_from_another_secret_is_refused(world, tmp_path):
    other = create_app(make_settings(tmp_path / "other"), TESTING=True)
    try:
        client = other.test_client()
        enter_session(client, world.users["admin"])
        stolen = client.get_cookie("kb_session").value
    finally:
        other.extensions["kb"].close()
    app = create_app(world.kb.settings, kb=world.kb, TESTING=True)
    victim = app.test_client()
    victim.set_cookie("kb_session", stolen)
    assert victim.get("/admin/users").status_code == 302


# --- sign-in throttling -------------------------------------------------------------------------------

def test_failed_sign_ins_are_limited_per_account(app, world):
    client = app.test_client()
    for _ in range(SIGN_IN_LIMIT_PER_ACCOUNT):
        assert sign_in(client, "admin@lab.example", "wrong password!").status_code == 200
    blocked = sign_in(client, "admin@lab.example")  # even the right password
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)
    assert client.get("/admin/users").status_code == 302
    other = sign_in(app.test_client(), "researcher@lab.example")  # another account from the same address
    assert other.status_code == 302


def test_failed_sign_ins_are_limited_per_address(app, world):
    client = app.test_client()
    for n in range(SIGN_IN_LIMIT_PER_ADDRESS):
        sign_in(client, f"guess{n}@lab.example", "wrong password!")
    assert sign_in(client, "researcher@lab.example").status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    assert sign_in(elsewhere, "researcher@lab.example").status_code == 302


def test_success_resets_the_account_counter(app, world):
    client = app.test_client()
    for _ in range(SIGN_IN_LIMIT_PER_ACCOUNT - 1):
        sign_in(client, "admin@lab.example", "wrong password!")
    assert sign_in(client, "admin@lab.example").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    for _ in range(SIGN_IN_LIMIT_PER_ACCOUNT - 1):
        sign_in(client, "admin@lab.example", "wrong password!")
    assert sign_in(client, "admin@lab.example").status_code == 302


def test_failure_limiter_window(app):
    now = [1000.0]
    limiter = FailureLimiter(3, 60, "test", clock=lambda: now[0])
    with app.app_context():
        for _ in range(3):
            assert limiter.retry_after("a") == 0
            limiter.fail("a")
        assert limiter.retry_after("a") == pytest.approx(60)
        assert limiter.retry_after("b") == 0
        now[0] += 30
        assert limiter.retry_after("a") == pytest.approx(30)
        now[0] += 31
        assert limiter.retry_after("a") == 0
        limiter.fail("a")
        limiter.reset("a")
        assert limiter.retry_after("a") == 0

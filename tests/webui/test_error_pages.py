"""Error pages (issue 16): in the product's layout, saying what happened and what to do, with a link back; a
403 names the role the page needs and the user's own; the JSON API keeps its JSON errors. And a search page
past the last one says so rather than "17 results" next to "No results"."""

from __future__ import annotations

import html
import re

from kb import items as items_store
from tests.factories import make_draft
from tests.webui.conftest import csrf_token


def _text(response) -> str:
    return response.get_data(as_text=True)


def _main(page: str) -> str:
    return re.search(r"<main>.*</main>", page, re.S).group(0)


def _in_layout(page: str) -> None:
    assert '<header class="top">' in page and "</main>" in page
    assert 'href="/static/style.css"' in page


def test_403_names_the_role_needed_and_the_users_own(signed_in):
    page = _text(response := signed_in("researcher").get("/sources"))
    assert response.status_code == 403
    _in_layout(page)
    assert '<nav aria-label="Main">' in page  # the menu, for the way on
    assert "This page is for coordinators and admins; you are signed in as a researcher." in page
    assert 'class="error-back"' in page and 'href="/"' in page
    admin_only = _text(response := signed_in("coordinator").get("/admin/users"))
    assert response.status_code == 403
    assert "This page is for admins; you are signed in as a coordinator." in admin_only


def test_403_links_back_to_the_page_the_user_came_from(signed_in):
    client = signed_in("researcher")
    page = _text(client.get("/sources", headers={"Referer": "http://localhost/?q=welfare"}))
    assert '<a href="/?q=welfare" class="error-back">Back to the previous page</a>' in page
    # Another site is never a way back.
    page = _text(client.get("/sources", headers={"Referer": "https://evil.example/phish"}))
    assert "evil.example" not in page
    assert '<a href="/" class="error-back">Back to the search</a>' in page


def test_403_from_the_core_names_the_users_role(signed_in, world):
    """A refusal raised by kb (PermissionDenied) also says who the user is."""
    client = signed_in("researcher")
    response = client.post(f"/cases/{world.case_id}/edit",
                           data={"title": "x", "csrf_token": csrf_token(client)})
    assert response.status_code == 403
    assert "you are signed in as a researcher" in _text(response).lower()


def test_404_in_the_layout_with_what_to_do(signed_in):
    response = signed_in("researcher").get("/items/999999")
    assert response.status_code == 404
    page = _text(response)
    _in_layout(page)
    main = _main(page)
    assert "<h1>Not found</h1>" in main
    assert "Check the address" in main and 'class="error-back"' in main
    unknown_path = signed_in("researcher").get("/no/such/page")
    assert unknown_path.status_code == 404 and "<h1>Not found</h1>" in _text(unknown_path)


def test_400_in_the_layout_with_what_to_do(signed_in):
    response = signed_in("researcher").get("/?from=15/09/2026")
    assert response.status_code == 400
    page = _text(response)
    _in_layout(page)
    main = _main(page)
    assert "<h1>Bad request</h1>" in main
    assert "Check what you entered" in main and 'class="error-back"' in main


def test_error_messages_are_escaped(signed_in):
    response = signed_in("researcher").get("/?sort=<script>alert(1)</script>&from=<b>x</b>")
    assert response.status_code == 400
    assert "<script>alert(1)" not in _text(response) and "<b>x</b>" not in _text(response)


def test_the_api_keeps_its_json_errors(signed_in, world):
    client = signed_in("researcher")
    missing = client.get("/api/v1/items/999999")
    assert missing.status_code == 404 and missing.is_json
    assert missing.json["error"]["status"] == 404
    bad = client.get("/api/v1/search?from=nonsense")
    assert bad.status_code == 400 and bad.is_json and bad.json["error"]["status"] == 400
    refused = client.post(f"/api/v1/items/{world.item_id}/curation", json={"status": "accepted"},
                          headers={"X-CSRFToken": csrf_token(client)})
    assert refused.status_code == 403 and refused.is_json
    assert "<html" not in _text(refused)
    anonymous = client.application.test_client().get("/api/v1/search?q=x")
    assert anonymous.status_code == 401 and anonymous.is_json


def test_a_page_past_the_last_says_so(signed_in, world):
    for n in range(16):
        items_store.store_item(world.kb.db, make_draft(title=f"Benefit algorithm story {n}"))
    world.kb.sync_index()
    client = signed_in("researcher")
    first = _text(client.get("/?q=benefit"))
    total = int(re.search(r"<strong>(\d+)</strong> result", first).group(1))
    assert 1 <= total <= 20 and "past the last page" not in first
    page = _text(client.get("/?q=benefit&page=999"))
    assert "No results" not in page
    assert "Page 999 is past the last page (1)." in page
    link = re.search(r'<a href="([^"]*)">Go to page 1</a>', page)
    assert link and "page=1" in html.unescape(link.group(1)) and "q=benefit" in html.unescape(link.group(1))
    last = _text(client.get(html.unescape(link.group(1))))
    assert last.count('class="hit"') == total
    # With more pages, the last one is named.
    for n in range(30):
        items_store.store_item(world.kb.db, make_draft(title=f"Benefit algorithm tale {n}"))
    world.kb.sync_index()
    page = _text(client.get("/?q=benefit&page=999"))
    pages = -(-int(re.search(r"<strong>(\d+)</strong> result", page).group(1)) // 20)
    assert pages > 1 and f"Page 999 is past the last page ({pages})." in page
    # A query that finds nothing still says "No results".
    none = _text(client.get("/?q=zzzyyyxxx&page=3"))
    assert "No results" in none and "past the last page" not in none

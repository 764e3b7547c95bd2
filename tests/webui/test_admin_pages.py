"""The admin pages: the audit log (filters, readable entries, paging, CSV read back with the csv module),
sign-ins audited through the form, and revoking anyone's API token (admins only, after a confirmation)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime, timedelta

from flask.testing import FlaskClient

from kb import cases as cases_store
from kb import sources as sources_store
from kb import users as users_store
from kb.storage import audit
from tests.webui.conftest import PASSWORD, World, csrf_token, sign_in
from webui import admin


def _post(client: FlaskClient, path: str, **data: str):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _rows(page: str) -> list[str]:
    """The audit table's rows as plain text, one string per entry (a row holds its own table of changes)."""
    if '<table class="audit-log">' not in page:
        return []
    table = page.split('<table class="audit-log">', 1)[1].split("</main>", 1)[0]
    table = table.split('<nav class="pager"')[0]
    chunks = table.split('<tr id="audit-')[1:]
    texts = [" ".join(re.sub(r"<[^>]+>", " ", chunk.split(">", 1)[1]).split()) for chunk in chunks]
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d ", text) for text in texts)
    return [text.split(" ", 2)[2] for text in texts]  # without the time


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# --- access --------------------------------------------------------------------------------------------


def test_the_audit_log_is_for_admins_and_the_refusal_says_so(signed_in, world):
    for role in ("researcher", "coordinator"):
        client = signed_in(role)
        for path in ("/admin/audit", "/admin/audit.csv", "/admin/tokens"):
            response = client.get(path)
            assert response.status_code == 403
            page = _text(response)
            assert "This page is for admins; you are signed in as a" in page
            assert "Audit log" not in re.search(r'<nav aria-label="Main">.*?</nav>', page, re.S).group(0)
    page = _text(signed_in("admin").get("/admin/audit"))
    nav = re.search(r'<nav aria-label="Main">.*?</nav>', page, re.S).group(0)
    assert 'href="/admin/audit"' in nav and "Audit log" in nav


# --- the page ------------------------------------------------------------------------------------------


def test_entries_read_as_names_and_before_after(signed_in, world):
    admin_user = world.users["admin"]
    users_store.update_user(world.kb.db, world.users["researcher"].id, role="coordinator", by=admin_user.id)
    sources_store.update_source(world.kb.db, world.source_id, name="Actualités sécurité", by=admin_user.id)
    rows = _rows(_text(signed_in("admin").get("/admin/audit")))
    assert rows[0].startswith(
        "Admin (admin@lab.example) Changed Source “Actualités sécurité” Field Before After "
        "Name Example News Actualités sécurité")
    assert rows[1].startswith(
        "Admin (admin@lab.example) Changed User Researcher (researcher@lab.example) Field Before After "
        "Role researcher coordinator")
    page = signed_in("admin").get("/admin/audit").get_data(as_text=True)
    assert "\\u00e9" not in page and "{&#34;" not in page and '{"' not in page  # no raw JSON


def test_sign_ins_through_the_form_are_in_the_log(app, signed_in, world):
    client = app.test_client()
    assert sign_in(client, "coordinator@lab.example", "not the password").status_code == 200
    assert sign_in(client, "coordinator@lab.example").status_code == 302
    _post(client, "/logout")
    rows = _rows(_text(signed_in("admin").get("/admin/audit?kind=sign_in")))
    assert [row.split(" Sign-in ")[0] for row in rows] == [
        "Coordinator (coordinator@lab.example) Signed out",
        "Coordinator (coordinator@lab.example) Signed in",
        "someone not signed in Failed to sign in",
    ]
    assert "Reason wrong password" in rows[2] and "From address 127.0.0.1" in rows[2]


def test_filters_by_person_kind_and_dates_keep_what_was_chosen(signed_in, world):
    db = world.kb.db
    coordinator = world.users["coordinator"]
    sources_store.set_paused(db, world.source_id, True, by=coordinator.id)
    users_store.create_token(db, world.users["researcher"].id, "script")
    client = signed_in("admin")

    page = _text(client.get(f"/admin/audit?person={coordinator.id}&kind=source"))
    assert _rows(page) == ["Coordinator (coordinator@lab.example) Paused Source “Example News”"]
    assert f'<option value="{coordinator.id}" selected>' in page
    assert '<option value="source" selected>' in page

    today = datetime.now(world.kb.settings.tz).date()
    in_range = _rows(_text(client.get(f"/admin/audit?from={today}&to={today}")))
    assert len(in_range) == audit.count(db) and len(in_range) > 3
    later = today + timedelta(days=1)
    page = _text(client.get(f"/admin/audit?from={later}"))
    assert _rows(page) == [] and "No entries match these filters." in page
    assert _rows(_text(client.get(f"/admin/audit?to={today - timedelta(days=1)}"))) == []


def test_bad_filters_are_explained_on_the_form_with_what_was_typed(signed_in, world):
    response = signed_in("admin").get("/admin/audit?person=9999&kind=planets&from=31/12/2026&to=2026-01-01")
    assert response.status_code == 400
    page = _text(response)
    assert "Choose a person from the list." in page
    assert "Choose a kind of record from the list." in page
    assert "“31/12/2026” is not a date" in page and 'value="31/12/2026"' in page
    page = _text(signed_in("admin").get("/admin/audit?from=2026-05-02&to=2026-05-01"))
    assert "The end date is before the start date." in page and 'value="2026-05-02"' in page
    assert signed_in("admin").get("/admin/audit.csv?kind=planets").status_code == 400


def test_paging_and_a_page_beyond_the_last(signed_in, world, monkeypatch):
    monkeypatch.setattr(admin, "PAGE_SIZE", 3)
    for n in range(5):
        sources_store.add_source(world.kb.db, f"https://feeds.example.org/{n}.xml", name=f"Feed {n}",
                                 by=world.users["admin"].id)
    client = signed_in("admin")
    first = _text(client.get("/admin/audit?kind=source"))
    assert [r.split("“")[1].split("”")[0] for r in _rows(first)] == ["Feed 4", "Feed 3", "Feed 2"]
    assert "Page 1 of 2" in first and 'href="/admin/audit?page=2&kind=source" rel="next"' in first
    second = _text(client.get("/admin/audit?kind=source&page=2"))
    assert [r.split("“")[1].split("”")[0] for r in _rows(second)] == ["Feed 1", "Feed 0", "Example News"]
    beyond = _text(client.get("/admin/audit?kind=source&page=9"))
    assert _rows(beyond) == [] and "There is no page 9: the 6 entries fill 2 pages." in beyond
    assert "No entries" not in beyond


# --- CSV -----------------------------------------------------------------------------------------------


def test_csv_has_keys_for_machines_and_text_for_people(signed_in, world):
    db, admin_user = world.kb.db, world.users["admin"]
    sources_store.update_source(db, world.source_id, name="Sécurité sociale", interval_minutes=90,
                                by=admin_user.id)
    response = signed_in("admin").get(f"/admin/audit.csv?kind=source&person={admin_user.id}")
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="audit-log-\d{4}-\d\d-\d\d\.csv"',
                        response.headers["Content-Disposition"])
    [row] = _csv(response)
    assert list(row) == list(admin.CSV_COLUMNS)
    assert (row["user_id"], row["user_email"], row["action"], row["entity"], row["entity_id"]) == \
        (str(admin_user.id), "admin@lab.example", "update", "source", str(world.source_id))
    assert json.loads(row["details_json"]) == {
        "changes": {"interval_minutes": [60, 90], "name": ["Example News", "Sécurité sociale"]}}
    assert "Sécurité" in row["details_json"]  # text as text, not \u escapes
    assert datetime.fromisoformat(row["at_utc"]).utcoffset() == timedelta(0)
    assert (row["who"], row["what"], row["record"]) == ("Admin (admin@lab.example)", "Changed",
                                                         "Source “Sécurité sociale”")
    assert row["changes"] == "Name: Example News → Sécurité sociale; Interval (minutes): 60 → 90"
    # The export itself is in the log, with the filters used.
    [logged] = audit.entries(db, entity="audit_log")
    assert logged.details == {"count": 1, "user_id": admin_user.id, "kind": "source"}


def test_csv_cells_never_run_as_formulas(signed_in, world):
    db = world.kb.db
    formula = users_store.add_user(db, "-minus@lab.example", PASSWORD, "admin", name="=SUM(A1)")
    sources_store.update_source(db, world.source_id, name="@Weird", by=formula.id)
    users_store.add_user(db, "plus@lab.example", PASSWORD, "researcher", name="+Plus", by=formula.id)
    rows = _csv(signed_in("admin").get(f"/admin/audit.csv?person={formula.id}"))
    assert [cell for row in rows for cell in row.values() if cell.startswith(("=", "+", "-", "@"))] == []
    changed = next(r for r in rows if r["entity"] == "source")
    # The spreadsheet shows the text after the apostrophe; the other columns are untouched.
    assert changed["who"] == "'=SUM(A1) (-minus@lab.example)"
    assert changed["user_email"] == "'-minus@lab.example"
    assert changed["changes"] == "Name: Example News → @Weird" and changed["record"] == "Source “@Weird”"
    assert json.loads(changed["details_json"])["changes"]["name"] == ["Example News", "@Weird"]


# --- tokens --------------------------------------------------------------------------------------------


def _token_of(world: World, role: str, name: str) -> int:
    users_store.create_token(world.kb.db, world.users[role].id, name)
    return users_store.list_tokens(world.kb.db, world.users[role].id)[-1].id


def test_an_admin_revokes_anyones_token_after_confirming(signed_in, world):
    token_id = _token_of(world, "researcher", "zotero")
    client = signed_in("admin")
    listing = _text(client.get("/admin/tokens"))
    assert "researcher@lab.example" in listing and "zotero" in listing
    confirm = _text(client.get(f"/admin/tokens/{token_id}/revoke"))
    assert "Revoke the token zotero of researcher@lab.example?" in confirm

    response = _post(client, f"/admin/tokens/{token_id}/revoke")  # not confirmed
    assert response.status_code == 400 and "Tick the box to confirm" in _text(response)
    assert users_store.list_tokens(world.kb.db, world.users["researcher"].id)[-1].revoked_at is None

    response = _post(client, f"/admin/tokens/{token_id}/revoke", confirm="yes")
    assert response.status_code == 302
    assert "The token zotero of researcher@lab.example is revoked." in _text(client.get("/admin/tokens"))
    assert users_store.list_tokens(world.kb.db, world.users["researcher"].id)[-1].revoked_at is not None
    [entry] = audit.entries(world.kb.db, entity="api_token", where=audit.AuditFilter(person_id=None))[:1]
    assert (entry.action, entry.user_id) == ("revoke", world.users["admin"].id)
    assert _post(client, f"/admin/tokens/{token_id}/revoke", confirm="yes").status_code == 404


def test_only_admins_revoke_other_peoples_tokens(signed_in, world):
    token_id = _token_of(world, "researcher", "zotero")
    for role in ("researcher", "coordinator"):
        client = signed_in(role)
        assert _post(client, f"/admin/tokens/{token_id}/revoke", confirm="yes").status_code == 403
    # The profile's revoke is for one's own tokens only: another person's token is not found there.
    assert _post(signed_in("coordinator"), f"/profile/tokens/{token_id}/revoke").status_code == 404
    assert users_store.list_tokens(world.kb.db, world.users["researcher"].id)[-1].revoked_at is None


# --- the case page's audit table -----------------------------------------------------------------------


def test_the_case_pages_audit_table_reads_like_the_log(signed_in, world):
    admin_user = world.users["admin"]
    cases_store.link_item(world.kb.db, admin_user, world.case_id, world.item_id)
    cases_store.update_case(world.kb.db, admin_user, world.case_id, {"title": "Fraude à la sécurité sociale"})
    page = signed_in("admin").get(f"/cases/{world.case_id}").get_data(as_text=True)
    history = re.search(r'<section id="history".*?</section>', page, re.S).group(0)
    assert "\\u00e9" not in history and "item_id" not in history
    assert ("<th scope=\"row\">Title</th><td>Fraud scoring in Rotterdam</td>"
            "<td>Fraude à la sécurité sociale</td>") in history
    assert "<dt>Article</dt><dd>“Council pauses benefit fraud risk score" in history

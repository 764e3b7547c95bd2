"""The taxonomy page: researchers read it; coordinators add and remove a term (inline errors with what was
typed kept, a preview with counts and example titles, then Apply behind CSRF), export and import the file;
every change is in the audit log."""

from __future__ import annotations

import html
import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from kb import items as items_store
from kb.learning import taxonomies
from kb.storage import audit, previews
from kb.storage.db import transaction
from kb.text.taxonomy import bundled_taxonomy, install_taxonomy, taxonomy_data
from tests.factories import make_draft
from tests.webui.conftest import csrf_token

TOPIC = "sector/welfare"
STORIES = [("Ruzuku za mbolea <zacheleweshwa>", "Wakulima wanasubiri ruzuku za mbolea kwa wiki tatu."),
           ("Ruzuku mpya kwa wavuvi", "Serikali imetangaza ruzuku kwa wavuvi wa ziwa."),
           ("Mvua kubwa pwani", "Mamlaka imetabiri mvua nyingi wiki ijayo.")]


@pytest.fixture(autouse=True)
def _bundled_afterwards() -> Iterator[None]:
    yield
    install_taxonomy(None)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _stories(db) -> list[int]:
    return [items_store.store_item(db, make_draft(url=f"https://habari.example.org/{n}", title=title,
                                                  text=text, language="sw", topics=())).item_id
            for n, (title, text) in enumerate(STORIES)]


def _job_page(client, response):
    """The preview's page once its background job has finished (after the redirect to it)."""
    assert response.status_code == 302, _text(response)[:500]
    location = response.headers["Location"]
    match = re.fullmatch(r"/taxonomy/preview/(\d+)", location)
    assert match, location
    for thread in threading.enumerate():
        if thread.name == f"taxonomy-preview-{match.group(1)}":
            thread.join(timeout=300)
    page = client.get(location)
    assert page.status_code == 200 and 'http-equiv="refresh"' not in _text(page)
    return page


def _preview(client, data: dict[str, str]):
    """Start a preview as the term form does (a POST with the CSRF token)."""
    return client.post("/taxonomy/preview", data={**data, "csrf_token": csrf_token(client)})


def _apply(client, data: dict[str, str]):
    return client.post("/taxonomy/apply", data={**data, "csrf_token": csrf_token(client)})


def test_a_researcher_reads_the_taxonomy_but_cannot_change_it(signed_in, world):
    client = signed_in("researcher")
    page = _text(client.get("/taxonomy"))
    assert "Welfare and social protection" in page and "Swedish" in page and "välfärd" in page
    assert 'id="term-form"' not in page and 'id="import-form"' not in page
    assert 'href="/taxonomy"' not in page  # the menu link is for coordinators
    refused = _preview(client, {"topic": TOPIC, "language": "sw", "term": "ruzuku", "action": "add"})
    assert refused.status_code == 403
    refused = _apply(client, {"topic": TOPIC, "language": "sw", "term": "ruzuku", "action": "add"})
    assert refused.status_code == 403
    upload = client.post("/taxonomy/import", data={"csrf_token": csrf_token(client),
                                                   "file": (io.BytesIO(b"x"), "t.toml")},
                         content_type="multipart/form-data")
    assert upload.status_code == 403
    assert taxonomies.history(world.kb.db) == []
    coordinator = _text(signed_in("coordinator").get("/taxonomy"))
    assert 'href="/taxonomy"' in coordinator and 'id="term-form"' in coordinator


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    assert client.get("/taxonomy").headers["Location"].startswith("/login")
    assert client.get("/taxonomy/export").headers["Location"].startswith("/login")


def test_apply_without_the_csrf_token_is_refused(signed_in, world):
    client = signed_in("coordinator")
    response = client.post("/taxonomy/apply", data={"topic": TOPIC, "language": "sw", "term": "ruzuku"})
    assert response.status_code == 400 and "CSRF" in _text(response)
    assert taxonomies.history(world.kb.db) == []


@pytest.mark.parametrize(("language", "term", "field", "message"), [
    ("sw", "", "term", "Type a word or a phrase."),
    ("", "ruzuku", "language", "Choose a language from the list."),
    ("xx", "ruzuku", "language", "Choose a language from the list."),
    ("en", "Welfare", "term", "This topic has this term in this language already."),
    ("en", "model", "term", "Too general"),
    ("sw", "ru", "term", "Too short"),
])
def test_a_bad_term_is_shown_inline_with_what_was_typed_kept(signed_in, world, language, term, field,
                                                            message):
    client = signed_in("coordinator")
    response = _preview(client, {"action": "add", "topic": TOPIC,
                                                             "language": language, "term": term})
    assert response.status_code == 400
    page = _text(response)
    error = re.search(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', page)
    assert error and message in html.unescape(error.group(1))
    assert f'aria-describedby="{field}-error"' in page
    assert f'value="{html.escape(term)}"' in page  # the typed term stays in the field
    assert f'<option value="{TOPIC}" selected>' in page
    if language:
        assert f'<option value="{language}" selected>' in page or language == "xx"


def test_add_a_term_preview_apply_and_the_audit_log(signed_in, world):
    db = world.kb.db
    ids = _stories(db)
    client = signed_in("coordinator")
    response = _job_page(client, _preview(client, {
        "action": "add", "topic": TOPIC, "language": "sw", "term": "  ruzuku "}))
    page = _text(response)
    assert f'name="expected" value="{taxonomies.current_digest(db)}"' in page
    counts = re.search(r'id="preview-counts" data-tagged="(\d+)" data-untagged="(\d+)"', page)
    assert counts and counts.groups() == ("2", "0")
    assert "Would tag 2 articles with Welfare and social protection and untag 0." in page
    assert "Ruzuku za mbolea &lt;zacheleweshwa&gt;" in page and "<zacheleweshwa>" not in page
    assert "Mvua kubwa pwani" not in page  # not changed: not an example
    assert all(TOPIC not in item.topics for item in items_store.load_items(db, ids))

    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    form.pop("csrf_token", None)
    applied = _apply(client, form)
    assert applied.status_code == 302 and applied.headers["Location"].endswith("/taxonomy#status")
    page = _text(client.get("/taxonomy"))
    assert "“ruzuku” was added to sector/welfare" in html.unescape(page)
    assert 'data-retag="waiting"' in page
    assert "ruzuku" in taxonomies.current(db).get(TOPIC).terms["sw"]

    taxonomies.retag_now(db)  # what the writer's tick does
    assert sum(TOPIC in item.topics for item in items_store.load_items(db, ids)) == 2
    page = _text(client.get("/taxonomy"))
    assert 'data-retag="done"' in page and "2 topics added, 0 removed" in page

    [entry] = audit.entries(db, entity="taxonomy")
    assert entry.action == "add-term" and entry.user_id == world.users["coordinator"].id
    assert entry.details == {"topic": TOPIC, "language": "sw", "term": "ruzuku", "previewed_tagged": 2,
                             "previewed_untagged": 0}
    log = html.unescape(_text(signed_in("admin").get("/admin/audit")))
    assert "<td>Added a term</td>" in log and "<td>Taxonomy version 1</td>" in log
    assert "<dt>Term</dt><dd>ruzuku</dd>" in log
    assert "<dt>Articles it would tag (preview)</dt><dd>2</dd>" in log

    # Removing it the same way: the link next to the term fills the form, which starts the preview.
    page = _text(client.get("/taxonomy"))
    link = re.search(r'href="(/taxonomy\?action=remove[^"]*term=ruzuku[^"]*)#edit-term"', page)
    assert link
    filled = _text(client.get(html.unescape(link.group(1))))
    assert '<option value="remove" selected>' in filled and 'value="ruzuku"' in filled
    assert f'<option value="{TOPIC}" selected>' in filled
    preview = _text(_job_page(client, _preview(client, {"action": "remove", "topic": TOPIC, "language": "sw",
                                                        "term": "ruzuku"})))
    assert re.search(r'data-tagged="0" data-untagged="2"', preview)
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', preview))
    form.pop("csrf_token", None)
    assert _apply(client, form).status_code == 302
    assert "ruzuku" not in taxonomies.current(db).get(TOPIC).terms["sw"]


def test_apply_after_someone_else_changed_the_taxonomy_asks_for_a_new_preview(signed_in, world):
    client = signed_in("coordinator")
    stale = taxonomies.current_digest(world.kb.db)
    taxonomies.apply_term(world.kb.db, taxonomies.TermChange(TOPIC, "sw", "ruzuku"), user_id=None)
    response = _apply(client, {"topic": TOPIC, "language": "sw", "term": "ruzuku ya mbolea", "action": "add",
                               "expected": stale})
    assert response.status_code == 409 and "preview the change again" in _text(response)
    assert len(taxonomies.history(world.kb.db)) == 1


def test_a_term_is_escaped_on_the_page(signed_in, world):
    taxonomies.apply_term(world.kb.db, taxonomies.TermChange(TOPIC, "en", "benefit <b>cuts</b>"),
                          user_id=None)
    page = _text(signed_in("researcher").get("/taxonomy"))
    assert "benefit &lt;b&gt;cuts&lt;/b&gt;" in page and "<b>cuts</b>" not in page


def test_export_import_preview_and_apply(signed_in, world):
    db = world.kb.db
    _stories(db)
    client = signed_in("coordinator")
    exported = client.get("/taxonomy/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"] == 'attachment; filename="taxonomy.toml"'
    text = _text(exported)
    assert text.startswith("# Topic taxonomy of the knowledge base")
    edited = text.replace('sw = ["ustawi wa jamii"', 'sw = ["ruzuku", "ustawi wa jamii"', 1)
    assert edited != text

    response = _job_page(client, client.post(
        "/taxonomy/import", data={"csrf_token": csrf_token(client),
                                  "file": (io.BytesIO(edited.encode()), "taxonomy.toml")},
        content_type="multipart/form-data"))
    page = _text(response)
    assert "1 term added" in page and "0 terms removed" in page and "ruzuku" in page
    assert re.search(r'data-tagged="2" data-untagged="0"', page)
    assert taxonomies.history(db) == []  # a preview writes nothing
    expected = re.search(r'name="expected" value="([^"]*)"', page).group(1)
    text = html.unescape(re.search(r'name="text" value="([^"]*)"', page).group(1))
    applied = client.post("/taxonomy/import/apply",
                          data={"csrf_token": csrf_token(client), "expected": expected, "text": text})
    assert applied.status_code == 302
    assert "ruzuku" in taxonomies.current(db).get(TOPIC).terms["sw"]
    assert taxonomy_data(taxonomies.current(db)) != taxonomy_data(bundled_taxonomy())
    [entry] = audit.entries(db, entity="taxonomy")
    assert entry.action == "import" and entry.details["terms_added"] == 1


def _multipart(client, path: str, fields: dict[str, str], upload: tuple[str, str, str] | None = None):
    """POST a multipart body built here, in memory (the test client spools a large one to a temporary file
    that it leaves open)."""
    boundary = "taxonomy-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields.items()]
    if upload is not None:
        name, filename, content = upload
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: application/toml\r\n\r\n{content}\r\n')
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_taxonomy_larger_than_a_form_field_is_imported(signed_in, world):
    client = signed_in("coordinator")
    many = ", ".join(f'"benefit programme {n}"' for n in range(30_000))  # about 750 kB
    exported = _text(client.get("/taxonomy/export"))
    text = exported.replace('[topic.terms]\nen = [', f"[topic.terms]\nen = [{many}, ", 1)
    assert len(text.encode()) > 700_000
    preview = _job_page(client, _multipart(client, "/taxonomy/import", {"csrf_token": csrf_token(client)},
                                           ("file", "taxonomy.toml", text)))
    page = _text(preview)
    assert "30000 terms added" in page
    expected = re.search(r'name="expected" value="([^"]*)"', page).group(1)
    sent = html.unescape(re.search(r'name="text" value="([^"]*)"', page).group(1))
    # As a browser sends the form: multipart, whose fields are limited to 500 kB unless the view makes room.
    applied = _multipart(client, "/taxonomy/import/apply",
                         {"csrf_token": csrf_token(client), "expected": expected, "text": sent})
    assert applied.status_code == 302
    assert "benefit programme 29999" in taxonomies.current(world.kb.db).get(TOPIC).terms["en"]


def test_a_bad_import_file_is_refused_with_the_entry_named_and_nothing_changes(signed_in, world):
    db = world.kb.db
    client = signed_in("coordinator")
    text = _text(client.get("/taxonomy/export")).replace('facet = "right"', 'facet = "rights"', 1)
    response = client.post("/taxonomy/import", data={"csrf_token": csrf_token(client),
                                                     "file": (io.BytesIO(text.encode()), "taxonomy.toml")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    error = re.search(r'<p class="flash flash-error" role="alert" id="import-error">([^<]*)</p>',
                      _text(response))
    assert error and "unknown facet" in html.unescape(error.group(1)) and "line" in error.group(1)
    assert "right/" in error.group(1)
    assert taxonomies.history(db) == [] and audit.entries(db, entity="taxonomy") == []
    empty = client.post("/taxonomy/import", data={"csrf_token": csrf_token(client)},
                        content_type="multipart/form-data")
    assert empty.status_code == 400 and "Choose a taxonomy file" in _text(empty)


# --- the preview's page while its job runs, when it stopped, failed, or went out of date -----------------

def _job(db, subject: str, *, kind: str = "term", total: int = 100_000) -> int:
    """A preview job as a running one is stored (its thread is not needed to show the page)."""
    with transaction(db):
        return previews.create(db, kind, subject, taxonomies.current_digest(db), None, total)


def _subject(term: str, action: str = "add") -> str:
    return json.dumps({"topic": TOPIC, "language": "sw", "term": term, "remove": action == "remove"})


def test_a_running_preview_shows_its_progress_and_refreshes_itself(signed_in, world):
    db = world.kb.db
    job_id = _job(db, _subject("ruzuku"))
    with transaction(db):
        previews.progress(db, job_id, 12_000)
    response = signed_in("coordinator").get(f"/taxonomy/preview/{job_id}")
    page = _text(response)
    assert response.status_code == 200
    assert f'<meta http-equiv="refresh" content="2; url=/taxonomy/preview/{job_id}">' in page
    assert "Examined 12,000 of 100,000 articles." in page
    assert 'id="apply-form"' not in page and 'id="preview-counts"' not in page
    # The CSP forbids inline scripts, not a meta refresh: the page needs none.
    assert "<script>" not in page and "script-src 'self'" in response.headers["Content-Security-Policy"]
    for language, words in (("fr", "articles examinés sur"), ("ar", "تم فحص")):
        translated = signed_in("coordinator").get(f"/taxonomy/preview/{job_id}",
                                                  headers={"Accept-Language": language})
        assert words in _text(translated)


def test_a_stopped_or_failed_preview_says_so_and_offers_to_preview_again(signed_in, world):
    db = world.kb.db
    client = signed_in("coordinator")
    stopped = _job(db, _subject("ruzuku"))
    job = previews.get(db, stopped)
    assert job is not None
    then = datetime.fromisoformat(job.updated_at) - timedelta(minutes=3)
    with transaction(db):  # as its heartbeat reads after its process ended three minutes ago
        db.execute("UPDATE taxonomy_previews SET updated_at = ? WHERE id = ?",
                   [then.isoformat(timespec="seconds"), stopped])
    page = html.unescape(_text(client.get(f"/taxonomy/preview/{stopped}")))
    assert "This preview stopped before it finished" in page and 'http-equiv="refresh"' not in page
    again = "/taxonomy?action=add&topic=sector/welfare&language=sw&term=ruzuku#edit-term"
    assert f'href="{again}"' in page
    failed = _job(db, _subject("ruzuku"))
    with transaction(db):
        previews.fail(db, failed, "sector/welfare has no term 'x' in sw <b>")
    page = _text(client.get(f"/taxonomy/preview/{failed}"))
    assert "The preview failed: sector/welfare has no term &#39;x&#39; in sw &lt;b&gt;" in page
    assert "Preview the change again" in page and 'id="apply-form"' not in page
    assert client.get("/taxonomy/preview/999999").status_code == 404


def test_a_preview_of_an_older_taxonomy_says_it_is_out_of_date(signed_in, world):
    db = world.kb.db
    _stories(db)
    client = signed_in("coordinator")
    first = _preview(client, {"action": "add", "topic": TOPIC, "language": "sw",
                                                          "term": "ruzuku"})
    page = _text(_job_page(client, first))
    assert 'id="apply-form"' in page and 'id="preview-outdated"' not in page
    taxonomies.apply_term(db, taxonomies.TermChange(TOPIC, "sw", "ruzuku ya mbolea"), user_id=None)
    page = _text(client.get(first.headers["Location"]))
    assert 'id="preview-outdated"' in page and "out of date" in page
    assert 'id="apply-form"' not in page and "Preview the change again" in page


def test_starting_a_preview_needs_a_post_with_the_csrf_token(signed_in, world):
    client = signed_in("coordinator")
    term = {"action": "add", "topic": TOPIC, "language": "sw", "term": "ruzuku"}
    assert client.get("/taxonomy/preview", query_string=term).status_code == 405
    assert client.post("/taxonomy/preview", data=term).status_code == 400  # no token
    assert world.kb.db.execute("SELECT count(*) FROM taxonomy_previews").fetchone()[0] == 0  # none started


def test_a_term_with_markup_is_escaped_on_the_preview_page(signed_in, world):
    client = signed_in("coordinator")
    term = "<script>alert(1)</script> ruzuku"
    response = _preview(client, {"action": "add", "topic": TOPIC,
                                                             "language": "sw", "term": term})
    page = _text(_job_page(client, response))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ruzuku" in page
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert html.unescape(form["term"]) == term


def test_only_coordinators_see_a_preview(app, signed_in, world):
    job_id = _job(world.kb.db, _subject("ruzuku"))
    assert signed_in("researcher").get(f"/taxonomy/preview/{job_id}").status_code == 403
    anonymous = app.test_client().get(f"/taxonomy/preview/{job_id}")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert signed_in("admin").get(f"/taxonomy/preview/{job_id}").status_code == 200


def test_an_import_preview_shows_its_progress_then_its_error(signed_in, world):
    db = world.kb.db
    client = signed_in("coordinator")
    job_id = _job(db, "[[topic]]\nid = 'x'", kind="import", total=3)
    page = _text(client.get(f"/taxonomy/preview/{job_id}"))
    assert "Preview a taxonomy import" in page and "Examined 0 of 3 articles." in page
    assert 'http-equiv="refresh"' in page and 'id="apply-form"' not in page
    with transaction(db):
        previews.fail(db, job_id, "the file: topic 'x' has no facet")
    page = html.unescape(_text(client.get(f"/taxonomy/preview/{job_id}")))
    assert "The preview failed: the file: topic 'x' has no facet" in page
    assert 'href="/taxonomy#import-form"' in page and 'http-equiv="refresh"' not in page

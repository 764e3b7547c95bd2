"""The search page and /api/v1/search: the notes (concepts, AND->OR, a cut query), the words-only toggle,
readable facet labels, and highlighted titles escaped."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from kb import items as items_store
from kb import users as users_store
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft
from webui.search import MAX_QUERY


@pytest.fixture
def stories(world):  # type: ignore[no-untyped-def]
    db = world.kb.db
    ids = {
        "caf": items_store.store_item(db, make_draft(
            url="https://example.org/caf", title="La CAF note les allocataires",
            text="Un algorithme de notation.", summary="", language="fr",
            published=datetime(2026, 10, 1, tzinfo=UTC),
            topics=(TopicEvidence("sector/welfare"), TopicEvidence("country/fr"),
                    TopicEvidence("country/xk")),
        )).item_id,
        "hostile": items_store.store_item(db, make_draft(
            url="https://example.org/hostile", title="<b>Grading</b> & <script>x</script>",
            text="Nothing here matches.", summary="", published=datetime(2026, 10, 2, tzinfo=UTC), topics=(),
        )).item_id,
    }
    world.kb.sync_index()
    return ids


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_api_returns_the_concept_note_and_the_hits_concepts(client, world, stories):  # type: ignore[no-untyped-def]
    token = users_store.create_token(world.kb.db, world.users["researcher"].id, "test")
    body = client.get("/api/v1/search?q=France", headers=_bearer(token)).json
    assert any(note.startswith("Also matched: France") for note in body["notes"])
    caf = next(hit for hit in body["results"] if hit["id"] == stories["caf"])
    assert caf["matched_concepts"] == ["France"]
    off = client.get("/api/v1/search?q=France&words_only=1", headers=_bearer(token)).json
    assert not any("Also matched" in note for note in off["notes"])
    assert stories["caf"] not in [hit["id"] for hit in off["results"]]
    # AND -> OR, with its note.
    wider = client.get("/api/v1/search?q=allocataires+zeppelin&words_only=1", headers=_bearer(token)).json
    assert [hit["id"] for hit in wider["results"]] == [stories["caf"]]
    assert any("No result holds all the words" in note for note in wider["notes"])


def test_a_query_cut_to_the_pages_bound_says_so(signed_in, world, stories):  # type: ignore[no-untyped-def]
    page = signed_in("researcher").get("/?q=allocataires+" + "x" * MAX_QUERY).get_data(as_text=True)
    assert f"The query was longer than {MAX_QUERY} characters" in page
    assert f'data-hit="{stories["caf"]}"' in page


def test_facet_values_are_words_and_the_concept_note_is_shown(signed_in, world, stories):  # type: ignore[no-untyped-def]
    page = signed_in("researcher").get("/?q=welfare").get_data(as_text=True)
    assert "Also matched: Welfare and social protection" in page
    labels = re.findall(r'<span class="facet-label">([^<]*)</span>', page)
    assert "France" in labels and "French" in labels and "XK" in labels  # an unknown country: its code
    assert not [label for label in labels if "/" in label]
    assert "Found through its topics: Welfare and social protection" in page


def test_a_title_matching_alone_is_highlighted_and_escaped(signed_in, world, stories):  # type: ignore[no-untyped-def]
    page = signed_in("researcher").get("/?q=grading").get_data(as_text=True)
    title = "&lt;b&gt;<mark>Grading</mark>&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;"
    assert f'<a href="/items/{stories["hostile"]}">{title}</a>' in page
    assert "<script>x" not in page and html.unescape(title.replace("<mark>", "").replace("</mark>", "")) == (
        "<b>Grading</b> & <script>x</script>")

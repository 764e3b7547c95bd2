"""The learned relevance model in the web UI: the item page shows its score and n-grams next to the term
evidence (or says the terms judged alone), and the dashboard shows per language the share of items
judged by the terms, by the model, or left to a reader."""

from __future__ import annotations

import re

from kb import items as items_store
from tests.factories import make_draft


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_item_page_shows_the_models_score_and_ngrams_escaped(signed_in, world):
    db = world.kb.db
    scored = items_store.store_item(db, make_draft(
        url="https://x.example.org/scored", relevance_verdict="relevant", relevance_judge="model",
        relevance_reason="model 0.91: relevant (terms: no terms for Tamil)", model_score=0.9123,
        model_features=("algor", "<b>x")))
    cold = items_store.store_item(db, make_draft(
        url="https://x.example.org/cold", relevance_verdict="needs a reader",
        relevance_reason="no terms for Tamil; terms alone: no learned model yet"))
    client = signed_in("researcher")
    page = _text(client.get(f"/items/{scored.item_id}"))
    block = re.search(r'<p class="reason" id="model-score">(.*?)</p>', page, re.S).group(1)
    assert "Learned model: probability 0.91 that it is relevant, most from the words" in block
    assert "<q>algor</q>" in block and "<q>&lt;b&gt;x</q>" in block and "<b>x" not in block
    assert "Judged by the learned model." in block
    assert "model 0.91: relevant (terms: no terms for Tamil)" in page
    page = _text(client.get(f"/items/{cold.item_id}"))
    block = re.search(r'<p class="reason" id="model-score">(.*?)</p>', page, re.S).group(1)
    assert "No learned model scored this item: relevance was judged by the terms alone." in block
    assert "Left to a reader." in block


def test_the_dashboard_shows_who_judged_relevance_per_language(signed_in, world):
    db = world.kb.db
    existing = items_store.count_items(db)
    judged = [("sv", "terms"), ("sv", "model"), ("sv", "model"), ("sv", "reader"), ("ta", "reader")]
    for n, (language, judge) in enumerate(judged):
        items_store.store_item(db, make_draft(url=f"https://x.example.org/{n}", language=language,
                                              relevance_judge=judge))
    page = _text(signed_in("coordinator").get("/dashboard"))
    section = re.search(r'<section id="relevance-judges">(.*?)</section>', page, re.S).group(1)
    assert "No learned model yet: relevance is judged by the terms alone" in section

    def row(language: str) -> str:
        return re.search(rf'<tr data-language="{language}">(.*?)</tr>', section, re.S).group(1)

    def cell(language: str, judge: str) -> str:
        return re.search(rf'<td data-judge="{judge}">([^<]*)</td>', row(language)).group(1)

    assert "Swedish" in row("sv") and "<td>4</td>" in row("sv")
    judges = ("terms", "model", "reader")
    assert [cell("sv", judge) for judge in judges] == ["25% (1)", "50% (2)", "25% (1)"]
    assert [cell("ta", judge) for judge in judges] == ["0% (0)", "0% (0)", "100% (1)"]
    assert f"<td>{existing + len(judged)}</td>" in row("all") and "All languages" in row("all")


def test_researchers_do_not_see_the_dashboard(signed_in, world):
    assert signed_in("researcher").get("/dashboard").status_code == 403

"""Systems on the search page and in /api/v1/search: a system is a result of its own kind linking to its
page, the "System" facet names the systems items are confirmed to be about (never their ids), and the
`system` filter keeps their items."""

from __future__ import annotations

import re

import pytest

from kb import items as items_store
from kb import systems
from kb import users as users_store
from tests.factories import make_draft


@pytest.fixture
def register(world):  # type: ignore[no-untyped-def]
    db, coordinator = world.kb.db, world.users["coordinator"]
    robodebt = systems.create_system(db, coordinator, {
        "name": "Robodebt", "aliases": ["Online Compliance Intervention"], "country": "au",
        "organisation": "Services Australia & Centrelink"}).id
    takaful = systems.create_system(db, coordinator, {
        "name": "Takaful cash transfer programme", "aliases": ["برنامج تكافل"], "country": "jo"}).id
    confirmed = items_store.store_item(db, make_draft(
        url="https://example.org/robodebt", title="Robodebt inquiry hears from families",
        text="The scheme sent letters.", summary="", language="en")).item_id
    suggested = items_store.store_item(db, make_draft(
        url="https://example.org/oci", title="Another inquiry into debt letters",
        text="The Online Compliance Intervention is named here.", summary="", language="en")).item_id
    systems.confirm_link(db, coordinator, robodebt, confirmed)
    world.kb.sync_index()
    return {"robodebt": robodebt, "takaful": takaful, "confirmed": confirmed, "suggested": suggested}


def test_a_system_is_a_result_linking_to_its_page(signed_in, world, register):  # type: ignore[no-untyped-def]
    page = signed_in("researcher").get("/?q=Online+Compliance+Intervention").get_data(as_text=True)
    robodebt = register["robodebt"]
    article = re.search(rf'<article class="hit" data-hit="{robodebt}" data-kind="system">(.*?)</article>',
                        page, re.S)
    assert article, "no system result"
    assert f'<a href="/systems/{robodebt}">Robodebt</a>' in article.group(1)
    assert '<span class="badge badge-kind">System</span>' in article.group(1)
    arabic = signed_in("researcher").get("/?q=تكافل&kind=system").get_data(as_text=True)
    assert re.findall(r'data-hit="(\d+)" data-kind="(\w+)"', arabic) == [(str(register["takaful"]), "system")]


def test_the_api_returns_systems_with_their_url(client, world, register):  # type: ignore[no-untyped-def]
    token = users_store.create_token(world.kb.db, world.users["researcher"].id, "test")
    body = client.get("/api/v1/search?q=Robodebt&kind=system",
                      headers={"Authorization": f"Bearer {token}"}).json
    assert [(hit["kind"], hit["id"], hit["url"]) for hit in body["results"]] == [
        ("system", register["robodebt"], f"/systems/{register['robodebt']}")]
    items = client.get(f"/api/v1/search?q=inquiry&system={register['robodebt']}",
                       headers={"Authorization": f"Bearer {token}"}).json
    assert [hit["id"] for hit in items["results"]] == [register["confirmed"]]
    assert items["facets"]["system"] == {str(register["robodebt"]): 1}


def test_the_system_facet_names_confirmed_systems_and_filters(signed_in, world, register):  # type: ignore[no-untyped-def]
    client = signed_in("researcher")
    page = client.get("/?q=inquiry").get_data(as_text=True)
    labels = re.findall(r'<span class="facet-label">([^<]*)</span>', page)
    assert "Robodebt" in labels  # the name, not the id
    assert "Takaful cash transfer programme" not in labels  # no item is confirmed to be about it
    hrefs = [h for h in re.findall(r'href="([^"]*)"', page) if f"system={register['robodebt']}" in h]
    assert hrefs, "no link choosing the system"
    chosen = client.get(hrefs[0].replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r'data-hit="(\d+)" data-kind="item"', chosen) == [str(register["confirmed"])]
    # Only a suggestion links the other item: once confirmed, it is counted too.
    systems.confirm_link(world.kb.db, world.users["coordinator"], register["robodebt"], register["suggested"])
    world.kb.sync_index()
    again = client.get(f"/?q=inquiry&system={register['robodebt']}").get_data(as_text=True)
    assert sorted(re.findall(r'data-hit="(\d+)" data-kind="item"', again)) == sorted(
        [str(register["confirmed"]), str(register["suggested"])])

"""The digest draft page and the register of systems: a filter showing only the items confirmed to be about
one system, and a button grouping a section by system (CSRF-protected, coordinators only)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from kb import curation, systems
from kb.items import store_item
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft
from tests.webui.conftest import csrf_token

WEEK = "2026-W47"
WELFARE = "sector/welfare"


def _accepted(kb, title: str, day: int) -> int:  # type: ignore[no-untyped-def]
    draft = make_draft(url=f"https://example.org/{day}", title=title, language="en",
                       published=datetime(2026, 11, day, 9, 0, tzinfo=UTC),
                       topics=(TopicEvidence(WELFARE, ("term",)),))
    item_id = store_item(kb.db, draft).item_id
    curation.set_status(kb.db, item_id, "accepted", None, now=draft.published)
    return item_id


@pytest.fixture
def week(world):  # type: ignore[no-untyped-def]
    kb, coordinator = world.kb, world.users["coordinator"]
    syri = systems.create_system(kb.db, coordinator, {"name": "SyRI & co", "country": "nl"}).id
    about = _accepted(kb, "Court halts the risk indicator", 17)
    other = _accepted(kb, "Welfare offices hire more staff", 19)
    systems.confirm_link(kb.db, coordinator, syri, about)
    return {"syri": syri, "about": about, "other": other}


def _listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="dg-entry" id="item-(\d+)"', page)]


def _flashes(page: str) -> list[str]:
    found = re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', page, re.S)
    return [html.unescape(" ".join(message.split())) for message in found]


def test_the_draft_filtered_to_a_system_lists_its_confirmed_items(signed_in, world, week):  # type: ignore[no-untyped-def]
    client = signed_in("coordinator")
    whole = client.get(f"/digest?week={WEEK}").get_data(as_text=True)
    assert _listed(whole) == [week["about"], week["other"]]
    assert f'<option value="{week["syri"]}">SyRI &amp; co</option>' in whole  # escaped
    page = client.get(f"/digest?week={WEEK}&system={week['syri']}").get_data(as_text=True)
    assert _listed(page) == [week["about"]]
    assert "1 of" in page and "the preview below shows the whole digest" in page
    assert f'data-item="{week["other"]}"' in page  # the preview is whole
    assert "Reorder all items" not in page and 'value="up"' not in page  # no reordering of a part
    unknown = client.get(f"/digest?week={WEEK}&system=999999").get_data(as_text=True)
    assert any("no system number '999999'" in message for message in _flashes(unknown))
    assert week["other"] in _listed(unknown)


def test_a_section_is_grouped_by_system_and_back(signed_in, world, week):  # type: ignore[no-untyped-def]
    client = signed_in("coordinator")
    token = csrf_token(client)
    done = client.post("/digest/grouping", data={"week": WEEK, "section": WELFARE, "by_system": "1",
                                                 "csrf_token": token}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "The section is grouped by system." in _flashes(page)
    section = re.search(rf'<section class="dg-section" data-section="{WELFARE}">(.*?)</section>', page, re.S)
    assert section is not None
    assert re.findall(r"<h3>([^<]*)</h3>", section.group(1)) == ["SyRI &amp; co", "No system in the register"]
    assert "Group by topic" in section.group(1)
    back = client.post("/digest/grouping", data={"week": WEEK, "section": WELFARE, "by_system": "0",
                                                 "csrf_token": token}, follow_redirects=True)
    assert "SyRI &amp; co</h3>" not in back.get_data(as_text=True)
    bad = client.post("/digest/grouping", data={"week": WEEK, "section": "sector/<nowhere>", "by_system": "1",
                                                "csrf_token": token}, follow_redirects=True)
    assert bad.status_code == 200
    assert any("no sector 'sector/<nowhere>'" in m for m in _flashes(bad.get_data(as_text=True)))
    assert "<nowhere>" not in bad.get_data(as_text=True)  # escaped
    # Without the form's token nothing changes.
    refused = client.post("/digest/grouping", data={"week": WEEK, "section": WELFARE, "by_system": "1"})
    assert refused.status_code == 400
    assert "SyRI &amp; co</h3>" not in client.get(f"/digest?week={WEEK}").get_data(as_text=True)

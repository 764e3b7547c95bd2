"""The audit log names languages: a taxonomy term's language and a user's interface language read as the
language's name (and "all" as every language), never as a code."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest

from kb import users as users_store
from kb.learning import taxonomies
from kb.learning.taxonomies import TermChange
from kb.text.taxonomy import install_taxonomy


@pytest.fixture(autouse=True)
def _bundled_afterwards() -> Iterator[None]:
    yield
    install_taxonomy(None)


def _facts(page: str, action: str) -> str:
    """The details cell of the newest entry with this action (the log lists the newest first)."""
    row = page.split(f"<td>{action}</td>", 1)[1]
    return row.split("</tr>\n</tbody>", 1)[0].split('<tr id="audit-', 1)[0]


def test_a_term_change_names_its_language(signed_in, world):
    db, coordinator = world.kb.db, world.users["coordinator"]
    taxonomies.apply_term(db, TermChange("sector/welfare", "sw", "ruzuku"), user_id=coordinator.id)
    admin = signed_in("admin")
    log = html.unescape(admin.get("/admin/audit").get_data(as_text=True))
    assert "<dt>Language</dt><dd>Swahili</dd>" in _facts(log, "Added a term")
    assert "<dd>sw</dd>" not in log

    taxonomies.apply_term(db, TermChange("sector/welfare", "all", "SyRI"), user_id=coordinator.id)
    users_store.set_user_language(db, world.users["admin"].id, "fr", by=world.users["admin"].id)
    log = html.unescape(admin.get("/admin/audit").get_data(as_text=True))
    assert "<dt>Langue</dt><dd>Toutes les langues (noms, sigles)</dd>" in _facts(log, "Terme ajouté")
    # A user's interface language is named the same way.
    assert '<th scope="row">Langue</th><td>—</td><td>French</td>' in log

"""The audit log: every write of users, sign-ins, tokens and sources, the filters and paging, and the entries
as a person reads them (checked against hand-written text, not against the renderer's own tables)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlite_utils import Database

from kb import cases as cases_store
from kb import curation
from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from kb.errors import InvalidInput, NotFound, PermissionDenied
from kb.storage import audit
from kb.storage.audit import AuditFilter, FieldChange
from tests.factories import make_draft

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(db: Database) -> users_store.User:
    return users_store.add_user(db, "admin@lab.example", PASSWORD, "admin", name="Ada Admin")


@pytest.fixture
def ana(db: Database, admin: users_store.User) -> users_store.User:
    return users_store.add_user(db, "ana@lab.example", PASSWORD, "researcher", name="Ana Ruiz", by=admin.id)


def latest(db: Database) -> audit.ReadableEntry:
    return audit.readable(db, audit.entries(db, limit=1))[0]


def as_text(entry: audit.ReadableEntry) -> str:
    """One line a person would read, for comparing with hand-written expectations."""
    record = f" {entry.record}" if entry.record else ""
    details = f" [{entry.details_text()}]" if entry.details_text() else ""
    kind = entry.kind if entry.kind.startswith("API") else entry.kind.lower()
    return f"{entry.who}: {entry.action} {kind}{record}{details}"


# --- users, roles, passwords --------------------------------------------------------------------------


def test_adding_a_user_names_who_did_it_and_the_new_account(db, admin, ana):
    entry = latest(db)
    assert (entry.entry.action, entry.entry.entity, entry.entry.entity_id) == ("create", "user", ana.id)
    assert as_text(entry) == ("Ada Admin (admin@lab.example): Created user Ana Ruiz (ana@lab.example) "
                              "[E-mail: ana@lab.example; Name: Ana Ruiz; Role: researcher]")


def test_a_role_change_keeps_the_role_before_and_after(db, admin, ana):
    users_store.update_user(db, ana.id, role="coordinator", name="Ana Ruiz Gil", by=admin.id)
    entry = latest(db)
    assert entry.changes == (FieldChange("Role", "researcher", "coordinator"),
                             FieldChange("Name", "Ana Ruiz", "Ana Ruiz Gil"))
    assert as_text(entry) == ("Ada Admin (admin@lab.example): Changed user Ana Ruiz Gil (ana@lab.example) "
                              "[Role: researcher → coordinator; Name: Ana Ruiz → Ana Ruiz Gil; "
                              "E-mail: ana@lab.example]")


def test_deactivation_and_password_reset_are_logged(db, admin, ana):
    users_store.update_user(db, ana.id, active=False, by=admin.id)
    assert latest(db).changes == (FieldChange("Active", "yes", "no"),)
    users_store.set_password(db, ana.id, "another long password", by=admin.id)
    assert as_text(latest(db)) == ("Ada Admin (admin@lab.example): Set the password user "
                                   "Ana Ruiz (ana@lab.example)")


def test_an_unchanged_user_writes_nothing(db, admin, ana):
    before = audit.count(db)
    users_store.update_user(db, ana.id, role="researcher", name="Ana Ruiz", by=admin.id)
    assert audit.count(db) == before


# --- sign-ins ------------------------------------------------------------------------------------------


def test_a_sign_in_is_logged_with_the_address(db, ana):
    assert users_store.sign_in(db, "ana@lab.example", PASSWORD, address="192.0.2.7") == ana
    entry = latest(db)
    assert (entry.entry.user_id, entry.entry.entity, entry.entry.entity_id) == (ana.id, "sign_in", ana.id)
    assert as_text(entry) == ("Ana Ruiz (ana@lab.example): Signed in sign-in Ana Ruiz (ana@lab.example) "
                              "[From address: 192.0.2.7]")


@pytest.mark.parametrize(("email", "password", "reason", "on_account"), [
    ("ana@lab.example", "wrong password!", "wrong password", True),
    ("nobody@lab.example", PASSWORD, "no account with this e-mail", False),
    ("ana@lab.example", "", "no password given", True),
    ("", PASSWORD, "no e-mail address given", False),
])
def test_a_failed_sign_in_is_logged_with_why_never_the_password(db, ana, email, password, reason, on_account):
    assert users_store.sign_in(db, email, password, address="198.51.100.9") is None
    entry = latest(db)
    assert entry.entry.action == "sign-in-failed" and entry.entry.user_id is None
    assert entry.entry.entity_id == (ana.id if on_account else None)
    assert entry.who == "someone not signed in"
    assert ("Reason", reason) in entry.facts and ("From address", "198.51.100.9") in entry.facts
    assert PASSWORD not in repr(entry.entry.details) and "wrong password!" not in repr(entry.entry.details)


def test_a_deactivated_account_fails_and_says_so(db, admin, ana):
    users_store.update_user(db, ana.id, active=False, by=admin.id)
    assert users_store.sign_in(db, "ana@lab.example", PASSWORD) is None
    assert ("Reason", "the account is deactivated") in latest(db).facts


def test_signing_out_is_logged(db, ana):
    users_store.end_sessions(db, ana.id, signing_out=True)
    assert (latest(db).entry.action, latest(db).action) == ("sign-out", "Signed out")


# --- API tokens ----------------------------------------------------------------------------------------


def test_tokens_created_and_revoked_by_their_owner(db, ana):
    users_store.create_token(db, ana.id, "zotero")
    [token] = users_store.list_tokens(db, ana.id)
    assert as_text(latest(db)) == ("Ana Ruiz (ana@lab.example): Created API token zotero of ana@lab.example "
                                   "[Name: zotero; Owner: Ana Ruiz (ana@lab.example)]")
    users_store.revoke_token(db, ana.id, token.id, by=ana)
    assert latest(db).entry.action == "revoke" and latest(db).entry.user_id == ana.id


def test_an_admin_revokes_anyones_token_and_the_log_says_who(db, admin, ana):
    users_store.create_token(db, ana.id, "script")
    [token] = users_store.list_tokens(db, ana.id)
    users_store.revoke_token(db, ana.id, token.id, by=admin)
    assert users_store.list_tokens(db, ana.id)[0].revoked_at is not None
    assert as_text(latest(db)) == ("Ada Admin (admin@lab.example): Revoked API token script of "
                                   "ana@lab.example [Name: script; Owner: Ana Ruiz (ana@lab.example)]")
    with pytest.raises(NotFound):  # once only
        users_store.revoke_token(db, ana.id, token.id, by=admin)


def test_only_an_admin_revokes_another_persons_token(db, admin, ana):
    coordinator = users_store.add_user(db, "co@lab.example", PASSWORD, "coordinator")
    users_store.create_token(db, ana.id, "script")
    [token] = users_store.list_tokens(db, ana.id)
    before = audit.count(db)
    with pytest.raises(PermissionDenied):
        users_store.revoke_token(db, ana.id, token.id, by=coordinator)
    with pytest.raises(NotFound):  # a token is revoked only as its owner's
        users_store.revoke_token(db, coordinator.id, token.id, by=admin)
    assert users_store.list_tokens(db, ana.id)[0].revoked_at is None and audit.count(db) == before
    assert [t.owner for t in users_store.list_all_tokens(db)] == ["ana@lab.example"]


# --- sources -------------------------------------------------------------------------------------------


def test_source_changes_are_logged_with_before_and_after(db, admin):
    source = sources_store.add_source(db, "https://news.example.org/feed.xml", name="Exemple sécurité",
                                      interval_minutes=60, by=admin.id)
    assert as_text(latest(db)) == (
        "Ada Admin (admin@lab.example): Created source “Exemple sécurité” [Address: "
        "https://news.example.org/feed.xml; Kind: feed; Name: Exemple sécurité; Interval (minutes): 60; "
        "Full text: no]")
    sources_store.update_source(db, source.id, name="Sécurité sociale", interval_minutes=120, full_text=True,
                                by=admin.id)
    entry = latest(db)
    assert entry.changes == (FieldChange("Name", "Exemple sécurité", "Sécurité sociale"),
                             FieldChange("Interval (minutes)", "60", "120"),
                             FieldChange("Full text", "no", "yes"))
    assert "\\u00e9" not in entry.details_text()
    # The stored JSON keeps the text as text, too.
    stored = db.execute("SELECT details FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert "Sécurité sociale" in stored


def test_unchanged_fields_and_repeated_pauses_write_nothing(db, admin):
    source = sources_store.add_source(db, "https://news.example.org/feed.xml", name="News", by=admin.id)
    before = audit.count(db)
    sources_store.update_source(db, source.id, name="News", interval_minutes=60, full_text=False, by=admin.id)
    sources_store.set_paused(db, source.id, False, by=admin.id)
    assert audit.count(db) == before
    sources_store.set_paused(db, source.id, True, by=admin.id)
    sources_store.set_paused(db, source.id, True, by=admin.id)
    sources_store.set_paused(db, source.id, False, by=admin.id)
    assert [e.action for e in audit.entries(db, entity="source", limit=2)] == ["resume", "pause"]
    assert audit.count(db) == before + 2


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "  "}, "the name is empty"),
    ({"interval_minutes": 0}, "from 1 to 43,200 minutes"),
    ({"interval_minutes": 43_201}, "from 1 to 43,200 minutes"),
])
def test_bad_source_changes_are_refused_and_nothing_is_written(db, admin, changes, message):
    source = sources_store.add_source(db, "https://news.example.org/feed.xml", name="News", by=admin.id)
    before = audit.count(db)
    with pytest.raises(InvalidInput, match=message):
        sources_store.update_source(db, source.id, by=admin.id, **changes)
    assert sources_store.get_source(db, source.id) == source and audit.count(db) == before


def test_a_removed_source_keeps_its_items_and_its_name_in_the_log(db, admin):
    source = sources_store.add_source(db, "https://news.example.org/feed.xml", name="News", by=admin.id)
    item_id = items_store.store_item(db, make_draft(), source_id=source.id).item_id
    sources_store.delete_source(db, source.id, by=admin.id)
    assert items_store.get_item(db, item_id).sources == ()  # the item stays, without the link
    assert as_text(latest(db)) == ("Ada Admin (admin@lab.example): Deleted source #1 (News, deleted) "
                                   "[Name: News; Address: https://news.example.org/feed.xml; Items: 1]")


def test_an_unnamed_source_takes_its_title_once(db):
    source = sources_store.add_source(db, "https://gov.example.org/register", kind="page")
    assert sources_store.name_if_unnamed(db, source.id, "  Register of\nalgorithms ")
    assert not sources_store.name_if_unnamed(db, source.id, "Another title")
    assert sources_store.get_source(db, source.id).name == "Register of algorithms"
    assert as_text(latest(db)) == ("system: Changed source “Register of algorithms” "
                                   "[Name: — → Register of algorithms]")


# --- records of other areas, read --------------------------------------------------------------------


def test_ids_in_details_read_as_titles(db, admin):
    source = sources_store.add_source(db, "https://news.example.org/feed.xml", name="News")
    draft = make_draft(title="Risk scores under fire")
    item_id = items_store.store_item(db, draft, source_id=source.id).item_id
    case = cases_store.create_case(db, admin, {"title": "Fraud scoring"})
    cases_store.link_item(db, admin, case.id, item_id)
    assert as_text(latest(db)) == ("Ada Admin (admin@lab.example): Linked an article case file "
                                   "“Fraud scoring” [Article: “Risk scores under fire”]")
    cases_store.update_case(db, admin, case.id, {"title": "Fraud scoring in Rotterdam"})
    assert latest(db).changes == (FieldChange("Title", "Fraud scoring", "Fraud scoring in Rotterdam"),)
    curation.set_status(db, item_id, "accepted", admin.id)
    assert as_text(latest(db)) == ("Ada Admin (admin@lab.example): Changed the status article "
                                   "“Risk scores under fire” [Status: New → Accepted]")


def test_topic_keys_read_through_the_given_labels(db, admin):
    source = sources_store.add_source(db, "https://news.example.org/feed.xml", name="News")
    item_id = items_store.store_item(db, make_draft(), source_id=source.id).item_id
    curation.apply(db, [item_id], curation.Change(add_tags=("country/fr",)), admin.id)
    entry = audit.readable(db, audit.entries(db, limit=1), topic_label={"country/fr": "France"}.get)[0]
    assert entry.facts == (("Topic", "France"),)


def test_an_unknown_action_and_kind_still_read(db):
    with db.conn:
        audit.record(db, None, "re-index", "search_index", None, {"documents": 3})
    assert as_text(latest(db)) == "system: Re index search index [Documents: 3]"


# --- filters and paging --------------------------------------------------------------------------------


def test_filters_by_person_kind_and_dates(db, admin, ana):
    sources_store.add_source(db, "https://news.example.org/feed.xml", name="News", by=ana.id)
    users_store.sign_in(db, "ana@lab.example", "wrong password!")
    by_ana = audit.entries(db, where=AuditFilter(person_id=ana.id))
    # What she did, and what concerns her account (its creation by the admin, attempts to sign in).
    assert [(e.action, e.entity) for e in by_ana] == [("sign-in-failed", "sign_in"), ("create", "source"),
                                                       ("create", "user")]
    assert [e.action for e in audit.entries(db, where=AuditFilter(entity="source"))] == ["create"]
    now = datetime.now(UTC)
    assert audit.count(db, AuditFilter(since=now - timedelta(minutes=5))) == audit.count(db) == 4
    assert audit.count(db, AuditFilter(since=now + timedelta(minutes=1))) == 0
    assert audit.count(db, AuditFilter(before=now - timedelta(minutes=5))) == 0
    assert audit.count(db, AuditFilter(person_id=ana.id, entity="user")) == 1


def test_paging_newest_first(db, admin):
    for n in range(7):
        sources_store.add_source(db, f"https://news.example.org/{n}.xml", name=f"Feed {n}", by=admin.id)
    where = AuditFilter(entity="source")
    pages = [audit.entries(db, where=where, limit=3, offset=o) for o in (0, 3, 6)]
    assert [[e.details["name"] for e in page] for page in pages] == [
        ["Feed 6", "Feed 5", "Feed 4"], ["Feed 3", "Feed 2", "Feed 1"], ["Feed 0"]]
    assert audit.count(db, where) == 7
    assert audit.people(db) == [(admin.id, "Ada Admin (admin@lab.example)")]


def test_language_codes_read_through_the_given_names(db, admin):
    users_store.set_user_language(db, admin.id, "fr", by=admin.id)
    entry = audit.readable(db, audit.entries(db, limit=1), language_label={"fr": "French"}.get)[0]
    assert entry.changes == (FieldChange("Language", "—", "French"),)
    assert audit.readable(db, audit.entries(db, limit=1))[0].changes == (FieldChange("Language", "—", "fr"),)

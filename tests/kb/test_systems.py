"""The register of systems (kb.systems): records and their validation, the status timeline, suggestions from
the monitoring in many languages and scripts, a person's decisions surviving re-matching, access, the audit
log, CSV import and export, and suggestions made by a real ingest from a loopback feed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from ingest.queue import run_once
from kb import cases as cases_store
from kb import contacts as contacts_store
from kb import items as items_store
from kb import sources as sources_store
from kb import systems
from kb import users as users_store
from kb.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kb.knowledge import KnowledgeBase
from kb.storage import audit
from kb.text.tagging import TopicEvidence
from kb.users import User
from tests.factories import make_draft, make_kb

PASSWORD = "a-long-enough-password"

# A small register written for these tests: names and aliases in several languages and scripts.
REGISTER = [
    {"name": "SyRI", "aliases": ["Systeem Risico Indicatie"], "country": "NL", "sector": "welfare",
     "kind": "risk-scoring"},
    {"name": "Robodebt", "aliases": ["Online Compliance Intervention"], "country": "au"},
    {"name": "AMS-Algorithmus", "aliases": ["Arbeitsmarktchancen-Modell"], "country": "country/at"},
    {"name": "Score de risque CAF", "aliases": ["score de risque de la CAF"], "country": "fr"},
    {"name": "VioGén", "aliases": ["Sistema VioGén"], "country": "es"},
    {"name": "Algoritmo della mobilità docenti", "aliases": ["algoritmo della mobilità"], "country": "it"},
    {"name": "Takaful cash transfer programme", "aliases": ["برنامج تكافل"], "country": "jo"},
    {"name": "Social Card", "aliases": ["Социјална карта", "Socijalna karta"], "country": "rs"},
    {"name": "My Number", "aliases": ["マイナンバー"]},
    {"name": "Social Credit System", "aliases": ["社会信用体系"]},
]

# (language, title, text, the systems a reader finds named in it) - the expected names written by hand.
STORIES = [
    ("en", "Robodebt inquiry hears from families", "The Online Compliance Intervention sent letters.",
     {"Robodebt"}),
    ("nl", "Zes jaar na het SyRI-vonnis", "De rechter oordeelde over systeem risico indicatie.", {"SyRI"}),
    ("de", "Streit um den AMS-Algorithmus", "Das Arbeitsmarktchancen-Modell teilt Arbeitslose ein.",
     {"AMS-Algorithmus"}),
    ("fr", "Le « score de risque » de la CAF", "Le Score de Risque de la Caf cible les allocataires.",
     {"Score de risque CAF"}),
    ("es", "El sistema VIOGEN a examen", "La policía usa el sistema viogén para medir el riesgo.",
     {"VioGén"}),
    ("it", "Dieci anni dopo", "L’algoritmo della mobilità assegnò i docenti lontano da casa.",
     {"Algoritmo della mobilità docenti"}),
    ("ar", "برنامج تَكافُل في الأردن", "خوارزمية تحدد من يستحق الدعم النقدي.",
     {"Takaful cash transfer programme"}),
    ("sr", "Социјална карта и помоћ", "Породице кажу да им је помоћ укинута.", {"Social Card"}),
    ("ja", "マイナンバーカードの保険証", "政府は新しい制度を始めた。", {"My Number"}),
    ("zh", "中国的社会信用体系很复杂", "地方政府试点。", {"Social Credit System"}),
    # Near misses: no whole-word match, an abbreviation written otherwise, another word containing a name.
    ("en", "Syria talks resume", "Antirobodebt campaigners and syri fans met; robodebts were discussed.",
     set()),
]


def _user(db: Database, role: str) -> User:
    return users_store.add_user(db, f"{role}@lab.example", PASSWORD, role)


@pytest.fixture
def coordinator(db: Database) -> User:
    return _user(db, "coordinator")


@pytest.fixture
def researcher(db: Database) -> User:
    return _user(db, "researcher")


@pytest.fixture
def register(db: Database, coordinator: User) -> dict[str, int]:
    return {record["name"]: systems.create_system(db, coordinator, record).id for record in REGISTER}


def _store(db: Database, title: str, text: str, language: str = "en", **overrides: object) -> int:
    draft = make_draft(title=title, text=text, summary="", language=language, **overrides)
    return items_store.store_item(db, draft).item_id


def _states(db: Database, item_id: int) -> dict[str, str]:
    return {link.system_name: link.state for link in systems.links_for_items(db, [item_id]).get(item_id, [])}


def _counts(db: Database) -> dict[str, int]:
    tables = ("systems", "system_aliases", "system_status", "system_items", "audit_log")
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


# Suggestions


def test_items_in_many_languages_and_scripts_get_the_systems_they_name(db, register):
    for language, title, text, expected in STORIES:
        item_id = _store(db, title, text, language)
        links = systems.links_for_items(db, [item_id]).get(item_id, [])
        assert {link.system_name for link in links} == expected, (language, title)
        assert all(link.state == "suggested" and link.origin == "matcher" for link in links)
        for link in links:  # the evidence is the aliases found, as registered
            assert set(link.evidence) <= set(systems.get_system(db, _reader(db), link.system_id).names)
            assert link.evidence


def _reader(db: Database) -> User:
    return users_store.find_user_by_email(db, "coordinator@lab.example")  # type: ignore[return-value]


def test_evidence_names_each_alias_found(db, register):
    item_id = _store(db, "Het SyRI-vonnis", "Het Systeem Risico Indicatie werd verboden.", "nl")
    (link,) = systems.links_for_items(db, [item_id])[item_id]
    assert sorted(link.evidence) == ["SyRI", "Systeem Risico Indicatie"]


def test_a_system_added_later_is_suggested_on_the_next_item_and_by_rematch(db, coordinator, register):
    before = _store(db, "Parcoursup reste opaque", "Les formations classent les candidats.", "fr")
    assert _states(db, before) == {}
    systems.create_system(db, coordinator, {"name": "Parcoursup", "country": "fr"})
    after = _store(db, "Parcoursup : les algorithmes locaux", "Encore Parcoursup.", "fr")
    assert _states(db, after) == {"Parcoursup": "suggested"}
    assert systems.rematch(db, [before]) == 1
    assert _states(db, before) == {"Parcoursup": "suggested"}


def test_a_rejected_suggestion_never_comes_back_and_a_confirmed_link_stays(db, coordinator, register):
    url = "https://news.example.org/syri-robodebt"
    item_id = _store(db, "SyRI and Robodebt compared", "Two welfare systems.", url=url)
    assert _states(db, item_id) == {"SyRI": "suggested", "Robodebt": "suggested"}
    systems.reject_link(db, coordinator, register["SyRI"], item_id)
    systems.confirm_link(db, coordinator, register["Robodebt"], item_id)
    # The article comes again, longer (stored as an update and tagged again), then everything is re-matched.
    again = _store(db, "SyRI and Robodebt compared", "Two welfare systems. " * 20 + "SyRI again.", url=url)
    assert again == item_id
    systems.rematch(db)
    assert _states(db, item_id) == {"SyRI": "rejected", "Robodebt": "confirmed"}
    # A new version that no longer names Robodebt: the confirmed link is a person's word, it stays.
    _store(db, "SyRI compared", "A longer text that names no system at all. " * 30, url=url)
    assert _states(db, item_id) == {"SyRI": "rejected", "Robodebt": "confirmed"}


def test_a_suggestion_the_new_version_no_longer_supports_goes(db, register):
    url = "https://news.example.org/update"
    item_id = _store(db, "Robodebt", "Short.", url=url)
    assert _states(db, item_id) == {"Robodebt": "suggested"}
    _store(db, "A welfare story", "A much longer text about welfare that names no system. " * 10, url=url)
    assert _states(db, item_id) == {}


def test_renaming_a_system_rebuilds_the_matcher(db, coordinator, register):
    systems.update_system(db, coordinator, register["Robodebt"], {"aliases": ["Income Compliance Program"]})
    assert _states(db, _store(db, "The Income Compliance Program", "Letters.")) == {"Robodebt": "suggested"}
    assert _states(db, _store(db, "Online Compliance Intervention", "Letters.")) == {}


# The status timeline


def test_the_timeline_is_in_date_order_with_its_evidence(db, coordinator, register):
    syri = register["SyRI"]
    ruling = _store(db, "SyRI ruled unlawful", "The court in The Hague.")
    law = _store(db, "SyRI law passes", "Parliament adopts the decree.")
    systems.add_status(db, coordinator, syri, "ruled unlawful", "2020-02-05", note="District court",
                       item_ids=[ruling])
    systems.add_status(db, coordinator, syri, "in use", "2014", item_ids=[law, ruling])
    systems.add_status(db, coordinator, syri, "announced", "2013-06")
    steps = systems.timeline(db, coordinator, syri)
    assert [(s.date, s.status) for s in steps] == [("2013-06", "announced"), ("2014", "in use"),
                                                   ("2020-02-05", "ruled unlawful")]
    assert steps[1].item_ids == tuple(sorted([law, ruling]))
    assert steps[2].item_ids == (ruling,) and steps[2].note == "District court"
    system = systems.get_system(db, coordinator, syri)
    assert (system.status, system.status_date) == ("ruled unlawful", "2020-02-05")
    assert [s.name for s in systems.list_systems(db, coordinator, status="ruled unlawful")] == ["SyRI"]


@pytest.mark.parametrize(("when", "message"), [
    ("2999-01-01", "the date 2999-01-01 is in the future"),
    ("2999", "the date 2999 is in the future"),
    ("5 Feb 2020", "bad date '5 Feb 2020': write YYYY-MM-DD"),
    ("2020-13", "bad date '2020-13'"),
])
def test_a_bad_or_future_status_date_is_refused_and_nothing_is_written(db, coordinator, register, when,
                                                                       message):
    before = _counts(db)
    with pytest.raises(InvalidInput, match=message):
        systems.add_status(db, coordinator, register["SyRI"], "in use", when)
    assert _counts(db) == before


def test_a_status_step_with_unknown_evidence_or_status_writes_nothing(db, coordinator, register):
    before = _counts(db)
    with pytest.raises(NotFound, match="item 999 does not exist"):
        systems.add_status(db, coordinator, register["SyRI"], "in use", "2014", item_ids=[999])
    with pytest.raises(InvalidInput, match="the status must be one of: announced, piloted, in use"):
        systems.add_status(db, coordinator, register["SyRI"], "rumoured", "2014")
    assert _counts(db) == before


# Bad input


@pytest.mark.parametrize(("fields", "error", "message"), [
    ({"name": "AI"}, InvalidInput, "the name 'AI' is too short: an alias needs at least 3 letters"),
    ({"name": "Welfare bot", "aliases": ["ID"]}, InvalidInput, "the alias 'ID' is too short"),
    ({"name": "Welfare bot", "aliases": ["card"]}, InvalidInput, "the alias 'card' is a common word"),
    ({"name": "Welfare bot", "aliases": ["the"]}, InvalidInput, "the alias 'the' is a common word"),
    ({"name": "Welfare bot", "aliases": ["Risk score"]}, InvalidInput,
     "the alias 'Risk score' is made only of common words"),
    ({"name": "Welfare bot", "aliases": ["le système"]}, InvalidInput, "made only of common words"),
    ({"name": "syri"}, Conflict, "the name 'syri' is already a name or alias of the system 'SyRI'"),
    ({"name": "Welfare bot", "aliases": ["Systeem-Risico-Indicatie"]}, Conflict,
     "the alias 'Systeem-Risico-Indicatie' is already a name or alias of the system 'SyRI'"),
    ({"name": "Welfare bot", "country": "Atlantis"}, InvalidInput, "unknown country 'Atlantis'"),
    ({"name": "Welfare bot", "level": "galactic"}, InvalidInput, "the level must be one of: national"),
    ({"name": "Welfare bot", "kind": "crystal-ball"}, InvalidInput, "unknown kind of system 'crystal-ball'"),
    ({"name": "Welfare bot", "register_url": "javascript:alert(1)"}, InvalidInput, "not an http(s) address"),
    ({"name": "Welfare bot", "colour": "red"}, InvalidInput, "unknown field(s) of a system: colour"),
    ({"name": ""}, InvalidInput, "a system needs a name"),
])
def test_bad_records_are_refused_in_words_and_nothing_is_half_written(db, coordinator, register, fields,
                                                                      error, message):
    before = _counts(db)
    with pytest.raises(error) as caught:
        systems.create_system(db, coordinator, fields)
    assert message in str(caught.value)
    assert _counts(db) == before


def test_a_multi_word_name_with_one_word_of_its_own_is_accepted(db, coordinator):
    # "Social Card": "card" alone is a common word, "social" is not, so the phrase names something.
    created = systems.create_system(db, coordinator, {"name": "Social Card", "aliases": ["Carte sociale"]})
    assert created.aliases == ("Carte sociale",)


def test_a_failed_update_leaves_the_record_and_the_matcher_as_they_were(db, coordinator, register):
    with pytest.raises(Conflict):
        systems.update_system(db, coordinator, register["Robodebt"],
                              {"aliases": ["Robo-debt scheme", "SyRI"]})
    assert systems.get_system(db, coordinator, register["Robodebt"]).aliases == (
        "Online Compliance Intervention",)
    assert _states(db, _store(db, "Online Compliance Intervention", "Letters.")) == {"Robodebt": "suggested"}


# Access and audit


def test_researchers_read_coordinators_change_and_every_change_is_audited(db, coordinator, researcher,
                                                                          register):
    assert {s.name for s in systems.list_systems(db, researcher)} == {r["name"] for r in REGISTER}
    item_id = _store(db, "Robodebt", "Letters.")
    for attempt in (lambda: systems.create_system(db, researcher, {"name": "Parcoursup"}),
                    lambda: systems.confirm_link(db, researcher, register["Robodebt"], item_id),
                    lambda: systems.add_status(db, researcher, register["Robodebt"], "ended", "2020")):
        with pytest.raises(PermissionDenied):
            attempt()
    systems.update_system(db, coordinator, register["Robodebt"], {"organisation": "Services Australia"})
    systems.confirm_link(db, coordinator, register["Robodebt"], item_id)
    systems.add_status(db, coordinator, register["Robodebt"], "ended", "2020-05")
    entries = audit.entries(db, entity="system", entity_id=register["Robodebt"])
    assert [e.action for e in entries] == ["add-status", "confirm-item", "update", "create"]
    assert entries[2].details == {"changes": {"organisation": ["", "Services Australia"]}}
    assert all(e.user_id == coordinator.id for e in entries)


def test_contacts_of_a_system_follow_the_contacts_rules(db, coordinator, researcher, register):
    admin = _user(db, "admin")
    open_contact = contacts_store.create_contact(db, admin, {"name": "Ada Reporter"})
    hidden = contacts_store.create_contact(db, admin, {"name": "Witness W.", "sensitivity": "restricted"})
    for contact in (open_contact, hidden):
        systems.link_contact(db, admin, register["SyRI"], contact.id, role="source")
    assert [c.contact.name for c in systems.system_contacts(db, admin, register["SyRI"])] == [
        "Ada Reporter", "Witness W."]
    assert [c.contact.name for c in systems.system_contacts(db, researcher, register["SyRI"])] == [
        "Ada Reporter"]


# Maybe a new system, case files


def test_an_item_with_a_kind_and_a_country_but_no_system_is_offered_as_a_draft(db, coordinator, register):
    topics = (TopicEvidence("system/biometrics", ("iris",)), TopicEvidence("country/jo", ("Jordan",)),
              TopicEvidence("sector/welfare", ("aid",)), TopicEvidence("right/privacy", ("data",)))
    lone = _store(db, "Iris scans for food aid in Jordan", "Refugees pay by looking into a camera.",
                  topics=topics)
    _store(db, "Robodebt", "Letters.", topics=topics)  # names a system: not a candidate
    _store(db, "Iris scans elsewhere", "No country here.", topics=topics[:1])
    assert [c.item_id for c in systems.possible_new_systems(db)] == [lone]
    draft = systems.draft_from_item(db, coordinator, lone, name="EyePay refugee payments")
    assert (draft.draft, draft.country, draft.kind, draft.sector, draft.rights) == (
        True, "country/jo", "system/biometrics", "sector/welfare", ("right/privacy",))
    assert _states(db, lone) == {"EyePay refugee payments": "confirmed"}
    assert systems.possible_new_systems(db) == []


def test_case_files_are_linked_to_the_system_their_free_text_names(db, coordinator, register):
    case = cases_store.create_case(db, coordinator, {"title": "Dutch welfare fraud scoring",
                                                     "system_name": "SyRI (Systeem Risico Indicatie)"})
    other = cases_store.create_case(db, coordinator, {"title": "Unrelated", "system_name": "A chatbot"})
    assert systems.link_cases_by_name(db) == 1
    assert systems.link_cases_by_name(db) == 0  # once
    assert [s.name for s in systems.systems_for_case(db, case.id)] == ["SyRI"]
    assert systems.systems_for_case(db, other.id) == []
    assert [c.case_id for c in systems.system_cases(db, coordinator, register["SyRI"])] == [case.id]


# Import and export


CSV_TEXT = """name,aliases,country,level,sector,kind,timeline
SyRI,Systeem Risico Indicatie,NL,national,welfare,risk-scoring,2014 in use; 2020-02-05 ruled unlawful
Welfare card,card,NL,,,,
Robodebt,Online Compliance Intervention; Robo-debt scheme,AU,national,welfare,eligibility,2016-07 in use
"""


def test_import_reports_each_row_a_bad_row_writes_nothing_and_dry_run_writes_nothing(db, coordinator):
    before = _counts(db)
    dry = systems.import_systems(db, coordinator, CSV_TEXT.encode(), dry_run=True)
    assert _counts(db) == before
    report = systems.import_systems(db, coordinator, CSV_TEXT.encode())
    for result in (dry, report):
        assert [(r.line, r.action, r.name) for r in result.rows] == [
            (2, "created", "SyRI"), (3, "refused", "Welfare card"), (4, "created", "Robodebt")]
        assert "the alias 'card' is a common word" in result.rows[1].reason
    assert dry.summary() == "2 created, 0 updated, 0 unchanged, 1 refused (dry run: nothing written)"
    assert [s.name for s in systems.list_systems(db, coordinator)] == ["Robodebt", "SyRI"]
    syri = systems.find_system_by_name(db, "syri")
    assert syri is not None and (syri.status, syri.country, syri.kind) == (
        "ruled unlawful", "country/nl", "system/risk-scoring")
    again = systems.import_systems(db, coordinator, CSV_TEXT.encode())
    assert [r.action for r in again.rows] == ["unchanged", "refused", "unchanged"]


def test_import_refuses_a_file_with_unknown_columns_or_a_future_step(db, coordinator):
    with pytest.raises(InvalidInput, match="unknown column"):
        systems.import_systems(db, coordinator, b"name,colour\nSyRI,red\n")
    report = systems.import_systems(db, coordinator, b"name,timeline\nSyRI,2999-01 in use\n")
    assert report.rows[0].action == "refused" and "in the future" in report.rows[0].reason
    assert systems.list_systems(db, coordinator) == []
    with pytest.raises(PermissionDenied):
        systems.import_systems(db, _user(db, "researcher"), CSV_TEXT.encode())


def test_export_then_import_gives_the_same_register(db, coordinator, register, tmp_path):
    systems.update_system(db, coordinator, register["SyRI"], {
        "organisation": "Ministry of Social Affairs", "description": "Links files.\nFlags addresses.",
        "rights": ["privacy", "discrimination"], "impact_assessment": "not published",
        "register_url": "https://example.org/register/syri", "level": "national"})
    systems.add_status(db, coordinator, register["SyRI"], "in use", "2014")
    systems.add_status(db, coordinator, register["SyRI"], "ruled unlawful", "2020-02-05")
    first = io.StringIO()
    assert systems.export_csv(db, coordinator, first) == len(REGISTER)
    from kb.storage.db import connect, migrate

    other = connect(tmp_path / "other.db")
    migrate(other)
    other_user = _user(other, "coordinator")
    report = systems.import_systems(other, other_user, first.getvalue().encode())
    assert report.count("created") == len(REGISTER) and report.count("refused") == 0
    second = io.StringIO()
    systems.export_csv(other, other_user, second)
    assert second.getvalue() == first.getvalue()
    rows = list(csv.DictReader(io.StringIO(first.getvalue())))
    syri = next(r for r in rows if r["name"] == "SyRI")
    assert syri["timeline"] == "2014 in use; 2020-02-05 ruled unlawful"
    assert syri["rights"] == "right/privacy; right/discrimination"
    other.conn.close()


def test_json_records_carry_the_timeline_and_confirmed_items(db, coordinator, register):
    item_id = _store(db, "SyRI", "The ruling.")
    systems.confirm_link(db, coordinator, register["SyRI"], item_id)
    systems.add_status(db, coordinator, register["SyRI"], "ruled unlawful", "2020-02-05", item_ids=[item_id])
    record = next(r for r in systems.export_records(db, coordinator) if r["name"] == "SyRI")
    assert record["timeline"] == [{"status": "ruled unlawful", "date": "2020-02-05", "note": "",
                                   "item_ids": [item_id]}]
    assert record["confirmed_items"] == [item_id]
    assert record["country"] == "country/nl" and record["aliases"] == ["Systeem Risico Indicatie"]
    json.dumps(record)  # plain data


# Ingest from a real feed


@pytest.fixture
def live_kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = make_kb(tmp_path / "data", fetch_allow_private="127.0.0.0/8", fetch_host_delay=0,
                   fetch_read_timeout=2, fetch_retries=1, extract_processes=1)
    try:
        yield base
    finally:
        base.close()


def test_ingest_from_a_feed_suggests_the_systems_its_entries_name(live_kb, http_server):
    coordinator = _user(live_kb.db, "coordinator")
    for record in REGISTER:
        systems.create_system(live_kb.db, coordinator, record)
    entries = [
        ("Zes jaar na het SyRI-vonnis", "/a/syri", "De rechter verbood Systeem Risico Indicatie in 2020."),
        ("برنامج تكافل في الأردن", "/a/takaful", "خوارزمية تحدد من يستحق الدعم النقدي في الأردن."),
        ("Weather: storm over the coast", "/a/storm", "Gusts of wind expected on Saturday."),
    ]
    items_xml = "".join(
        f"<item><title>{t}</title><link>{http_server.url(p)}</link><description>{d}</description>"
        f"<guid>{p}</guid></item>" for t, p, d in entries)
    feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed</title>'
            f"<link>https://example.org/</link>{items_xml}</channel></rss>").encode()
    http_server.add("/feed.xml", (200, {"Content-Type": "application/rss+xml"}, feed))
    source = sources_store.add_source(live_kb.db, http_server.url("/feed.xml"), name="Feed")
    summary = run_once(live_kb, [source.id])
    assert summary.failed == 0
    found = {}
    for item in items_store.iter_items(live_kb.db):
        found[item.title] = _states(live_kb.db, item.id)
    assert found == {
        "Zes jaar na het SyRI-vonnis": {"SyRI": "suggested"},
        "برنامج تكافل في الأردن": {"Takaful cash transfer programme": "suggested"},
        "Weather: storm over the coast": {},
    }


def test_a_row_naming_a_system_by_its_alias_updates_that_system(db, coordinator, register):
    data = "name,organisation,aliases\nsysteem risico indicatie,Ministry of Social Affairs,SyRI-wet\n"
    report = systems.import_systems(db, coordinator, data.encode())
    assert [(r.action, r.reason) for r in report.rows] == [("updated", f"system {register['SyRI']}")]
    syri = systems.get_system(db, coordinator, register["SyRI"])
    assert (syri.name, syri.organisation) == ("SyRI", "Ministry of Social Affairs")
    assert syri.aliases == ("SyRI-wet", "systeem risico indicatie")


def test_items_of_a_system_by_state_and_mentions_by_month(db, coordinator, register):
    from datetime import UTC, datetime

    robodebt = register["Robodebt"]
    october = _store(db, "Robodebt letters", "Text.", published=datetime(2026, 10, 3, tzinfo=UTC))
    november = _store(db, "Robodebt inquiry", "Text.", "fr", published=datetime(2026, 11, 9, tzinfo=UTC))
    rejected = _store(db, "Robodebt football club", "Text.", published=datetime(2026, 11, 10, tzinfo=UTC))
    systems.confirm_link(db, coordinator, robodebt, october)
    systems.reject_link(db, coordinator, robodebt, rejected)
    assert systems.item_ids_for_system(db, robodebt) == [october, november]
    assert systems.item_ids_for_system(db, robodebt, ("confirmed",)) == [october]
    assert systems.mentions_by_month(db, robodebt) == [("2026-10", "en", 1), ("2026-11", "fr", 1)]
    with pytest.raises(InvalidInput, match="state must be one of"):
        systems.item_ids_for_system(db, robodebt, ("maybe",))

"""The digest's headings follow each recipient's language (issue 16): a user's chosen interface language,
else English (outside addresses, users who follow their browser). Sent through a real SMTP server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from kb import curation
from kb import users as users_store
from kb.digest import recipients
from kb.digest.deliveries import send_digest, send_test
from kb.items import store_item
from kb.knowledge import KnowledgeBase
from kb.settings import Settings
from kb.text.tagging import TopicEvidence
from kb.text.taxonomy import load_taxonomy
from tests.factories import make_draft
from tests.smtpserver import LocalSMTPServer

WEEK = "2026-W47"
IN_WEEK = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
SEND_TIME = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WELFARE = "sector/welfare"


@pytest.fixture
def smtp_server() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


@pytest.fixture
def settings(kb: KnowledgeBase, smtp_server: LocalSMTPServer) -> Settings:
    return dataclasses.replace(
        kb.settings, timezone="Europe/Amsterdam", base_url="https://kb.lab.example",
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_security="none",
        smtp_sender="Digest <digest@lab.example>",
    )


def _accepted(kb: KnowledgeBase, **overrides: object) -> None:
    draft = make_draft(published=IN_WEEK, **overrides)
    item_id = store_item(kb.db, draft).item_id
    curation.set_status(kb.db, item_id, "accepted", None, now=draft.published)


def _user(kb: KnowledgeBase, email: str, language: str) -> int:
    user = users_store.add_user(kb.db, email, "a long enough password", "researcher")
    users_store.set_user_language(kb.db, user.id, language)
    recipients.subscribe_user(kb.db, email)
    return user.id


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.fixture
def sent(kb: KnowledgeBase, settings: Settings, smtp_server: LocalSMTPServer) -> LocalSMTPServer:
    _accepted(kb, url="https://news.example/welfare", title="Council pauses benefit fraud risk score",
              language="en", topics=(TopicEvidence(WELFARE, ("term",)),))
    _accepted(kb, url="https://news.example/other", title="Une histoire sans secteur", language="fr",
              topics=())
    _user(kb, "fr@lab.example", "fr")
    _user(kb, "es@lab.example", "es")
    _user(kb, "ar@lab.example", "ar")
    _user(kb, "browser@lab.example", "")  # follows the browser: the lab's default
    recipients.add_recipient(kb.db, "partner@ngo.example", "Partner")  # outside: the lab's default
    report = send_digest(kb.db, settings, WEEK, now=SEND_TIME)
    assert len(report.sent) == 5 and not report.failed
    return smtp_server


def test_a_french_recipient_reads_french_headings(sent):
    [message] = sent.messages_to("fr@lab.example")
    assert message["Subject"] == "Lettre hebdomadaire de veille médiatique, semaine 47 2026 (2 articles)"
    text, html = _parts(message)
    assert '<html lang="fr" dir="ltr">' in html
    assert "<h1" in html and ">Lettre hebdomadaire de veille médiatique, semaine 47 2026</h1>" in html
    assert "du 2026-11-16 au 2026-11-22 &middot; 2 articles" in html
    assert "Par secteur :" in text and "Par langue :" in html and ">Article d’origine</a>" in html
    assert ">Dans la base de connaissances</a>" in html and ">Se désabonner</a>" in html
    # Sections under the taxonomy's French labels; an item without a sector under "Autre".
    welfare_fr = load_taxonomy().label(WELFARE, "fr")
    assert welfare_fr != load_taxonomy().label(WELFARE, "en")
    assert f"== {welfare_fr} (1) ==".upper() in text and "== AUTRE (1) ==" in text
    for english in ("Media monitoring digest", "By sector", "Original article", "In the knowledge base",
                    "Unsubscribe"):
        assert english not in text and english not in html
    # What people wrote stays as written.
    assert "Council pauses benefit fraud risk score" in text and "Une histoire sans secteur" in html


def test_spanish_and_arabic_recipients_read_their_own(sent):
    [spanish] = sent.messages_to("es@lab.example")
    assert spanish["Subject"] == "Boletín semanal de seguimiento de medios, semana 47 2026 (2 artículos)"
    text, html = _parts(spanish)
    assert "Por sector:" in text and ">Darse de baja</a>" in html and '<html lang="es" dir="ltr">' in html
    [arabic] = sent.messages_to("ar@lab.example")
    assert arabic["Subject"] == "النشرة الأسبوعية للرصد الإعلامي، الأسبوع 47 2026 (عنصران)"  # the dual
    text, html = _parts(arabic)
    assert '<html lang="ar" dir="rtl">' in html and "حسب القطاع:" in text and ">إلغاء الاشتراك</a>" in html


def test_english_for_an_english_user_an_outside_address_and_a_user_without_a_choice(sent):
    for address in ("browser@lab.example", "partner@ngo.example"):
        [message] = sent.messages_to(address)
        assert message["Subject"] == "Media monitoring digest, week 47 2026 (2 items)"
        text, html = _parts(message)
        assert '<html lang="en" dir="ltr">' in html and "2026-11-16 to 2026-11-22 &middot; 2 items" in html
        assert "By sector: " in text and "== OTHER (1) ==" in text and ">Original article</a>" in html
        assert "You receive this digest of the lab" in text and ">Unsubscribe</a>" in html
        assert "Par secteur" not in text


def test_the_test_copy_speaks_the_testers_language(kb, settings, smtp_server):
    _accepted(kb, url="https://news.example/one", title="One story", language="en")
    tester = users_store.add_user(kb.db, "coord@lab.example", "a long enough password", "coordinator")
    users_store.set_user_language(kb.db, tester.id, "ar")
    send_test(kb.db, settings, WEEK, "coord@lab.example", by=tester.id, now=SEND_TIME)
    [message] = smtp_server.messages_to("coord@lab.example")
    assert message["Subject"] == "[Test] النشرة الأسبوعية للرصد الإعلامي، الأسبوع 47 2026 (عنصر واحد)"

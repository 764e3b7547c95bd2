"""The weekly digest: the draft, the coordinator's edits, and sending it through a real SMTP server."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import kb_group
from kb import curation
from kb import users as users_store
from kb.digest import deliveries, recipients
from kb.digest import draft as digest
from kb.digest.deliveries import due_for_sending, send_digest
from kb.digest.draft import EmptyDigest, build_digest, first_sentences, topic_label
from kb.digest.mail import MailError
from kb.errors import Conflict, InvalidInput, NotFound, SettingsError
from kb.items import store_item
from kb.knowledge import KnowledgeBase
from kb.settings import Settings
from kb.text.tagging import TopicEvidence
from tests.factories import make_draft
from tests.smtpserver import LocalSMTPServer

WEEK = "2026-W47"  # Monday 16 to Sunday 22 November 2026
IN_WEEK = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
SEND_TIME = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday of the next week, 10:00 in Amsterdam
BASE_URL = "https://kb.lab.example"
WELFARE, EDUCATION = "sector/welfare", "sector/education"
RISK, GRADING, BIOMETRICS = "system/risk-scoring", "system/exam-grading", "system/biometrics"


def _topics(*ids: str) -> tuple[TopicEvidence, ...]:
    return tuple(TopicEvidence(topic, ("term",)) for topic in ids)


def _item(kb: KnowledgeBase, *, status: str = "accepted", in_digest: bool = False,
          **overrides: object) -> int:
    """An item decided when it was published: the week it was accepted is the week of its digest."""
    draft = make_draft(**overrides)
    item_id = store_item(kb.db, draft).item_id
    if status != "new":
        curation.set_status(kb.db, item_id, status, None, now=draft.published)
    if in_digest:
        curation.set_in_digest(kb.db, item_id, True, None, now=draft.published)
    return item_id


@pytest.fixture
def smtp_server() -> Iterator[LocalSMTPServer]:
    with LocalSMTPServer() as server:
        yield server


@pytest.fixture
def settings(kb: KnowledgeBase, smtp_server: LocalSMTPServer) -> Settings:
    return dataclasses.replace(
        kb.settings, timezone="Europe/Amsterdam", base_url=BASE_URL, smtp_host=smtp_server.host,
        smtp_port=smtp_server.port, smtp_security="none", smtp_sender="Media monitoring <digest@lab.example>",
    )


@pytest.fixture
def week_items(kb: KnowledgeBase) -> dict[str, int]:
    """Four items for the digest of WEEK in four languages, and four that must stay out of it."""
    ids = {
        "welfare_en": _item(kb, topics=_topics(WELFARE, RISK), language="en",
                            title="Council pauses benefit fraud risk score"),
        "welfare_fr": _item(kb, topics=_topics(WELFARE), language="fr", summary="",
                            title="La CAF note les allocataires",
                            text="La CAF utilise un algorithme. Il attribue un score de risque aux "
                                 "allocataires. Une troisième phrase ne figure pas dans le résumé.",
                            published=datetime(2026, 11, 17, 8, 0, tzinfo=UTC)),
        "education_ar": _item(kb, status="new", in_digest=True, topics=_topics(EDUCATION, GRADING),
                              language="ar", title="خوارزمية لتصحيح الامتحانات",
                              summary="وزارة التعليم تستخدم خوارزمية. الطلاب يحتجون."),
        "other_de": _item(kb, topics=_topics(BIOMETRICS), language="de",
                          title="Gesichtserkennung im Jobcenter",
                          summary="Das Jobcenter testet Gesichtserkennung. Datenschützer warnen."),
        # Out: rejected, never decided, another week.
        "rejected": _item(kb, status="rejected", title="Rejected story"),
        "undecided": _item(kb, status="new", title="Undecided story"),
        "last_week": _item(kb, title="Last week's story", published=IN_WEEK - timedelta(days=7)),
        "next_week": _item(kb, title="Next week's story", published=IN_WEEK + timedelta(days=7)),
    }
    return ids


def _subscribe_two(kb: KnowledgeBase) -> tuple[recipients.Recipient, recipients.Recipient]:
    partner = recipients.add_recipient(kb.db, "ana@partner.example", "Ana Partner")
    users_store.add_user(kb.db, "res@lab.example", "a long password", "researcher", name="Res Earcher")
    member = recipients.subscribe_user(kb.db, "res@lab.example")
    return partner, member


def _parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return plain.get_content(), html.get_content()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# --- the draft -----------------------------------------------------------------------------------------


def test_draft_groups_by_sector_then_system_with_counts_languages_and_links(kb, settings, week_items):
    draft = build_digest(kb.db, settings, WEEK)

    assert [s.label for s in draft.sections] == [topic_label(WELFARE), topic_label(EDUCATION), "Other"]
    welfare, education, other = draft.sections
    assert [(g.label, [e.item_id for e in g.entries]) for g in welfare.groups] == [
        (topic_label(RISK), [week_items["welfare_en"]]), ("Other topics", [week_items["welfare_fr"]])]
    assert [g.topic for g in education.groups] == [GRADING]
    assert [g.topic for g in other.groups] == [BIOMETRICS]
    assert draft.sector_counts == ((topic_label(WELFARE), 2), (topic_label(EDUCATION), 1), ("Other", 1))
    assert dict(draft.language_counts) == {"English": 1, "French": 1, "Arabic": 1, "German": 1}
    assert draft.total == 4 and draft.subject == "Media monitoring digest, week 47 2026 (4 items)"

    entry = welfare.groups[0].entries[0]
    assert entry.kb_url == f"{BASE_URL}/items/{week_items['welfare_en']}"
    assert entry.url.startswith("https://news.example.org/")
    assert (entry.language, entry.language_label, entry.date) == ("en", "English", "2026-11-18")
    assert entry.source == "news.example.org"
    french = welfare.groups[1].entries[0]
    assert french.summary == "La CAF utilise un algorithme. Il attribue un score de risque aux allocataires."
    assert not {week_items[k] for k in ("rejected", "undecided", "last_week", "next_week")} & {
        e.item_id for e in draft.entries}


def test_weeks_are_counted_in_the_lab_time_zone(kb, settings):
    # 23:30 UTC on Sunday is already Monday in Amsterdam: the next week there.
    late_sunday = _item(kb, title="Late Sunday", published=datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    early_monday = _item(kb, title="Early Monday", published=datetime(2026, 11, 15, 23, 30, tzinfo=UTC))
    assert [e.item_id for e in build_digest(kb.db, settings, WEEK).entries] == [early_monday]
    assert [e.item_id for e in build_digest(kb.db, settings, "2026-W48").entries] == [late_sunday]
    utc = dataclasses.replace(settings, timezone="UTC")
    assert [e.item_id for e in build_digest(kb.db, utc, WEEK).entries] == [late_sunday]


def test_an_item_without_a_publication_date_counts_by_when_it_was_gathered(kb, settings):
    item_id = _item(kb, title="Undated", published=None)
    this_week = digest.week_of(datetime.now(UTC), settings)
    assert [e.item_id for e in build_digest(kb.db, settings, this_week).entries] == [item_id]


def test_the_default_week_is_the_last_completed_one(kb, settings, week_items):
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert digest.last_completed_week(settings, wednesday) == WEEK
    assert digest.last_completed_week(settings, datetime(2026, 11, 22, 22, 59, tzinfo=UTC)) == "2026-W46"
    assert digest.last_completed_week(settings, datetime(2026, 11, 22, 23, 0, tzinfo=UTC)) == WEEK
    assert build_digest(kb.db, settings, now=wednesday).total == 4


@pytest.mark.parametrize(("text", "week"), [("2026-W47", "2026-W47"), ("2026-w47", "2026-W47"),
                                            ("2026W47", "2026-W47"), (" 2026-W5 ", "2026-W05")])
def test_weeks_are_parsed_leniently(text, week):
    assert digest.parse_week(text) == week


@pytest.mark.parametrize("text", ["", "47", "2026-47", "2026-W54", "2025-W53", "2026-W00"])
def test_bad_weeks_are_refused(text):
    with pytest.raises(InvalidInput, match="ISO week"):
        digest.parse_week(text)


@pytest.mark.parametrize(("text", "summary"), [
    ("One thing happened. Then another. And a third.", "One thing happened. Then another."),
    ("Dr. Smith and the U.S. agency spoke, e.g. on Monday. The council agreed. Later more.",
     "Dr. Smith and the U.S. agency spoke, e.g. on Monday. The council agreed."),
    ("Is it legal? Nobody knows! A third.", "Is it legal? Nobody knows!"),
    ("It grew 3.5 percent. Then it fell. More.", "It grew 3.5 percent. Then it fell."),
    ("第一句。第二句。第三句。", "第一句。第二句。"),
    ("No full stop at all", "No full stop at all"),
    ("Line\r\nbreaks\tand   spaces. Two. Three.", "Line breaks and spaces. Two."),
])
def test_summaries_are_the_first_two_sentences(text, summary):
    assert first_sentences(text) == summary


def test_a_long_summary_is_cut_at_a_word(kb):
    summary = first_sentences("word " * 400)
    assert len(summary) <= 602 and summary.endswith(" …")


def test_the_coordinators_edits_are_kept_in_the_draft(kb, settings, week_items):
    en, fr, ar, de = (week_items[k] for k in ("welfare_en", "welfare_fr", "education_ar", "other_de"))
    digest.set_intro(kb.db, WEEK, "Dear partners,\n\nA busy week.\r\n")
    digest.set_order(kb.db, settings, WEEK, [fr, en])
    digest.set_summary(kb.db, settings, WEEK, en, "The coordinator's own words.")
    digest.drop_item(kb.db, settings, WEEK, de)

    draft = build_digest(kb.db, settings, WEEK)
    assert draft.intro == "Dear partners,\n\nA busy week."
    assert [e.item_id for e in draft.entries] == [fr, en, ar]
    assert [e.summary for e in draft.entries if e.item_id == en] == ["The coordinator's own words."]
    assert [e.item_id for e in draft.dropped] == [de]
    # The "Other" section lost its only item: it is left out, not shown empty.
    assert [s.label for s in draft.sections] == [topic_label(WELFARE), topic_label(EDUCATION)]
    assert draft.total == 3 and "German" not in dict(draft.language_counts)

    # Typed or pasted control characters go; line and paragraph separators are line breaks.
    digest.set_intro(kb.db, WEEK, "Dear\x00 partners,\u2029A busy\x1b week.")
    digest.set_summary(kb.db, settings, WEEK, en, "Own\x7f words\u2028on two lines.")
    draft = build_digest(kb.db, settings, WEEK)
    assert draft.intro == "Dear partners,\nA busy week."
    assert [e.summary for e in draft.entries if e.item_id == en] == ["Own words\non two lines."]

    digest.set_summary(kb.db, settings, WEEK, en, "  ")  # empty: back to the default summary
    digest.restore_item(kb.db, WEEK, de)
    draft = build_digest(kb.db, settings, WEEK)
    assert draft.total == 4 and not draft.dropped
    assert [e.summary_edited for e in draft.entries if e.item_id == en] == [False]


def test_edits_name_only_items_of_the_week(kb, settings, week_items):
    with pytest.raises(InvalidInput, match="not in the digest"):
        digest.drop_item(kb.db, settings, WEEK, week_items["last_week"])
    with pytest.raises(InvalidInput):
        digest.set_order(kb.db, settings, WEEK, [week_items["rejected"]])


# --- rendering -----------------------------------------------------------------------------------------


def test_the_web_body_uses_classes_and_the_email_inline_styles(kb, settings, week_items):
    draft = build_digest(kb.db, settings, WEEK)
    web = digest.render_html_body(draft)
    assert 'class="digest-h2"' in web and "style=" not in web
    email_html = digest.render_email_html(draft, f"{BASE_URL}/digest/unsubscribe/token")
    assert "class=" not in email_html
    for tag, attrs in _tags(email_html):
        assert tag not in {"link", "img", "script", "style", "iframe", "object"}
        assert "src" not in attrs
        if tag in {"h1", "h2", "h3", "p", "a", "div"}:
            assert attrs.get("style"), f"<{tag}> without an inline style"


def test_item_text_is_escaped_in_html(kb, settings):
    _item(kb, title="<script>alert(1)</script> & <b>bold</b>", summary="<img src=https://evil.example/x.png>",
          url="https://news.example.org/escape")
    html = digest.render_email_html(build_digest(kb.db, settings, WEEK))
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


# --- sending -------------------------------------------------------------------------------------------


def test_each_recipient_gets_one_multipart_message_with_both_parts(kb, settings, smtp_server, week_items):
    partner, member = _subscribe_two(kb)
    digest.set_intro(kb.db, WEEK, "Four stories this week.")

    report = send_digest(kb.db, settings, WEEK, now=SEND_TIME)

    assert (sorted(report.sent), report.failed, report.already) == (
        ["ana@partner.example", "res@lab.example"], [], 0)
    assert sorted(smtp_server.envelope_recipients()) == ["ana@partner.example", "res@lab.example"]
    assert all(len(r.recipients) == 1 for r in smtp_server.received)
    [to_partner] = smtp_server.messages_to("ana@partner.example")
    [to_member] = smtp_server.messages_to("res@lab.example")

    assert to_partner["Subject"] == "Media monitoring digest, week 47 2026 (4 items)"
    assert to_partner["From"] == "Media monitoring <digest@lab.example>"
    assert to_partner["To"] == "Ana Partner <ana@partner.example>"
    assert parsedate_to_datetime(to_partner["Date"]) == SEND_TIME
    assert re.fullmatch(r"<[^<>@\s]+@lab\.example>", to_partner["Message-ID"])
    assert to_partner["Message-ID"] != to_member["Message-ID"]
    assert to_partner["List-Unsubscribe"] == f"<{BASE_URL}/digest/unsubscribe/{partner.unsubscribe_token}>"
    assert to_member["List-Unsubscribe"] == f"<{BASE_URL}/digest/unsubscribe/{member.unsubscribe_token}>"
    assert to_partner["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = {r.recipients[0]: r.data for r in smtp_server.received}["ana@partner.example"]
    link = f"{BASE_URL}/digest/unsubscribe/{partner.unsubscribe_token}"
    assert f"\r\nList-Unsubscribe: <{link}>\r\n".encode() in raw  # as is, not in encoded words

    text, html = _parts(to_partner)
    headings = (topic_label(WELFARE).upper(), topic_label(EDUCATION).upper(), "OTHER (1)")
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)
    assert "Four stories this week." in text
    assert "By sector: " + f"{topic_label(WELFARE)} 2, {topic_label(EDUCATION)} 1, Other 1" in text
    for label in ("English", "French", "Arabic", "German"):
        assert f"[{label}]" in text and f">{label}</span>" in html
    for item_id in (week_items[k] for k in ("welfare_en", "welfare_fr", "education_ar", "other_de")):
        assert f"{BASE_URL}/items/{item_id}" in text and f'href="{BASE_URL}/items/{item_id}"' in html
    assert "خوارزمية لتصحيح الامتحانات" in text and "خوارزمية لتصحيح الامتحانات" in html
    assert f"Unsubscribe: {BASE_URL}/digest/unsubscribe/{partner.unsubscribe_token}" in text
    assert "Rejected story" not in text and "Undecided story" not in text
    for tag, attrs in _tags(html):
        assert tag not in {"link", "img", "script", "style"} and "src" not in attrs
        if tag == "a":
            assert str(attrs["href"]).startswith("https://")
    assert "url(" not in html and "@import" not in html


def test_a_second_run_sends_nothing_new(kb, settings, smtp_server, week_items):
    _subscribe_two(kb)
    send_digest(kb.db, settings, WEEK, now=SEND_TIME)
    again = send_digest(kb.db, settings, WEEK, now=SEND_TIME + timedelta(hours=1))
    assert (again.sent, again.failed, again.already) == ([], [], 2)
    assert "2 had it already" in again.line()
    assert len(smtp_server.received) == 2


def test_a_refused_recipient_is_recorded_and_alone_retried_with_the_same_digest(kb, settings, smtp_server,
                                                                               week_items):
    _subscribe_two(kb)
    recipients.add_recipient(kb.db, "bounce@partner.example")
    smtp_server.refuse.add("bounce@partner.example")

    first = send_digest(kb.db, settings, WEEK, now=SEND_TIME)
    assert sorted(first.sent) == ["ana@partner.example", "res@lab.example"]
    [(email, answer)] = first.failed
    assert email == "bounce@partner.example" and answer.startswith("550 5.1.1")
    status = {d.email: d for d in deliveries.deliveries(kb.db, WEEK)}
    assert status["bounce@partner.example"].status == "failed"
    assert "mailbox unavailable" in status["bounce@partner.example"].error
    assert status["ana@partner.example"].status == "sent" and status["ana@partner.example"].message_id

    # An item accepted after the digest went out does not change it for the recipient reached later.
    late = _item(kb, title="Accepted late")
    with pytest.raises(Conflict, match="has been sent"):
        digest.set_intro(kb.db, WEEK, "Too late")
    assert build_digest(kb.db, settings, WEEK).late_item_ids == (late,)

    smtp_server.refuse.clear()
    second = send_digest(kb.db, settings, WEEK, now=SEND_TIME + timedelta(hours=1))
    assert (second.sent, second.failed, second.already) == (["bounce@partner.example"], [], 2)
    assert sorted(smtp_server.envelope_recipients()) == [
        "ana@partner.example", "bounce@partner.example", "res@lab.example"]
    [retried] = smtp_server.messages_to("bounce@partner.example")
    assert retried["Subject"].endswith("(4 items)")
    assert "Accepted late" not in _parts(retried)[0]
    assert {d.status for d in deliveries.deliveries(kb.db, WEEK)} == {"sent"}


def test_a_server_failing_half_way_leaves_the_rest_for_the_next_run(kb, settings, smtp_server, week_items):
    for name in ("a", "b", "c"):
        recipients.add_recipient(kb.db, f"{name}@partner.example")
    smtp_server.close_after = 1
    with pytest.raises(MailError, match="421.*run `kb digest send --week 2026-W47` again"):
        send_digest(kb.db, settings, WEEK, now=SEND_TIME)
    assert [d.status for d in deliveries.deliveries(kb.db, WEEK)] == ["sent", "failed", "pending"]

    smtp_server.close_after = None
    report = send_digest(kb.db, settings, WEEK, now=SEND_TIME + timedelta(hours=1))
    assert report.sent == ["b@partner.example", "c@partner.example"]
    assert smtp_server.envelope_recipients() == [f"{n}@partner.example" for n in ("a", "b", "c")]


def test_item_text_cannot_add_or_change_headers(kb, settings, smtp_server):
    _item(kb, title="Pay cut\r\nBcc: spy@evil.example\r\nX-Injected: yes\nSubject: fake",
          summary="Summary\r\nBcc: spy@evil.example\r\n\r\n<b>body</b>")
    recipients.add_recipient(kb.db, "ana@partner.example", "Ana\r\nBcc: spy@evil.example")
    send_digest(kb.db, settings, WEEK, now=SEND_TIME)

    [received] = smtp_server.received
    assert received.recipients == ("ana@partner.example",)
    head = received.data.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0] for line in head.split("\r\n") if line and not line[0].isspace()]
    assert sorted(names) == sorted([
        "Subject", "From", "To", "Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
        "Auto-Submitted", "MIME-Version", "Content-Type"])
    message = received.message()
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"] == "Media monitoring digest, week 47 2026 (1 item)"
    assert message["To"].addresses[0].addr_spec == "ana@partner.example"
    assert message["To"].addresses[0].display_name == "Ana Bcc: spy@evil.example"  # quoted, harmless
    text, html = _parts(message)
    assert "Pay cut Bcc: spy@evil.example X-Injected: yes Subject: fake" in text
    assert "&lt;b&gt;body&lt;/b&gt;" in html


def test_a_week_without_items_sends_nothing(kb, settings, smtp_server, week_items):
    _subscribe_two(kb)
    with pytest.raises(EmptyDigest, match=r"2026-W40 .*no items.*nothing was sent"):
        send_digest(kb.db, settings, "2026-W40", now=SEND_TIME)
    digest.drop_item(kb.db, settings, WEEK, week_items["welfare_en"])
    for key in ("welfare_fr", "education_ar", "other_de"):
        digest.drop_item(kb.db, settings, WEEK, week_items[key])
    with pytest.raises(EmptyDigest):
        send_digest(kb.db, settings, WEEK, now=SEND_TIME)
    assert smtp_server.received == []


def test_nobody_to_send_to_is_a_clear_error(kb, settings, smtp_server, week_items):
    with pytest.raises(digest.DigestError, match="kb digest recipients add"):
        send_digest(kb.db, settings, WEEK, now=SEND_TIME)


def test_missing_smtp_settings_stop_before_anything_is_sent(kb, settings, smtp_server, week_items):
    _subscribe_two(kb)
    with pytest.raises(SettingsError, match=r"smtp_host \(KB_SMTP_HOST\)"):
        send_digest(kb.db, dataclasses.replace(settings, smtp_host=""), WEEK, now=SEND_TIME)
    assert smtp_server.received == []
    assert {d.status for d in deliveries.deliveries(kb.db, WEEK)} == {"pending"}


def test_the_unsubscribe_link_works_without_signing_in(kb, settings, smtp_server, week_items):
    partner, member = _subscribe_two(kb)
    send_digest(kb.db, settings, WEEK, now=SEND_TIME)
    [message] = smtp_server.messages_to("ana@partner.example")
    token = message["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]

    assert recipients.recipient_for_token(kb.db, token).email == "ana@partner.example"
    assert recipients.unsubscribe(kb.db, token) is True
    assert recipients.unsubscribe(kb.db, token) is True  # a second click is fine
    assert recipients.unsubscribe(kb.db, "not-a-token") is False
    assert recipients.unsubscribe(kb.db, "") is False

    _item(kb, title="Next week", published=IN_WEEK + timedelta(days=7), url="https://news.example.org/w48")
    report = send_digest(kb.db, settings, "2026-W48", now=SEND_TIME + timedelta(days=7))
    assert report.sent == ["res@lab.example"]
    assert len(smtp_server.messages_to("ana@partner.example")) == 1
    assert [r.email for r in recipients.list_recipients(kb.db, active_only=True)] == ["res@lab.example"]
    assert recipients.add_recipient(kb.db, "ana@partner.example").active  # the coordinator may add her back


def test_recipients_are_managed_and_users_subscribe(kb):
    partner = recipients.add_recipient(kb.db, " ana@partner.example ", "Ana")
    assert (partner.email, partner.kind, partner.active) == ("ana@partner.example", "external", True)
    with pytest.raises(Conflict):
        recipients.add_recipient(kb.db, "ANA@partner.example")
    with pytest.raises(InvalidInput):
        recipients.add_recipient(kb.db, "not an address")
    with pytest.raises(InvalidInput):
        recipients.add_recipient(kb.db, "a@b.example\r\nBcc: x@y.example")
    with pytest.raises(NotFound):
        recipients.subscribe_user(kb.db, "nobody@lab.example")

    user = users_store.add_user(kb.db, "res@lab.example", "a long password", "researcher")
    member = recipients.subscribe_user(kb.db, "res@lab.example")
    assert (member.kind, member.user_id) == ("user", user.id)
    assert recipients.subscribe_user(kb.db, "res@lab.example").id == member.id  # idempotent
    recipients.unsubscribe_user(kb.db, "res@lab.example")
    recipients.remove_recipient(kb.db, "ana@partner.example")
    with pytest.raises(NotFound):
        recipients.remove_recipient(kb.db, "ana@partner.example")
    assert recipients.deliverable_recipients(kb.db) == []
    assert len(recipients.list_recipients(kb.db)) == 2

    recipients.subscribe_user(kb.db, "res@lab.example")
    users_store.update_user(kb.db, user.id, active=False)
    assert recipients.deliverable_recipients(kb.db) == []  # a disabled account gets nothing


def test_the_archive_lists_contents_and_deliveries(kb, settings, smtp_server, week_items):
    _subscribe_two(kb)
    recipients.add_recipient(kb.db, "bounce@partner.example")
    smtp_server.refuse.add("bounce@partner.example")
    send_digest(kb.db, settings, WEEK, now=SEND_TIME)

    [record] = deliveries.list_digests(kb.db, settings)
    assert (record.week, record.items, record.count("sent"), record.count("failed")) == (WEEK, 4, 2, 1)
    assert record.sent_at is not None and "Council pauses benefit fraud risk score" in record.titles
    failed = [d for d in record.deliveries if d.status == "failed"]
    assert [(d.email, d.kind) for d in failed] == [("bounce@partner.example", "external")]
    assert failed[0].error.startswith("550")


def test_due_for_sending_on_the_configured_day_and_hour(kb, settings, smtp_server, week_items):
    settings = dataclasses.replace(settings, digest_weekday="mon", digest_hour=9)
    _subscribe_two(kb)
    monday_9 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
    assert due_for_sending(settings, monday_9 - timedelta(minutes=1), kb.db) is None
    assert due_for_sending(settings, monday_9, kb.db) == WEEK
    assert due_for_sending(settings, monday_9 + timedelta(days=1), kb.db) is None  # Tuesday
    assert due_for_sending(dataclasses.replace(settings, digest_weekday=""), monday_9, kb.db) is None
    assert due_for_sending(settings, monday_9 + timedelta(days=14), kb.db) is None  # W49 has no items

    recipients.add_recipient(kb.db, "bounce@partner.example")
    smtp_server.refuse.add("bounce@partner.example")
    send_digest(kb.db, settings, due_for_sending(settings, monday_9, kb.db), now=monday_9)
    assert due_for_sending(settings, monday_9 + timedelta(minutes=5), kb.db) is None  # just tried
    assert due_for_sending(settings, monday_9 + timedelta(minutes=31), kb.db) == WEEK  # retry the refused one
    smtp_server.refuse.clear()
    send_digest(kb.db, settings, WEEK, now=monday_9 + timedelta(minutes=31))
    assert due_for_sending(settings, monday_9 + timedelta(hours=2), kb.db) is None  # fully sent


# --- command line --------------------------------------------------------------------------------------


def test_the_digest_commands(kb, settings, smtp_server, week_items, tmp_path: Path):
    data_dir = kb.settings.data_dir
    (data_dir / "kb.toml").write_text(
        f'timezone = "Europe/Amsterdam"\nbase_url = "{BASE_URL}"\nsmtp_host = "{smtp_server.host}"\n'
        f'smtp_port = {smtp_server.port}\nsmtp_security = "none"\nsmtp_sender = "digest@lab.example"\n',
        encoding="utf-8",
    )
    users_store.add_user(kb.db, "res@lab.example", "a long password", "researcher")
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(kb_group, ["--data-dir", str(data_dir), "digest", *args], catch_exceptions=False)

    assert run("recipients", "add", "ana@partner.example", "--name", "Ana").exit_code == 0
    assert run("subscribe", "res@lab.example").exit_code == 0
    listed = run("recipients", "list")
    assert "ana@partner.example" in listed.stdout and "res@lab.example" in listed.stdout
    failed = run("subscribe", "nobody@lab.example")
    assert failed.exit_code == 1 and "no user with e-mail nobody@lab.example" in failed.stderr

    preview = run("preview", "--week", WEEK)
    assert preview.exit_code == 0 and topic_label(WELFARE).upper() in preview.stdout
    html = run("preview", "--week", WEEK, "--format", "html")
    assert html.stdout.startswith("<!DOCTYPE html>") and "style=" in html.stdout
    assert "no items" in run("preview", "--week", "2026-W40").stderr

    sent = run("send", "--week", WEEK)
    assert sent.exit_code == 0 and "sent to 2 of 2 recipients" in sent.stdout
    assert "2 had it already" in run("send", "--week", WEEK).stdout
    empty = run("send", "--week", "2026-W40")
    assert empty.exit_code == 1 and "nothing was sent" in empty.stderr

    archive = run("archive")
    assert WEEK in archive.stdout and "2 sent, 0 failed" in archive.stdout
    detail = run("archive", "--week", WEEK)
    assert "ana@partner.example" in detail.stdout
    assert "Council pauses benefit fraud risk score" in detail.stdout

    assert run("unsubscribe", "res@lab.example").exit_code == 0
    assert run("recipients", "remove", "ana@partner.example").exit_code == 0
    assert "Nobody receives the digest yet." in run("recipients", "list").stdout

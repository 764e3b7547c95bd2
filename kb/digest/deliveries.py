"""Sending the weekly digest and its record: a message per recipient, the worker's schedule, the archive.

Sending is idempotent per week and recipient: each delivery is recorded as soon as the server answers,
and a run sends only to the recipients without a successful delivery, in one SMTP session. A recipient
the server refuses is recorded as failed with the server's answer and tried again on the next run. The
first successful delivery freezes the week's list of items, so a recipient reached on a later run gets the
same digest as the others. A run holds the week (in `meta`) so the worker and a person never send it at once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from sqlite_utils import Database

from kb.digest.draft import (
    SEND_STATE_KEY,
    Digest,
    DigestEdits,
    DigestError,
    EmptyDigest,
    build_digest,
    candidate_ids,
    is_sending,
    last_completed_week,
    parse_week,
    render_email_html,
    render_text,
    send_state,
)
from kb.digest.headings import DEFAULT_LANGUAGE
from kb.digest.mail import MailError, RecipientRefused, SmtpConfig, SmtpSession, header_safe
from kb.digest.recipients import Recipient, deliverable_recipients, unsubscribe, unsubscribe_url
from kb.errors import Conflict
from kb.settings import Settings
from kb.storage import audit
from kb.storage.db import transaction, utcnow
from kb.storage.meta import set_meta
from kb.users import user_language

__all__ = [
    "Delivery", "DigestRecord", "SendReport", "build_message", "deliveries", "due_for_sending",
    "list_digests", "send_digest", "send_test", "unsubscribe",
]

LOGGER = logging.getLogger(__name__)

# kb worker waits this long after a run before trying the recipients that failed again.
RETRY_AFTER = timedelta(minutes=30)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _digest_row(db: Database, week: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM digests WHERE week = ?", [week]))
    return rows[0] if rows else None


def recipient_language(db: Database, recipient: Recipient) -> str:
    """The language a recipient reads the digest in: a user's chosen interface language, else (outside
    addresses, users who follow their browser) the lab's default."""
    chosen = user_language(db, recipient.user_id) if recipient.user_id is not None else ""
    return chosen or DEFAULT_LANGUAGE


def build_message(digest: Digest, recipient: Recipient, config: SmtpConfig, base_url: str,
                  now: datetime | None = None, *, language: str = DEFAULT_LANGUAGE) -> EmailMessage:
    """One recipient's message: text and HTML alternatives, and headers that no item text can reach."""
    link = unsubscribe_url(base_url, recipient)
    return _message(digest, recipient.name, recipient.email, config, link, now, language=language)


def _message(digest: Digest, name: str, email: str, config: SmtpConfig, link: str | None,
             now: datetime | None, *, test: bool = False, language: str = DEFAULT_LANGUAGE) -> EmailMessage:
    domain = header_safe(config.sender_address.rpartition("@")[2]).replace(" ", "") or "localhost"
    message = EmailMessage(policy=SMTP)
    subject = digest.subject_in(language)
    message["Subject"] = header_safe(f"[Test] {subject}" if test else subject)
    message["From"] = config.sender
    message["To"] = Address(display_name=header_safe(name, 200), addr_spec=header_safe(email))
    message["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    # Short enough never to be folded (some clients mishandle a folded Message-ID).
    message["Message-ID"] = f"<digest.{digest.week}.{secrets.token_hex(8)}@{domain}>"
    message["List-Id"] = f"Media monitoring digest <digest.{domain}>"
    if link is not None:
        message["List-Unsubscribe"] = f"<{header_safe(link, 1000)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(digest, link, language), subtype="plain", charset="utf-8",
                        cte="quoted-printable")
    message.add_alternative(render_email_html(digest, link, language), subtype="html", charset="utf-8",
                            cte="quoted-printable")
    return message


def send_test(db: Database, settings: Settings, week: str, email: str, name: str = "", *,
              by: int | None = None, now: datetime | None = None, config: SmtpConfig | None = None) -> Digest:
    """Send the week's draft, as it stands, to one address (the coordinator's own) and nobody else.

    Nothing is recorded as delivered and the draft stays editable; the subject starts with "[Test]" and
    there is no unsubscribe link. Raises SettingsError, EmptyDigest, MailError or RecipientRefused.
    """
    config = config or SmtpConfig.from_settings(settings)
    digest = build_digest(db, settings, week, now=now)
    if digest.total == 0:
        raise EmptyDigest(f"the digest of {digest.week} ({digest.period}) has no items accepted or marked "
                          "for the digest: there is nothing to test")
    language = (user_language(db, by) if by is not None else "") or DEFAULT_LANGUAGE  # the tester's own
    message = _message(digest, name, email, config, None, now, test=True, language=language)
    with SmtpSession(config) as smtp:
        smtp.send(message, email)
    row = _digest_row(db, digest.week)
    with transaction(db):
        audit.record(db, by, "send-test", "digest", row["id"] if row else None, {"week": digest.week})
    return digest


@dataclass
class SendReport:
    """What one send run did."""

    week: str
    items: int
    recipients: int
    already: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"Digest {self.week} ({self.items} items): sent to {len(self.sent)}"]
        if self.failed:
            parts.append(f"failed for {len(self.failed)} (retried on the next run)")
        if self.already:
            parts.append(f"{self.already} had it already")
        return ", ".join(parts) + f" of {self.recipients} recipients."


def _delivered_ids(db: Database, digest_id: int | None) -> set[int]:
    if digest_id is None:
        return set()
    return {row[0] for row in db.execute(
        "SELECT recipient_id FROM digest_deliveries WHERE digest_id = ? AND status = 'sent'", [digest_id])}


@contextmanager
def _send_lock(db: Database, week: str, now: datetime) -> Iterator[None]:
    """Hold the week while a run sends it, so the worker and a person cannot send it twice at once."""
    key = SEND_STATE_KEY.format(week)
    with transaction(db):
        if is_sending(send_state(db, week), now):
            raise Conflict(f"the digest of {week} is being sent by another run; try again in a few minutes")
        set_meta(db, key, json.dumps({"running": True, "started": now.isoformat()}))
    try:
        yield
    finally:
        with transaction(db):
            set_meta(db, key, json.dumps({"running": False, "started": now.isoformat()}))


def _record(db: Database, digest: Digest, recipient: Recipient, status: str, message_id: str,
            error: str) -> None:
    """Record one delivery as soon as the server answered; the first success freezes the digest's items."""
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO digests (week, intro, created_at) VALUES (?, ?, ?)",
                   [digest.week, digest.intro, utcnow()])
        row = _digest_row(db, digest.week)
        assert row is not None
        if status == "sent":
            edits = DigestEdits.from_json(row["edits"])
            if edits.sent_items is None:
                frozen = replace(edits, sent_items=tuple(e.item_id for e in digest.entries))
                db.execute("UPDATE digests SET edits = ? WHERE id = ?", [frozen.to_json(), row["id"]])
            db.execute("UPDATE digests SET sent_at = COALESCE(sent_at, ?) WHERE id = ?",
                       [utcnow(), row["id"]])
        db.execute(
            "INSERT INTO digest_deliveries "
            "(digest_id, recipient_id, status, message_id, error, attempted_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (digest_id, recipient_id) DO UPDATE SET status = excluded.status, "
            "message_id = excluded.message_id, error = excluded.error, attempted_at = excluded.attempted_at",
            [row["id"], recipient.id, status, message_id, error[:1000], utcnow()],
        )


def send_digest(db: Database, settings: Settings, week: str | None = None, *, now: datetime | None = None,
                config: SmtpConfig | None = None) -> SendReport:
    """Send the week's digest to every recipient who has not had it yet, in one SMTP session.

    Raises SettingsError when SMTP is not configured, EmptyDigest for a week without items, DigestError
    when nobody subscribes, Conflict when another run is sending it, and MailError when the session
    fails (deliveries made so far stay recorded; run again to reach the rest).
    """
    config = config or SmtpConfig.from_settings(settings)
    now = now or datetime.now(UTC)
    digest = build_digest(db, settings, week, now=now)
    if digest.total == 0:
        raise EmptyDigest(f"the digest of {digest.week} ({digest.period}) has no items accepted or marked "
                          "for the digest: nothing was sent")
    recipients = deliverable_recipients(db)
    if not recipients:
        raise DigestError("nobody receives the digest: add recipients with `kb digest recipients add EMAIL` "
                          "or subscribe users with `kb digest subscribe EMAIL`")
    with _send_lock(db, digest.week, now):
        row = _digest_row(db, digest.week)
        delivered = _delivered_ids(db, row["id"] if row else None)
        pending = [r for r in recipients if r.id not in delivered]
        report = SendReport(digest.week, digest.total, len(recipients),
                            already=len(recipients) - len(pending))
        if not pending:
            return report
        with SmtpSession(config) as smtp:
            for recipient in pending:
                message = build_message(digest, recipient, config, settings.base_url, now,
                                        language=recipient_language(db, recipient))
                message_id = str(message["Message-ID"])
                try:
                    smtp.send(message, recipient.email)
                except RecipientRefused as exc:
                    LOGGER.warning("digest %s refused for recipient %s: %s", digest.week, recipient.id,
                                   exc.answer)
                    _record(db, digest, recipient, "failed", message_id, exc.answer)
                    report.failed.append((recipient.email, exc.answer))
                    continue
                except MailError as exc:
                    _record(db, digest, recipient, "failed", message_id, str(exc))
                    raise MailError(
                        f"{exc}. Sent to {len(report.sent)} of {len(pending)} recipients before that; "
                        f"the deliveries are recorded: run `kb digest send --week {digest.week}` again "
                        "for the rest"
                    ) from exc
                _record(db, digest, recipient, "sent", message_id, "")
                report.sent.append(recipient.email)
    row = _digest_row(db, digest.week)
    with transaction(db):
        audit.record(db, None, "send", "digest", row["id"] if row else None,
                     {"week": digest.week, "sent": len(report.sent), "failed": len(report.failed)})
    LOGGER.info("%s", report.line())
    return report


def due_for_sending(settings: Settings, now: datetime, db: Database) -> str | None:
    """The week kb worker should send now, or None.

    Due on `digest_weekday` at or after `digest_hour` (lab time): the last completed week, if it has
    items and a deliverable recipient still lacks it, and no run tried it in the last RETRY_AFTER.
    """
    if not settings.digest_weekday:
        return None
    local = now.astimezone(settings.tz)
    if WEEKDAYS[local.weekday()] != settings.digest_weekday or local.hour < settings.digest_hour:
        return None
    week = last_completed_week(settings, now)
    if not candidate_ids(db, settings, week) or build_digest(db, settings, week).total == 0:
        return None
    row = _digest_row(db, week)
    delivered = _delivered_ids(db, row["id"] if row else None)
    if all(r.id in delivered for r in deliverable_recipients(db)):
        return None
    started = send_state(db, week).get("started")
    if started and now - datetime.fromisoformat(started) < RETRY_AFTER:
        return None
    return week


# --- archive -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    email: str
    name: str
    kind: str  # "user" or "external"
    status: str  # "sent", "failed" or "pending"
    error: str
    message_id: str
    attempted_at: str | None


@dataclass(frozen=True)
class DigestRecord:
    """One week of the archive: what the digest held and how its deliveries went."""

    week: str
    created_at: str
    sent_at: str | None
    items: int
    titles: tuple[str, ...]
    deliveries: tuple[Delivery, ...]

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.status == status)


def deliveries(db: Database, week: str) -> list[Delivery]:
    """Each recipient of a week's digest and how delivery went; active recipients not reached are pending."""
    row = _digest_row(db, parse_week(week))
    found = []
    seen: set[int] = set()
    if row is not None:
        for r in db.query(
            "SELECT d.*, r.email, r.name, r.user_id FROM digest_deliveries d "
            "JOIN digest_recipients r ON r.id = d.recipient_id WHERE d.digest_id = ? ORDER BY r.email",
            [row["id"]],
        ):
            seen.add(r["recipient_id"])
            found.append(Delivery(r["email"], r["name"], "user" if r["user_id"] else "external", r["status"],
                                  r["error"], r["message_id"], r["attempted_at"]))
    for recipient in deliverable_recipients(db):
        if recipient.id not in seen:
            found.append(Delivery(recipient.email, recipient.name, recipient.kind, "pending", "", "", None))
    return found


def list_digests(db: Database, settings: Settings) -> list[DigestRecord]:
    """Every digest drafted or sent, newest week first."""
    records = []
    for row in db.query("SELECT week, created_at, sent_at FROM digests ORDER BY week DESC"):
        digest = build_digest(db, settings, row["week"])
        records.append(DigestRecord(
            row["week"], row["created_at"], row["sent_at"], digest.total,
            tuple(e.title for e in digest.entries), tuple(deliveries(db, row["week"])),
        ))
    return records

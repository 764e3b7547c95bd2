"""Digest recipients: users who subscribed and outside addresses the coordinator manages.

Each recipient has a random unsubscribe token, so the link in a digest works without signing in.
Nobody is deleted: removing or unsubscribing a recipient sets it inactive, which keeps the delivery
history of past digests readable in the archive.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field

from sqlite_utils import Database

from kb.errors import Conflict, InvalidInput, NotFound
from kb.storage import audit
from kb.storage.db import transaction, utcnow
from kb.text.cleaning import one_line

LOGGER = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s\"<>,;()\[\]\\]+@[^@\s\"<>,;()\[\]\\]+\.[^@\s\"<>,;()\[\]\\]+$")
MAX_EMAIL = 254
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # never in an e-mail address


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str
    name: str
    user_id: int | None
    active: bool
    created_at: str
    unsubscribe_token: str = field(repr=False, default="")

    @property
    def kind(self) -> str:
        """"user" for a subscribed account, "external" for an address the coordinator manages."""
        return "user" if self.user_id is not None else "external"


def _from_row(row: dict) -> Recipient:
    return Recipient(row["id"], row["email"], row["name"], row["user_id"], bool(row["active"]),
                     row["created_at"], row["unsubscribe_token"])


def _clean_email(email: str) -> str:
    email = email.strip()
    if len(email) > MAX_EMAIL or not _EMAIL.match(email) or _CONTROL.search(email):
        raise InvalidInput(f"{email[:100]!r} is not an e-mail address")
    return email


def _clean_name(name: str) -> str:
    return one_line(name)[:MAX_NAME]


def find_recipient(db: Database, email: str) -> Recipient | None:
    """The recipient with this address (active or not), or None."""
    rows = list(db.query("SELECT * FROM digest_recipients WHERE email = ?", [email.strip()]))
    return _from_row(rows[0]) if rows else None


def get_recipient(db: Database, email: str) -> Recipient:
    """The recipient with this address; raises NotFound."""
    found = find_recipient(db, email)
    if found is None:
        raise NotFound(f"{email.strip()[:100]} is not a digest recipient")
    return found


def recipient_for_token(db: Database, token: str) -> Recipient | None:
    """The recipient an unsubscribe token belongs to (for the confirmation page), or None."""
    token = token.strip()
    if not token or len(token) > 200:
        return None
    rows = list(db.query("SELECT * FROM digest_recipients WHERE unsubscribe_token = ?", [token]))
    return _from_row(rows[0]) if rows else None


def list_recipients(db: Database, *, active_only: bool = False) -> list[Recipient]:
    """Every recipient by address; with active_only, those still subscribed."""
    clause = "WHERE active = 1" if active_only else ""
    return [_from_row(r) for r in db.query(f"SELECT * FROM digest_recipients {clause} ORDER BY email")]  # noqa: S608


def deliverable_recipients(db: Database) -> list[Recipient]:
    """Who gets the next digest: active recipients, leaving out those whose user account is disabled."""
    return [_from_row(r) for r in db.query(
        "SELECT r.* FROM digest_recipients r LEFT JOIN users u ON u.id = r.user_id "
        "WHERE r.active = 1 AND (r.user_id IS NULL OR u.active = 1) ORDER BY r.id"
    )]


def _upsert(db: Database, email: str, name: str, user_id: int | None, by: int | None,
            action: str) -> Recipient:
    with transaction(db):
        row = db.execute("SELECT id, active FROM digest_recipients WHERE email = ?", [email]).fetchone()
        if row is None:
            recipient_id = db.execute(
                "INSERT INTO digest_recipients (email, name, user_id, unsubscribe_token, active, created_at) "
                "VALUES (?, ?, ?, ?, 1, ?)",
                [email, name, user_id, secrets.token_urlsafe(32), utcnow()],
            ).lastrowid
        else:
            recipient_id = row[0]
            if row[1] and user_id is None:
                raise Conflict(f"{email} receives the digest already")
            db.execute(
                "UPDATE digest_recipients SET active = 1, name = CASE WHEN ? != '' THEN ? ELSE name END, "
                "user_id = COALESCE(?, user_id) WHERE id = ?",
                [name, name, user_id, recipient_id],
            )
        audit.record(db, by, action, "digest_recipient", recipient_id, {"email": email})
    return get_recipient(db, email)


def add_recipient(db: Database, email: str, name: str = "", *, by: int | None = None) -> Recipient:
    """Add an outside address (or take back one removed earlier); raises Conflict if it is subscribed."""
    return _upsert(db, _clean_email(email), _clean_name(name), None, by, "add")


def subscribe_user(db: Database, email: str, *, by: int | None = None) -> Recipient:
    """Subscribe the user with this e-mail (again); raises NotFound for an unknown user."""
    row = db.execute("SELECT id, email, name FROM users WHERE email = ?", [email.strip()]).fetchone()
    if row is None:
        raise NotFound(f"no user with e-mail {email.strip()[:100]}")
    return _upsert(db, row[1], _clean_name(row[2]), int(row[0]), by if by is not None else int(row[0]),
                   "subscribe")


def _deactivate(db: Database, recipient: Recipient, by: int | None, action: str) -> None:
    with transaction(db):
        db.execute("UPDATE digest_recipients SET active = 0 WHERE id = ?", [recipient.id])
        audit.record(db, by, action, "digest_recipient", recipient.id, {"email": recipient.email})


def remove_recipient(db: Database, email: str, *, by: int | None = None) -> None:
    """Stop sending to an address (its past deliveries stay in the archive); raises NotFound."""
    recipient = get_recipient(db, email)
    if not recipient.active:
        raise NotFound(f"{recipient.email} does not receive the digest")
    _deactivate(db, recipient, by, "remove")


def unsubscribe_user(db: Database, email: str, *, by: int | None = None) -> None:
    """The user with this e-mail stops receiving the digest; raises NotFound if not subscribed."""
    recipient = find_recipient(db, email)
    if recipient is None or recipient.user_id is None or not recipient.active:
        raise NotFound(f"{email.strip()[:100]} is not a subscribed user")
    _deactivate(db, recipient, by if by is not None else recipient.user_id, "unsubscribe")


def unsubscribe(db: Database, token: str) -> bool:
    """Follow an unsubscribe link: True if the token is known (the recipient is now inactive), else False.

    Idempotent: a second click on the same link also returns True.
    """
    recipient = recipient_for_token(db, token)
    if recipient is None:
        return False
    if recipient.active:
        _deactivate(db, recipient, recipient.user_id, "unsubscribe")
        LOGGER.info("recipient %s unsubscribed through the digest link", recipient.id)
    return True


def unsubscribe_url(base_url: str, recipient: Recipient) -> str:
    """The link that unsubscribes this recipient without signing in."""
    return f"{base_url.rstrip('/')}/digest/unsubscribe/{recipient.unsubscribe_token}"

"""Users, roles, passwords (argon2id) and personal API tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from kb.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kb.storage import audit
from kb.storage.db import transaction, utcnow

ROLES = ("researcher", "coordinator", "admin")
MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# OWASP's argon2id baseline (19 MiB, 2 passes): memory-hard, yet a sign-in costs tens of milliseconds.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))
TOKEN_PREFIX = "kbt_"  # noqa: S105 - the visible prefix of API tokens, not a secret


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    active: bool
    session_version: int
    created_at: str

    def can(self, role: str) -> bool:
        """True if this user's role includes `role` (admin > coordinator > researcher)."""
        return self.active and ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    created_at: str
    last_used: str | None
    revoked_at: str | None
    owner: str = ""  # the owner's e-mail, in lists of everyone's tokens


def _from_row(row: dict) -> User:
    return User(row["id"], row["email"], row["name"], row["role"], bool(row["active"]),
                row["session_version"], row["created_at"])


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")


def add_user(db: Database, email: str, password: str, role: str, *, name: str = "",
             by: int | None = None) -> User:
    """Create a user; raises Conflict for an e-mail already in use."""
    email = email.strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput(f"{email[:100]!r} is not an e-mail address")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    _check_password(password)
    with transaction(db):
        if db.execute("SELECT 1 FROM users WHERE email = ?", [email]).fetchone():
            raise Conflict(f"a user with e-mail {email} exists already")
        user_id = db.execute(
            "INSERT INTO users (email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            [email, name.strip()[:200], role, _HASHER.hash(password), utcnow()],
        ).lastrowid
        assert user_id is not None  # set by every INSERT
        audit.record(db, by, "create", "user", user_id,
                     {"email": email, "name": name.strip()[:200], "role": role})
    return get_user(db, user_id)


def find_user(db: Database, user_id: int) -> User | None:
    rows = list(db.query("SELECT * FROM users WHERE id = ?", [user_id]))
    return _from_row(rows[0]) if rows else None


def get_user(db: Database, user_id: int) -> User:
    user = find_user(db, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def find_user_by_email(db: Database, email: str) -> User | None:
    rows = list(db.query("SELECT * FROM users WHERE email = ?", [email.strip()]))
    return _from_row(rows[0]) if rows else None


def list_users(db: Database) -> list[User]:
    return [_from_row(r) for r in db.query("SELECT * FROM users ORDER BY email")]


def count_users(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM users").fetchone()[0])


def authenticate(db: Database, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same cost either way)."""
    rows = list(db.query("SELECT * FROM users WHERE email = ?", [email.strip()]))
    stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if not rows or not rows[0]["active"]:
        return None
    if _HASHER.check_needs_rehash(stored):
        with transaction(db):
            db.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                       [_HASHER.hash(password), rows[0]["id"]])
    return _from_row(rows[0])


def sign_in(db: Database, email: str, password: str, *, address: str = "") -> User | None:
    """`authenticate`, with the attempt written to the audit log (success or failure, and from where).

    A failure is recorded against the account when the e-mail names one (so an admin sees attempts on
    it), with the e-mail as typed and why: never the password."""
    email = email.strip()[:254]
    user = authenticate(db, email, password) if email and password else None
    with transaction(db):
        if user is not None:
            audit.record(db, user.id, "sign-in", "sign_in", user.id, {"address": address})
        else:
            known = find_user_by_email(db, email) if email else None
            reason = ("no e-mail address given" if not email else "no password given" if not password else
                      "no account with this e-mail" if known is None else
                      "the account is deactivated" if not known.active else "wrong password")
            audit.record(db, None, "sign-in-failed", "sign_in", known.id if known else None,
                         {"email": email, "reason": reason, "address": address})
    return user


def set_password(db: Database, user_id: int, password: str, *, by: int | None = None) -> None:
    """Change a password and end the user's other sessions."""
    _check_password(password)
    with transaction(db):
        if db.execute(
            "UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE id = ?",
            [_HASHER.hash(password), user_id],
        ).rowcount == 0:
            raise NotFound(f"user {user_id} does not exist")
        audit.record(db, by, "set-password", "user", user_id)


def update_user(db: Database, user_id: int, *, role: str | None = None, active: bool | None = None,
                name: str | None = None, by: int | None = None) -> User:
    """Change role, name or active flag; a role change or deactivation ends the user's sessions."""
    before = get_user(db, user_id)
    changes: dict[str, object] = {}
    was: dict[str, object] = {}
    if role is not None and role != before.role:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        changes["role"], was["role"] = role, before.role
    if active is not None and active != before.active:
        changes["active"], was["active"] = int(active), int(before.active)
    if name is not None and name.strip()[:200] != before.name:
        changes["name"], was["name"] = name.strip()[:200], before.name
    if changes:
        with transaction(db):
            assignments = ", ".join(f"{k} = ?" for k in changes)
            bump = ", session_version = session_version + 1" if {"role", "active"} & changes.keys() else ""
            db.execute(f"UPDATE users SET {assignments}{bump} WHERE id = ?",  # noqa: S608
                       [*changes.values(), user_id])
            audit.record(db, by, "update", "user", user_id,
                         {"email": before.email, "changes": {k: [was[k], v] for k, v in changes.items()}})
    return get_user(db, user_id)


def end_sessions(db: Database, user_id: int, *, signing_out: bool = False) -> None:
    """Invalidate every session of the user (signing out ends the session on the server)."""
    with transaction(db):
        db.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", [user_id])
        if signing_out:
            audit.record(db, user_id, "sign-out", "sign_in", user_id)


def _token_hash(token: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, user_id: int, name: str = "") -> str:
    """Create a personal API token; the token itself is returned once and never stored."""
    get_user(db, user_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(db):
        token_id = db.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
            [user_id, name.strip()[:100], _token_hash(token), utcnow()],
        ).lastrowid
        audit.record(db, user_id, "create", "api_token", token_id, {"name": name.strip()[:100],
                                                                   "owner_id": user_id})
    return token


def user_for_token(db: Database, token: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    rows = list(db.query(
        "SELECT t.id AS token_id, u.* FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1",
        [_token_hash(token.strip())],
    ))
    if not rows:
        return None
    db.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", [utcnow(), rows[0]["token_id"]])
    return _from_row(rows[0])


def _token(row: dict) -> ApiToken:
    return ApiToken(row["id"], row["user_id"], row["name"], row["created_at"], row["last_used"],
                    row["revoked_at"], row.get("email") or "")


def list_tokens(db: Database, user_id: int) -> list[ApiToken]:
    return [_token(r) for r in db.query("SELECT * FROM api_tokens WHERE user_id = ? ORDER BY id", [user_id])]


def list_all_tokens(db: Database, *, include_revoked: bool = False) -> list[ApiToken]:
    """Everyone's tokens (for admins), by owner, the unrevoked only unless asked."""
    where = "" if include_revoked else "WHERE t.revoked_at IS NULL "
    return [_token(r) for r in db.query(
        "SELECT t.*, u.email FROM api_tokens t JOIN users u ON u.id = t.user_id "  # noqa: S608
        f"{where}ORDER BY lower(u.email), t.id")]


def find_token(db: Database, token_id: int) -> ApiToken | None:
    rows = list(db.query("SELECT t.*, u.email FROM api_tokens t JOIN users u ON u.id = t.user_id "
                         "WHERE t.id = ?", [token_id]))
    return _token(rows[0]) if rows else None


def revoke_token(db: Database, user_id: int, token_id: int, *, by: User | None = None) -> ApiToken:
    """Revoke one of the tokens of the user `user_id`. `by` is who does it (default: the owner); only an
    admin may revoke another person's token."""
    if by is not None and by.id != user_id and not by.can("admin"):
        raise PermissionDenied("only an admin can revoke another person's token")
    with transaction(db):
        token = find_token(db, token_id)
        if token is None or token.user_id != user_id or token.revoked_at is not None:
            raise NotFound(f"token {token_id} does not exist or is revoked already")
        db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [utcnow(), token_id])
        audit.record(db, by.id if by is not None else user_id, "revoke", "api_token", token_id,
                     {"name": token.name, "owner_id": user_id})
    return token


# The interface's languages (webui/translations); a user's "" means "follow the browser".
INTERFACE_LANGUAGES = ("en", "fr", "es", "ar")


def user_language(db: Database, user_id: int) -> str:
    """The user's chosen interface language, or "" when they follow their browser's."""
    row = db.execute("SELECT language FROM users WHERE id = ?", [user_id]).fetchone()
    return str(row[0]) if row else ""


def set_user_language(db: Database, user_id: int, language: str, *, by: int | None = None) -> None:
    """Choose the user's interface language ("" to follow the browser's)."""
    language = language.strip()
    if language and language not in INTERFACE_LANGUAGES:
        raise InvalidInput(f"the interface language must be one of {', '.join(INTERFACE_LANGUAGES)}")
    with transaction(db):
        before = db.execute("SELECT language FROM users WHERE id = ?", [user_id]).fetchone()
        if before is None:
            raise NotFound(f"user {user_id} does not exist")
        if before[0] != language:
            db.execute("UPDATE users SET language = ? WHERE id = ?", [language, user_id])
            audit.record(db, by, "update", "user", user_id, {"language": [before[0], language]})

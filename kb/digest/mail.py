"""Sending e-mail over SMTP: one session per run, one message per recipient, errors in words.

The only module that talks SMTP. A refused recipient is reported per message (`RecipientRefused`) so
the caller can record it and carry on; anything that ends the session is a `MailError` naming the
setting to check.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from types import TracebackType

from kb.errors import KbError, SettingsError
from kb.settings import Settings

LOGGER = logging.getLogger(__name__)

SMTP_TIMEOUT = 30.0
# What goes on the wire: SMTP's CRLF, headers folded only past RFC 5322's hard limit of 998 characters.
# At the SMTP policy's 78, a long header without spaces (a List-Unsubscribe URL) is rewritten as
# RFC 2047 encoded words, which mail clients do not decode there.
WIRE_POLICY = SMTP.clone(max_line_length=998)
MAX_ERROR_CHARS = 1_000
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")


class MailError(KbError):
    """The SMTP session could not be opened or broke off; the message says which setting to check."""


class RecipientRefused(KbError):
    """The server refused one message or recipient; other recipients can still be tried."""

    def __init__(self, recipient: str, answer: str) -> None:
        super().__init__(f"{recipient}: {answer}")
        self.recipient = recipient
        self.answer = answer


def header_safe(value: str, limit: int = 500) -> str:
    """Text fit for a header: control characters (CR, LF, ...) become spaces, runs of space one space."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value).split())[:limit]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "starttls", "tls" or "none"
    user: str
    password: str = field(repr=False)
    sender: str
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings, timeout: float = SMTP_TIMEOUT) -> SmtpConfig:
        """The SMTP configuration; raises SettingsError naming each missing setting."""
        missing = [name for name in ("smtp_host", "smtp_sender") if not str(getattr(settings, name)).strip()]
        if missing:
            names = " and ".join(f"{name} (KB_{name.upper()})" for name in missing)
            raise SettingsError(f"the digest cannot be sent: set {names} in kb.toml or the environment")
        sender = header_safe(settings.smtp_sender)
        if "@" not in parseaddr(sender)[1]:
            raise SettingsError(f"smtp_sender (KB_SMTP_SENDER) = {sender!r} is not an e-mail address")
        return cls(settings.smtp_host.strip(), settings.smtp_port, settings.smtp_security, settings.smtp_user,
                   settings.smtp_password, sender, timeout)

    @property
    def sender_address(self) -> str:
        """The bare address of the sender (for the envelope and Message-ID domain)."""
        return parseaddr(self.sender)[1]

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} (smtp_host, smtp_port, smtp_security={self.security})"


def _answer(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return header_safe(f"{code} {message}", MAX_ERROR_CHARS)


class SmtpSession:
    """An open SMTP connection; use as a context manager (`with SmtpSession(config) as smtp:`)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        """Connect, secure the connection as configured and log in; raises MailError."""
        config = self.config
        context = ssl.create_default_context()
        try:
            if config.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                      context=context)
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        except ssl.SSLError as exc:
            raise MailError(f"TLS with the SMTP server {config.where} failed: {exc}; check smtp_security "
                            "(tls for port 465, starttls for 587) and smtp_port") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"could not connect to the SMTP server {config.where}: {exc}; check smtp_host "
                            "(KB_SMTP_HOST) and smtp_port (KB_SMTP_PORT)") from exc
        self._smtp = smtp
        try:
            smtp.ehlo()
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError(f"the SMTP server {config.where} does not offer STARTTLS; check "
                                    "smtp_security (tls for port 465, none only for a server on this "
                                    "machine) and smtp_port")
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.user:
                if config.security == "none":
                    LOGGER.warning("logging in to %s without TLS (smtp_security = none)", config.host)
                smtp.login(config.user, config.password)
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise MailError(f"the SMTP server {config.host} refused the login "
                            f"({_answer(exc.smtp_code, exc.smtp_error)}); check smtp_user (KB_SMTP_USER) "
                            "and smtp_password (KB_SMTP_PASSWORD)") from exc
        except smtplib.SMTPNotSupportedError as exc:
            self.close()
            raise MailError(f"the SMTP server {config.where} does not support login; leave smtp_user empty "
                            f"or check smtp_security: {exc}") from exc
        except ssl.SSLError as exc:
            self.close()
            raise MailError(f"TLS with the SMTP server {config.where} failed: {exc}; check smtp_security "
                            "and smtp_port") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"the SMTP session with {config.where} failed: {exc}") from exc
        except MailError:
            self.close()
            raise

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Send one message to one address; RecipientRefused for this message, MailError for the session."""
        if self._smtp is None:
            raise MailError("the SMTP session is not open")
        data = message.as_bytes(policy=WIRE_POLICY)
        try:
            refused = self._smtp.sendmail(self.config.sender_address, [recipient], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, next(iter(exc.recipients.values()), (0, b"refused")))
            self._closing(code, text)
            raise RecipientRefused(recipient, _answer(code, text)) from exc
        except smtplib.SMTPDataError as exc:
            self._closing(exc.smtp_code, exc.smtp_error)
            raise RecipientRefused(recipient, _answer(exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise MailError(f"the SMTP server refused the sender {exc.sender} "
                            f"({_answer(exc.smtp_code, exc.smtp_error)}); check smtp_sender (KB_SMTP_SENDER)"
                            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"the SMTP session with {self.config.where} broke off: {exc}") from exc
        if refused:
            code, text = refused[recipient]
            raise RecipientRefused(recipient, _answer(code, text))

    def _closing(self, code: int, text: bytes | str) -> None:
        """A 421 answer means the server closes the session: the session failed, not this one message."""
        if code == 421:
            raise MailError(f"the SMTP server {self.config.where} closed the session ({_answer(code, text)})")

    def close(self) -> None:
        """Say goodbye politely; a server that is gone already is not an error."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
